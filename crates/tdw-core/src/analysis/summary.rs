//! `summary.npz`: per-epoch summary values stacked along a leading epoch axis, merged with what an
//! earlier run wrote (spec §4.4).

use ndarray::{ArrayD, Axis, IxDyn};

use crate::error::SummaryError;
use crate::formats::artifact::{Array, Artifact};

/// Collects one analyzer's summary values epoch by epoch.
#[derive(Debug, Default)]
pub struct SummaryCollector {
    rows: Vec<(u64, Artifact)>,
}

impl SummaryCollector {
    /// Records the summary of one epoch.
    pub fn push(&mut self, epoch: u64, values: Artifact) {
        self.rows.push((epoch, values));
    }

    /// Whether any collected row has `key` (a summary key of a weight the family's model lacks
    /// has none).
    pub fn has_key(&self, key: &str) -> bool {
        self.rows.iter().any(|(_, row)| row.get(key).is_some())
    }

    /// The epochs collected so far.
    pub fn epochs(&self) -> Vec<u64> {
        self.rows.iter().map(|(e, _)| *e).collect()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Stacks the collected rows (sorted by epoch) under `keys`: `epochs` (i64) first.
    pub fn stack(mut self, keys: &[&str]) -> Result<Artifact, SummaryError> {
        self.rows.sort_by_key(|(epoch, _)| *epoch);
        let mut out = Artifact::new();
        out.insert(
            "epochs",
            ArrayD::from_shape_vec(
                IxDyn(&[self.rows.len()]),
                self.rows.iter().map(|(e, _)| *e as i64).collect::<Vec<_>>(),
            )
            .expect("1-d"),
        );
        for key in keys {
            let values: Vec<&Array> = self
                .rows
                .iter()
                .map(|(epoch, row)| {
                    row.get(key).ok_or_else(|| SummaryError::MissingInEpoch {
                        epoch: *epoch,
                        key: key.to_string(),
                    })
                })
                .collect::<Result<_, _>>()?;
            out.insert(*key, stack(key, &values)?);
        }
        Ok(out)
    }
}

/// Stacks arrays of one dtype and shape (the values of `key`) along a new leading axis.
pub fn stack(key: &str, values: &[&Array]) -> Result<Array, SummaryError> {
    macro_rules! stack_as {
        ($variant:ident) => {{
            let views = values
                .iter()
                .map(|a| match a {
                    Array::$variant(x) => Ok(x.view()),
                    other => Err(SummaryError::MixedDtypes {
                        key: key.to_string(),
                        first: values[0].dtype().numpy_name(),
                        other: other.dtype().numpy_name(),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let stacked = if views.is_empty() {
                ArrayD::from_shape_vec(IxDyn(&[0]), Vec::new()).expect("empty")
            } else {
                let first = views[0].shape();
                if let Some(other) = views.iter().find(|v| v.shape() != first) {
                    return Err(SummaryError::MixedShapes {
                        key: key.to_string(),
                        first: first.to_vec(),
                        other: other.shape().to_vec(),
                    });
                }
                ndarray::stack(Axis(0), &views).expect("equal shapes, checked")
            };
            Array::$variant(stacked)
        }};
    }
    Ok(match values.first() {
        None | Some(Array::F64(_)) => stack_as!(F64),
        Some(Array::F32(_)) => stack_as!(F32),
        Some(Array::F16(_)) => stack_as!(F16),
        Some(Array::I16(_)) => stack_as!(I16),
        Some(Array::I32(_)) => stack_as!(I32),
        Some(Array::I64(_)) => stack_as!(I64),
        Some(Array::Bool(_)) => stack_as!(Bool),
        Some(Array::C128(_)) => stack_as!(C128),
    })
}

/// Merges a new summary into an existing one (MIScope's gap-filling rule): epochs the old file
/// lacks are appended (keys absent in the old file are zero-filled for its epochs); epochs it
/// already has keep their old values unless *every* new epoch is already present (a forced
/// rerun), in which case the new values replace the old. Everything is sorted by epoch.
pub fn merge(old: &Artifact, new: &Artifact, keys: &[&str]) -> Result<Artifact, SummaryError> {
    let epochs_of = |a: &Artifact, which: &'static str| -> Result<Vec<i64>, SummaryError> {
        match a.get("epochs") {
            Some(Array::I64(e)) => Ok(e.iter().copied().collect()),
            Some(other) => Ok(other.to_f64().iter().map(|&v| v as i64).collect()),
            None => Err(SummaryError::NoEpochs { which }),
        }
    };
    let old_epochs = epochs_of(old, "stored")?;
    let new_epochs = epochs_of(new, "new")?;
    let kept: Vec<usize> = (0..new_epochs.len())
        .filter(|&i| !old_epochs.contains(&new_epochs[i]))
        .collect();
    if kept.is_empty() {
        // Forced rerun over the same epochs: the new values win; rows follow the old epoch order.
        let mut merged = Artifact::new().with(
            "epochs",
            ArrayD::from_shape_vec(IxDyn(&[old_epochs.len()]), old_epochs.clone()).expect("1-d"),
        );
        let order: Vec<usize> = old_epochs
            .iter()
            .map(|e| new_epochs.iter().position(|n| n == e))
            .collect::<Option<_>>()
            .ok_or_else(|| SummaryError::DifferentEpochs {
                old: old_epochs.clone(),
                new: new_epochs.clone(),
            })?;
        for key in keys {
            let values = new.get(key).ok_or_else(|| SummaryError::MissingInNew {
                key: key.to_string(),
            })?;
            merged.insert(*key, take_rows(values, &order));
        }
        return sort_by_epoch(merged, keys);
    }
    let mut epochs = old_epochs.clone();
    epochs.extend(kept.iter().map(|&i| new_epochs[i]));
    let mut merged = Artifact::new().with(
        "epochs",
        ArrayD::from_shape_vec(IxDyn(&[epochs.len()]), epochs).expect("1-d"),
    );
    for key in keys {
        let new_values = new.get(key).ok_or_else(|| SummaryError::MissingInNew {
            key: key.to_string(),
        })?;
        let appended = take_rows(new_values, &kept);
        let old_values = match old.get(key) {
            Some(values) => values.clone(),
            None => zeros_like_rows(new_values, old_epochs.len()),
        };
        merged.insert(*key, stack_rows(key, &old_values, &appended)?);
    }
    sort_by_epoch(merged, keys)
}

/// The merged arrays' rows in epoch order (`epochs` is the i64 array both branches of
/// [`merge`] write).
fn sort_by_epoch(artifact: Artifact, keys: &[&str]) -> Result<Artifact, SummaryError> {
    let Some(Array::I64(epochs)) = artifact.get("epochs") else {
        return Err(SummaryError::NoEpochs { which: "merged" });
    };
    let mut order: Vec<usize> = (0..epochs.len()).collect();
    order.sort_by_key(|&i| epochs[i]);
    let mut sorted = Artifact::new();
    sorted.insert(
        "epochs",
        take_rows(artifact.get("epochs").expect("checked"), &order),
    );
    for key in keys {
        sorted.insert(
            *key,
            take_rows(artifact.get(key).expect("merged above"), &order),
        );
    }
    Ok(sorted)
}

macro_rules! map_array {
    ($array:expr, $x:ident => $body:expr) => {
        match $array {
            Array::F16($x) => Array::F16($body),
            Array::F32($x) => Array::F32($body),
            Array::F64($x) => Array::F64($body),
            Array::I16($x) => Array::I16($body),
            Array::I32($x) => Array::I32($body),
            Array::I64($x) => Array::I64($body),
            Array::Bool($x) => Array::Bool($body),
            Array::C128($x) => Array::C128($body),
        }
    };
}

fn take_rows(array: &Array, rows: &[usize]) -> Array {
    map_array!(array, a => a.select(Axis(0), rows))
}

fn zeros_like_rows(array: &Array, n: usize) -> Array {
    let mut shape = array.shape().to_vec();
    shape[0] = n;
    map_array!(array, _a => ArrayD::default(IxDyn(&shape)))
}

/// `a`'s rows then `b`'s (the values of `key` on disk, then the new epochs').
fn stack_rows(key: &str, a: &Array, b: &Array) -> Result<Array, SummaryError> {
    if a.shape()[1..] != b.shape()[1..] {
        return Err(SummaryError::MixedShapes {
            key: key.to_string(),
            first: a.shape().to_vec(),
            other: b.shape().to_vec(),
        });
    }
    macro_rules! cat {
        ($v:ident, $x:expr, $y:expr) => {
            Array::$v(
                ndarray::concatenate(Axis(0), &[$x.view(), $y.view()])
                    .expect("equal row shapes, checked"),
            )
        };
    }
    Ok(match (a, b) {
        (Array::F16(x), Array::F16(y)) => cat!(F16, x, y),
        (Array::F32(x), Array::F32(y)) => cat!(F32, x, y),
        (Array::F64(x), Array::F64(y)) => cat!(F64, x, y),
        (Array::I16(x), Array::I16(y)) => cat!(I16, x, y),
        (Array::I32(x), Array::I32(y)) => cat!(I32, x, y),
        (Array::I64(x), Array::I64(y)) => cat!(I64, x, y),
        (Array::Bool(x), Array::Bool(y)) => cat!(Bool, x, y),
        (Array::C128(x), Array::C128(y)) => cat!(C128, x, y),
        _ => {
            return Err(SummaryError::DtypeChanged {
                key: key.to_string(),
                old: a.dtype().numpy_name(),
                new: b.dtype().numpy_name(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn summary(epochs: &[i64], values: &[f64]) -> Artifact {
        Artifact::new()
            .with(
                "epochs",
                ArrayD::from_shape_vec(IxDyn(&[epochs.len()]), epochs.to_vec()).unwrap(),
            )
            .with(
                "x",
                ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap(),
            )
    }

    #[test]
    fn collector_stacks_scalars_and_vectors_in_epoch_order() {
        let mut c = SummaryCollector::default();
        c.push(
            100,
            Artifact::new()
                .with("s", 2.0f64)
                .with("v", array![1.0f64, 2.0]),
        );
        c.push(
            0,
            Artifact::new()
                .with("s", 1.0f64)
                .with("v", array![3.0f64, 4.0]),
        );
        let out = c.stack(&["s", "v"]).unwrap();
        assert_eq!(out.get("epochs").unwrap(), &Array::from(array![0i64, 100]));
        assert_eq!(out.get("s").unwrap(), &Array::from(array![1.0f64, 2.0]));
        assert_eq!(
            out.get("v").unwrap(),
            &Array::from(array![[3.0f64, 4.0], [1.0, 2.0]])
        );
    }

    #[test]
    fn merge_fills_gaps_and_keeps_old_values() {
        let old = summary(&[0, 200], &[1.0, 3.0]);
        let new = summary(&[100, 200], &[2.0, 9.0]);
        let merged = merge(&old, &new, &["x"]).unwrap();
        assert_eq!(
            merged.get("epochs").unwrap(),
            &Array::from(array![0i64, 100, 200])
        );
        assert_eq!(
            merged.get("x").unwrap(),
            &Array::from(array![1.0f64, 2.0, 3.0])
        );
    }

    #[test]
    fn forced_rerun_replaces_values() {
        let old = summary(&[0, 100], &[1.0, 2.0]);
        let new = summary(&[0, 100], &[5.0, 6.0]);
        let merged = merge(&old, &new, &["x"]).unwrap();
        assert_eq!(merged.get("x").unwrap(), &Array::from(array![5.0f64, 6.0]));
    }

    #[test]
    fn new_keys_are_zero_filled_for_old_epochs() {
        let old = summary(&[0], &[1.0]);
        let new = summary(&[100], &[2.0]).with("y", array![7.0f64]);
        let merged = merge(&old, &new, &["x", "y"]).unwrap();
        assert_eq!(merged.get("y").unwrap(), &Array::from(array![0.0f64, 7.0]));
    }
}
