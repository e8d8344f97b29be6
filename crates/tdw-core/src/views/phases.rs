//! The three phases of grokking (Nanda et al. 2023, §5): memorisation, circuit formation and
//! cleanup, located on a run's loss curves so charts can shade them and the report can pick the
//! epochs worth looking at.
//!
//! The paper reads the boundaries off its progress measures by eye; we use loss thresholds that
//! land on the same epochs for the canonical run and are stable across variants:
//! - memorisation ends at the first epoch with train loss below [`MEMORISED`];
//! - circuit formation ends (cleanup starts) at the first epoch after the test loss's peak (taken
//!   after memorisation) with test loss below [`GENERALISING`]: the steep descent has begun;
//! - cleanup ends at the first epoch with test loss below [`GROKKED`], the grokking epoch.

use crate::variant::EpochRange;

/// Train loss below which the training set counts as memorised.
pub const MEMORISED: f64 = 1e-2;
/// Test loss below which the model clearly beats chance (ln p ≈ 4.7 at p = 113) on held-out pairs.
pub const GENERALISING: f64 = 1.0;
/// Test loss below which the run has grokked.
pub const GROKKED: f64 = 1e-2;

/// Phase boundaries in epochs; a boundary the run never reached is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    /// First epoch with the training loss below [`MEMORISED`]: memorisation ends.
    pub memorised: Option<u64>,
    /// First epoch after the test loss's peak with the test loss below [`GENERALISING`]: cleanup starts.
    pub cleanup_start: Option<u64>,
    /// First epoch with the test loss below [`GROKKED`]: the grokking epoch.
    pub grokked: Option<u64>,
    /// The run's last epoch.
    pub last_epoch: u64,
}

impl Phases {
    /// A dense checkpoint window over the transition, for `tdw densify --around-grokking`: from
    /// the end of memorisation to the grokking epoch (cleanup's end), with at most `budget`
    /// checkpoints (both ends included). `None` if the run has not grokked.
    pub fn grokking_window(&self, budget: u64) -> Option<EpochRange> {
        let (start, end) = (self.memorised?, self.grokked?);
        let span = end.saturating_sub(start);
        let step = span.div_ceil(budget.saturating_sub(1).max(1)).max(1);
        Some(EpochRange { start, end, step })
    }

    /// Locates the phases on losses sampled at `epochs` (every epoch, or only checkpoints).
    pub fn locate(epochs: &[u64], train: &[f64], test: &[f64]) -> Phases {
        let first_below = |losses: &[f64], threshold: f64, after: u64| {
            epochs
                .iter()
                .zip(losses)
                .find(|(e, l)| **e >= after && **l < threshold)
                .map(|(e, _)| *e)
        };
        let memorised = first_below(train, MEMORISED, 0);
        let peak = memorised.map(|m| {
            epochs
                .iter()
                .zip(test)
                .filter(|(e, l)| **e >= m && l.is_finite())
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(m, |(e, _)| *e)
        });
        let cleanup_start = peak.and_then(|p| first_below(test, GENERALISING, p));
        let grokked = cleanup_start.and_then(|c| first_below(test, GROKKED, c));
        Phases {
            memorised,
            cleanup_start,
            grokked,
            last_epoch: epochs.last().copied().unwrap_or(0),
        }
    }

    /// The shaded spans: (label, from, to), up to the last boundary reached.
    pub fn spans(&self) -> Vec<(&'static str, u64, u64)> {
        let mut spans = Vec::new();
        let end = |b: Option<u64>| b.unwrap_or(self.last_epoch);
        spans.push(("memorisation", 0, end(self.memorised)));
        if let Some(m) = self.memorised {
            spans.push(("circuit formation", m, end(self.cleanup_start)));
        }
        if let Some(c) = self.cleanup_start {
            spans.push(("cleanup", c, end(self.grokked)));
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_the_thresholds_in_order() {
        let epochs: Vec<u64> = (0..8).map(|e| e * 100).collect();
        let train = [4.7, 1.0, 0.005, 1e-4, 1e-5, 1e-6, 1e-6, 1e-7];
        let test = [4.7, 5.0, 0.5, 8.0, 3.0, 0.5, 0.005, 0.001];
        let phases = Phases::locate(&epochs, &train, &test);
        // The dip of the test loss at epoch 200 comes before its peak: not yet cleanup.
        assert_eq!(phases.memorised, Some(200));
        assert_eq!(phases.cleanup_start, Some(500));
        assert_eq!(phases.grokked, Some(600));
        assert_eq!(phases.spans().len(), 3);
    }

    #[test]
    fn the_grokking_window_spans_memorisation_to_grokking_within_the_budget() {
        let phases = Phases {
            memorised: Some(200),
            cleanup_start: Some(500),
            grokked: Some(1200),
            last_epoch: 2000,
        };
        // 1,000 epochs in at most 50 checkpoints: step ⌈1000 / 49⌉ = 21, 48 checkpoints.
        let window = phases.grokking_window(50).unwrap();
        assert_eq!((window.start, window.end, window.step), (200, 1200, 21));
        assert!(window.epochs().count() <= 50);
        assert_eq!(phases.grokking_window(2000).unwrap().step, 1);
        let never = Phases {
            grokked: None,
            ..phases
        };
        assert_eq!(never.grokking_window(50), None);
    }

    #[test]
    fn a_run_that_never_memorises_is_all_memorisation() {
        let phases = Phases::locate(&[0, 10], &[4.0, 3.0], &[4.0, 4.0]);
        assert_eq!(phases.spans(), vec![("memorisation", 0, 10)]);
    }
}
