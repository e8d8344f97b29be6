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

use crate::error::{Error, Result};
use crate::views::color::{self, ColorScale};
use crate::views::figure::Figure;
use crate::views::raster;

const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 20;
const LABEL_SIZE: u32 = 13;
const TICK_SIZE: u32 = 12;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Turns any plotters drawing error into ours.
fn drawing<T, E: std::error::Error + Send + Sync>(
    result: std::result::Result<T, DrawingAreaErrorKind<E>>,
) -> Result<T> {
    result.map_err(|e| Error::Render(e.to_string()))
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
        let end = svg
            .rfind("</svg>")
            .ok_or_else(|| Error::Render("plotters wrote no closing </svg>".into()))?;
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
        format!("{v:.0e}")
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

// ---------------------------------------------------------------------------------------------
// Lines

/// Marker shapes for point series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Diamond,
}

/// One named curve.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub dashed: bool,
    /// Draw points at every vertex as well (for sparse series such as checkpoints).
    pub marker: Option<Marker>,
    /// Only markers, no connecting line.
    pub markers_only: bool,
}

impl Series {
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Series {
            name: name.into(),
            points,
            color,
            dashed: false,
            marker: None,
            markers_only: false,
        }
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    pub fn markers(mut self, marker: Marker) -> Self {
        self.marker = Some(marker);
        self.markers_only = true;
        self
    }
}

/// A shaded x interval with a label at its top (training phases).
#[derive(Debug, Clone)]
pub struct Span {
    pub label: String,
    pub from: f64,
    pub to: f64,
    pub color: RGBColor,
}

/// A filled band between two curves sharing x (inter-quartile range).
#[derive(Debug, Clone)]
pub struct Band {
    pub name: String,
    pub x: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub color: RGBColor,
}

/// A horizontal or vertical reference line (thresholds).
#[derive(Debug, Clone)]
pub struct RefLine {
    pub label: String,
    pub value: f64,
    pub color: RGBColor,
}

/// Curves over a shared x axis.
#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
    pub spans: Vec<Span>,
    pub bands: Vec<Band>,
    pub hlines: Vec<RefLine>,
    pub cursor: Option<u64>,
    pub size: (u32, u32),
}

impl LineChart {
    pub fn new(title: impl Into<String>, x_label: &str, y_label: &str) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_y: false,
            series: Vec::new(),
            spans: Vec::new(),
            bands: Vec::new(),
            hlines: Vec::new(),
            cursor: None,
            size: (900, 480),
        }
    }

    fn y(&self, v: f64) -> f64 {
        if self.log_y {
            if v > 0.0 { v.log10() } else { f64::NAN }
        } else {
            v
        }
    }

    pub fn render(&self) -> Result<Figure> {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(self.bands.iter().flat_map(|b| b.x.iter().copied()))
            .chain(self.cursor.map(|c| c as f64));
        let (x_lo, x_hi) = padded_range(xs, 0.02);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| self.y(p.1)))
            .chain(
                self.bands
                    .iter()
                    .flat_map(|b| b.lower.iter().chain(&b.upper).map(|v| self.y(*v))),
            )
            .chain(self.hlines.iter().map(|h| self.y(h.value)))
            .collect::<Vec<_>>();
        let (mut y_lo, mut y_hi) = padded_range(ys, 0.05);
        if self.log_y {
            // Whole decades, so the labelled ticks exist.
            y_lo = y_lo.floor();
            y_hi = y_hi.ceil();
        }
        // Room above the data for the epoch label and two rows of span labels.
        let headroom = if self.spans.is_empty() { 0.06 } else { 0.12 };
        let y_top = y_hi + (y_hi - y_lo) * headroom;
        let log_y = self.log_y;
        render(&self.title, self.size, |area, _| {
            let y_format = move |v: &f64| {
                if log_y { log_tick(*v) } else { linear_tick(*v) }
            };
            let mut chart = frame(
                area,
                (x_lo, x_hi),
                (y_lo, y_top),
                &self.x_label,
                &self.y_label,
                &|v| linear_tick(*v),
                &y_format,
                true,
                10,
            )?;
            for (i, span) in self.spans.iter().enumerate() {
                drawing(chart.draw_series(std::iter::once(Rectangle::new(
                    [(span.from, y_lo), (span.to, y_top)],
                    span.color.mix(0.14).filled(),
                ))))?;
                // Alternate label rows so narrow neighbouring spans do not overprint.
                let label_y = y_top - (y_top - y_lo) * 0.045 * (i % 2) as f64;
                let grey = BLACK.mix(0.7);
                let style = TextStyle::from((FONT, TICK_SIZE).into_font())
                    .color(&grey)
                    .pos(Pos::new(HPos::Center, VPos::Top));
                drawing(chart.draw_series(std::iter::once(Text::new(
                    span.label.clone(),
                    ((span.from + span.to) / 2.0, label_y),
                    style,
                ))))?;
            }
            for band in &self.bands {
                let mut outline: Vec<(f64, f64)> = band
                    .x
                    .iter()
                    .zip(&band.upper)
                    .map(|(x, v)| (*x, self.y(*v)))
                    .collect();
                outline.extend(
                    band.x
                        .iter()
                        .zip(&band.lower)
                        .rev()
                        .map(|(x, v)| (*x, self.y(*v))),
                );
                outline.retain(|p| p.1.is_finite());
                let fill = band.color.mix(0.25).filled();
                drawing(chart.draw_series(std::iter::once(Polygon::new(outline, fill))))?
                    .label(band.name.clone())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], fill));
            }
            for line in &self.hlines {
                let v = self.y(line.value);
                draw_ref_line(&mut chart, line, [(x_lo, v), (x_hi, v)], 1)?;
            }
            for series in &self.series {
                self.draw_series(&mut chart, series)?;
            }
            if let Some(epoch) = self.cursor {
                draw_cursor_line(&mut chart, epoch as f64, (y_lo, y_top))?;
            }
            let labelled = self.series.iter().any(|s| !s.name.is_empty())
                || !self.bands.is_empty()
                || !self.hlines.is_empty();
            if labelled {
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
            if let Some(epoch) = self.cursor {
                draw_cursor_label(&mut chart, epoch as f64, (x_lo, x_hi), (y_lo, y_top))?;
            }
            Ok(())
        })
    }

    fn draw_series<'a, 'b: 'a>(&self, chart: &mut Chart<'a, 'b>, series: &Series) -> Result<()> {
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|(x, y)| (*x, self.y(*y)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let color = series.color;
        let stroke = color.stroke_width(2);
        let name = series.name.clone();
        let annotation = match (series.markers_only, series.marker.unwrap_or(Marker::Circle)) {
            (true, Marker::Diamond) => {
                drawing(chart.draw_series(points.into_iter().map(move |p| {
                    EmptyElement::at(p) + Polygon::new(DIAMOND.to_vec(), color.filled())
                })))?
            }
            (true, Marker::Circle) => drawing(
                chart.draw_series(
                    points
                        .into_iter()
                        .map(move |p| Circle::new(p, 3, color.filled())),
                ),
            )?,
            (false, _) if series.dashed => {
                drawing(chart.draw_series(DashedLineSeries::new(points, 6, 4, stroke)))?
            }
            (false, _) => drawing(chart.draw_series(LineSeries::new(points, stroke)))?,
        };
        if !name.is_empty() {
            match (series.markers_only, series.marker.unwrap_or(Marker::Circle)) {
                (true, Marker::Diamond) => annotation.label(name).legend(move |(x, y)| {
                    EmptyElement::at((x + 10, y)) + Polygon::new(DIAMOND.to_vec(), color.filled())
                }),
                (true, Marker::Circle) => annotation
                    .label(name)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled())),
                (false, _) if series.dashed => annotation.label(name).legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (7, 0)], stroke)
                        + PathElement::new(vec![(13, 0), (20, 0)], stroke)
                }),
                (false, _) => annotation
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke)),
            };
        }
        Ok(())
    }
}

/// Diamond outline in pixels around a point.
const DIAMOND: [(i32, i32); 4] = [(0, -5), (5, 0), (0, 5), (-5, 0)];

// ---------------------------------------------------------------------------------------------
// Bars

/// One bar over [from, to] on the x axis.
#[derive(Debug, Clone)]
pub struct Bar {
    pub from: f64,
    pub to: f64,
    pub value: f64,
    pub color: RGBColor,
    pub opacity: f64,
    /// Text written above the bar (names of the bars that matter, e.g. key frequencies).
    pub annotation: Option<String>,
}

/// Bars, either over categories (`categories` names bar i, centred at x = i) or over numeric
/// bins (histograms).
#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bars: Vec<Bar>,
    pub categories: Option<Vec<String>>,
    pub hlines: Vec<RefLine>,
    pub vlines: Vec<RefLine>,
    pub lines: Vec<Series>,
    pub size: (u32, u32),
}

impl BarChart {
    pub fn new(title: impl Into<String>, x_label: &str, y_label: &str) -> Self {
        BarChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            bars: Vec::new(),
            categories: None,
            hlines: Vec::new(),
            vlines: Vec::new(),
            lines: Vec::new(),
            size: (900, 480),
        }
    }

    /// Bars named by `labels`, one per value, in one colour.
    pub fn categorical(
        title: impl Into<String>,
        x_label: &str,
        y_label: &str,
        labels: Vec<String>,
        values: &[f64],
        color: RGBColor,
    ) -> Self {
        let mut chart = BarChart::new(title, x_label, y_label);
        chart.bars = values
            .iter()
            .enumerate()
            .map(|(i, v)| Bar {
                from: i as f64 - 0.4,
                to: i as f64 + 0.4,
                value: *v,
                color,
                opacity: 1.0,
                annotation: None,
            })
            .collect();
        chart.categories = Some(labels);
        chart
    }

    /// A histogram of `values` over `bins` equal bins spanning [lo, hi].
    pub fn histogram(
        title: impl Into<String>,
        x_label: &str,
        values: &[f64],
        (lo, hi): (f64, f64),
        bins: usize,
        color: RGBColor,
    ) -> Self {
        let mut counts = vec![0usize; bins];
        let width = (hi - lo) / bins as f64;
        for v in values.iter().filter(|v| v.is_finite()) {
            let bin = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
            counts[bin] += 1;
        }
        let mut chart = BarChart::new(title, x_label, "count");
        chart.bars = counts
            .iter()
            .enumerate()
            .map(|(i, c)| Bar {
                from: lo + i as f64 * width,
                to: lo + (i + 1) as f64 * width,
                value: *c as f64,
                color,
                opacity: 0.85,
                annotation: None,
            })
            .collect();
        chart
    }

    pub fn render(&self) -> Result<Figure> {
        let xs = self
            .bars
            .iter()
            .flat_map(|b| [b.from, b.to])
            .chain(self.vlines.iter().map(|l| l.value))
            .chain(self.lines.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
        let (x_lo, x_hi) = match &self.categories {
            Some(c) => (-0.6, c.len() as f64 - 0.4),
            None => padded_range(xs, 0.02),
        };
        let ys = self
            .bars
            .iter()
            .map(|b| b.value)
            .chain(self.hlines.iter().map(|l| l.value))
            .chain(self.lines.iter().flat_map(|s| s.points.iter().map(|p| p.1)))
            .chain(std::iter::once(0.0));
        let (y_lo, y_hi) = padded_range(ys, 0.04);
        let y_lo = y_lo.max(0.0).min(
            self.bars
                .iter()
                .map(|b| b.value)
                .fold(f64::INFINITY, f64::min)
                .min(0.0),
        );
        let annotated = self.bars.iter().any(|b| b.annotation.is_some());
        let y_top = y_hi + (y_hi - y_lo) * if annotated { 0.1 } else { 0.02 };
        let categories = self.categories.clone();
        let category_format = move |v: &f64| match &categories {
            Some(names) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
            None => linear_tick(*v),
        };
        let x_ticks = self
            .categories
            .as_ref()
            .map_or(10, |c| c.len().clamp(1, 16));
        render(&self.title, self.size, |area, _| {
            let mut chart = frame(
                area,
                (x_lo, x_hi),
                (y_lo, y_top),
                &self.x_label,
                &self.y_label,
                &category_format,
                &|v| linear_tick(*v),
                true,
                x_ticks,
            )?;
            drawing(chart.draw_series(self.bars.iter().map(|b| {
                Rectangle::new(
                    [(b.from, 0.0f64.max(y_lo)), (b.to, b.value)],
                    b.color.mix(b.opacity).filled(),
                )
            })))?;
            let note = TextStyle::from((FONT, 11).into_font())
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            drawing(chart.draw_series(self.bars.iter().filter_map(|b| {
                b.annotation.as_ref().map(|text| {
                    Text::new(text.clone(), ((b.from + b.to) / 2.0, b.value), note.clone())
                })
            })))?;
            for line in &self.hlines {
                draw_ref_line(
                    &mut chart,
                    line,
                    [(x_lo, line.value), (x_hi, line.value)],
                    2,
                )?;
            }
            for line in &self.vlines {
                draw_ref_line(
                    &mut chart,
                    line,
                    [(line.value, y_lo), (line.value, y_top)],
                    2,
                )?;
            }
            for series in &self.lines {
                let style = series.color.stroke_width(2);
                let marker = series.color.filled();
                drawing(chart.draw_series(LineSeries::new(series.points.clone(), style)))?
                    .label(series.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                drawing(
                    chart.draw_series(
                        series
                            .points
                            .iter()
                            .map(move |p| Circle::new(*p, 3, marker)),
                    ),
                )?;
            }
            if !self.hlines.is_empty() || !self.vlines.is_empty() || !self.lines.is_empty() {
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Heatmaps

/// How a heatmap's colours are explained beside it.
#[derive(Debug, Clone)]
pub enum Legend {
    /// A continuous scale from `lo` to `hi`.
    ColorBar {
        scale: ColorScale,
        lo: f64,
        hi: f64,
        label: String,
    },
    /// Named colours (categorical cells).
    Categories(Vec<(String, RGBColor)>),
}

/// One panel: `rows × cols` cells, row 0 drawn at the bottom (y grows upwards, as in Plotly).
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    /// Row-major colours, `rows * cols` of them.
    pub cells: Vec<RGBColor>,
    pub x_label: String,
    pub y_label: String,
    /// Tick label of every column / row.
    pub x_ticks: Vec<String>,
    pub y_ticks: Vec<String>,
    /// Column of the epoch cursor, drawn as the red indicator (time-axis heatmaps).
    pub cursor_col: Option<usize>,
}

impl Panel {
    /// A panel of values coloured on a continuous scale over [lo, hi].
    pub fn continuous(
        title: impl Into<String>,
        rows: usize,
        cols: usize,
        values: &[f64],
        scale: ColorScale,
        (lo, hi): (f64, f64),
    ) -> Self {
        Panel {
            title: title.into(),
            rows,
            cols,
            cells: values.iter().map(|v| scale.map(*v, lo, hi)).collect(),
            x_label: String::new(),
            y_label: String::new(),
            x_ticks: (0..cols).map(|i| i.to_string()).collect(),
            y_ticks: (0..rows).map(|i| i.to_string()).collect(),
            cursor_col: None,
        }
    }

    pub fn axes(mut self, x_label: &str, y_label: &str) -> Self {
        self.x_label = x_label.into();
        self.y_label = y_label.into();
        self
    }

    pub fn ticks(mut self, x_ticks: Vec<String>, y_ticks: Vec<String>) -> Self {
        self.x_ticks = x_ticks;
        self.y_ticks = y_ticks;
        self
    }
}

/// One or more heatmap panels in a grid, sharing one legend.
#[derive(Debug, Clone)]
pub struct Heatmap {
    pub title: String,
    pub panels: Vec<Panel>,
    pub columns: usize,
    pub legend: Legend,
    pub size: (u32, u32),
}

impl Heatmap {
    pub fn single(title: impl Into<String>, panel: Panel, legend: Legend) -> Self {
        Heatmap {
            title: title.into(),
            panels: vec![panel],
            columns: 1,
            legend,
            size: (560, 500),
        }
    }

    pub fn render(&self) -> Result<Figure> {
        for panel in &self.panels {
            if panel.cells.len() != panel.rows * panel.cols || panel.rows == 0 || panel.cols == 0 {
                return Err(Error::Render(format!(
                    "heatmap panel '{}' has {} cells for {}×{}",
                    panel.title,
                    panel.cells.len(),
                    panel.rows,
                    panel.cols
                )));
            }
        }
        let legend_width = match &self.legend {
            Legend::ColorBar { .. } => 90,
            Legend::Categories(_) => 150,
        };
        render(&self.title, self.size, |area, overlays| {
            let (width, _) = area.dim_in_pixel();
            let (grid, side) = area.split_horizontally(width.saturating_sub(legend_width));
            let columns = self.columns.clamp(1, self.panels.len().max(1));
            let rows = self.panels.len().div_ceil(columns);
            let cells = grid.split_evenly((rows, columns));
            for (panel, cell) in self.panels.iter().zip(&cells) {
                draw_panel(cell, panel, overlays)?;
            }
            match &self.legend {
                Legend::ColorBar {
                    scale,
                    lo,
                    hi,
                    label,
                } => draw_color_bar(&side, *scale, (*lo, *hi), label, overlays),
                Legend::Categories(entries) => draw_categories(&side, entries),
            }
        })
    }
}

fn tick_formatter(names: &[String]) -> impl Fn(&f64) -> String + '_ {
    move |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

fn draw_panel(area: &Area<'_>, panel: &Panel, overlays: &mut Vec<String>) -> Result<()> {
    let area = if panel.title.is_empty() {
        area.clone()
    } else {
        drawing(area.titled(&panel.title, (FONT, LABEL_SIZE + 1)))?
    };
    let x_format = tick_formatter(&panel.x_ticks);
    let y_format = tick_formatter(&panel.y_ticks);
    let x = (-0.5, panel.cols as f64 - 0.5);
    let y = (-0.5, panel.rows as f64 - 0.5);
    let chart = frame(
        &area,
        x,
        y,
        &panel.x_label,
        &panel.y_label,
        &x_format,
        &y_format,
        false,
        panel.cols.min(10),
    )?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    // Image row 0 is the top, i.e. the last data row.
    let mut rgba = Vec::with_capacity(panel.cells.len());
    for row in (0..panel.rows).rev() {
        for col in 0..panel.cols {
            let c = panel.cells[row * panel.cols + col];
            rgba.push([c.0, c.1, c.2, 255]);
        }
    }
    overlays.push(
        Overlay {
            x: px.start,
            y: py.start,
            width: px.end - px.start,
            height: py.end - py.start,
            png: raster::rgba_to_png(panel.cols as u32, panel.rows as u32, &rgba)?,
            cells: (panel.cols as u32, panel.rows as u32),
        }
        .into_markup(),
    );
    if let Some(col) = panel.cursor_col.filter(|c| *c < panel.cols) {
        // Drawn as SVG after the cell image so it lies on top; same look as draw_cursor.
        let label = panel.x_ticks.get(col).cloned().unwrap_or_default();
        let x =
            px.start as f64 + (col as f64 + 0.5) / panel.cols as f64 * (px.end - px.start) as f64;
        overlays.push(format!(
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="{red}" stroke-width="2"/><text x="{:.1}" y="{}" font-family="{FONT}" font-size="{TICK_SIZE}" fill="{red}">Epoch {label}</text>"#,
            py.start,
            py.end,
            x + 3.0,
            py.start + 12,
            red = color::hex(color::CURSOR),
        ));
    }
    Ok(())
}

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

fn draw_categories(area: &Area<'_>, entries: &[(String, RGBColor)]) -> Result<()> {
    for (i, (name, color)) in entries.iter().enumerate() {
        let y = 50 + 22 * i as i32;
        drawing(area.draw(&Rectangle::new(
            [(8, y), (22, y + 14)],
            ShapeStyle::from(color).filled(),
        )))?;
        drawing(area.draw(&Rectangle::new([(8, y), (22, y + 14)], BLACK.mix(0.4))))?;
        drawing(area.draw(&Text::new(
            name.clone(),
            (28, y + 1),
            (FONT, TICK_SIZE).into_font(),
        )))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Trajectories

/// A path through a 2-D projection, points coloured by epoch, the cursor epoch starred.
#[derive(Debug, Clone)]
pub struct Trajectory {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<(f64, f64)>,
    pub epochs: Vec<u64>,
    pub highlight: Option<usize>,
    pub size: (u32, u32),
}

impl Trajectory {
    pub fn render(&self) -> Result<Figure> {
        let (x_lo, x_hi) = padded_range(self.points.iter().map(|p| p.0), 0.06);
        let (y_lo, y_hi) = padded_range(self.points.iter().map(|p| p.1), 0.06);
        let first = self.epochs.first().copied().unwrap_or(0) as f64;
        let last = self.epochs.last().copied().unwrap_or(1) as f64;
        render(&self.title, self.size, |area, overlays| {
            let (width, _) = area.dim_in_pixel();
            let (main, side) = area.split_horizontally(width.saturating_sub(90));
            let mut chart = frame(
                &main,
                (x_lo, x_hi),
                (y_lo, y_hi),
                &self.x_label,
                &self.y_label,
                &|v| linear_tick(*v),
                &|v| linear_tick(*v),
                true,
                8,
            )?;
            drawing(chart.draw_series(LineSeries::new(
                self.points.clone(),
                color::GREY.mix(0.6).stroke_width(1),
            )))?;
            drawing(
                chart.draw_series(self.points.iter().zip(&self.epochs).map(|(p, e)| {
                    Circle::new(
                        *p,
                        4,
                        ColorScale::BlueRed.map(*e as f64, first, last).filled(),
                    )
                })),
            )?;
            if let Some(i) = self.highlight.filter(|i| *i < self.points.len()) {
                let star = star_polygon(9.0);
                drawing(chart.draw_series(std::iter::once(
                    EmptyElement::at(self.points[i])
                        + Polygon::new(star.clone(), color::CURSOR.filled())
                        + PathElement::new(
                            star.iter().chain(star.first()).copied().collect::<Vec<_>>(),
                            BLACK.stroke_width(1),
                        ),
                )))?
                .label(format!("Epoch {}", self.epochs[i]))
                .legend(|(x, y)| Circle::new((x + 10, y), 5, color::CURSOR.filled()));
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
            draw_color_bar(&side, ColorScale::BlueRed, (first, last), "epoch", overlays)
        })
    }
}

/// A five-pointed star around the origin, in pixels.
fn star_polygon(radius: f64) -> Vec<(i32, i32)> {
    (0..10)
        .map(|i| {
            let r = if i % 2 == 0 { radius } else { radius * 0.45 };
            let angle = std::f64::consts::PI * (i as f64 / 5.0 - 0.5);
            (
                (r * angle.cos()).round() as i32,
                (r * angle.sin()).round() as i32,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_label_decades_only() {
        assert_eq!(log_tick(0.0), "1");
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
