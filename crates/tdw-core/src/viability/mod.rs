//! The viability certificate (MIScope REQ_086): before or after training, is a set of Fourier
//! frequencies F a workable key for (a + b) mod p in an embedding of the width the model gives it?
//!
//! A residue r is placed at `c_r = (cos 2πk₁r/p, sin 2πk₁r/p, cos 2πk₂r/p, …)`, one cos/sin pair per
//! k ∈ F (the rows of C, p × 2|F|). The model can only tell residues apart as well as their points
//! are apart, so the certificate reads the *minimum pairwise distance*:
//!
//! - **ambient**: with every coordinate. Since `‖c_r − c_s‖² = Σ_k 2 − 2 cos(2πk(r − s)/p)` depends
//!   only on Δ = r − s, it is `min_{Δ=1..p−1} √(Σ_k 2 − 2 cos(2πkΔ/p))`.
//! - **profile(d)**: with only the first d principal coordinates (d = 1..128, MIScope's padded
//!   width); **compressed** = profile(⌈PR⌉), where PR is the participation ratio of W_E's singular
//!   values (the embedding's effective width, from `effective_dimensionality` at the crossover).
//! - **alias ratio** `k / ((p − 1)/2)` per k: near 1 a frequency is close to the Nyquist limit,
//!   where neighbouring residues' phases wrap.
//! - **ideal**: the largest ambient distance of any set of |F| frequencies from 1..(p−1)/2
//!   ([`ideal_sets`]: MIScope's shipped table, else an exhaustive search); **gap** = 100 ·
//!   (ideal − ambient)/ideal %; **margin** = PR − 2|F| (room the embedding leaves for the key).
//! - **hard pairs** of k: residues `(r, r + round(p/k))`, which k alone barely separates.
//!
//! The regime is the first rule that matches (MIScope's order and thresholds): max alias > 0.8
//! `aliasing_failure`; margin < 0 `compression_risk`; gap > 30 % `coverage_concern`; else `viable`.
//!
//! Principal coordinates: MIScope centres C, pads it to 128 columns and rotates it onto its right
//! singular vectors. For distinct k in 1..(p−1)/2 the columns of C already have mean 0 and are
//! orthogonal with equal norm² p/2 (discrete orthogonality of the Fourier basis), so every
//! singular value ties and *any* rotation inside the tie is a valid SVD: numpy's LAPACK returns
//! one of them, and we keep the basis itself, in the order F is given (cos k₁, sin k₁, cos k₂, …).
//! The ambient distance, the ideal set, the alias ratios and so the regime do not depend on that
//! choice; profile(d) for d < 2|F| (hence the compressed distance when PR < 2|F|) may differ from
//! MIScope's figure.

use std::f64::consts::TAU;
use std::fmt;

use crate::error::{Error, Result};

pub mod ideal_sets;
pub mod inputs;

pub use ideal_sets::{IdealSet, IdealSource};
pub use inputs::{CertificateInput, InputSource};

/// Width MIScope pads the embedding to: the profile has one value per d = 1..=128.
pub const PADDED_DIMS: usize = 128;
/// Alias ratio above which the set fails (`aliasing_failure`).
pub const ALIAS_FAILURE: f64 = 0.8;
/// Alias ratio drawn as a warning line on the alias chart.
pub const ALIAS_WARNING: f64 = 0.72;
/// Gap to the ideal set, in percent, above which coverage is a concern.
pub const GAP_CONCERN_PERCENT: f64 = 30.0;
/// Hard pairs listed per frequency: r = 0 .. min(5, p // 2).
const HARD_PAIRS: u64 = 5;

/// The certificate's verdict, printed by its MIScope name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// No rule fired.
    Viable,
    /// A frequency sits above 0.8 of the Nyquist limit.
    AliasingFailure,
    /// The embedding's effective width (PR) is smaller than the 2|F| coordinates the key needs.
    CompressionRisk,
    /// The set separates residues more than 30 % worse than the best set of its size.
    CoverageConcern,
}

impl Regime {
    /// MIScope's label.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Viable => "viable",
            Regime::AliasingFailure => "aliasing_failure",
            Regime::CompressionRisk => "compression_risk",
            Regime::CoverageConcern => "coverage_concern",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Residues one frequency barely separates: `(r, (r + shift) mod p)` with `shift = round(p/k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct HardPairs {
    /// The frequency (1-based k).
    pub frequency: usize,
    /// `round(p/k)` (Python's round: halves to even), the step after which k's phase has almost
    /// come round once.
    pub shift: u64,
    /// The pairs, r = 0 .. min(5, p // 2).
    pub pairs: Vec<(u64, u64)>,
    /// `|1 − e^{2πi·k·shift/p}|`: how far frequency k alone puts each pair apart (0 = not at all).
    pub own_distance: f64,
    /// The pairs' distance with the whole set F (the same for every pair: it depends on the shift).
    pub set_distance: f64,
}

/// The certificate of one frequency set for one prime and embedding width.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// What it was computed from.
    pub input: CertificateInput,
    /// Minimum pairwise distance with the first d coordinates, d = 1..=128 (index d − 1).
    pub profile: Vec<f64>,
    /// The minimum distance with all 2|F| coordinates.
    pub ambient_distance: f64,
    /// Coordinates the embedding keeps: the smallest d ≥ PR (at least 1, at most 128).
    pub compressed_dims: usize,
    /// profile(compressed_dims).
    pub compressed_distance: f64,
    /// `k / ((p − 1)/2)` for each k in F, in F's order.
    pub alias_ratios: Vec<(usize, f64)>,
    /// The best set of |F| frequencies.
    pub ideal: IdealSet,
    /// `100 · (ideal − ambient) / ideal`, in percent.
    pub gap_percent: f64,
    /// `PR − 2|F|`.
    pub margin: f64,
    /// Per frequency, the residues it barely separates.
    pub hard_pairs: Vec<HardPairs>,
    /// The first rule that matched.
    pub regime: Regime,
    /// Why: the rule and the numbers that made it match (or why none did).
    pub reason: String,
}

/// `(p − 1) / 2`: the distinct frequencies of a real Fourier basis on p residues.
pub fn frequency_count(prime: u64) -> usize {
    ((prime - 1) / 2) as usize
}

/// `2 − 2 cos(2πkΔ/p)`: the squared distance frequency k puts between residues Δ apart.
pub fn pair_term(prime: u64, k: usize, delta: u64) -> f64 {
    // (k·Δ) mod p keeps the angle in [0, 2π) so large products lose no precision.
    let phase = ((k as u64 * delta) % prime) as f64 / prime as f64;
    2.0 - 2.0 * (TAU * phase).cos()
}

/// The ambient (all-coordinate) minimum distance of `frequencies`:
/// `min_{Δ=1..p−1} √(Σ_k 2 − 2 cos(2πkΔ/p))`. Δ and p − Δ give the same sum, so Δ ≤ (p−1)/2
/// suffices.
pub fn ambient_distance(prime: u64, frequencies: &[usize]) -> f64 {
    (1..=prime / 2)
        .map(|delta| set_distance_squared(prime, frequencies, delta))
        .fold(f64::INFINITY, f64::min)
        .sqrt()
}

fn set_distance_squared(prime: u64, frequencies: &[usize], delta: u64) -> f64 {
    frequencies
        .iter()
        .map(|&k| pair_term(prime, k, delta))
        .sum()
}

/// Residue coordinates `C[r] = (cos 2πk₁r/p, sin 2πk₁r/p, …)`, p rows of 2|F|.
fn embedding(prime: u64, frequencies: &[usize]) -> Vec<Vec<f64>> {
    (0..prime)
        .map(|r| {
            frequencies
                .iter()
                .flat_map(|&k| {
                    let angle = TAU * ((k as u64 * r) % prime) as f64 / prime as f64;
                    [angle.cos(), angle.sin()]
                })
                .collect()
        })
        .collect()
}

/// The distance profile: for d = 1..=128, the minimum over residue pairs of their distance with
/// the first d coordinates (coordinates past 2|F| are the zero padding, so the profile is flat
/// there at the ambient distance).
pub fn distance_profile(prime: u64, frequencies: &[usize]) -> Vec<f64> {
    let points = embedding(prime, frequencies);
    let width = 2 * frequencies.len();
    let pairs = points.len() * (points.len() - 1) / 2;
    // Running squared distance of every pair as coordinates are added one by one.
    let mut squared = vec![0.0f64; pairs];
    let mut profile = Vec::with_capacity(PADDED_DIMS);
    for d in 0..PADDED_DIMS {
        if d < width {
            let mut index = 0;
            for r in 0..points.len() {
                for s in r + 1..points.len() {
                    let diff = points[r][d] - points[s][d];
                    squared[index] += diff * diff;
                    index += 1;
                }
            }
        }
        let min = squared.iter().copied().fold(f64::INFINITY, f64::min);
        profile.push(min.sqrt());
    }
    profile
}

/// Python's `round` on a positive ratio `n / m`: to the nearest integer, halves to even.
fn round_half_even(n: u64, m: u64) -> u64 {
    let (q, r) = (n / m, n % m);
    match (2 * r).cmp(&m) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q % 2),
    }
}

fn hard_pairs(prime: u64, frequencies: &[usize]) -> Vec<HardPairs> {
    frequencies
        .iter()
        .map(|&k| {
            let shift = round_half_even(prime, k as u64) % prime;
            HardPairs {
                frequency: k,
                shift,
                pairs: (0..HARD_PAIRS.min(prime / 2))
                    .map(|r| (r, (r + shift) % prime))
                    .collect(),
                own_distance: pair_term(prime, k, shift).sqrt(),
                set_distance: set_distance_squared(prime, frequencies, shift).sqrt(),
            }
        })
        .collect()
}

impl Certificate {
    /// Certifies `input` (validated when it was made).
    pub fn of(input: CertificateInput) -> Result<Certificate> {
        input.validate()?;
        let (prime, frequencies) = (input.prime, input.frequencies.as_slice());
        let n = frequency_count(prime) as f64;
        let profile = distance_profile(prime, frequencies);
        let ambient_distance = ambient_distance(prime, frequencies);
        let compressed_dims = (input.w_e_pr.ceil() as usize).clamp(1, PADDED_DIMS);
        let compressed_distance = profile[compressed_dims - 1];
        let alias_ratios: Vec<(usize, f64)> =
            frequencies.iter().map(|&k| (k, k as f64 / n)).collect();
        let ideal = ideal_sets::ideal_set(prime, frequencies.len())?;
        let gap_percent = if ideal.distance > 0.0 {
            100.0 * (ideal.distance - ambient_distance) / ideal.distance
        } else {
            0.0
        };
        let margin = input.w_e_pr - 2.0 * frequencies.len() as f64;
        let (max_k, max_alias) = alias_ratios
            .iter()
            .copied()
            .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        let (regime, reason) = if max_alias > ALIAS_FAILURE {
            (
                Regime::AliasingFailure,
                format!("alias ratio of k = {max_k} is {max_alias:.3} > {ALIAS_FAILURE}"),
            )
        } else if margin < 0.0 {
            (
                Regime::CompressionRisk,
                format!(
                    "W_E PR {:.2} < 2|F| = {} (margin {margin:.2})",
                    input.w_e_pr,
                    2 * frequencies.len()
                ),
            )
        } else if gap_percent > GAP_CONCERN_PERCENT {
            (
                Regime::CoverageConcern,
                format!(
                    "minimum distance {ambient_distance:.4} is {gap_percent:.1}% below the ideal \
                     set's {:.4} (> {GAP_CONCERN_PERCENT}%)",
                    ideal.distance
                ),
            )
        } else {
            (
                Regime::Viable,
                format!(
                    "max alias {max_alias:.3} ≤ {ALIAS_FAILURE}, margin {margin:.2} ≥ 0, gap \
                     {gap_percent:.1}% ≤ {GAP_CONCERN_PERCENT}%"
                ),
            )
        };
        let hard_pairs = hard_pairs(prime, frequencies);
        Ok(Certificate {
            input,
            profile,
            ambient_distance,
            compressed_dims,
            compressed_distance,
            alias_ratios,
            ideal,
            gap_percent,
            margin,
            hard_pairs,
            regime,
            reason,
        })
    }
}

/// Checks a certificate's numbers before they are used (a user gives them on the command line).
pub(crate) fn check_frequencies(prime: u64, frequencies: &[usize]) -> Result<()> {
    let list = || format!("{frequencies:?}");
    if prime < 3 {
        return Err(Error::invalid_parameter(
            "prime",
            prime,
            "must be an odd prime ≥ 3",
        ));
    }
    if frequencies.is_empty() {
        return Err(Error::invalid_parameter(
            "frequencies",
            "[]",
            "give at least one frequency",
        ));
    }
    let n = frequency_count(prime);
    if let Some(k) = frequencies.iter().find(|&&k| k == 0 || k > n) {
        return Err(Error::invalid_parameter(
            "frequencies",
            list(),
            format!("k = {k} is outside 1..={n} (the frequencies of p = {prime})"),
        ));
    }
    let mut sorted = frequencies.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::invalid_parameter(
            "frequencies",
            list(),
            format!("k = {} is given twice", w[0]),
        ));
    }
    if 2 * frequencies.len() > PADDED_DIMS {
        return Err(Error::invalid_parameter(
            "frequencies",
            list(),
            format!(
                "{} frequencies need {} coordinates, more than the {PADDED_DIMS} the certificate uses",
                frequencies.len(),
                2 * frequencies.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
