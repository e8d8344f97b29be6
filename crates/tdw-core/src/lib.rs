//! Training Dynamics Workbench: train small transformers, keep their checkpoints, and study how
//! they learn, with files that interchange with the Python tool MIScope.
//!
//! The data flow is one-directional: a `family.json` ([`FamilySpec`]) is discovered by the
//! [`FamilyRegistry`]; a [`Variant`] (family + parameters) trains with [`Variant::train`] into
//! `results/{family}/{variant}/` (checkpoints as TransformerLens safetensors, `metadata.json`,
//! `config.json`), is analyzed with [`Variant::analyze`], and a fresh registry finds it again
//! from its directory alone.
//!
//! # Layers
//! Modules import only the layers below them, in the direction of the data (checked by
//! `tests/layers.rs`):
//!
//! | layer | modules |
//! |---|---|
//! | support | `error`, `atomic_file`, `json_file`, `lock`, `paths`, `memory`, `shipped`, `kernels` (gemm, SIMD: every `unsafe`), `torch_rng`, `device`, [`formats`] (npy, npz, zip, DEFLATE) |
//! | data | [`dataset`] |
//! | model | [`model`] (the transformer, its state, what a probe's forward pass yields), [`checkpoint`] |
//! | train | [`train`]: engines (fused, burn, MLP), AdamW, schedules, `metadata.json` |
//! | family | [`family`]: family.json and the [`ModelFamily`] trait |
//! | analysis | [`analysis`]: analyzer traits, the run over checkpoints, artifacts |
//! | implementations | [`families`], `analyzers` |
//! | variant | [`variant`]: [`Variant`], the registry, the training loop, [`Variant::analyze`] |
//! | views | [`views`], [`sweep`], [`bench`] |
//!
//! The CLI (`tdw-cli`) and the notebook layer (`tdw-kernel-ext`) are crates above these.
//!
//! `kernels`, `analyzers` (the built-in implementations, reached through the analysis
//! registry), `json_file` and `shipped` are internal, as are the DEFLATE encoder and the zip
//! writer inside [`formats`]; a notebook or script needs only the [`prelude`].
//!
//! # Backends
//! Models run on burn 0.22, whose backends are chosen at run time:
//! - default: `flex`, burn's pure-Rust CPU backend, with the `simd` and `rayon` features;
//! - `tch`: libtorch through burn-tch, on the CPU or an NVIDIA GPU (the PyPI torch wheel is the
//!   CUDA build; see the README and `scripts/gpu-check.sh`).
//!
//! [`device::parse`] turns a `--device` name into a device. Training on the default CPU device
//! uses the fused engine ([`train::fused`]); other devices train through burn's autodiff.

pub mod analysis;
pub(crate) mod analyzers;
pub mod atomic_file;
pub mod bench;
pub mod checkpoint;
pub mod dataset;
pub mod device;
pub mod error;
pub mod families;
pub mod family;
pub mod formats;
pub mod init_sweep;
pub mod intervention;
pub(crate) mod json_file;
pub(crate) mod kernels;
pub mod lock;
pub mod memory;
pub mod model;
pub mod paths;
pub(crate) mod shipped;
pub mod sweep;
pub mod torch_rng;
pub mod train;
pub mod variant;
pub mod viability;
pub mod views;

pub use burn_tensor::Device;
pub use dataset::{Dataset, Split};
pub use error::{Error, Result};
pub use family::{Family, FamilySpec, ModelFamily, ParamValue, Params};
pub use model::cache::{ActivationCache, HookName};
pub use model::config::TransformerConfig;
pub use model::transformer::Transformer;
pub use train::{
    Metadata, NoProgress, Progress, TrainEvent, TrainOptions, TrainingConfig, TrainingResult,
};
pub use variant::{AnalyzeOptions, FamilyRegistry, Variant, VariantState};
pub use viability::{Certificate, CertificateInput, Regime};
pub use views::{BoundView, EpochCursor, Figure, Report, ViewCatalog};

/// The device models run on by default: burn's flex CPU backend.
pub fn default_device() -> Device {
    Device::flex()
}

/// What a notebook or script needs in scope.
pub mod prelude {
    pub use crate::views::{BoundView, Comparison, EpochCursor, Figure, Report, ViewCatalog};
    pub use crate::{
        AnalyzeOptions, Certificate, CertificateInput, Device, Family, FamilyRegistry, HookName,
        ParamValue, Params, TrainEvent, TrainOptions, TrainingResult, Variant, VariantState,
        default_device,
    };
}
