//! SVG → PNG through resvg. Text needs a font: we load the system's fonts and map the generic
//! `sans-serif` family (what plotters writes) onto the first common sans family present.

use std::sync::OnceLock;

use resvg::{tiny_skia, usvg};

use crate::error::{RenderError, Result};

/// Sans families tried, in order, for SVG's generic `sans-serif`.
const SANS_FAMILIES: [&str; 5] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "Arial",
    "Helvetica",
];

/// Loading the system fonts takes tens of milliseconds; do it once per process.
fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = usvg::Options::default();
        let db = options.fontdb_mut();
        db.load_system_fonts();
        let present = SANS_FAMILIES
            .iter()
            .find(|family| {
                db.faces()
                    .any(|face| face.families.iter().any(|(name, _)| name == *family))
            })
            .map(|family| family.to_string());
        let fallback = db
            .faces()
            .next()
            .and_then(|f| f.families.first())
            .map(|(name, _)| name.clone());
        if let Some(family) = present.or(fallback) {
            db.set_sans_serif_family(family);
        }
        options
    })
}

/// Rasterises an SVG document at `scale` device pixels per CSS pixel.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    let options = options();
    if options.fontdb.is_empty() {
        return Err(RenderError::NoSystemFont.into());
    }
    if !(scale.is_finite() && scale > 0.0 && scale <= 8.0) {
        return Err(RenderError::Scale { scale }.into());
    }
    let tree = usvg::Tree::from_str(svg, options).map_err(RenderError::SvgParse)?;
    let size = tree.size();
    let width = (size.width() * scale).ceil() as u32;
    let height = (size.height() * scale).ceil() as u32;
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(RenderError::ImageSize { width, height })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::PngEncode(Box::new(e)).into())
}

/// Rasterises an SVG document on white at `scale`; returns width, height and straight RGBA
/// bytes (opaque, so premultiplied and straight agree), row-major.
pub fn svg_to_rgba(svg: &str, scale: f32) -> Result<(u32, u32, Vec<u8>)> {
    let options = options();
    if options.fontdb.is_empty() {
        return Err(RenderError::NoSystemFont.into());
    }
    if !(scale.is_finite() && scale > 0.0 && scale <= 8.0) {
        return Err(RenderError::Scale { scale }.into());
    }
    let tree = usvg::Tree::from_str(svg, options).map_err(RenderError::SvgParse)?;
    let size = tree.size();
    let width = (size.width() * scale).ceil() as u32;
    let height = (size.height() * scale).ceil() as u32;
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(RenderError::ImageSize { width, height })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    Ok((width, height, pixmap.take()))
}

/// Encodes straight RGBA pixels (row-major, `width × height`) as PNG.
pub fn rgba_to_png(width: u32, height: u32, rgba: &[[u8; 4]]) -> Result<Vec<u8>> {
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(RenderError::ImageSize { width, height })?;
    for (pixel, [r, g, b, a]) in pixmap.pixels_mut().iter_mut().zip(rgba) {
        *pixel = tiny_skia::ColorU8::from_rgba(*r, *g, *b, *a).premultiply();
    }
    pixmap
        .encode_png()
        .map_err(|e| RenderError::PngEncode(Box::new(e)).into())
}
