//! A rendered chart: SVG text (what notebooks and the HTML report embed) that can also be
//! rasterised to PNG for papers and slides.

use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::views::raster;

/// File formats a [`Figure`] can be saved as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics, text kept as text.
    Svg,
    /// A raster image (rasterised from the SVG).
    Png,
}

impl ImageFormat {
    /// The format named by a path's extension (`.svg`, `.png`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(Error::UnsupportedImageFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

/// One chart, kept as SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    title: String,
    width: u32,
    height: u32,
    svg: String,
}

impl Figure {
    pub(crate) fn new(title: impl Into<String>, width: u32, height: u32, svg: String) -> Self {
        Figure {
            title: title.into(),
            width,
            height,
            svg,
        }
    }

    /// The chart's title, as drawn at its top.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Width and height in CSS pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// PNG bytes at `scale` device pixels per CSS pixel (2 gives print-quality images).
    pub fn to_png(&self, scale: f32) -> Result<Vec<u8>> {
        raster::svg_to_png(&self.svg, scale)
    }

    /// Writes the figure to `path` as SVG or PNG (by extension, PNG at scale 2), atomically, and
    /// returns the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let path = path.as_ref();
        let bytes = match ImageFormat::from_path(path)? {
            ImageFormat::Svg => self.svg.as_bytes().to_vec(),
            ImageFormat::Png => self.to_png(2.0)?,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        atomic_file::write(path, &bytes)?;
        Ok(path.to_path_buf())
    }
}
