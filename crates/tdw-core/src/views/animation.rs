//! Animations of a view over training (MIScope's `export_animation` and
//! `export_cross_epoch_animation`, spec: miscope-dashboard.md §6): one frame per epoch, written
//! as a GIF (every frame rasterised, palette by NeuQuant through the `gif` crate) or as an HTML
//! page with a slider (the [`Scrubber`] page, every frame the view's own SVG).
//!
//! A per-epoch view gets one frame per analysed epoch of its source (or the epochs asked for); a
//! view over all epochs (loss curves, trajectories, summaries) gets the same chart with its epoch
//! cursor swept across the checkpoints, so its axes stay fixed. A per-epoch view's axes follow
//! each frame's data, as its chart does in the explorer.

use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::error::{Error, RenderError, Result};
use crate::variant::Variant;
use crate::views::catalog::ViewCatalog;
use crate::views::figure::Figure;
use crate::views::raster;
use crate::views::scrubber::{Scrubber, view_epochs};

/// MIScope's default frame rate.
pub const DEFAULT_FPS: f64 = 5.0;

/// One view drawn at a sequence of epochs.
#[derive(Debug, Clone)]
pub struct Animation {
    variant: String,
    view: &'static str,
    frames: Vec<(u64, Figure)>,
}

impl Animation {
    /// Draws `view` (with `options`) at `epochs`, or at every epoch it can be drawn at: a
    /// per-epoch view's analysed epochs, else the variant's checkpoints (the cursor's sweep).
    /// Fewer than two frames is an error (nothing moves).
    pub fn build(
        variant: &Variant,
        view: &str,
        options: &[(&str, &str)],
        epochs: Option<&[u64]>,
    ) -> Result<Animation> {
        let definition = ViewCatalog::builtin().get(view)?;
        let available = view_epochs(variant, definition);
        let epochs: Vec<u64> = match epochs {
            Some(asked) => {
                if let Some(missing) = asked.iter().find(|e| !available.contains(e)) {
                    return Err(Error::InvalidSetting {
                        setting: "epochs".into(),
                        value: missing.to_string(),
                        reason: format!(
                            "{view} of {} cannot be drawn there; it can at {} epochs from {} to {}",
                            variant.name(),
                            available.len(),
                            available.first().copied().unwrap_or(0),
                            available.last().copied().unwrap_or(0)
                        ),
                    });
                }
                asked.to_vec()
            }
            None => available,
        };
        if epochs.len() < 2 {
            return Err(Error::ViewUnavailable {
                view: view.into(),
                variant: variant.name().into(),
                missing: format!(
                    "an animation needs two epochs or more; {} available (train and analyze first)",
                    epochs.len()
                ),
            });
        }
        let mut frames = Vec::with_capacity(epochs.len());
        for epoch in epochs {
            let mut bound = variant.at(epoch).view(definition.name)?;
            for (name, value) in options {
                bound = bound.with(name, value);
            }
            frames.push((epoch, bound.figure()?));
        }
        Ok(Animation {
            variant: variant.name().to_string(),
            view: definition.name,
            frames,
        })
    }

    /// The frames' epochs.
    pub fn epochs(&self) -> Vec<u64> {
        self.frames.iter().map(|(e, _)| *e).collect()
    }

    /// The frames.
    pub fn frames(&self) -> &[(u64, Figure)] {
        &self.frames
    }

    /// The animation as a GIF at `fps` frames a second, looping; every frame rasterised at one
    /// device pixel per CSS pixel.
    pub fn to_gif(&self, fps: f64) -> Result<Vec<u8>> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 50.0) {
            return Err(Error::InvalidSetting {
                setting: "fps".into(),
                value: fps.to_string(),
                reason: "must lie in (0, 50] (a GIF counts delays in hundredths of a second)"
                    .into(),
            });
        }
        // Delays are whole hundredths of a second.
        let delay = (100.0 / fps).round().max(1.0) as u16;
        let mut frames = Vec::with_capacity(self.frames.len());
        for (epoch, figure) in &self.frames {
            let (width, height, mut rgba) = raster::svg_to_rgba(figure.svg(), 1.0)?;
            let too_big = || RenderError::ImageSize { width, height };
            let (w, h) = (
                u16::try_from(width).map_err(|_| too_big())?,
                u16::try_from(height).map_err(|_| too_big())?,
            );
            if let Some(first) = frames.first().map(|f: &gif::Frame<'_>| (f.width, f.height))
                && first != (w, h)
            {
                return Err(Error::ViewData {
                    view: self.view.into(),
                    reason: format!(
                        "the frame of epoch {epoch} is {w}×{h}, the first {}×{}",
                        first.0, first.1
                    ),
                });
            }
            // NeuQuant palette per frame (speed 10: gif's recommended trade-off).
            let mut frame = gif::Frame::from_rgba_speed(w, h, &mut rgba, 10);
            frame.delay = delay;
            frames.push(frame);
        }
        let (w, h) = (frames[0].width, frames[0].height);
        let mut out = Vec::new();
        {
            let mut encoder = gif::Encoder::new(&mut out, w, h, &[]).map_err(gif_error)?;
            encoder
                .set_repeat(gif::Repeat::Infinite)
                .map_err(gif_error)?;
            for frame in &frames {
                encoder.write_frame(frame).map_err(gif_error)?;
            }
        }
        Ok(out)
    }

    /// The frames as a [`Scrubber`] (a slider over their SVGs).
    pub fn scrubber(&self) -> Scrubber {
        Scrubber::from_frames(
            &self.variant,
            self.view,
            self.frames
                .iter()
                .map(|(e, f)| (*e, f.svg().to_string()))
                .collect(),
        )
    }

    /// The animation as a self-contained HTML page: a slider over the frames' SVGs.
    pub fn to_html(&self) -> String {
        self.scrubber().page()
    }

    /// Whether `path` names a format an animation is written in (.gif, .html): checked before
    /// any frame is drawn.
    pub fn check_path(path: &Path) -> Result<()> {
        format_of(path).map(|_| ())
    }

    /// Writes the animation to `path`, GIF or HTML by its extension, atomically.
    pub fn save(&self, path: &Path, fps: f64) -> Result<PathBuf> {
        let bytes = if format_of(path)? {
            self.to_gif(fps)?
        } else {
            self.to_html().into_bytes()
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        atomic_file::write(path, &bytes)?;
        Ok(path.to_path_buf())
    }
}

/// `true` for a GIF path, `false` for HTML, an error otherwise.
fn format_of(path: &Path) -> Result<bool> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("gif") => Ok(true),
        Some("html") | Some("htm") => Ok(false),
        _ => Err(Error::UnsupportedImageFormat {
            path: path.to_path_buf(),
        }),
    }
}

fn gif_error(e: gif::EncodingError) -> Error {
    RenderError::GifEncode(Box::new(e)).into()
}
