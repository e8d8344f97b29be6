//! Which epochs get a checkpoint.
//!
//! MIScope's default for the one-layer family is dense where the dynamics are fast (the start,
//! and 9000–13000 where the canonical run groks) and sparse elsewhere: 94 epochs plus the final
//! one (spec §3.5). Researchers also pass their own lists (`--checkpoints 0,100,250`).

use crate::error::{Error, Result};

/// The sorted, de-duplicated union of Python-style `range(start, stop, step)`s.
pub fn from_ranges(ranges: &[(u64, u64, u64)]) -> Vec<u64> {
    let mut epochs: Vec<u64> = ranges
        .iter()
        .flat_map(|&(start, stop, step)| (start..stop).step_by(step.max(1) as usize))
        .collect();
    epochs.sort_unstable();
    epochs.dedup();
    epochs
}

/// The MLP families' default schedule (`modulo_addition_2l_mlp.py`), 50,000 epochs.
pub const MLP_DEFAULT: [(u64, u64, u64); 4] = [
    (0, 1500, 100),
    (1500, 12000, 500),
    (12000, 22000, 100),
    (22000, 50000, 500),
];

/// The default ranges of the one-layer family (spec §3.5).
pub const ONE_LAYER_DEFAULT: [(u64, u64, u64); 4] = [
    (0, 1500, 100),
    (1500, 9000, 500),
    (9000, 13000, 100),
    (13000, 25000, 500),
];

/// Parses a comma-separated list (`"0, 100, 250"`) into sorted epochs; an epoch listed twice is
/// an error (a typo more often than an intent).
pub fn parse_list(text: &str) -> Result<Vec<u64>> {
    let mut epochs = Vec::new();
    for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let epoch = piece.parse::<u64>().map_err(|_| Error::InvalidSetting {
            setting: "checkpoints".into(),
            value: piece.into(),
            reason: "expected a comma-separated list of non-negative integers".into(),
        })?;
        if epochs.contains(&epoch) {
            return Err(Error::InvalidSetting {
                setting: "checkpoints".into(),
                value: piece.into(),
                reason: "is listed twice".into(),
            });
        }
        epochs.push(epoch);
    }
    epochs.sort_unstable();
    Ok(epochs)
}

/// The epochs actually saved in a run of `num_epochs`: the requested ones below `num_epochs`,
/// plus the final epoch, which is always saved.
pub fn effective(requested: &[u64], num_epochs: u64) -> Vec<u64> {
    let mut epochs: Vec<u64> = requested
        .iter()
        .copied()
        .filter(|&e| e < num_epochs)
        .collect();
    epochs.push(num_epochs - 1);
    epochs.sort_unstable();
    epochs.dedup();
    epochs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_has_95_checkpoints() {
        let epochs = effective(&from_ranges(&ONE_LAYER_DEFAULT), 25_000);
        assert_eq!(epochs.len(), 95);
        assert_eq!(&epochs[..3], &[0, 100, 200]);
        assert_eq!(&epochs[epochs.len() - 2..], &[24_500, 24_999]);
        assert_eq!(
            epochs
                .iter()
                .filter(|&&e| (9000..13000).contains(&e))
                .count(),
            40
        );
    }

    #[test]
    fn custom_lists() {
        assert_eq!(parse_list(" 250, 0,100 ").unwrap(), vec![0, 100, 250]);
        assert!(parse_list("0,x").is_err());
        let twice = parse_list("0,100,100").unwrap_err().to_string();
        assert!(
            twice.contains("100") && twice.contains("listed twice"),
            "{twice}"
        );
        assert_eq!(effective(&[0, 100, 250], 200), vec![0, 100, 199]);
    }
}
