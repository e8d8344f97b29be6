//! Line charts: series (optionally log-y) with shaded spans, bands, reference lines, markers
//! and the epoch indicator.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::views::figure::Figure;

use super::*;

/// Marker shapes for point series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle.
    Circle,
    /// A filled diamond.
    Diamond,
}

/// One named curve.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// (x, y) vertices.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub color: RGBColor,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// Draw points at every vertex as well (for sparse series such as checkpoints).
    pub marker: Option<Marker>,
    /// Only markers, no connecting line.
    pub markers_only: bool,
}

impl Series {
    /// A solid line without markers.
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

    /// Makes the line dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Draws only markers of this shape, no line.
    pub fn markers(mut self, marker: Marker) -> Self {
        self.marker = Some(marker);
        self.markers_only = true;
        self
    }
}

/// A shaded x interval with a label at its top (training phases).
#[derive(Debug, Clone)]
pub struct Span {
    /// Label at the top of the span.
    pub label: String,
    /// Start on the x axis.
    pub from: f64,
    /// End on the x axis.
    pub to: f64,
    /// Fill colour.
    pub color: RGBColor,
}

/// A filled band between two curves sharing x (inter-quartile range).
#[derive(Debug, Clone)]
pub struct Band {
    /// Legend name.
    pub name: String,
    /// Shared x values.
    pub x: Vec<f64>,
    /// Lower curve.
    pub lower: Vec<f64>,
    /// Upper curve.
    pub upper: Vec<f64>,
    /// Fill colour.
    pub color: RGBColor,
}

/// A horizontal or vertical reference line (thresholds).
#[derive(Debug, Clone)]
pub struct RefLine {
    /// Label beside the line.
    pub label: String,
    /// Its position on its axis.
    pub value: f64,
    /// Line colour.
    pub color: RGBColor,
}

/// Curves over a shared x axis.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Chart title.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The curves.
    pub series: Vec<Series>,
    /// Shaded intervals (phases).
    pub spans: Vec<Span>,
    /// Filled bands.
    pub bands: Vec<Band>,
    /// Horizontal reference lines.
    pub hlines: Vec<RefLine>,
    /// Epoch of the red cursor line, if any.
    pub cursor: Option<u64>,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl LineChart {
    /// An empty chart of 900×480 pixels.
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

    /// Draws the chart.
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
