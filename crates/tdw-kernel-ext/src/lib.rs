//! The Training Dynamics Workbench in Jupyter, through the evcxr Rust kernel.
//!
//! A notebook gets everything from one import (the kernel set-up does it for you, see
//! `notebooks/evcxr-config/prelude.rs`):
//!
//! ```ignore
//! use tdw_kernel_ext::prelude::*;
//! let v = variant("modulo_addition_1layer", "prime=59 fraction=0.5")?;  // hypothetical params
//! let run = train(&v, &Training::epochs(1500).checkpoint_every(50))?;   // progress lines, then a chart
//! analyze(&v)?;
//! v.at(600).view("parameters.embeddings.fourier_coefficients")?          // an inline SVG chart
//! ```
//!
//! Why the shape of this crate: evcxr shows a cell's value by calling `.evcxr_display()` on it
//! (see `display`) and compiles every cell as a new crate, so the entry points in `notebook`
//! are plain non-generic functions whose heavy code (burn, plotters) is compiled once here.
//! Under the workbench kernel (`tdw-kernel`) progress is one display updated in place and comms
//! work (`kernel`, `live`); under stock evcxr_jupyter, which streams stdout line by line only,
//! progress falls back to a bounded number of lines (`progress`).

pub mod display;
pub mod html;
pub mod kernel;
pub mod live;
pub mod notebook;
pub mod panels;
pub mod progress;
pub mod widgets;

/// The workbench itself, for cells that need more than the prelude.
pub use tdw_core;

/// What a notebook needs in scope.
pub mod prelude {
    pub use crate::display::EvcxrDisplay;
    pub use crate::kernel::{Comm, CommEvent, LiveDisplay, clear_output, connect_kernel};
    pub use crate::notebook::{
        Analysis, ArtifactSummary, FamilyTable, ReportFile, Training, TrainingRun, VariantTable,
        analyze, animate, artifact, densify, families, find_variant, freshness, init_sweep,
        intervene, peer_comparison, peer_comparison_by, registry, report, train, variant, variants,
        viability, viability_of,
    };
    pub use crate::panels::{
        AnalysisPanel, Explorer, InterventionPanel, TrainingPanel, ViabilityPanel, analysis_panel,
        explore, intervention_panel, training_panel, viability_panel,
    };
    pub use crate::widgets::Widget;
    pub use tdw_core::prelude::*;
    pub use tdw_core::views::Phases;
}
