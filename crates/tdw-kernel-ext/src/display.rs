//! Inline display in evcxr: a cell ending in a value calls `value.evcxr_display()`, which prints
//! MIME blocks (`EVCXR_BEGIN_CONTENT <mime>` … `EVCXR_END_CONTENT`) on stdout; the kernel sends
//! them as the cell's result. The library does not depend on evcxr: the protocol is these lines.

use std::io::Write;

use tdw_core::analysis::freshness::FreshnessReport;
use tdw_core::analysis::{AnalysisReport, Artifact};
use tdw_core::views::Scrubber;
use tdw_core::views::loss_curve_chart;
use tdw_core::views::viability::regime_color;
use tdw_core::{BoundView, Certificate, Figure, Report, TrainingResult, Variant};

use crate::html;

/// Prints MIME blocks for evcxr, all under one lock so no other output interleaves.
pub fn emit(blocks: &[(&str, &str)]) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (mime, body) in blocks {
        // A line that is exactly the end marker would cut the block short.
        let body = body.replace("\nEVCXR_END_CONTENT", "\n EVCXR_END_CONTENT");
        let _ = write!(
            out,
            "EVCXR_BEGIN_CONTENT {mime}\n{body}\nEVCXR_END_CONTENT\n"
        );
    }
    let _ = out.flush();
}

/// Shows an error as the cell's text result and on stderr (where notebook tests look).
fn emit_error(error: &dyn std::fmt::Display) {
    eprintln!("error: {error}");
    emit(&[("text/plain", &format!("error: {error}"))]);
}

/// Values that render inline in a notebook.
pub trait EvcxrDisplay {
    /// Sends this value's MIME bundle as the cell's output.
    fn evcxr_display(&self);
}

/// Widest chart shown inline: notebook output areas are ~900 px, and a wider SVG gets a
/// horizontal scrollbar. The viewBox is kept, so a narrower width scales the whole chart.
pub const MAX_INLINE_WIDTH: u32 = 860;

/// The SVG with its outer width/height scaled down to [`MAX_INLINE_WIDTH`] when wider.
pub fn fit_width(svg: &str, (width, height): (u32, u32)) -> String {
    if width <= MAX_INLINE_WIDTH {
        return svg.to_string();
    }
    let new_height = (height as f64 * MAX_INLINE_WIDTH as f64 / width as f64).round() as u32;
    let old = format!("<svg width=\"{width}\" height=\"{height}\"");
    let new = format!("<svg width=\"{MAX_INLINE_WIDTH}\" height=\"{new_height}\"");
    svg.replacen(&old, &new, 1)
}

impl EvcxrDisplay for Figure {
    fn evcxr_display(&self) {
        emit(&[
            ("image/svg+xml", &fit_width(self.svg(), self.size())),
            ("text/plain", &format!("Figure({:?})", self.title())),
        ]);
    }
}

impl EvcxrDisplay for BoundView {
    fn evcxr_display(&self) {
        match self.figure() {
            Ok(figure) => figure.evcxr_display(),
            Err(e) => emit_error(&e),
        }
    }
}

impl<T: EvcxrDisplay> EvcxrDisplay for tdw_core::Result<T> {
    fn evcxr_display(&self) {
        match self {
            Ok(value) => value.evcxr_display(),
            Err(e) => emit_error(e),
        }
    }
}

/// One row describing a variant: name, state, checkpoints, epochs, final losses.
pub(crate) fn variant_row(variant: &Variant) -> Vec<String> {
    let checkpoints = variant.checkpoints().map(|c| c.len()).unwrap_or(0);
    let (epochs, train, test) = match variant.metadata() {
        Ok(m) => (
            m.num_epochs.to_string(),
            m.train_losses
                .last()
                .map_or("–".into(), |l| format!("{l:.3e}")),
            m.test_losses
                .last()
                .map_or("–".into(), |l| format!("{l:.3e}")),
        ),
        Err(_) => ("–".into(), "–".into(), "–".into()),
    };
    vec![
        variant.name().to_string(),
        variant.family().name().to_string(),
        variant.state().to_string(),
        checkpoints.to_string(),
        epochs,
        train,
        test,
    ]
}

pub(crate) const VARIANT_HEADER: [&str; 7] = [
    "variant",
    "family",
    "state",
    "checkpoints",
    "epochs",
    "final train loss",
    "final test loss",
];

impl EvcxrDisplay for Variant {
    fn evcxr_display(&self) {
        let rows = vec![variant_row(self)];
        let views = self.available_views();
        // MIScope's classification of the run, from its losses (see tdw_core::variant::outcome).
        let outcome = self
            .metadata()
            .ok()
            .and_then(|m| tdw_core::variant::Outcome::of(&m.train_losses, &m.test_losses))
            .map(|o| o.line());
        let html = format!(
            "{}<p>{} views available; parameters: <code>{}</code></p>{}",
            html::table(&VARIANT_HEADER, &rows),
            views.len(),
            html::escape(&self.params().to_string()),
            outcome
                .as_ref()
                .map(|o| format!("<p>outcome: {}</p>", html::escape(o)))
                .unwrap_or_default()
        );
        let text = match &outcome {
            Some(o) => format!("{}\noutcome: {o}", html::text_table(&VARIANT_HEADER, &rows)),
            None => html::text_table(&VARIANT_HEADER, &rows),
        };
        emit(&[("text/html", &html), ("text/plain", &text)]);
    }
}

impl EvcxrDisplay for Vec<Variant> {
    fn evcxr_display(&self) {
        let rows: Vec<Vec<String>> = self.iter().map(variant_row).collect();
        emit(&[
            ("text/html", &html::table(&VARIANT_HEADER, &rows)),
            ("text/plain", &html::text_table(&VARIANT_HEADER, &rows)),
        ]);
    }
}

/// The loss curves of a finished run, drawn from the result itself.
pub fn loss_chart(result: &TrainingResult, title: &str) -> tdw_core::Result<Figure> {
    let mut chart = loss_curve_chart(
        title,
        &result.train_losses,
        &result.test_losses,
        &result.checkpoint_epochs,
    );
    chart.size = (760, 400);
    chart.render()
}

/// First epoch with loss below `threshold`, as text.
pub(crate) fn first_below(losses: &[f64], threshold: f64) -> String {
    losses
        .iter()
        .position(|l| *l < threshold)
        .map_or("not reached".into(), |e| e.to_string())
}

impl EvcxrDisplay for TrainingResult {
    fn evcxr_display(&self) {
        let name = self
            .variant_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rows = vec![
            vec!["epochs".into(), self.train_losses.len().to_string()],
            vec![
                "checkpoints".into(),
                self.checkpoint_epochs.len().to_string(),
            ],
            vec![
                "final train loss".into(),
                format!("{:.3e}", self.final_train_loss),
            ],
            vec![
                "final test loss".into(),
                format!("{:.3e}", self.final_test_loss),
            ],
            vec![
                "first epoch with test loss < 0.01".into(),
                first_below(&self.test_losses, 0.01),
            ],
            vec!["written to".into(), self.variant_dir.display().to_string()],
        ];
        let chart = match loss_chart(self, &format!("Loss curves — {name}")) {
            Ok(figure) => fit_width(figure.svg(), figure.size()),
            Err(e) => format!("<p>chart failed: {}</p>", html::escape(&e.to_string())),
        };
        let html = format!("{chart}{}", html::table(&["", ""], &rows));
        emit(&[
            ("text/html", &html),
            ("text/plain", &html::text_table(&["", ""], &rows)),
        ]);
    }
}

impl EvcxrDisplay for AnalysisReport {
    fn evcxr_display(&self) {
        let mut rows = vec![
            vec![
                "checkpoints analyzed".into(),
                self.epochs_analyzed.len().to_string(),
            ],
            vec![
                "per-epoch files written".into(),
                self.files_written.to_string(),
            ],
            vec![
                "cross-epoch analyzers".into(),
                self.cross_epoch_run.join(", "),
            ],
            vec!["seconds".into(), format!("{:.1}", self.seconds)],
        ];
        for (analyzer, reason) in &self.skipped {
            rows.push(vec![format!("skipped: {analyzer}"), reason.clone()]);
        }
        if !self.not_implemented.is_empty() {
            rows.push(vec![
                "not implemented".into(),
                self.not_implemented.join(", "),
            ]);
        }
        emit(&[
            ("text/html", &html::table(&["analysis", ""], &rows)),
            ("text/plain", &html::text_table(&["analysis", ""], &rows)),
        ]);
    }
}

/// The freshness table (analyzer, kind, state) under a caption, as HTML and text.
pub fn freshness_tables(report: &FreshnessReport) -> (String, String) {
    let rows: Vec<Vec<String>> = report
        .per_epoch
        .iter()
        .map(|(a, f)| vec![a.clone(), "per-epoch".into(), f.to_string()])
        .chain(
            report
                .cross_epoch
                .iter()
                .map(|(a, f)| vec![a.clone(), "cross-epoch".into(), f.to_string()]),
        )
        .collect();
    let header = ["analyzer", "kind", "state"];
    let caption = format!(
        "<p>{}: {} checkpoints</p>",
        html::escape(&report.variant_name),
        report.total_checkpoints
    );
    (
        format!("{caption}{}", html::table(&header, &rows)),
        html::text_table(&header, &rows),
    )
}

impl EvcxrDisplay for FreshnessReport {
    fn evcxr_display(&self) {
        let (html, text) = freshness_tables(self);
        emit(&[("text/html", &html), ("text/plain", &text)]);
    }
}

impl EvcxrDisplay for Artifact {
    fn evcxr_display(&self) {
        let rows: Vec<Vec<String>> = self
            .iter()
            .map(|(key, array)| {
                let values = array.to_f64();
                let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
                let (lo, hi) = finite
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                        (a.min(*v), b.max(*v))
                    });
                let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
                vec![
                    key.to_string(),
                    array.dtype().numpy_name().to_string(),
                    format!("{:?}", array.shape()),
                    format!("{lo:.4}"),
                    format!("{mean:.4}"),
                    format!("{hi:.4}"),
                ]
            })
            .collect();
        let header = ["key", "dtype", "shape", "min", "mean", "max"];
        emit(&[
            ("text/html", &html::table(&header, &rows)),
            ("text/plain", &html::text_table(&header, &rows)),
        ]);
    }
}

/// The scrubber inline (its slider works where the notebook is trusted or exported to HTML; the
/// first frame shows regardless).
impl EvcxrDisplay for Scrubber {
    fn evcxr_display(&self) {
        let epochs = self.epochs();
        emit(&[
            ("text/html", &self.fragment()),
            (
                "text/plain",
                &format!(
                    "Scrubber({}, {} epochs {}..={})",
                    self.view(),
                    epochs.len(),
                    epochs[0],
                    epochs[epochs.len() - 1]
                ),
            ),
        ]);
    }
}

impl EvcxrDisplay for Report {
    fn evcxr_display(&self) {
        let failures = self.failures();
        let moments: Vec<String> = self
            .moments()
            .iter()
            .map(|m| format!("{} ({})", m.epoch, m.label))
            .collect();
        let rows = vec![
            vec![
                "charts".into(),
                (self.entries().len() - failures.len()).to_string(),
            ],
            vec!["failed".into(), failures.len().to_string()],
            vec!["epochs shown".into(), moments.join(", ")],
        ];
        emit(&[
            ("text/html", &html::table(&["report", ""], &rows)),
            ("text/plain", &html::text_table(&["report", ""], &rows)),
        ]);
    }
}

/// Charts one after the other, each fitted to the output width, or why they could not be drawn.
fn charts_html(figures: std::result::Result<Vec<&Figure>, &tdw_core::Error>) -> String {
    match figures {
        Ok(figures) => figures
            .iter()
            .map(|f| fit_width(f.svg(), f.size()))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!(
            "<p>charts unavailable: {}</p>",
            html::escape(&e.to_string())
        ),
    }
}

/// A certificate as one HTML block: the regime in its colour and why, the summary, the hard
/// pairs and the three charts (what a cell ending in a certificate and the viability panel show).
pub fn certificate_html(certificate: &Certificate) -> String {
    let charts = charts_html(certificate.charts().as_ref().map(|f| f.iter().collect()));
    format!(
        "<p><b style=\"color:{}\">{}</b> — {}</p>{}<p>hard pairs (residues r and r + round(p/k), \
         which k alone barely separates)</p>{}{charts}",
        tdw_core::views::color::hex(regime_color(certificate.regime)),
        certificate.regime,
        html::escape(&certificate.reason),
        html::table(&["viability certificate", ""], &certificate.summary_rows()),
        html::table(
            &Certificate::HARD_PAIR_HEADER,
            &certificate.hard_pair_rows()
        ),
    )
}

impl EvcxrDisplay for Certificate {
    fn evcxr_display(&self) {
        emit(&[
            ("text/html", &certificate_html(self)),
            ("text/plain", &self.table_text()),
        ]);
    }
}

impl EvcxrDisplay for tdw_core::variant::DensifyResult {
    fn evcxr_display(&self) {
        let list = |e: &[u64]| e.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let rows = vec![
            vec![
                "checkpoints before".into(),
                self.plan.existing.len().to_string(),
            ],
            vec!["reproduced byte for byte".into(), self.verified.to_string()],
            vec!["added".into(), list(&self.plan.new_epochs)],
            vec!["checkpoints now".into(), self.plan.merged.len().to_string()],
            vec!["retrain seconds".into(), format!("{:.1}", self.seconds)],
        ];
        emit(&[
            ("text/html", &html::table(&["densify", ""], &rows)),
            ("text/plain", &html::text_table(&["densify", ""], &rows)),
        ]);
    }
}

impl EvcxrDisplay for tdw_core::init_sweep::InitSweep {
    fn evcxr_display(&self) {
        let charts = charts_html(
            self.charts()
                .as_ref()
                .map(|f| f.iter().map(|(_, f)| f).collect()),
        );
        let caption = format!(
            "<p>initialization gradient sweep, p = {}, fraction {}; key frequencies {:?} from {}</p>",
            self.prime,
            self.fraction,
            self.key_frequencies,
            html::escape(&self.key_source)
        );
        let page = format!(
            "{caption}{}{charts}",
            html::table(&tdw_core::init_sweep::InitSweep::HEADER, &self.rows())
        );
        emit(&[("text/html", &page), ("text/plain", &self.table_text())]);
    }
}

impl EvcxrDisplay for tdw_core::views::Animation {
    fn evcxr_display(&self) {
        self.scrubber().evcxr_display();
    }
}

impl EvcxrDisplay for tdw_core::views::PeerComparison {
    fn evcxr_display(&self) {
        let charts = charts_html(
            [
                self.loss_chart(),
                self.divergence_chart(),
                self.matrix_chart(0),
            ]
            .into_iter()
            .collect::<tdw_core::Result<Vec<_>>>()
            .as_ref()
            .map(|f| f.iter().collect()),
        );
        let page = format!(
            "<p>anchor <code>{}</code> and its peers by {}</p><pre>{}</pre>{}{charts}",
            html::escape(&self.anchor),
            self.axis.parameter(),
            html::escape(&self.comparison.table_text()),
            html::table(&self.divergence_header(), &self.divergence_rows())
        );
        emit(&[("text/html", &page), ("text/plain", &self.table_text())]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_charts_are_scaled_to_the_output_area() {
        let svg = r#"<svg width="1720" height="400" viewBox="0 0 1720 400"></svg>"#;
        assert_eq!(
            fit_width(svg, (1720, 400)),
            r#"<svg width="860" height="200" viewBox="0 0 1720 400"></svg>"#
        );
        let narrow = r#"<svg width="500" height="400" viewBox="0 0 500 400"></svg>"#;
        assert_eq!(fit_width(narrow, (500, 400)), narrow);
    }
}
