//! The initialization sweep's views (MIScope's Initialization Gradient Sweep page): site
//! profiles (a line per candidate per site), the difference of two candidates per site, and the
//! site convergence (cosines of the site spectra) per candidate; key frequencies marked.

use plotters::style::RGBColor;

use crate::error::Result;
use crate::init_sweep::{InitSweep, Site};
use crate::views::chart::{Bar, BarChart, LineChart, RefLine, Series};
use crate::views::color;
use crate::views::figure::Figure;
use crate::views::text;

const KEY: RGBColor = RGBColor(214, 39, 40);

impl InitSweep {
    fn subject(&self) -> String {
        format!("p = {}, fraction {}", self.prime, self.fraction)
    }

    /// Dashed vertical lines at the key frequencies, from 0 to `top`.
    fn key_lines(&self, top: f64) -> Vec<Series> {
        self.key_frequencies
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let label = if i == 0 {
                    "key frequencies".to_string()
                } else {
                    String::new()
                };
                Series::line(label, vec![(k as f64, 0.0), (k as f64, top)], KEY).dashed()
            })
            .collect()
    }

    /// The energy spectrum of `site` at initialisation, one line per candidate.
    pub fn profile_chart(&self, site: Site) -> Result<Figure> {
        let mut chart = LineChart::new(
            format!(
                "Initial gradient energy — {} — {}",
                site.name(),
                self.subject()
            ),
            "frequency k",
            "gradient energy",
        );
        let mut top: f64 = 0.0;
        for (i, c) in self.candidates.iter().enumerate() {
            let points: Vec<(f64, f64)> = c
                .energy(site)
                .iter()
                .enumerate()
                .map(|(k, e)| ((k + 1) as f64, *e))
                .collect();
            top = points.iter().map(|p| p.1).fold(top, f64::max);
            chart
                .series
                .push(Series::line(c.label(), points, color::palette(i)));
        }
        chart.series.extend(self.key_lines(top));
        chart.render()
    }

    /// Candidate `a`'s spectrum minus candidate `b`'s at `site`, a bar per frequency.
    pub fn difference_chart(&self, site: Site, a: usize, b: usize) -> Result<Figure> {
        let (ca, cb) = (&self.candidates[a], &self.candidates[b]);
        let mut chart = BarChart::new(
            format!(
                "Difference {} − {} — {} — {}",
                ca.label(),
                cb.label(),
                site.name(),
                self.subject()
            ),
            "frequency k",
            "energy difference",
        );
        chart.bars = ca
            .energy(site)
            .iter()
            .zip(cb.energy(site))
            .enumerate()
            .map(|(i, (x, y))| {
                let k = (i + 1) as f64;
                let key = self.key_frequencies.contains(&(i + 1));
                Bar {
                    from: k - 0.4,
                    to: k + 0.4,
                    value: x - y,
                    color: if key { KEY } else { color::palette(0) },
                    opacity: 1.0,
                    annotation: None,
                }
            })
            .collect();
        chart.hlines.push(RefLine {
            label: String::new(),
            value: 0.0,
            color: RGBColor(127, 127, 127),
        });
        chart.render()
    }

    /// Per candidate, the cosines of its site spectra (embedding–attention, embedding–mlp,
    /// attention–mlp) as grouped bars.
    pub fn convergence_chart(&self) -> Result<Figure> {
        let mut chart = BarChart::new(
            format!("Site convergence at initialisation — {}", self.subject()),
            "candidate",
            "cosine of the site spectra",
        );
        for (i, c) in self.candidates.iter().enumerate() {
            for (j, value) in c.convergences().iter().enumerate() {
                let from = i as f64 - 0.4 + j as f64 * 0.27;
                chart.bars.push(Bar {
                    from,
                    to: from + 0.25,
                    value: if value.is_finite() { *value } else { 0.0 },
                    color: color::palette(j),
                    opacity: 1.0,
                    annotation: Some(if value.is_finite() {
                        format!("{value:.2}")
                    } else {
                        "NaN".into()
                    }),
                });
            }
        }
        chart.categories = Some(self.candidates.iter().map(|c| c.label()).collect());
        chart.render()
    }

    /// Every chart: three profiles, three differences of the first two candidates (if there
    /// are two), the convergence.
    pub fn charts(&self) -> Result<Vec<(String, Figure)>> {
        let mut out = Vec::new();
        for site in Site::ALL {
            out.push((
                format!("profile_{}", site.name()),
                self.profile_chart(site)?,
            ));
        }
        if self.candidates.len() >= 2 {
            for site in Site::ALL {
                out.push((
                    format!("difference_{}", site.name()),
                    self.difference_chart(site, 0, 1)?,
                ));
            }
        }
        out.push(("convergence".into(), self.convergence_chart()?));
        Ok(out)
    }

    /// Header of [`InitSweep::rows`].
    pub const HEADER: [&'static str; 8] = [
        "candidate",
        "initial loss",
        "top k: embedding",
        "top k: attention",
        "top k: mlp",
        "cos emb–attn",
        "cos emb–mlp",
        "cos attn–mlp",
    ];

    /// Per candidate: its initial loss, each site's three strongest frequencies, the cosines.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let top = |e: &[f64]| {
            let mut k: Vec<usize> = (0..e.len()).collect();
            k.sort_by(|a, b| e[*b].total_cmp(&e[*a]));
            let list: Vec<String> = k.iter().take(3).map(|i| (i + 1).to_string()).collect();
            list.join(", ")
        };
        self.candidates
            .iter()
            .map(|c| {
                let mut row = vec![c.label(), format!("{:.4}", c.initial_loss)];
                row.extend(Site::ALL.iter().map(|s| top(c.energy(*s))));
                row.extend(c.convergences().iter().map(|v| format!("{v:.3}")));
                row
            })
            .collect()
    }

    /// The table as text, under a line naming the key frequencies' source.
    pub fn table_text(&self) -> String {
        format!(
            "initialization gradient sweep: {} of {} (key frequencies {:?} from {})\n{}",
            self.subject(),
            self.family,
            self.key_frequencies,
            self.key_source,
            text::text_table(&Self::HEADER, &self.rows())
        )
    }
}
