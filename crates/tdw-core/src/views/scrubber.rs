//! A static scrubber: one per-epoch view drawn at every analyzed epoch, in one self-contained
//! piece of HTML with a slider, for write-ups that are read without a kernel (an nbconvert
//! HTML export of a notebook, the `tdw report` page, a file mailed to a colleague).
//!
//! Every frame is the view's own SVG, so nothing is fetched and the frames are exactly what
//! the explorer shows. The first frame shows without scripts (the others carry `hidden`, and
//! the slider is only revealed by the inline script); the script is a dozen lines that toggle
//! `hidden`, so the page still works in a sandboxed or script-less viewer, just unscrubbable.
//!
//! Size is the SVGs' size. Measured on a p = 59 run (21 analyzed checkpoints; BENCHMARKS.md):
//! 20 kB a frame for the neuron heatmap, 23 kB for the embedding's Fourier coefficients, 34 kB
//! for the neuron frequency clusters, 89 kB for the four attention heads; so 95 checkpoints of
//! one view weigh 1.9–8.4 MB (heatmap cells are vector rectangles, which is what grows with p).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::analysis::loader::ArtifactLoader;
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::variant::Variant;
use crate::views::catalog::{ViewCatalog, ViewDefinition};
use crate::views::text::escape;

/// One view of one variant at every epoch it has data for.
#[derive(Debug, Clone)]
pub struct Scrubber {
    variant: String,
    view: &'static str,
    /// `(epoch, SVG)`, epochs ascending.
    frames: Vec<(u64, String)>,
}

/// The epochs a per-epoch view can be drawn at: the analyzed checkpoints of its epoch source,
/// else every checkpoint (what the explorer's slider moves over as well).
pub fn view_epochs(variant: &Variant, definition: &ViewDefinition) -> Vec<u64> {
    let from_source = definition
        .epoch_source
        .map(|source| ArtifactLoader::new(variant.artifacts_dir()).epochs(source))
        .unwrap_or_default();
    if from_source.is_empty() {
        variant.checkpoints().unwrap_or_default()
    } else {
        from_source
    }
}

impl Scrubber {
    /// Draws `view` (with its `options`, as `BoundView::with` takes them) at each of its epochs.
    /// Fails on an unknown view, on a view that is not per-epoch (it has one frame; show it
    /// directly), on a variant with no analyzed epoch for it, and on the first frame that
    /// cannot be drawn (naming its epoch).
    pub fn build(variant: &Variant, view: &str, options: &[(&str, &str)]) -> Result<Scrubber> {
        let definition = ViewCatalog::builtin().get(view)?;
        if !definition.is_per_epoch() {
            return Err(Error::NotPerEpoch { view: view.into() });
        }
        let epochs = view_epochs(variant, definition);
        if epochs.is_empty() {
            return Err(Error::ViewUnavailable {
                view: view.into(),
                variant: variant.name().into(),
                missing: "no analyzed epoch (run the analysis first)".into(),
            });
        }
        let mut frames = Vec::with_capacity(epochs.len());
        for epoch in epochs {
            let mut bound = variant.at(epoch).view(definition.name)?;
            for (name, value) in options {
                bound = bound.with(name, value);
            }
            let figure = bound.figure()?;
            frames.push((epoch, figure.svg().to_string()));
        }
        Ok(Scrubber {
            variant: variant.name().to_string(),
            view: definition.name,
            frames,
        })
    }

    /// A scrubber of frames drawn elsewhere (an [`crate::views::Animation`]): `(epoch, SVG)`,
    /// epochs ascending, at least one.
    pub(crate) fn from_frames(
        variant: &str,
        view: &'static str,
        frames: Vec<(u64, String)>,
    ) -> Self {
        Scrubber {
            variant: variant.to_string(),
            view,
            frames,
        }
    }

    /// The view scrubbed.
    pub fn view(&self) -> &'static str {
        self.view
    }

    /// The epochs of the frames, ascending.
    pub fn epochs(&self) -> Vec<u64> {
        self.frames.iter().map(|(e, _)| *e).collect()
    }

    /// The scrubber as an HTML fragment (a `<div>` with its inline style and script), for a
    /// notebook output or a section of a larger page.
    pub fn fragment(&self) -> String {
        // Ids unique within a page holding several scrubbers (and several notebook outputs).
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = format!(
            "tdw-scrub-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let last = self.frames.len() - 1;
        let first_epoch = self.frames[0].0;
        let mut html = String::new();
        let _ = write!(
            html,
            "<div class=\"tdw-scrubber\" id=\"{id}\" data-view=\"{view}\">\
             <style>#{id} svg{{max-width:100%;height:auto}}</style>\
             <div class=\"tdw-scrub-head\" style=\"font-family:sans-serif;font-size:13px;margin:4px 0\">\
             <b>{view}</b> · {variant} · <span class=\"tdw-scrub-epoch\">epoch {first_epoch}</span> \
             <span class=\"tdw-scrub-count\">(1/{count})</span></div>\
             <div class=\"tdw-scrub-controls\" hidden style=\"margin:4px 0\">\
             <input type=\"range\" min=\"0\" max=\"{last}\" value=\"0\" step=\"1\" style=\"width:420px\" \
             aria-label=\"epoch\"></div>",
            view = escape(self.view),
            variant = escape(&self.variant),
            count = self.frames.len(),
        );
        for (i, (epoch, svg)) in self.frames.iter().enumerate() {
            let hidden = if i == 0 { "" } else { " hidden" };
            let _ = write!(
                html,
                "<div class=\"tdw-scrub-frame\" data-epoch=\"{epoch}\"{hidden}>{svg}</div>"
            );
        }
        let _ = write!(
            html,
            "<script>(function(){{var root=document.getElementById('{id}');if(!root)return;\
             var frames=root.querySelectorAll('.tdw-scrub-frame');\
             var controls=root.querySelector('.tdw-scrub-controls');\
             var range=controls.querySelector('input');\
             var label=root.querySelector('.tdw-scrub-epoch');\
             var count=root.querySelector('.tdw-scrub-count');\
             function show(i){{for(var k=0;k<frames.length;k++){{frames[k].hidden=(k!==i);}}\
             label.textContent='epoch '+frames[i].getAttribute('data-epoch');\
             count.textContent='('+(i+1)+'/'+frames.length+')';}}\
             range.addEventListener('input',function(){{show(parseInt(range.value,10));}});\
             controls.hidden=false;}})();</script></div>"
        );
        html
    }

    /// A whole HTML document holding the scrubber.
    pub fn page(&self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{} — {}</title></head><body>{}</body></html>\n",
            escape(&self.variant),
            escape(self.view),
            self.fragment()
        )
    }

    /// Where `v.scrub(view)` writes by default: the variant's `scrub/` folder.
    pub fn default_path(variant: &Variant, view: &str) -> PathBuf {
        variant.dir().join("scrub").join(format!("{view}.html"))
    }

    /// Writes [`Scrubber::page`] atomically (temporary file, rename) and returns the path.
    pub fn write(&self, path: &Path) -> Result<PathBuf> {
        atomic_file::write(path, self.page().as_bytes())?;
        Ok(path.to_path_buf())
    }
}

impl Variant {
    /// A static scrubber of `view` over every analyzed epoch (see [`Scrubber`]).
    pub fn scrub(&self, view: &str) -> Result<Scrubber> {
        Scrubber::build(self, view, &[])
    }
}
