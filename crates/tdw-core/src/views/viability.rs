//! The viability certificate's views (MIScope's Viability Certificate page): the distance profile
//! with lines at the embedding's PR and at 2|F|, the alias ratios against their warning and
//! failure lines, the set against the ideal set of its size, and the summary with hard pairs.

use plotters::style::RGBColor;

use crate::error::Result;
use crate::viability::{
    ALIAS_FAILURE, ALIAS_WARNING, Certificate, IdealSource, PADDED_DIMS, Regime,
};
use crate::views::chart::{BarChart, LineChart, RefLine, Series};
use crate::views::color;
use crate::views::figure::Figure;
use crate::views::text;

const RED: RGBColor = RGBColor(214, 39, 40);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const GREY: RGBColor = RGBColor(127, 127, 127);

/// A vertical reference line as a two-point dashed series (in the legend by its label).
fn vertical(label: String, x: f64, top: f64, color: RGBColor) -> Series {
    Series::line(label, vec![(x, 0.0), (x, top)], color).dashed()
}

fn frequencies_text(frequencies: &[usize]) -> String {
    let list: Vec<String> = frequencies.iter().map(|k| k.to_string()).collect();
    format!("{{{}}}", list.join(", "))
}

impl Certificate {
    fn subject(&self) -> String {
        format!(
            "p = {}, F = {}",
            self.input.prime,
            frequencies_text(&self.input.frequencies)
        )
    }

    /// Minimum pairwise distance against the coordinates kept, d = 1..128, with dashed lines at
    /// d = PR (what the embedding keeps) and d = 2|F| (what the key needs), and the ideal set's
    /// distance as a horizontal line.
    pub fn profile_chart(&self) -> Result<Figure> {
        let mut chart = LineChart::new(
            format!("Distance profile — {}", self.subject()),
            "coordinates kept (d)",
            "minimum pairwise distance",
        );
        let top = self.ideal.distance.max(self.ambient_distance) * 1.05;
        chart.series.push(Series::line(
            "min distance",
            (1..=PADDED_DIMS)
                .map(|d| (d as f64, self.profile[d - 1]))
                .collect(),
            color::palette(0),
        ));
        chart.series.push(vertical(
            format!("W_E PR = {:.1}", self.input.w_e_pr),
            self.input.w_e_pr,
            top,
            ORANGE,
        ));
        let width = 2 * self.input.frequencies.len();
        chart
            .series
            .push(vertical(format!("2|F| = {width}"), width as f64, top, GREY));
        chart.hlines.push(RefLine {
            label: format!("ideal {}", frequencies_text(&self.ideal.frequencies)),
            value: self.ideal.distance,
            color: GREEN,
        });
        chart.render()
    }

    /// `k / ((p − 1)/2)` per frequency, red above the failure line (0.8), orange above the
    /// warning line (0.72).
    pub fn alias_chart(&self) -> Result<Figure> {
        let labels = self
            .alias_ratios
            .iter()
            .map(|(k, _)| format!("k = {k}"))
            .collect();
        let values: Vec<f64> = self.alias_ratios.iter().map(|(_, r)| *r).collect();
        let mut chart = BarChart::categorical(
            format!("Alias ratios — {}", self.subject()),
            "frequency",
            "k / ((p − 1)/2)",
            labels,
            &values,
            color::palette(0),
        );
        for bar in &mut chart.bars {
            if bar.value > ALIAS_FAILURE {
                bar.color = RED;
            } else if bar.value > ALIAS_WARNING {
                bar.color = ORANGE;
            }
        }
        chart.hlines.push(RefLine {
            label: format!("warning {ALIAS_WARNING}"),
            value: ALIAS_WARNING,
            color: ORANGE,
        });
        chart.hlines.push(RefLine {
            label: format!("aliasing failure {ALIAS_FAILURE}"),
            value: ALIAS_FAILURE,
            color: RED,
        });
        chart.render()
    }

    /// The set's minimum distance with all coordinates and with the embedding's ⌈PR⌉, beside the
    /// ideal set's.
    pub fn ideal_chart(&self) -> Result<Figure> {
        let labels = vec![
            format!("F {}", frequencies_text(&self.input.frequencies)),
            format!("F in d = {}", self.compressed_dims),
            format!("ideal {}", frequencies_text(&self.ideal.frequencies)),
        ];
        let values = [
            self.ambient_distance,
            self.compressed_distance,
            self.ideal.distance,
        ];
        let mut chart = BarChart::categorical(
            format!(
                "Against the ideal set — gap {:.1}% — {}",
                self.gap_percent,
                self.subject()
            ),
            "",
            "minimum pairwise distance",
            labels,
            &values,
            color::palette(0),
        );
        chart.bars[1].color = ORANGE;
        chart.bars[2].color = GREEN;
        chart.render()
    }

    /// Every chart, in the order of MIScope's tabs.
    pub fn charts(&self) -> Result<Vec<Figure>> {
        Ok(vec![
            self.profile_chart()?,
            self.alias_chart()?,
            self.ideal_chart()?,
        ])
    }

    /// The summary as (quantity, value) rows.
    pub fn summary_rows(&self) -> Vec<Vec<String>> {
        let max_alias = self
            .alias_ratios
            .iter()
            .map(|(_, r)| *r)
            .fold(0.0, f64::max);
        let ideal_source = match self.ideal.source {
            IdealSource::Table => "MIScope's table",
            IdealSource::Search => "exhaustive search",
        };
        let row = |a: &str, b: String| vec![a.to_string(), b];
        vec![
            row("regime", self.regime.name().to_string()),
            row("why", self.reason.clone()),
            row("prime", self.input.prime.to_string()),
            row("frequencies", frequencies_text(&self.input.frequencies)),
            row("W_E PR", format!("{:.2}", self.input.w_e_pr)),
            row("inputs from", self.input.source_text()),
            row(
                "min distance (2|F| dims)",
                format!("{:.6}", self.ambient_distance),
            ),
            row(
                &format!("min distance (d = {})", self.compressed_dims),
                format!("{:.6}", self.compressed_distance),
            ),
            row(
                "ideal set",
                format!(
                    "{} at {:.6} ({ideal_source})",
                    frequencies_text(&self.ideal.frequencies),
                    self.ideal.distance
                ),
            ),
            row("gap to ideal", format!("{:.1}%", self.gap_percent)),
            row("margin (PR − 2|F|)", format!("{:.2}", self.margin)),
            row("max alias ratio", format!("{max_alias:.3}")),
        ]
    }

    /// The hard pairs as (k, shift, pairs, distance by k alone, distance by F) rows.
    pub fn hard_pair_rows(&self) -> Vec<Vec<String>> {
        self.hard_pairs
            .iter()
            .map(|h| {
                let pairs: Vec<String> =
                    h.pairs.iter().map(|(a, b)| format!("({a}, {b})")).collect();
                vec![
                    h.frequency.to_string(),
                    h.shift.to_string(),
                    pairs.join(" "),
                    format!("{:.4}", h.own_distance),
                    format!("{:.4}", h.set_distance),
                ]
            })
            .collect()
    }

    /// Header of [`Certificate::hard_pair_rows`].
    pub const HARD_PAIR_HEADER: [&'static str; 5] = [
        "k",
        "round(p/k)",
        "hard pairs",
        "distance by k",
        "distance by F",
    ];

    /// The summary and the hard pairs as aligned text (what `tdw viability` prints).
    pub fn table_text(&self) -> String {
        format!(
            "{}\n\nhard pairs (residues r and r + round(p/k), which k alone barely separates):\n{}",
            text::text_table(&["viability certificate", ""], &self.summary_rows()),
            text::text_table(&Self::HARD_PAIR_HEADER, &self.hard_pair_rows())
        )
    }
}

/// The colour a regime is shown in: green when viable, orange for a concern, red for a failure.
pub fn regime_color(regime: Regime) -> RGBColor {
    match regime {
        Regime::Viable => GREEN,
        Regime::CoverageConcern | Regime::CompressionRisk => ORANGE,
        Regime::AliasingFailure => RED,
    }
}
