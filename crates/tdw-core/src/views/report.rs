//! One self-contained HTML page per variant: the loss curves, every per-epoch view at the epochs
//! that tell the story (start, end of memorisation, grokking, final), and every cross-epoch view.
//! Charts are inline SVG (heatmap cells as embedded PNG), so the page needs no network and can be
//! shared as one file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::analysis::loader::ArtifactLoader;
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::variant::Variant;
use crate::views::catalog::{ViewCatalog, ViewDefinition};
use crate::views::phases::Phases;
use crate::views::scrubber::Scrubber;
use crate::views::text::escape;

/// An epoch the report looks at, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// Why this epoch ("start", "end of memorisation", ...).
    pub label: String,
    /// The epoch.
    pub epoch: u64,
}

/// One rendered (or failed) chart of the report.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The view's name.
    pub view: &'static str,
    /// The epoch drawn, for per-epoch views.
    pub epoch: Option<u64>,
    /// The moment's label, for per-epoch views.
    pub label: Option<String>,
    /// The SVG, or why it could not be drawn.
    pub result: std::result::Result<String, String>,
}

/// The report of one variant.
#[derive(Debug, Clone)]
pub struct Report {
    variant: Variant,
    phases: Option<Phases>,
    moments: Vec<Moment>,
    entries: Vec<Entry>,
    /// Per-epoch views to scrub through every analyzed epoch (`tdw report --scrub VIEW`).
    scrubbers: Vec<Scrubber>,
}

impl Report {
    /// Renders every available view of `variant` (in parallel).
    pub fn build(variant: &Variant) -> Result<Report> {
        let metadata = variant.metadata().ok();
        let phases = metadata.as_ref().map(|m| {
            let epochs: Vec<u64> = (0..m.train_losses.len() as u64).collect();
            Phases::locate(&epochs, &m.train_losses, &m.test_losses)
        });
        let catalog = ViewCatalog::builtin();
        let available: Vec<&ViewDefinition> = variant
            .available_views()
            .into_iter()
            .filter_map(|name| catalog.get(name).ok())
            .collect();
        if available.is_empty() {
            return Err(Error::ViewUnavailable {
                view: "report".into(),
                variant: variant.name().to_string(),
                missing: "no view has its data yet (train and analyze the variant first)".into(),
            });
        }
        let moments = moments(variant, phases.as_ref());
        let loader = ArtifactLoader::new(variant.artifacts_dir());
        let mut jobs: Vec<(&ViewDefinition, Option<(u64, String)>)> = Vec::new();
        for definition in &available {
            match definition.epoch_source {
                None => jobs.push((definition, None)),
                Some(source) => {
                    let epochs = loader.epochs(source);
                    for (epoch, label) in snap(&moments, &epochs) {
                        jobs.push((definition, Some((epoch, label))));
                    }
                }
            }
        }
        let entries = jobs
            .into_par_iter()
            .map(|(definition, at)| {
                let view = match &at {
                    Some((epoch, _)) => variant.at(*epoch).view(definition.name),
                    None => variant.view(definition.name),
                };
                let result = view
                    .and_then(|v| v.figure())
                    .map(|f| f.svg().to_string())
                    .map_err(|e| e.to_string());
                Entry {
                    view: definition.name,
                    epoch: at.as_ref().map(|(e, _)| *e),
                    label: at.map(|(_, l)| l),
                    result,
                }
            })
            .collect();
        Ok(Report {
            variant: variant.clone(),
            phases,
            moments,
            entries,
            scrubbers: Vec::new(),
        })
    }

    /// Adds a [`Scrubber`] of each of `views` (every analyzed epoch, a slider) to the page.
    pub fn with_scrubbers(mut self, views: &[String]) -> Result<Report> {
        for view in views {
            self.scrubbers
                .push(Scrubber::build(&self.variant, view, &[])?);
        }
        Ok(self)
    }

    /// The epochs the per-epoch views are shown at.
    pub fn moments(&self) -> &[Moment] {
        &self.moments
    }

    /// The charts, in report order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Views that failed to render, with the reason.
    pub fn failures(&self) -> Vec<(&'static str, Option<u64>, &str)> {
        self.entries
            .iter()
            .filter_map(|e| {
                e.result
                    .as_ref()
                    .err()
                    .map(|r| (e.view, e.epoch, r.as_str()))
            })
            .collect()
    }

    /// Where `tdw report` writes by default: `results/{family}/{variant}/report.html`.
    pub fn default_path(variant: &Variant) -> PathBuf {
        variant.dir().join("report.html")
    }

    /// Writes the page atomically and returns its path.
    pub fn write(&self, path: &Path) -> Result<PathBuf> {
        atomic_file::write(path, self.html().as_bytes())?;
        Ok(path.to_path_buf())
    }

    /// The page.
    pub fn html(&self) -> String {
        let name = escape(self.variant.name());
        let mut page = String::new();
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{name} — tdw report</title><style>{CSS}</style></head><body>\
             <h1>{name}</h1>"
        );
        page.push_str(&self.summary_table());
        let (mut cross, per_epoch): (Vec<&Entry>, Vec<&Entry>) =
            self.entries.iter().partition(|e| e.epoch.is_none());
        // The loss curves and the progress measures tell the story; they lead the page.
        let rank = |view: &str| match view {
            "training.metadata.loss_curves" => 0,
            v if v.starts_with("progress_measures.") => 1,
            _ => 2,
        };
        cross.sort_by_key(|e| (rank(e.view), e.view));
        page.push_str("<h2>Over training</h2><div class=\"grid\">");
        for entry in &cross {
            page.push_str(&figure(entry));
        }
        page.push_str("</div>");
        let mut names: Vec<&str> = per_epoch.iter().map(|e| e.view).collect();
        names.dedup();
        if !names.is_empty() {
            page.push_str("<h2>At chosen epochs</h2>");
        }
        for view in names {
            let description = ViewCatalog::builtin()
                .get(view)
                .map_or("", |d| d.description);
            let _ = write!(
                page,
                "<h3>{}</h3><p class=\"note\">{}</p><div class=\"row\">",
                escape(view),
                escape(description)
            );
            for entry in per_epoch.iter().filter(|e| e.view == view) {
                page.push_str(&figure(entry));
            }
            page.push_str("</div>");
        }
        if !self.scrubbers.is_empty() {
            page.push_str("<h2>Through training</h2>");
            for scrubber in &self.scrubbers {
                page.push_str(&scrubber.fragment());
            }
        }
        page.push_str(
            "<footer>Written by the Training Dynamics Workbench (tdw report).</footer></body></html>\n",
        );
        page
    }

    fn summary_table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("family".into(), self.variant.family().name().to_string()),
            ("parameters".into(), self.variant.params().to_string()),
        ];
        if let Ok(m) = self.variant.metadata() {
            rows.push(("epochs".into(), m.num_epochs.to_string()));
            rows.push(("checkpoints".into(), m.checkpoint_epochs.len().to_string()));
            if let (Some(train), Some(test)) = (m.train_losses.last(), m.test_losses.last()) {
                rows.push(("final train loss".into(), format!("{train:.3e}")));
                rows.push(("final test loss".into(), format!("{test:.3e}")));
            }
        }
        if let Some(p) = &self.phases {
            let show = |e: Option<u64>| e.map_or("not reached".to_string(), |e| e.to_string());
            rows.push(("memorised (train loss < 0.01)".into(), show(p.memorised)));
            rows.push((
                "cleanup starts (test loss < 1)".into(),
                show(p.cleanup_start),
            ));
            rows.push(("grokked (test loss < 0.01)".into(), show(p.grokked)));
        }
        let moments: Vec<String> = self
            .moments
            .iter()
            .map(|m| format!("{} ({})", m.epoch, m.label))
            .collect();
        rows.push(("epochs shown".into(), moments.join(", ")));
        let mut table = String::from("<table class=\"summary\">");
        for (k, v) in rows {
            let _ = write!(
                table,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(&k),
                escape(&v)
            );
        }
        table.push_str("</table>");
        table
    }
}

/// Start, end of memorisation, grokking and final epoch (those the run reached), in order.
fn moments(variant: &Variant, phases: Option<&Phases>) -> Vec<Moment> {
    let checkpoints = variant.checkpoints().unwrap_or_default();
    let first = checkpoints.first().copied().unwrap_or(0);
    let last = phases
        .map(|p| p.last_epoch)
        .or(checkpoints.last().copied())
        .unwrap_or(0);
    let mut moments = vec![Moment {
        label: "start".into(),
        epoch: first,
    }];
    if let Some(p) = phases {
        if let Some(e) = p.memorised {
            moments.push(Moment {
                label: "end of memorisation".into(),
                epoch: e,
            });
        }
        if let Some(e) = p.grokked {
            moments.push(Moment {
                label: "grokking".into(),
                epoch: e,
            });
        }
    }
    moments.push(Moment {
        label: "final".into(),
        epoch: last,
    });
    moments
}

/// Each moment moved to the nearest analyzed epoch; moments landing on the same epoch merge.
fn snap(moments: &[Moment], analyzed: &[u64]) -> Vec<(u64, String)> {
    let mut snapped: Vec<(u64, String)> = Vec::new();
    for moment in moments {
        let Some(epoch) = analyzed
            .iter()
            .copied()
            .min_by_key(|e| e.abs_diff(moment.epoch))
        else {
            continue;
        };
        match snapped.iter_mut().find(|(e, _)| *e == epoch) {
            Some((_, label)) => {
                label.push_str(" / ");
                label.push_str(&moment.label);
            }
            None => snapped.push((epoch, moment.label.clone())),
        }
    }
    snapped
}

fn figure(entry: &Entry) -> String {
    let caption = match (&entry.label, entry.epoch) {
        (Some(label), Some(epoch)) => format!("epoch {epoch} — {label}"),
        _ => entry.view.to_string(),
    };
    let epoch_attr = entry
        .epoch
        .map_or(String::new(), |e| format!(" data-epoch=\"{e}\""));
    match &entry.result {
        Ok(svg) => format!(
            "<figure class=\"view\" data-view=\"{}\"{epoch_attr}>{svg}<figcaption>{}</figcaption></figure>",
            escape(entry.view),
            escape(&caption)
        ),
        Err(reason) => format!(
            "<figure class=\"view failed\" data-view=\"{}\"{epoch_attr}><p class=\"error\">{}</p><figcaption>{}</figcaption></figure>",
            escape(entry.view),
            escape(reason),
            escape(&caption)
        ),
    }
}

const CSS: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1500px;color:#222;padding:0 16px}\
h1{font-size:1.5em;margin-bottom:8px}h2{margin-top:32px;border-bottom:1px solid #ddd}h3{margin:20px 0 2px;font-family:monospace;font-size:1.05em}\
.note{color:#666;margin:0 0 8px}table.summary{border-collapse:collapse}table.summary th{text-align:left;padding:2px 16px 2px 0;font-weight:normal;color:#555}\
table.summary td{padding:2px 0;font-family:monospace}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:12px}\
.row{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:8px}\
figure.view{margin:0;border:1px solid #eee;padding:4px;background:#fff}figure.view svg{width:100%;height:auto}\
figcaption{font-size:.85em;color:#555;text-align:center}.error{color:#b00;font-family:monospace;white-space:pre-wrap}footer{margin-top:40px;color:#999;font-size:.8em}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_snap_to_analyzed_epochs_and_merge() {
        let moments = vec![
            Moment {
                label: "start".into(),
                epoch: 0,
            },
            Moment {
                label: "end of memorisation".into(),
                epoch: 30,
            },
            Moment {
                label: "final".into(),
                epoch: 990,
            },
        ];
        let snapped = snap(&moments, &[0, 100, 1000]);
        assert_eq!(
            snapped,
            vec![
                (0, "start / end of memorisation".to_string()),
                (1000, "final".to_string())
            ]
        );
    }
}
