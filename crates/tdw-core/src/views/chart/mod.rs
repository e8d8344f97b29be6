//! The chart kinds every view is built from: lines (optionally log-y, with shaded spans, bands,
//! markers and the epoch indicator), bars, heatmaps (one or several panels) and trajectories.
//! Views turn artifacts into one of these; these turn themselves into a [`Figure`].
//!
//! Heatmap cells are drawn as one embedded PNG (one pixel per cell, scaled without smoothing), so a
//! 113 × 113 neuron map costs a few kilobytes instead of 12,769 SVG rectangles.

use base64::Engine as _;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::RenderError;
use crate::error::Result;
use crate::views::color::{self, ColorScale};
use crate::views::figure::Figure;
use crate::views::raster;

mod bar;
mod heatmap;
mod line;
mod trajectory;

pub use bar::{Bar, BarChart};
pub use heatmap::{Heatmap, Legend, Panel};
pub use line::{Band, LineChart, Marker, RefLine, Series, Span};
pub use trajectory::Trajectory;

const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 20;
const LABEL_SIZE: u32 = 13;
const TICK_SIZE: u32 = 12;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Turns any plotters drawing error into ours.
fn drawing<T, E: std::error::Error + Send + Sync + 'static>(
    result: std::result::Result<T, DrawingAreaErrorKind<E>>,
) -> Result<T> {
    result.map_err(|e| RenderError::Draw(Box::new(e)).into())
}

/// A raster image placed over the SVG at a pixel rectangle (heatmap cells, colour bars).
struct Overlay {
    x: i32,
    y: i32,
    width: i32,
    height: i32,
    png: Vec<u8>,
    /// Cells across and down, recorded on the element so readers (and tests) can check them.
    cells: (u32, u32),
}

impl Overlay {
    fn into_markup(self) -> String {
        let data = base64::engine::general_purpose::STANDARD.encode(&self.png);
        format!(
            r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" image-rendering="optimizeSpeed" style="image-rendering:pixelated" data-cells="{}x{}" href="data:image/png;base64,{data}"/>"#,
            self.x, self.y, self.width, self.height, self.cells.0, self.cells.1
        )
    }
}

/// Draws on a white SVG canvas and returns the document, overlays included.
fn render(
    title: &str,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area<'_>, &mut Vec<String>) -> Result<()>,
) -> Result<Figure> {
    let mut svg = String::new();
    let mut overlays = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        drawing(root.fill(&WHITE))?;
        let body = drawing(root.titled(title, (FONT, TITLE_SIZE)))?;
        draw(&body, &mut overlays)?;
        drawing(root.present())?;
    }
    if !overlays.is_empty() {
        let images: String = overlays.concat();
        let end = svg.rfind("</svg>").ok_or(RenderError::NoClosingSvg)?;
        svg.insert_str(end, &images);
    }
    Ok(Figure::new(title, width, height, svg))
}

/// Axis range covering `values` with a little room, or (0, 1) when there is nothing finite.
fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let half = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            0.5
        };
        return (lo - half, hi + half);
    }
    let room = (hi - lo) * pad;
    (lo - room, hi + room)
}

/// Tick label for a log10-transformed value: plain decimals near 1, powers of ten elsewhere,
/// nothing between powers (ticks stay, labels would only clutter).
fn log_tick(v: f64) -> String {
    let k = v.round();
    if (v - k).abs() > 1e-6 {
        return String::new();
    }
    match k as i32 {
        -3..=-1 => format!("{}", 10f64.powi(k as i32)),
        0..=3 => format!("{}", 10f64.powi(k as i32) as i64),
        e => format!("1e{e}"),
    }
}

/// Compact tick label for linear axes.
fn linear_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        // One decimal, so that ticks 0.5e-5 apart do not print the same label twice.
        format!("{v:.1e}").replace(".0e", "e")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The usual frame: caption-less chart (the figure carries the title) with labelled axes.
#[allow(clippy::too_many_arguments)]
fn frame<'a, 'b: 'a>(
    area: &'a Area<'b>,
    x: (f64, f64),
    y: (f64, f64),
    x_label: &str,
    y_label: &str,
    x_format: &dyn Fn(&f64) -> String,
    y_format: &dyn Fn(&f64) -> String,
    grid: bool,
    x_ticks: usize,
) -> Result<Chart<'a, 'b>> {
    let mut chart = drawing(
        ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x.0..x.1, y.0..y.1),
    )?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .x_labels(x_ticks)
        .y_labels(8)
        .x_label_formatter(x_format)
        .y_label_formatter(y_format)
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08));
    if !grid {
        mesh.disable_mesh();
    }
    drawing(mesh.draw())?;
    Ok(chart)
}

/// Draws the red epoch indicator's line across the full height (before the legend).
fn draw_cursor_line<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    epoch: f64,
    y: (f64, f64),
) -> Result<()> {
    let style = color::CURSOR.stroke_width(2);
    drawing(chart.draw_series(std::iter::once(PathElement::new(
        vec![(epoch, y.0), (epoch, y.1)],
        style,
    ))))?;
    Ok(())
}

/// Writes "Epoch N" at the top of the indicator (after the legend, so nothing hides it); on the
/// line's left when the line is near the right edge, so it is never clipped.
fn draw_cursor_label<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    epoch: f64,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<()> {
    let near_right = epoch > x.0 + 0.8 * (x.1 - x.0);
    let (anchor, text) = if near_right {
        (HPos::Right, format!("Epoch {} ", epoch.round() as i64))
    } else {
        (HPos::Left, format!(" Epoch {}", epoch.round() as i64))
    };
    let label = TextStyle::from((FONT, TICK_SIZE).into_font())
        .color(&color::CURSOR)
        .pos(Pos::new(anchor, VPos::Top));
    drawing(chart.draw_series(std::iter::once(Text::new(text, (epoch, y.1), label))))?;
    Ok(())
}

/// A dashed reference line (threshold) from `ends[0]` to `ends[1]`, with its legend entry.
fn draw_ref_line<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    line: &RefLine,
    ends: [(f64, f64); 2],
    width: u32,
) -> Result<()> {
    let style = line.color.stroke_width(width);
    drawing(chart.draw_series(DashedLineSeries::new(ends, 6, 4, style)))?
        .label(line.label.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// Legend box, only when something is labelled.
fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Result<()> {
    drawing(
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, TICK_SIZE))
            .draw(),
    )
}

/// A vertical colour bar of `scale` from `lo` to `hi` with its label, beside a heatmap or a
/// trajectory coloured by epoch.
fn draw_color_bar(
    area: &Area<'_>,
    scale: ColorScale,
    (lo, hi): (f64, f64),
    label: &str,
    overlays: &mut Vec<String>,
) -> Result<()> {
    let mut chart = drawing(
        ChartBuilder::on(area)
            .margin_top(40)
            .margin_bottom(56)
            .margin_left(8)
            .set_label_area_size(LabelAreaPosition::Right, 56)
            .build_cartesian_2d(0.0..1.0, lo..hi),
    )?;
    drawing(
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .set_tick_mark_size(LabelAreaPosition::Right, 6)
            .y_labels(6)
            .y_label_formatter(&|v| linear_tick(*v))
            .label_style((FONT, TICK_SIZE))
            .axis_desc_style((FONT, TICK_SIZE))
            .y_desc(label)
            .draw(),
    )?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    const STEPS: usize = 128;
    let rgba: Vec<[u8; 4]> = (0..STEPS)
        .map(|i| {
            let c = scale.at(1.0 - i as f64 / (STEPS - 1) as f64);
            [c.0, c.1, c.2, 255]
        })
        .collect();
    overlays.push(
        Overlay {
            x: px.start,
            y: py.start,
            width: px.end - px.start,
            height: py.end - py.start,
            png: raster::rgba_to_png(1, STEPS as u32, &rgba)?,
            cells: (1, STEPS as u32),
        }
        .into_markup(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_label_decades_only() {
        assert_eq!(log_tick(0.0), "1");
        assert_eq!(linear_tick(6.5e-5), "6.5e-5");
        assert_eq!(linear_tick(6e-5), "6e-5");
        assert_eq!(linear_tick(2e5), "2e5");
        assert_eq!(log_tick(-2.0), "0.01");
        assert_eq!(log_tick(-6.0), "1e-6");
        assert_eq!(log_tick(-1.5), "");
    }

    #[test]
    fn flat_data_still_gets_a_range() {
        let (lo, hi) = padded_range([2.0, 2.0], 0.05);
        assert!(lo < 2.0 && hi > 2.0);
        assert_eq!(padded_range([f64::NAN], 0.05), (0.0, 1.0));
    }
}
