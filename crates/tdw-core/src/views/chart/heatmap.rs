//! Heatmaps of one or several panels, with a colour bar or category legend; cells drawn as one
//! embedded PNG.

use plotters::prelude::*;

use crate::error::RenderError;
use crate::error::Result;
use crate::views::color::{self, ColorScale};
use crate::views::figure::Figure;
use crate::views::raster;

use super::*;

/// How a heatmap's colours are explained beside it.
#[derive(Debug, Clone)]
pub enum Legend {
    /// A continuous scale from `lo` to `hi`.
    ColorBar {
        /// The colour scale.
        scale: ColorScale,
        /// Value of the scale's first colour.
        lo: f64,
        /// Value of its last colour.
        hi: f64,
        /// What the values are.
        label: String,
    },
    /// Named colours (categorical cells).
    Categories(Vec<(String, RGBColor)>),
}

/// One panel: `rows × cols` cells, row 0 drawn at the bottom (y grows upwards, as in Plotly).
#[derive(Debug, Clone)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Rows of cells.
    pub rows: usize,
    /// Columns of cells.
    pub cols: usize,
    /// Row-major colours, `rows * cols` of them.
    pub cells: Vec<RGBColor>,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// Tick label of every column / row.
    pub x_ticks: Vec<String>,
    /// Tick label of every row.
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

    /// Sets the axis labels.
    pub fn axes(mut self, x_label: &str, y_label: &str) -> Self {
        self.x_label = x_label.into();
        self.y_label = y_label.into();
        self
    }

    /// Sets the tick labels of every column and row.
    pub fn ticks(mut self, x_ticks: Vec<String>, y_ticks: Vec<String>) -> Self {
        self.x_ticks = x_ticks;
        self.y_ticks = y_ticks;
        self
    }
}

/// One or more heatmap panels in a grid, sharing one legend.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Figure title.
    pub title: String,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row of the grid.
    pub columns: usize,
    /// The shared legend.
    pub legend: Legend,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl Heatmap {
    /// One panel of 560×500 pixels.
    pub fn single(title: impl Into<String>, panel: Panel, legend: Legend) -> Self {
        Heatmap {
            title: title.into(),
            panels: vec![panel],
            columns: 1,
            legend,
            size: (560, 500),
        }
    }

    /// Draws the heatmap.
    pub fn render(&self) -> Result<Figure> {
        for panel in &self.panels {
            if panel.cells.len() != panel.rows * panel.cols || panel.rows == 0 || panel.cols == 0 {
                return Err(RenderError::HeatmapCells {
                    panel: panel.title.clone(),
                    cells: panel.cells.len(),
                    rows: panel.rows,
                    cols: panel.cols,
                }
                .into());
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
