//! Peer comparison (MIScope's Peer Comparison page, spec: miscope-dashboard.md §5): the variants
//! of a family that equal an anchor in every parameter but one seed (the data seed by default,
//! or the model seed), their loss curves, and how far their weights are from the anchor's at
//! every checkpoint epoch they share.
//!
//! For the weight matrices M (MIScope's nine, `W_E … W_U`, whichever the model has), at a shared
//! epoch:
//!
//! ```text
//! d_M = ‖W_peer,M − W_anchor,M‖_F,   D = √(Σ_M d_M²),   normalised = 100 · D / (√(Σ_M ‖W_anchor,M‖²) + 1e-12)  %
//! ```
//!
//! MIScope reads the matrices from `parameter_snapshot` artifacts; they are the checkpoints'
//! weights, so this reads the checkpoints and needs no analysis. MIScope draws d_M in a 3×3 grid
//! over the first peer's epochs (a quirk: other peers' epochs may differ); here each peer has its
//! own shared epochs, and [`PeerComparison::matrix_chart`] draws one peer's nine d_M curves.

use crate::error::{Error, Result};
use crate::model::config::is_bias;
use crate::variant::Variant;
use crate::views::chart::{LineChart, Series};
use crate::views::color;
use crate::views::compare::Comparison;
use crate::views::figure::Figure;
use crate::views::text;

/// The weight matrices compared, by short name (MIScope's `WEIGHT_MATRIX_NAMES`, plus the
/// learned-embedding MLP's two tables).
const MATRICES: [&str; 11] = [
    "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U", "embed_a", "embed_b",
];

/// Which seed peers differ in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAxis {
    /// `data_seed` (MIScope's default).
    DataSeed,
    /// `seed`, the model seed.
    ModelSeed,
}

impl PeerAxis {
    /// The parameter's name.
    pub fn parameter(self) -> &'static str {
        match self {
            PeerAxis::DataSeed => "data_seed",
            PeerAxis::ModelSeed => "seed",
        }
    }

    /// `data_seed` / `data-seed` → DataSeed, `seed` / `model_seed` → ModelSeed.
    pub fn parse(text: &str) -> Result<PeerAxis> {
        match text {
            "data_seed" | "data-seed" | "dseed" => Ok(PeerAxis::DataSeed),
            "seed" | "model_seed" | "model-seed" => Ok(PeerAxis::ModelSeed),
            other => Err(Error::InvalidSetting {
                setting: "by".into(),
                value: other.into(),
                reason: "peers differ in data_seed or seed".into(),
            }),
        }
    }
}

/// One peer's distance from the anchor over their shared checkpoint epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerDivergence {
    /// The peer's name.
    pub peer: String,
    /// Its value of the seed it differs in.
    pub seed: i64,
    /// The checkpoint epochs both have.
    pub epochs: Vec<u64>,
    /// `d_M` per matrix (short name), one value per shared epoch.
    pub per_matrix: Vec<(String, Vec<f64>)>,
    /// `D` per shared epoch.
    pub total: Vec<f64>,
    /// `D` as a percentage of the anchor's total weight norm.
    pub normalised_percent: Vec<f64>,
}

/// An anchor, its peers, their losses and their divergence.
#[derive(Debug, Clone)]
pub struct PeerComparison {
    /// The anchor's name.
    pub anchor: String,
    /// What the peers differ in.
    pub axis: PeerAxis,
    /// The anchor first, then the peers by seed: their losses side by side.
    pub comparison: Comparison,
    /// One per peer, in the same order.
    pub divergence: Vec<PeerDivergence>,
}

/// Whether `candidate` is a peer of `anchor` along `axis`: same family, every parameter equal
/// but the axis's, which differs; trained; not an intervened variant.
fn is_peer(anchor: &Variant, candidate: &Variant, axis: PeerAxis) -> bool {
    let parameter = axis.parameter();
    candidate.family().name() == anchor.family().name()
        && candidate.intervention().is_none()
        && candidate.metadata_path().is_file()
        && candidate.params().int(parameter).ok() != anchor.params().int(parameter).ok()
        && anchor
            .params()
            .iter()
            .all(|(name, value)| name == parameter || candidate.params().get(name) == Some(value))
}

/// The weight matrices of a checkpoint by short name (full names where a short one repeats,
/// as in a deeper model).
fn matrices(state: &crate::model::state::StateDict) -> Vec<(String, &[f32])> {
    let chosen: Vec<(&String, &str)> = state
        .keys()
        .filter(|name| !is_bias(name))
        .filter_map(|name| {
            let short = name.rsplit('.').next().unwrap_or(name);
            MATRICES.contains(&short).then_some((name, short))
        })
        .collect();
    chosen
        .iter()
        .map(|(full, short)| {
            let repeated = chosen.iter().filter(|(_, s)| s == short).count() > 1;
            let label = if repeated {
                full.to_string()
            } else {
                short.to_string()
            };
            (label, state[*full].data.as_slice())
        })
        .collect()
}

fn frobenius_of_difference(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = *x as f64 - *y as f64;
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// The divergence of `peer` from `anchor` at their shared checkpoint epochs.
pub fn divergence(anchor: &Variant, peer: &Variant, axis: PeerAxis) -> Result<PeerDivergence> {
    let theirs = peer.checkpoints()?;
    let epochs: Vec<u64> = anchor
        .checkpoints()?
        .into_iter()
        .filter(|e| theirs.contains(e))
        .collect();
    let mut per_matrix: Vec<(String, Vec<f64>)> = Vec::new();
    let mut total = Vec::new();
    let mut normalised = Vec::new();
    for &epoch in &epochs {
        let (a, b) = (anchor.load_checkpoint(epoch)?, peer.load_checkpoint(epoch)?);
        let (ma, mb) = (matrices(&a), matrices(&b));
        let mut squared = 0.0;
        let mut anchor_norm = 0.0;
        for (i, (name, wa)) in ma.iter().enumerate() {
            let Some((_, wb)) = mb.iter().find(|(n, _)| n == name) else {
                continue;
            };
            if wa.len() != wb.len() {
                return Err(Error::ModelState {
                    parameter: name.clone(),
                    reason: format!(
                        "{} has {} values, its peer {} has {}",
                        anchor.name(),
                        wa.len(),
                        peer.name(),
                        wb.len()
                    ),
                });
            }
            let d = frobenius_of_difference(wa, wb);
            squared += d * d;
            anchor_norm += wa.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
            match per_matrix.get_mut(i) {
                Some((_, values)) => values.push(d),
                None => per_matrix.push((name.clone(), vec![d])),
            }
        }
        total.push(squared.sqrt());
        normalised.push(100.0 * squared.sqrt() / (anchor_norm.sqrt() + 1e-12));
    }
    Ok(PeerDivergence {
        peer: peer.name().to_string(),
        seed: peer.params().int(axis.parameter())?,
        epochs,
        per_matrix,
        total,
        normalised_percent: normalised,
    })
}

impl PeerComparison {
    /// The peers of `anchor` among `candidates` (the family's variants) along `axis`. An anchor
    /// without peers is an error naming what a peer must share.
    pub fn of(anchor: &Variant, candidates: &[Variant], axis: PeerAxis) -> Result<PeerComparison> {
        let mut peers: Vec<&Variant> = candidates
            .iter()
            .filter(|c| is_peer(anchor, c, axis))
            .collect();
        peers.sort_by_key(|p| p.params().int(axis.parameter()).unwrap_or(i64::MAX));
        if peers.is_empty() {
            return Err(Error::InvalidSetting {
                setting: "peers".into(),
                value: anchor.name().into(),
                reason: format!(
                    "no trained variant of {} differs from it only in {} (train one with another {})",
                    anchor.family().name(),
                    axis.parameter(),
                    axis.parameter()
                ),
            });
        }
        let mut all = vec![anchor.clone()];
        all.extend(peers.iter().map(|p| (*p).clone()));
        let comparison = Comparison::of(&all, 0.01)?;
        let divergence = peers
            .iter()
            .map(|p| divergence(anchor, p, axis))
            .collect::<Result<Vec<_>>>()?;
        Ok(PeerComparison {
            anchor: anchor.name().to_string(),
            axis,
            comparison,
            divergence,
        })
    }

    /// The header of [`PeerComparison::divergence_rows`] (its second column is the seed's name).
    pub fn divergence_header(&self) -> [&'static str; 5] {
        [
            "peer",
            self.axis.parameter(),
            "shared epochs",
            "D at the last",
            "normalised",
        ]
    }

    /// Each peer's seed, shared epochs and divergence at its last shared epoch.
    pub fn divergence_rows(&self) -> Vec<Vec<String>> {
        self.divergence
            .iter()
            .map(|d| {
                vec![
                    d.peer.clone(),
                    d.seed.to_string(),
                    d.epochs.len().to_string(),
                    d.total.last().map_or("-".into(), |v| format!("{v:.3}")),
                    d.normalised_percent
                        .last()
                        .map_or("-".into(), |v| format!("{v:.1} %")),
                ]
            })
            .collect()
    }

    /// The loss table, then each peer's divergence at its last shared epoch.
    pub fn table_text(&self) -> String {
        format!(
            "anchor {} and its peers by {}:\n{}\nweight divergence from the anchor:\n{}",
            self.anchor,
            self.axis.parameter(),
            self.comparison.table_text(),
            text::text_table(&self.divergence_header(), &self.divergence_rows())
        )
    }

    /// Every loss curve, the anchor's first.
    pub fn loss_chart(&self) -> Result<Figure> {
        self.comparison.loss_chart()
    }

    /// The normalised divergence of every peer over the epochs.
    pub fn divergence_chart(&self) -> Result<Figure> {
        let mut chart = LineChart::new(
            format!(
                "Weight divergence from {} (peers by {})",
                self.anchor,
                self.axis.parameter()
            ),
            "epoch",
            "normalised divergence (%)",
        );
        chart.size = (980, 480);
        for (i, d) in self.divergence.iter().enumerate() {
            chart.series.push(Series::line(
                format!("{}={}", self.axis.parameter(), d.seed),
                d.epochs
                    .iter()
                    .zip(&d.normalised_percent)
                    .map(|(e, v)| (*e as f64, *v))
                    .collect(),
                color::palette(i + 1),
            ));
        }
        chart.render()
    }

    /// `d_M` of every matrix for peer `index` (0: the first), one curve each.
    pub fn matrix_chart(&self, index: usize) -> Result<Figure> {
        let d = self
            .divergence
            .get(index)
            .ok_or_else(|| Error::InvalidSetting {
                setting: "peer".into(),
                value: index.to_string(),
                reason: format!("there are {} peers", self.divergence.len()),
            })?;
        let mut chart = LineChart::new(
            format!(
                "Per-matrix divergence, {}={} against the anchor",
                self.axis.parameter(),
                d.seed
            ),
            "epoch",
            "‖W_peer − W_anchor‖_F",
        );
        chart.size = (980, 480);
        for (i, (name, values)) in d.per_matrix.iter().enumerate() {
            chart.series.push(Series::line(
                name.clone(),
                d.epochs
                    .iter()
                    .zip(values)
                    .map(|(e, v)| (*e as f64, *v))
                    .collect(),
                color::palette(i),
            ));
        }
        chart.render()
    }
}
