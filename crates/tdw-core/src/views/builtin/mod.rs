//! The built-in views (spec §6.2), grouped by what they look at. Each module exposes its
//! [`ViewDefinition`]s; renderers read artifacts through [`ViewInput`] and return a chart.

mod attention;
mod causal;
mod geometry;
mod intervention;
mod mlp;
mod parameters;
mod progress;
mod training;

pub use training::loss_curve_chart;
mod trajectory;

use crate::views::definition::ViewDefinition;

/// Every built-in view.
pub fn definitions() -> Vec<ViewDefinition> {
    [
        training::DEFINITIONS,
        parameters::DEFINITIONS,
        mlp::DEFINITIONS,
        attention::DEFINITIONS,
        trajectory::DEFINITIONS,
        geometry::DEFINITIONS,
        progress::DEFINITIONS,
        intervention::DEFINITIONS,
        causal::DEFINITIONS,
    ]
    .concat()
}

/// Name of row `i` of the Fourier basis over p points: row 0 is the constant, row 2k−1 is sin k,
/// row 2k is cos k.
pub fn fourier_label(i: usize) -> String {
    match i {
        0 => "const".to_string(),
        i if i % 2 == 1 => format!("sin {}", i.div_ceil(2)),
        i => format!("cos {}", i / 2),
    }
}

/// 1-based frequency labels `1..=n` (rows of frequency × something matrices).
pub fn frequency_labels(n: usize) -> Vec<String> {
    (1..=n).map(|k| k.to_string()).collect()
}

/// Index labels `0..n`.
pub fn index_labels(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourier_rows_are_sin_then_cos() {
        assert_eq!(fourier_label(0), "const");
        assert_eq!(fourier_label(1), "sin 1");
        assert_eq!(fourier_label(2), "cos 1");
        assert_eq!(fourier_label(27), "sin 14");
        assert_eq!(fourier_label(28), "cos 14");
    }
}
