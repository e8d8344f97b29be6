//! The ideal frequency set of a size: the |F| frequencies from 1..(p−1)/2 whose residues lie
//! farthest apart (the largest ambient minimum distance, see [`super::ambient_distance`]).
//!
//! Many sets tie exactly: multiplying every k by a unit u mod p (and folding k > (p−1)/2 to p − k)
//! only permutes the shifts Δ, so {5, 6} and {1, 13} have the same distance for p = 59. Which one
//! of a tie a search reports then depends on rounding, so MIScope ships the sets its search found
//! (`model_families/modulo_addition_1layer/ideal_frequency_sets.json`, from
//! `scripts/precompute_ideal_sets.py`), and so do we ([`TABLE`]): the certificate reports the same
//! set as MIScope wherever the table has it. Elsewhere [`search`] tries every set in
//! lexicographic order and keeps the first one no later set beats by more than 1e-9 (the first
//! maximum in exact arithmetic).
//!
//! The search costs C((p−1)/2, |F|) sets × (p−1)/2 shifts (each set adds one frequency's terms
//! to its prefix's running sums, so a set costs (p−1)/2 additions): 27,720 sets for p = 113 and
//! |F| = 3 (milliseconds), 3.8 million for |F| = 5 (about a second).

use crate::error::Result;

use super::{check_frequencies, frequency_count, pair_term};

/// Where an ideal set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdealSource {
    /// MIScope's shipped table.
    Table,
    /// Our exhaustive search.
    Search,
}

/// The best-separated frequency set of one size for one prime.
#[derive(Debug, Clone, PartialEq)]
pub struct IdealSet {
    /// Its frequencies, ascending (1-based k).
    pub frequencies: Vec<usize>,
    /// Its ambient minimum distance.
    pub distance: f64,
    /// Table or search.
    pub source: IdealSource,
}

/// MIScope's ideal sets (`ideal_frequency_sets.json`): (p, frequencies, minimum distance).
pub const TABLE: &[(u64, &[usize], f64)] = &[
    (59, &[5, 6], 0.819432),
    (59, &[7, 9, 10], 1.552989),
    (89, &[5, 8], 0.658711),
    (89, &[1, 5, 24], 1.414056),
    (89, &[5, 6, 13, 40], 1.993991),
    (97, &[1, 29], 0.639772),
    (97, &[3, 11, 21], 1.382835),
    (97, &[14, 17, 21, 23], 1.956803),
    (101, &[3, 11], 0.639854),
    (101, &[5, 9, 21], 1.332248),
    (101, &[5, 19, 22, 45], 1.960848),
    (101, &[9, 16, 19, 31, 36], 2.406651),
    (103, &[1, 12], 0.621478),
    (103, &[4, 10, 21], 1.337429),
    (103, &[1, 10, 15, 33], 1.937377),
    (103, &[8, 10, 23, 24, 27], 2.424098),
    (107, &[1, 11], 0.604961),
    (107, &[2, 10, 23], 1.345641),
    (107, &[5, 6, 9, 40], 1.931872),
    (109, &[7, 8], 0.607897),
    (109, &[3, 5, 25], 1.357301),
    (109, &[2, 5, 22, 33], 1.943102),
    (113, &[3, 20], 0.612321),
    (113, &[4, 9, 37], 1.299710),
    (113, &[3, 11, 15, 50], 1.941214),
    (127, &[2, 21], 0.587094),
    (127, &[1, 6, 28], 1.265490),
    (127, &[1, 15, 22, 33], 1.866465),
    (127, &[11, 18, 19, 24, 39], 2.354551),
];

/// Largest number of sets [`search`] tries before refusing (about a minute on one core).
pub const SEARCH_LIMIT: u128 = 50_000_000;

/// The ideal set of `size` frequencies for `prime`: the table's where it has one, else searched.
pub fn ideal_set(prime: u64, size: usize) -> Result<IdealSet> {
    match TABLE
        .iter()
        .find(|(p, f, _)| *p == prime && f.len() == size)
    {
        Some((_, frequencies, distance)) => Ok(IdealSet {
            frequencies: frequencies.to_vec(),
            distance: *distance,
            source: IdealSource::Table,
        }),
        None => search(prime, size),
    }
}

/// `C(n, k)`, without overflow for the sizes that matter here.
fn binomial(n: usize, k: usize) -> u128 {
    if k > n {
        return 0;
    }
    (0..k).fold(1u128, |acc, i| acc * (n - i) as u128 / (i + 1) as u128)
}

/// Tries every set of `size` frequencies from 1..(p−1)/2 in lexicographic order and returns the
/// first whose minimum distance no later set exceeds by more than 1e-9.
pub fn search(prime: u64, size: usize) -> Result<IdealSet> {
    let n = frequency_count(prime);
    check_frequencies(prime, &(1..=size.min(n)).collect::<Vec<_>>())?;
    if size > n {
        return Err(crate::error::Error::invalid_parameter(
            "frequencies",
            size,
            format!("p = {prime} has only {n} frequencies"),
        ));
    }
    let sets = binomial(n, size);
    if sets > SEARCH_LIMIT {
        return Err(crate::error::Error::invalid_parameter(
            "frequencies",
            size,
            format!(
                "an ideal set of {size} frequencies for p = {prime} needs a search over {sets} \
                 sets (more than {SEARCH_LIMIT}) and is not in the shipped table"
            ),
        ));
    }
    let shifts = n; // Δ = 1..=(p−1)/2; Δ and p − Δ have the same distance.
    // terms[k − 1][Δ − 1] = 2 − 2 cos(2πkΔ/p).
    let terms: Vec<Vec<f64>> = (1..=n)
        .map(|k| {
            (1..=shifts as u64)
                .map(|delta| pair_term(prime, k, delta))
                .collect()
        })
        .collect();
    // sums[depth] = Σ over the first depth+1 chosen frequencies of their terms, per shift.
    let mut sums = vec![vec![0.0f64; shifts]; size];
    let mut chosen: Vec<usize> = Vec::with_capacity(size);
    let mut best = (f64::NEG_INFINITY, Vec::new());
    descend(&terms, &mut sums, &mut chosen, 1, size, &mut best);
    Ok(IdealSet {
        frequencies: best.1,
        distance: best.0.sqrt(),
        source: IdealSource::Search,
    })
}

/// Adds frequencies `from..=n` at depth `chosen.len()`, recursing until `size` are chosen.
fn descend(
    terms: &[Vec<f64>],
    sums: &mut [Vec<f64>],
    chosen: &mut Vec<usize>,
    from: usize,
    size: usize,
    best: &mut (f64, Vec<usize>),
) {
    let depth = chosen.len();
    let n = terms.len();
    // Leave room for the frequencies still to come.
    for k in from..=n + 1 + depth - size {
        let (before, rest) = sums.split_at_mut(depth);
        let row = &mut rest[0];
        for (delta, value) in row.iter_mut().enumerate() {
            let prefix = before.last().map_or(0.0, |p| p[delta]);
            *value = prefix + terms[k - 1][delta];
        }
        chosen.push(k);
        if depth + 1 == size {
            let min = row.iter().copied().fold(f64::INFINITY, f64::min);
            // Compare distances, not squares, so the 1e-9 tolerance means what it says.
            if best.1.is_empty() || min.sqrt() > best.0.sqrt() + 1e-9 {
                *best = (min, chosen.clone());
            }
        } else {
            descend(terms, sums, chosen, k + 1, size, best);
        }
        chosen.pop();
    }
}
