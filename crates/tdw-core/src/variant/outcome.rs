//! How a run ended, by MIScope's variant-summary rules (`variant_analysis_summary.py`, spec
//! `miscope-dashboard.md` §5 and `miscope-spec.md` §5.26): the loss landmarks, the
//! `performance_classification` and the `failure_mode`, from the losses alone.
//!
//! - **second descent onset**: the first epoch at or after the test loss's peak where the loss
//!   has fallen by 80 % of the peak, `(max − loss)/max ≥ 0.8`; none if it never does.
//! - **threshold epochs**: the first epoch with train (test) loss ≤ 1e-6.
//! - **performance_classification**, first match: onset none or 0 `no_second_descent`; final −
//!   min test loss ≥ 0.2 and final > 1e-5 `degraded_rebound`; final > 1e-5 `degraded`; onset
//!   > 12,000 `late_grokker`; else `healthy`.
//! - **failure_mode**, first match: no onset `no_grokking`; final > 1e-6 `degraded`; onset >
//!   12,000 `late_grokker`; else `healthy`. MIScope also defines `degraded_recovery`
//!   (max(test[onset:]) > min(test[onset:]) + 0.2 · peak and final > 1e-6) but its summary never
//!   sets it (**quirk**, kept: it would come before `degraded`, and every run it matches is
//!   `degraded` there); [`Outcome::recovery_relapse`] reports the condition on its own.

use std::fmt;

/// Fall of the test loss, as a fraction of its peak, that marks the second descent's onset.
pub const ONSET_FRACTION: f64 = 0.8;
/// Loss at or below which a threshold epoch is reached.
pub const THRESHOLD: f64 = 1e-6;
/// Final test loss above which the classification calls a run degraded.
pub const DEGRADED_CLASS: f64 = 1e-5;
/// Final test loss above which the failure mode calls a run degraded.
pub const DEGRADED_MODE: f64 = 1e-6;
/// Rise of the final test loss over its minimum that makes a degraded run a rebound.
pub const REBOUND: f64 = 0.2;
/// Onset epoch after which a run is a late grokker.
pub const LATE: u64 = 12_000;

/// MIScope's `performance_classification` labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Performance {
    /// The test loss never fell by 80 % of its peak.
    NoSecondDescent,
    /// It fell, then rose again by ≥ 0.2 and ended above 1e-5.
    DegradedRebound,
    /// It ended above 1e-5.
    Degraded,
    /// Its second descent began after epoch 12,000.
    LateGrokker,
    /// None of the above.
    Healthy,
}

/// MIScope's `failure_mode` labels (as its summary sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    /// No second descent.
    NoGrokking,
    /// Final test loss above 1e-6.
    Degraded,
    /// Second descent after epoch 12,000.
    LateGrokker,
    /// None of the above.
    Healthy,
}

impl Performance {
    /// MIScope's label.
    pub fn name(self) -> &'static str {
        match self {
            Performance::NoSecondDescent => "no_second_descent",
            Performance::DegradedRebound => "degraded_rebound",
            Performance::Degraded => "degraded",
            Performance::LateGrokker => "late_grokker",
            Performance::Healthy => "healthy",
        }
    }
}

impl FailureMode {
    /// MIScope's label.
    pub fn name(self) -> &'static str {
        match self {
            FailureMode::NoGrokking => "no_grokking",
            FailureMode::Degraded => "degraded",
            FailureMode::LateGrokker => "late_grokker",
            FailureMode::Healthy => "healthy",
        }
    }
}

impl fmt::Display for Performance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for FailureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A run's loss landmarks and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The test loss's largest value, and its epoch.
    pub test_peak: (u64, f64),
    /// The test loss's smallest value, and its epoch.
    pub test_min: (u64, f64),
    /// Last train loss.
    pub final_train_loss: f64,
    /// Last test loss.
    pub final_test_loss: f64,
    /// First epoch with train loss ≤ 1e-6.
    pub train_threshold_epoch: Option<u64>,
    /// First epoch with test loss ≤ 1e-6.
    pub test_threshold_epoch: Option<u64>,
    /// First epoch at or after the test peak with `(max − loss)/max ≥ 0.8`.
    pub second_descent_onset: Option<u64>,
    /// MIScope's `performance_classification` label.
    pub performance: Performance,
    /// Why that label (the rule and its numbers).
    pub reason: String,
    /// MIScope's `failure_mode`.
    pub failure_mode: FailureMode,
}

impl Outcome {
    /// The landmarks and labels of a run with these per-epoch losses (`None` if it has none).
    pub fn of(train: &[f64], test: &[f64]) -> Option<Outcome> {
        let (&final_train_loss, &final_test_loss) = (train.last()?, test.last()?);
        let indexed = || {
            test.iter()
                .copied()
                .enumerate()
                .filter(|(_, l)| l.is_finite())
        };
        let (peak_at, peak) = indexed().fold((0, f64::NEG_INFINITY), |best, (e, l)| {
            if l > best.1 { (e, l) } else { best }
        });
        let (min_at, min) =
            indexed().fold(
                (0, f64::INFINITY),
                |best, (e, l)| {
                    if l < best.1 { (e, l) } else { best }
                },
            );
        let first = |losses: &[f64]| {
            losses
                .iter()
                .position(|&l| l <= THRESHOLD)
                .map(|e| e as u64)
        };
        let second_descent_onset = (peak > 0.0)
            .then(|| {
                test.iter()
                    .enumerate()
                    .skip(peak_at)
                    .find(|(_, l)| (peak - **l) / peak >= ONSET_FRACTION)
                    .map(|(e, _)| e as u64)
            })
            .flatten();
        let (performance, reason) = match second_descent_onset {
            None | Some(0) => (
                Performance::NoSecondDescent,
                format!(
                    "the test loss never fell by {:.0}% of its peak {peak:.3e} (epoch {peak_at})",
                    ONSET_FRACTION * 100.0
                ),
            ),
            Some(onset) if final_test_loss - min >= REBOUND && final_test_loss > DEGRADED_CLASS => {
                (
                    Performance::DegradedRebound,
                    format!(
                        "final test loss {final_test_loss:.3e} is {:.3} above its minimum {min:.3e} \
                     (epoch {min_at}) after the onset at {onset}",
                        final_test_loss - min
                    ),
                )
            }
            Some(_) if final_test_loss > DEGRADED_CLASS => (
                Performance::Degraded,
                format!("final test loss {final_test_loss:.3e} > {DEGRADED_CLASS:e}"),
            ),
            Some(onset) if onset > LATE => (
                Performance::LateGrokker,
                format!("second descent began at epoch {onset} > {LATE}"),
            ),
            Some(onset) => (
                Performance::Healthy,
                format!("second descent at epoch {onset}, final test loss {final_test_loss:.3e}"),
            ),
        };
        let failure_mode = match second_descent_onset {
            None => FailureMode::NoGrokking,
            Some(_) if final_test_loss > DEGRADED_MODE => FailureMode::Degraded,
            Some(onset) if onset > LATE => FailureMode::LateGrokker,
            Some(_) => FailureMode::Healthy,
        };
        Some(Outcome {
            test_peak: (peak_at as u64, peak),
            test_min: (min_at as u64, min),
            final_train_loss,
            final_test_loss,
            train_threshold_epoch: first(train),
            test_threshold_epoch: first(test),
            second_descent_onset,
            performance,
            reason,
            failure_mode,
        })
    }

    /// MIScope's unused `degraded_recovery` condition: after the onset the test loss rose again
    /// by more than 0.2 of its peak, and it ended above 1e-6.
    pub fn recovery_relapse(&self, test: &[f64]) -> bool {
        let Some(onset) = self.second_descent_onset else {
            return false;
        };
        let after = &test[onset as usize..];
        let max = after.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = after.iter().copied().fold(f64::INFINITY, f64::min);
        max > min + REBOUND * self.test_peak.1 && self.final_test_loss > DEGRADED_MODE
    }

    /// One line: the class, the onset and threshold epochs, the final losses.
    pub fn line(&self) -> String {
        let onset = self
            .second_descent_onset
            .map_or("no second descent".into(), |e| {
                format!("second descent at {e}")
            });
        let threshold = self
            .test_threshold_epoch
            .map_or("test loss never ≤ 1e-6".into(), |e| {
                format!("test loss ≤ 1e-6 at {e}")
            });
        format!(
            "{} (failure mode {}): {onset}, {threshold}, final test loss {:.3e}",
            self.performance, self.failure_mode, self.final_test_loss
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made curve: `peak` at epoch 2, then `after` per epoch (train loss falls to 1e-7).
    fn run(after: &[f64], offset: usize) -> Outcome {
        let mut test = vec![4.0, 4.5, 5.0];
        test.extend(std::iter::repeat_n(5.0, offset));
        test.extend_from_slice(after);
        let train: Vec<f64> = (0..test.len()).map(|e| 10f64.powi(-(e as i32))).collect();
        Outcome::of(&train, &test).expect("losses")
    }

    #[test]
    fn every_class_on_a_curve_made_for_it() {
        // Never falls by 80 % of the peak 5.0 (1.1 is only 78 % below it).
        let none = run(&[3.0, 1.1, 1.1], 0);
        assert_eq!(none.performance, Performance::NoSecondDescent);
        assert_eq!(none.failure_mode, FailureMode::NoGrokking);
        assert_eq!(none.second_descent_onset, None);
        // Falls to 1e-7: healthy, onset where (5 − l)/5 ≥ 0.8 first holds (l = 0.9 at epoch 4).
        let healthy = run(&[2.0, 0.9, 1e-3, 1e-7], 0);
        assert_eq!(
            healthy.performance,
            Performance::Healthy,
            "{}",
            healthy.reason
        );
        assert_eq!(healthy.failure_mode, FailureMode::Healthy);
        assert_eq!(healthy.second_descent_onset, Some(4));
        assert_eq!(healthy.test_threshold_epoch, Some(6));
        assert_eq!(healthy.test_peak, (2, 5.0));
        // Ends at 3e-6: healthy for the classification (≤ 1e-5), degraded for the failure mode.
        let mild = run(&[0.5, 3e-6], 0);
        assert_eq!(mild.performance, Performance::Healthy);
        assert_eq!(mild.failure_mode, FailureMode::Degraded);
        // Ends at 1e-3 without rebounding: degraded.
        let degraded = run(&[0.5, 1e-3], 0);
        assert_eq!(degraded.performance, Performance::Degraded);
        // Falls to 1e-4, then climbs back to 0.5: degraded_rebound (0.5 − 1e-4 ≥ 0.2).
        let rebound = run(&[0.5, 1e-4, 0.3, 0.5], 0);
        assert_eq!(
            rebound.performance,
            Performance::DegradedRebound,
            "{}",
            rebound.reason
        );
        assert_eq!(rebound.failure_mode, FailureMode::Degraded);
        // MIScope's unused degraded_recovery: a rise above the post-onset minimum of more than
        // 0.2 of the peak (1.0 here): 0.5 is not, 1.5 is.
        assert!(!rebound.recovery_relapse(&[4.0, 4.5, 5.0, 0.5, 1e-4, 0.3, 0.5]));
        let relapse_curve = [4.0, 4.5, 5.0, 0.5, 1e-4, 1.5];
        let relapse = Outcome::of(&[1.0; 6], &relapse_curve).unwrap();
        assert!(relapse.recovery_relapse(&relapse_curve));
        // A clean descent after epoch 12,000: late_grokker in both.
        let late = run(&[0.5, 1e-7], 12_100);
        assert_eq!(late.second_descent_onset, Some(12_103));
        assert_eq!(late.performance, Performance::LateGrokker);
        assert_eq!(late.failure_mode, FailureMode::LateGrokker);
        assert_eq!(late.performance.to_string(), "late_grokker");
        assert_eq!(
            healthy.line(),
            "healthy (failure mode healthy): second descent at 4, test loss ≤ 1e-6 at 6, final test loss 1.000e-7"
        );
    }

    #[test]
    fn an_onset_at_epoch_zero_is_no_second_descent() {
        // Peak at epoch 0 and nothing after it: the peak itself is not a descent; a curve whose
        // first loss is already the peak and whose second is 80 % lower has onset 1.
        let flat = Outcome::of(&[1.0, 1.0], &[0.0, 0.0]).unwrap();
        assert_eq!(flat.performance, Performance::NoSecondDescent);
        let quick = Outcome::of(&[1.0, 0.1], &[5.0, 0.5]).unwrap();
        assert_eq!(quick.second_descent_onset, Some(1));
        assert_eq!(Outcome::of(&[], &[]), None);
    }
}
