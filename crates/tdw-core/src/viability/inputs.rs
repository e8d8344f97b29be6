//! What a certificate is computed from: a prime, a frequency set and the embedding's effective
//! width (the participation ratio of W_E's singular values), given by hand or read off a trained
//! and analysed variant.
//!
//! From a variant, MIScope reads its `variant_summary.json`: `learned_frequencies` (frequencies
//! with ≥ 10 % of d_mlp specialised neurons at the last checkpoint) and
//! `effective_dimensionality_crossover_W_E_pr` (W_E's PR at the first checkpoint, after pr_W_out
//! has exceeded pr_W_in, where pr_W_out ≤ pr_W_in again). Where that file is absent we compute
//! both by the same rules from the artifacts they come from: `neuron_dynamics` (each neuron's
//! dominant frequency and its fraction) and the `effective_dimensionality` summary.

use std::path::{Path, PathBuf};

use crate::analysis::loader::ArtifactLoader;
use crate::error::{Error, Result};
use crate::formats::artifact::Artifact;
use crate::variant::Variant;

use super::check_frequencies;

/// A neuron is specialised when its largest frequency fraction is at least this (MIScope's 0.7).
pub const SPECIALISED_FRACTION: f64 = 0.7;
/// A frequency is committed (learned) when at least this share of d_mlp neurons specialise on it.
pub const COMMITTED_SHARE: f64 = 0.1;
/// The summary file MIScope writes after analysis.
pub const SUMMARY_FILE: &str = "variant_summary.json";

/// Where a certificate's inputs came from.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSource {
    /// Given by hand.
    Given,
    /// A variant's `variant_summary.json`.
    Summary {
        /// The file.
        path: PathBuf,
    },
    /// A variant's artifacts, by MIScope's summary rules.
    Artifacts {
        /// The checkpoint whose committed frequencies were read (the last of `neuron_dynamics`).
        frequencies_epoch: u64,
        /// The effective-dimensionality crossover epoch whose W_E PR was read.
        crossover_epoch: u64,
    },
}

/// A certificate's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateInput {
    /// The modulus p.
    pub prime: u64,
    /// The frequency set F (1-based k), in the order given.
    pub frequencies: Vec<usize>,
    /// Participation ratio of W_E's singular values: the embedding's effective width.
    pub w_e_pr: f64,
    /// Where they came from.
    pub source: InputSource,
    /// Which of them were then given by hand instead (`"frequencies"`, `"pr"`).
    pub replaced: Vec<&'static str>,
}

impl CertificateInput {
    /// Inputs given by hand, checked: p an odd prime, each k in 1..=(p−1)/2 once, PR ≥ 0.
    pub fn new(prime: u64, frequencies: Vec<usize>, w_e_pr: f64) -> Result<Self> {
        let input = CertificateInput {
            prime,
            frequencies,
            w_e_pr,
            source: InputSource::Given,
            replaced: Vec::new(),
        };
        input.validate()?;
        Ok(input)
    }

    /// A trained, analysed variant's learned frequencies and W_E PR at its crossover, from its
    /// `variant_summary.json` or else from its artifacts.
    pub fn of_variant(variant: &Variant) -> Result<Self> {
        let prime = prime_of(variant)?;
        let summary = variant.dir().join(SUMMARY_FILE);
        let input = if summary.is_file() {
            from_summary(variant, prime, &summary)?
        } else {
            from_artifacts(variant, prime)?
        };
        input.validate()?;
        Ok(input)
    }

    /// Inputs as a user gives them (the CLI's `tdw viability`, the notebook's `viability`): a
    /// variant's, with whatever of the frequencies and the PR is given replacing its own, or, with
    /// no variant, all three given. A variant's artifacts are read only for what is not given.
    pub fn from_parts(
        variant: Option<&Variant>,
        prime: Option<u64>,
        frequencies: Option<Vec<usize>>,
        w_e_pr: Option<f64>,
    ) -> Result<Self> {
        let needed = |setting: &str, example: &str| Error::InvalidSetting {
            setting: setting.to_string(),
            value: "(not given)".into(),
            reason: format!("give a trained, analysed variant or {example}"),
        };
        let Some(variant) = variant else {
            return CertificateInput::new(
                prime.ok_or_else(|| needed("prime", "the prime (--param prime=59)"))?,
                frequencies.ok_or_else(|| {
                    needed("frequencies", "the frequencies (--frequencies 5,15,21)")
                })?,
                w_e_pr.ok_or_else(|| needed("pr", "the W_E participation ratio (--pr 18.3)"))?,
            );
        };
        let own_prime = prime_of(variant)?;
        if let Some(p) = prime.filter(|p| *p != own_prime) {
            return Err(Error::invalid_parameter(
                "prime",
                p,
                format!("variant '{}' has prime {own_prime}", variant.name()),
            ));
        }
        let mut input = match (&frequencies, w_e_pr) {
            (Some(f), Some(pr)) => return CertificateInput::new(own_prime, f.clone(), pr),
            _ => CertificateInput::of_variant(variant)?,
        };
        if let Some(f) = frequencies {
            input = input.with_frequencies(f)?;
        }
        if let Some(pr) = w_e_pr {
            input = input.with_pr(pr)?;
        }
        Ok(input)
    }

    /// The same inputs with another frequency set (what-if questions about a trained variant).
    pub fn with_frequencies(mut self, frequencies: Vec<usize>) -> Result<Self> {
        self.frequencies = frequencies;
        self.replaced.push("frequencies");
        self.validate()?;
        Ok(self)
    }

    /// The same inputs with another W_E participation ratio.
    pub fn with_pr(mut self, w_e_pr: f64) -> Result<Self> {
        self.w_e_pr = w_e_pr;
        self.replaced.push("pr");
        self.validate()?;
        Ok(self)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !is_odd_prime(self.prime) {
            return Err(Error::invalid_parameter(
                "prime",
                self.prime,
                "must be an odd prime",
            ));
        }
        check_frequencies(self.prime, &self.frequencies)?;
        if !(self.w_e_pr.is_finite() && self.w_e_pr >= 0.0) {
            return Err(Error::invalid_parameter(
                "pr",
                self.w_e_pr,
                "the W_E participation ratio must be a finite number ≥ 0",
            ));
        }
        Ok(())
    }

    /// One line saying where the inputs came from.
    pub fn source_text(&self) -> String {
        let origin = match &self.source {
            InputSource::Given => "given".into(),
            InputSource::Summary { path } => format!("{}", path.display()),
            InputSource::Artifacts {
                frequencies_epoch,
                crossover_epoch,
            } => format!(
                "artifacts: committed frequencies at epoch {frequencies_epoch} (neuron_dynamics), \
                 W_E PR at the crossover epoch {crossover_epoch} (effective_dimensionality)"
            ),
        };
        if self.replaced.is_empty() {
            origin
        } else {
            format!("{origin}; given by hand: {}", self.replaced.join(", "))
        }
    }
}

/// An odd prime: the family's primality check, without 2 (which has no frequency 1..(p−1)/2).
fn is_odd_prime(n: u64) -> bool {
    n != 2 && crate::family::parameter::is_prime(n)
}

fn prime_of(variant: &Variant) -> Result<u64> {
    let prime = variant.params().int("prime")?;
    u64::try_from(prime)
        .map_err(|_| Error::invalid_parameter("prime", prime, "must be an odd prime"))
}

fn missing(variant: &Variant, what: &'static str, why: impl Into<String>) -> Error {
    Error::ViabilityInput {
        variant: variant.name().to_string(),
        what,
        why: why.into(),
    }
}

fn from_summary(variant: &Variant, prime: u64, path: &Path) -> Result<CertificateInput> {
    let summary: serde_json::Value = crate::json_file::read_json(path, "variant summary")?;
    let field =
        |name: &'static str, value: Option<&serde_json::Value>, reason: &str| Error::StoredField {
            path: path.to_path_buf(),
            field: name,
            value: value.map(|v| v.to_string()),
            reason: reason.to_string(),
        };
    let learned = summary.get("learned_frequencies");
    let frequencies = learned
        .and_then(|v| v.as_array())
        .ok_or_else(|| {
            field(
                "learned_frequencies",
                learned,
                "expected a list of frequencies",
            )
        })?
        .iter()
        .map(|k| k.as_u64().map(|k| k as usize))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| field("learned_frequencies", learned, "expected positive integers"))?;
    if frequencies.is_empty() {
        return Err(missing(
            variant,
            "learned frequencies",
            format!("{} lists none (no frequency was committed)", path.display()),
        ));
    }
    let pr = summary.get("effective_dimensionality_crossover_W_E_pr");
    let w_e_pr = match pr {
        Some(serde_json::Value::Null) | None => {
            return Err(missing(
                variant,
                "W_E participation ratio",
                format!(
                    "{} has no effective_dimensionality_crossover_W_E_pr (no crossover); give --pr",
                    path.display()
                ),
            ));
        }
        Some(v) => v.as_f64().ok_or_else(|| {
            field(
                "effective_dimensionality_crossover_W_E_pr",
                pr,
                "expected a number",
            )
        })?,
    };
    Ok(CertificateInput {
        prime,
        frequencies,
        w_e_pr,
        source: InputSource::Summary {
            path: path.to_path_buf(),
        },
        replaced: Vec::new(),
    })
}

fn key_f64(artifact: &Artifact, key: &str, path: &Path) -> Result<ndarray::ArrayD<f64>> {
    artifact
        .as_f64(key)
        .map_err(|cause| Error::ArtifactContent {
            path: path.to_path_buf(),
            cause,
        })
}

fn from_artifacts(variant: &Variant, prime: u64) -> Result<CertificateInput> {
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let (frequencies_epoch, frequencies) = committed_frequencies(&loader)?;
    if frequencies.is_empty() {
        return Err(missing(
            variant,
            "learned frequencies",
            format!(
                "at epoch {frequencies_epoch} no frequency has ≥ {}% of the MLP's neurons \
                 specialised on it (fraction ≥ {SPECIALISED_FRACTION}); give --frequencies",
                COMMITTED_SHARE * 100.0
            ),
        ));
    }
    let (crossover_epoch, w_e_pr) = crossover_pr(&loader)?.ok_or_else(|| {
        missing(
            variant,
            "W_E participation ratio",
            "pr_W_out never fell back to pr_W_in after exceeding it (no crossover); give --pr",
        )
    })?;
    Ok(CertificateInput {
        prime,
        frequencies,
        w_e_pr,
        source: InputSource::Artifacts {
            frequencies_epoch,
            crossover_epoch,
        },
        replaced: Vec::new(),
    })
}

/// The frequencies committed at the last `neuron_dynamics` checkpoint: those on which at least
/// 10 % of the d_mlp neurons are specialised (max fraction ≥ 0.7), 1-based and ascending.
pub fn committed_frequencies(loader: &ArtifactLoader) -> Result<(u64, Vec<usize>)> {
    let path = loader.cross_epoch_path("neuron_dynamics");
    let artifact = loader.load_cross_epoch("neuron_dynamics")?;
    let epochs = key_f64(&artifact, "epochs", &path)?;
    let dominant = key_f64(&artifact, "dominant_freq", &path)?;
    let fraction = key_f64(&artifact, "max_frac", &path)?;
    let (Some(&last_epoch), [rows, d_mlp]) = (epochs.iter().last(), dominant.shape()) else {
        return Err(Error::ArtifactContent {
            path,
            cause: crate::formats::error::KeyError::Missing {
                key: "dominant_freq (a non-empty epochs × d_mlp array)".into(),
                keys: artifact.keys().map(str::to_string).collect(),
            },
        });
    };
    if fraction.shape() != dominant.shape() {
        return Err(Error::StoredField {
            path,
            field: "max_frac",
            value: Some(format!("shape {:?}", fraction.shape())),
            reason: format!("expected dominant_freq's shape {:?}", dominant.shape()),
        });
    }
    let last = rows - 1;
    let mut counts = std::collections::BTreeMap::<usize, usize>::new();
    for neuron in 0..*d_mlp {
        if fraction[[last, neuron]] >= SPECIALISED_FRACTION {
            *counts
                .entry(dominant[[last, neuron]] as usize + 1)
                .or_default() += 1;
        }
    }
    let needed = COMMITTED_SHARE * *d_mlp as f64;
    let committed = counts
        .into_iter()
        .filter(|&(_, count)| count as f64 >= needed)
        .map(|(k, _)| k)
        .collect();
    Ok((last_epoch as u64, committed))
}

/// The effective-dimensionality crossover: the first summary epoch, after one where pr_W_out >
/// pr_W_in, at which pr_W_out ≤ pr_W_in; with W_E's PR there. `None` without a crossover.
pub fn crossover_pr(loader: &ArtifactLoader) -> Result<Option<(u64, f64)>> {
    let path = loader.summary_path("effective_dimensionality");
    let summary = loader.load_summary("effective_dimensionality")?;
    let epochs = key_f64(&summary, "epochs", &path)?;
    let w_e = key_f64(&summary, "pr_W_E", &path)?;
    let w_in = key_f64(&summary, "pr_W_in", &path)?;
    let w_out = key_f64(&summary, "pr_W_out", &path)?;
    for (field, values) in [("pr_W_E", &w_e), ("pr_W_in", &w_in), ("pr_W_out", &w_out)] {
        if values.len() != epochs.len() {
            return Err(Error::StoredField {
                path,
                field,
                value: Some(format!("{} values", values.len())),
                reason: format!("expected one per epoch ({})", epochs.len()),
            });
        }
    }
    let mut exceeded = false;
    for i in 0..epochs.len() {
        if w_out[i] > w_in[i] {
            exceeded = true;
        } else if exceeded {
            return Ok(Some((epochs[i] as u64, w_e[i])));
        }
    }
    Ok(None)
}
