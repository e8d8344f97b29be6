//! Views of the class-centroid dynamics (`centroid_dmd`): where the fitted linear dynamics'
//! eigenvalues lie against the unit circle, when the one-step residual jumps (the proposed
//! grokking-onset signal), and how far the linear dynamics alone follow the real trajectory.

use crate::analyzers::centroid_dmd::reconstruct;
use crate::analyzers::repr_geometry::SITES;
use crate::error::Result;
use crate::views::chart::{LineChart, Marker, Series};
use crate::views::color;
use crate::views::definition::{Requirement, ViewDefinition, ViewInput, ViewOptionSpec};
use crate::views::figure::Figure;

const SITE_OPTION: ViewOptionSpec = ViewOptionSpec {
    name: "site",
    default: "resid_post",
    help: "activation site: resid_pre, attn_out, mlp_out or resid_post",
};

pub const DEFINITIONS: &[ViewDefinition] = &[
    ViewDefinition {
        name: "geometry.dmd_eigenvalues",
        description: "Eigenvalues of the centroids' fitted one-step dynamics, with the unit circle",
        requires: &[Requirement::CrossEpoch("centroid_dmd")],
        epoch_source: None,
        options: &[SITE_OPTION],
        render: dmd_eigenvalues,
    },
    ViewDefinition {
        name: "geometry.dmd_residual",
        description: "How far each checkpoint's centroids are from the fitted linear dynamics' one-step prediction",
        requires: &[Requirement::CrossEpoch("centroid_dmd")],
        epoch_source: None,
        options: &[],
        render: dmd_residual,
    },
    ViewDefinition {
        name: "geometry.dmd_reconstruction",
        description: "One class centroid's leading PCA coordinates against the DMD reconstruction",
        requires: &[Requirement::CrossEpoch("centroid_dmd")],
        epoch_source: None,
        options: &[
            SITE_OPTION,
            ViewOptionSpec {
                name: "class",
                default: "0",
                help: "the residue class (0..p) whose centroid is shown",
            },
        ],
        render: dmd_reconstruction,
    },
];

fn dmd_eigenvalues(input: &ViewInput<'_>) -> Result<Figure> {
    let site = input.choice_option("site", &SITES)?;
    let artifact = input.cross_epoch("centroid_dmd")?;
    let (_, eigenvalues) = input.complex_array(&artifact, &format!("{site}__eigenvalues"))?;
    let mut chart = LineChart::new(
        format!("DMD eigenvalues ({site}): {} modes", eigenvalues.len()),
        "Re λ",
        "Im λ",
    );
    let circle = (0..=240)
        .map(|k| {
            let angle = std::f64::consts::TAU * k as f64 / 240.0;
            (angle.cos(), angle.sin())
        })
        .collect();
    chart
        .series
        .push(Series::line("unit circle", circle, color::GREY).dashed());
    chart.series.push(
        Series::line(
            "eigenvalue",
            eigenvalues.iter().map(|v| (v.re, v.im)).collect(),
            color::palette(0),
        )
        .markers(Marker::Circle),
    );
    chart.size = (640, 620);
    chart.render()
}

fn dmd_residual(input: &ViewInput<'_>) -> Result<Figure> {
    let artifact = input.cross_epoch("centroid_dmd")?;
    let epochs = input.vector(&artifact, "epochs")?;
    let mut chart = LineChart::new(
        "DMD one-step residual of the class centroids",
        "epoch",
        "||x(t+1) − Re(Φ Λ Φ⁺ x(t))||",
    );
    chart.log_y = true;
    for (i, site) in SITES.iter().enumerate() {
        let residuals = input.vector(&artifact, &format!("{site}__residual_norms"))?;
        if residuals.len() + 1 != epochs.len() {
            return Err(input.data_error(format!(
                "{site}: {} residuals for {} epochs; expected one fewer",
                residuals.len(),
                epochs.len()
            )));
        }
        // Residual t is the step into checkpoint t + 1.
        let points = epochs[1..].iter().copied().zip(residuals).collect();
        chart
            .series
            .push(Series::line(*site, points, color::palette(i)));
    }
    chart.cursor = input.cursor();
    chart.render()
}

fn dmd_reconstruction(input: &ViewInput<'_>) -> Result<Figure> {
    let site = input.choice_option("site", &SITES)?;
    let artifact = input.cross_epoch("centroid_dmd")?;
    let epochs = input.vector(&artifact, "epochs")?;
    let (shape, trajectory) = input.array(&artifact, &format!("{site}__trajectory"))?;
    let (mode_shape, modes) = input.complex_array(&artifact, &format!("{site}__modes"))?;
    let (_, eigenvalues) = input.complex_array(&artifact, &format!("{site}__eigenvalues"))?;
    let (_, amplitudes) = input.complex_array(&artifact, &format!("{site}__amplitudes"))?;
    let (_, classes) = input.array(&artifact, &format!("{site}__n_classes"))?;
    let (n, width) = match shape[..] {
        [n, width] => (n, width),
        _ => return Err(input.data_error(format!("trajectory has shape {shape:?}"))),
    };
    let p = classes.first().map_or(0, |&v| v as usize);
    let r = eigenvalues.len();
    if p == 0
        || width % p != 0
        || n != epochs.len()
        || mode_shape != [width, r]
        || amplitudes.len() != r
    {
        return Err(input.data_error(format!(
            "inconsistent shapes: trajectory {shape:?}, modes {mode_shape:?}, {r} eigenvalues, \
             {} amplitudes, {p} classes, {} epochs",
            amplitudes.len(),
            epochs.len()
        )));
    }
    let class = input.index_option("class", p)?;
    let components = width / p;
    let mut chart = LineChart::new(
        format!("Centroid of class {class} ({site}) and its DMD reconstruction ({r} modes)"),
        "epoch",
        "global PCA coordinate",
    );
    for k in 0..components.min(2) {
        let column = class * components + k;
        let actual = (0..n)
            .map(|t| (epochs[t], trajectory[t * width + column]))
            .collect();
        let fitted = (0..n)
            .map(|t| {
                let value = reconstruct(|i| modes[column * r + i], &eigenvalues, &amplitudes, t);
                (epochs[t], value)
            })
            .collect();
        chart.series.push(Series::line(
            format!("PC{}", k + 1),
            actual,
            color::palette(k),
        ));
        chart
            .series
            .push(Series::line(format!("PC{} (DMD)", k + 1), fitted, color::palette(k)).dashed());
    }
    chart.cursor = input.cursor();
    chart.render()
}
