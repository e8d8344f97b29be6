//! Bar charts.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::views::figure::Figure;

use super::*;

/// One bar over [from, to] on the x axis.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Left edge on the x axis.
    pub from: f64,
    /// Right edge.
    pub to: f64,
    /// Height.
    pub value: f64,
    /// Fill colour.
    pub color: RGBColor,
    /// Fill opacity, 0–1.
    pub opacity: f64,
    /// Text written above the bar (names of the bars that matter, e.g. key frequencies).
    pub annotation: Option<String>,
}

/// Bars, either over categories (`categories` names bar i, centred at x = i) or over numeric
/// bins (histograms).
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Chart title.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// The bars.
    pub bars: Vec<Bar>,
    /// Category names, bar i centred at x = i (absent for numeric bins).
    pub categories: Option<Vec<String>>,
    /// Horizontal reference lines.
    pub hlines: Vec<RefLine>,
    /// Vertical reference lines.
    pub vlines: Vec<RefLine>,
    /// Curves drawn over the bars.
    pub lines: Vec<Series>,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl BarChart {
    /// An empty chart of 900×480 pixels.
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

    /// Draws the chart.
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
