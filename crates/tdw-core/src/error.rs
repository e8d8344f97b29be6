//! The one error type of the workbench.
//!
//! Every variant carries what a user needs to act on it: the file, the field, the parameter or the
//! value that was wrong. The CLI prints an error's chain once; a notebook shows it as a value. No
//! variant is a bare string.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the workbench.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A JSON file is not valid JSON, or has the wrong shape.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A family.json is missing a required field or has one of the wrong type.
    #[error("{path}: field `{field}`: {reason}")]
    FamilyField {
        path: PathBuf,
        field: String,
        reason: String,
    },

    /// No family of that name is registered.
    #[error("family '{name}' not found in {searched} (set --families-dir or TDW_MODEL_FAMILIES_DIR); known families: [{}]", known.join(", "))]
    UnknownFamily {
        name: String,
        known: Vec<String>,
        searched: String,
    },

    /// A parameter name that the family does not declare.
    #[error("family '{family}' has no parameter '{name}'; its parameters are: [{}]", known.join(", "))]
    UnknownParameter {
        family: String,
        name: String,
        known: Vec<String>,
    },

    /// A required parameter was not given and has no default.
    #[error("family '{family}': parameter '{name}' is required (it has no default)")]
    MissingParameter { family: String, name: String },

    /// A parameter value that cannot be used.
    #[error("parameter '{name}' = {value}: {reason}")]
    InvalidParameter {
        name: String,
        value: String,
        reason: String,
    },

    /// A training or architecture setting that cannot be used.
    #[error("{setting} = {value}: {reason}")]
    InvalidSetting {
        setting: String,
        value: String,
        reason: String,
    },

    /// The family is declared in JSON but has no Rust implementation to build its model.
    #[error("family '{family}' has no model implementation in this build; implemented: [{}]", known.join(", "))]
    NoImplementation { family: String, known: Vec<String> },

    /// The requested checkpoint is not on disk.
    #[error(
        "no checkpoint for epoch {epoch} of variant '{variant}' at {path}; available epochs: {available:?}"
    )]
    MissingCheckpoint {
        variant: String,
        epoch: u64,
        path: PathBuf,
        available: Vec<u64>,
    },

    /// A file the workbench expected (metadata.json, config.json, ...) is absent.
    #[error("{what} not found at {path}")]
    MissingFile { what: &'static str, path: PathBuf },

    /// A safetensors file cannot be parsed.
    #[error("{path}: not a readable safetensors file: {reason}")]
    Safetensors { path: PathBuf, reason: String },

    /// A tensor in a checkpoint has the wrong shape or dtype for the model.
    #[error("{path}: tensor `{key}`: expected {expected}, found {found}")]
    TensorMismatch {
        path: PathBuf,
        key: String,
        expected: String,
        found: String,
    },

    /// A tensor the model needs is absent from a checkpoint.
    #[error("{path}: missing tensor `{key}`")]
    MissingTensor { path: PathBuf, key: String },

    /// The variant already has checkpoints and the caller did not ask to overwrite them.
    #[error(
        "variant '{variant}' is already trained ({checkpoints} checkpoints in {dir}); pass --force (or `overwrite`) to retrain it from scratch"
    )]
    AlreadyTrained {
        variant: String,
        dir: PathBuf,
        checkpoints: usize,
    },

    /// A variant name that does not match the family's variant pattern.
    #[error("'{name}' is not a variant of family '{family}' (pattern {pattern})")]
    UnparsableVariant {
        family: String,
        name: String,
        pattern: String,
    },

    /// An `.npz` artifact cannot be read or written.
    #[error("{path}{}: {source}", key.as_ref().map(|k| format!(" (key `{k}`)")).unwrap_or_default())]
    Npz {
        path: PathBuf,
        key: Option<String>,
        #[source]
        source: crate::formats::error::FormatError,
    },

    /// An artifact that an analyzer or a view needs is not on disk.
    #[error("no artifact for '{analyzer}'{}: expected {path}", epoch.map(|e| format!(" at epoch {e}")).unwrap_or_default())]
    MissingArtifact {
        analyzer: String,
        epoch: Option<u64>,
        path: PathBuf,
    },

    /// An analyzer name that is not registered.
    #[error("unknown analyzer '{name}'; registered {kind} analyzers: [{}]", known.join(", "))]
    UnknownAnalyzer {
        name: String,
        kind: &'static str,
        known: Vec<String>,
    },

    /// An analyzer whose inputs have not been computed.
    #[error(
        "analyzer '{analyzer}' requires '{requires}', but no epochs of it have been analyzed; run '{requires}' first"
    )]
    MissingDependency { analyzer: String, requires: String },

    /// An analyzer got input it cannot use (wrong key, dtype or shape in an artifact it reads).
    #[error("analyzer '{analyzer}': {reason}")]
    AnalyzerInput { analyzer: String, reason: String },

    /// A declaration in `analyzers/<name>/analyzer.json` is malformed.
    #[error("{path}: {reason}")]
    AnalyzerSpec { path: PathBuf, reason: String },

    /// A run would need more memory than the machine has available.
    #[error(
        "training {variant} needs about {needed_gb:.1} GB of memory ({rows} examples) but {available_gb:.1} GB are available; choose a smaller prime or a machine with more memory"
    )]
    NotEnoughMemory {
        variant: String,
        rows: usize,
        needed_gb: f64,
        available_gb: f64,
    },

    /// Another live process is training or analyzing the variant.
    #[error(
        "variant '{variant}' is busy: PID {pid} on {host} is running `{operation}` on it (lock file {path}); wait for it or stop it"
    )]
    VariantLocked {
        variant: String,
        pid: u32,
        host: String,
        operation: String,
        path: PathBuf,
    },

    /// A view name that is not in the catalogue.
    #[error("unknown view '{name}'{}; `tdw view --list` shows them all", if suggestions.is_empty() { String::new() } else { format!("; did you mean: {}?", suggestions.join(", ")) })]
    UnknownView {
        name: String,
        suggestions: Vec<String>,
    },

    /// A view whose artifacts (or metadata) the variant does not have yet.
    #[error("view '{view}' is not available for variant '{variant}': {missing}")]
    ViewUnavailable {
        view: String,
        variant: String,
        missing: String,
    },

    /// A view option that is unknown or has a bad value.
    #[error("view '{view}': {reason}")]
    ViewOption { view: String, reason: String },

    /// The data a view reads has an unexpected key, dtype or shape.
    #[error("view '{view}': {reason}")]
    ViewData { view: String, reason: String },

    /// Drawing or rasterising a chart failed.
    #[error("rendering failed: {0}")]
    Render(String),

    /// A figure path whose extension is not a format we write.
    #[error("{path}: unsupported image format (use .svg or .png)")]
    UnsupportedImageFormat { path: PathBuf },

    /// No variant directory of that name exists in any family.
    #[error("variant '{name}' not found under {results_dir}; known variants: [{}]", known.join(", "))]
    UnknownVariant {
        name: String,
        results_dir: PathBuf,
        known: Vec<String>,
    },

    /// The user stopped long work on purpose; what it wrote stays usable.
    #[error("interrupted: {what} stopped {at}; {resume}")]
    Interrupted {
        what: &'static str,
        at: String,
        resume: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::InvalidParameter`].
    pub fn invalid_parameter(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
