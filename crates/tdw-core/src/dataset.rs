//! The task data: every input a model can see with its label ([`Dataset`]), and which rows train
//! and which test ([`Split`]). The bottom layer: engines train on it, families build it,
//! analyses probe with it.

/// The task data of a family: every input the model can see, with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Token rows, `n_ctx` ids each, flattened row-major (`[a, b, p]` for modular addition).
    pub tokens: Vec<i64>,
    /// Tokens per row.
    pub n_ctx: usize,
    /// The correct output class of each row.
    pub labels: Vec<i64>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            tokens: indices
                .iter()
                .flat_map(|&i| {
                    self.tokens[i * self.n_ctx..(i + 1) * self.n_ctx]
                        .iter()
                        .copied()
                })
                .collect(),
            n_ctx: self.n_ctx,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// Which rows of the full dataset train and which test.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training rows, in permutation order (not sorted), as MIScope stores them.
    pub train_indices: Vec<usize>,
    /// The remaining rows, in permutation order.
    pub test_indices: Vec<usize>,
}
