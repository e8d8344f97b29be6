//! Panels: the workbench's forms in a notebook, made of Jupyter widgets (see `widgets`).
//! `training_panel()` trains a variant, `analysis_panel()` analyzes one, `explore(&v)` steps
//! through its views epoch by epoch, `viability_panel()` certifies a frequency set, `intervention_panel()` trains an intervention and
//! shows its check. All state they change is on disk (atomic files, variant
//! locks), so a panel, a cell and the CLI can work on the same variants side by side.
//!
//! Where callbacks run: in this cell process, on the kernel link's thread (long work on threads
//! of their own). The cell process already holds the workbench, its variables and the panel's
//! widgets; running the callbacks in the kernel process instead would mean linking the workbench
//! into the kernel a second time and mirroring every widget there.

pub mod analysis;
pub mod explore;
pub mod intervention;
pub mod training;
pub mod viability;

pub use analysis::{AnalysisPanel, analysis_panel};
pub use explore::{Explorer, explore};
pub use intervention::{InterventionPanel, intervention_panel};
pub use training::{TrainingPanel, training_panel};
pub use viability::{ViabilityPanel, viability_panel};
