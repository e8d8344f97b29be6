//! Trajectories: a path through a plane (PCA of weights over epochs) with its start and end marked.

use plotters::prelude::*;

use crate::error::Result;
use crate::views::color::{self, ColorScale};
use crate::views::figure::Figure;

use super::*;

/// A path through a 2-D projection, points coloured by epoch, the cursor epoch starred.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Chart title.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// The path's points, in epoch order.
    pub points: Vec<(f64, f64)>,
    /// Each point's epoch.
    pub epochs: Vec<u64>,
    /// Index of the starred (cursor) point.
    pub highlight: Option<usize>,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl Trajectory {
    /// Draws the trajectory.
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
