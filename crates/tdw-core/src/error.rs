//! The one error type of the workbench.
//!
//! Every variant carries what a user needs to act on it: the file, the field, the parameter or the
//! value that was wrong. No variant is a bare string, and none is a catch-all: each says what kind
//! of thing was wrong (a run option, a stored file's field, the architecture, a model state, data
//! that does not fit the model).
//!
//! An error's message is complete by itself: a notebook shows only `Display` (evcxr prints the
//! `?`-returned error with `{}`). So a variant that prints its cause in its message (an I/O
//! error, a JSON or format error) keeps the cause in a field named `cause` and does not also
//! return it from `source()`: a printer that walks the chain prints each cause once.

use crate::formats::error::KeyError;
use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the workbench.
#[derive(Debug, thiserror::Error)]
// The fields are named in each variant's message.
#[allow(missing_docs)]
pub enum Error {
    /// Reading or writing a file or directory failed.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        /// The I/O error, in the message (not also a `source()`).
        cause: std::io::Error,
    },

    /// A JSON file is not valid JSON, or has the wrong shape.
    #[error("{path}: invalid JSON: {cause}")]
    Json {
        path: PathBuf,
        /// The parse error, in the message.
        cause: serde_json::Error,
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

    /// An option of a run (training, analysis, device, engine, sweep) that cannot be used, as
    /// the user gave it on the command line or in a notebook call.
    #[error("{setting} = {value}: {reason}")]
    InvalidSetting {
        setting: String,
        value: String,
        reason: String,
    },

    /// A field of a variant's stored file (config.json, metadata.json) that is missing or
    /// unusable.
    #[error("{path}: field `{field}`{}: {reason}", value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default())]
    StoredField {
        path: PathBuf,
        field: &'static str,
        /// The value found, if there is one.
        value: Option<String>,
        reason: String,
    },

    /// A model architecture (a family's `architecture` object) that cannot be built.
    #[error("architecture.{field} = {value}: {reason}")]
    Architecture {
        field: String,
        value: String,
        reason: String,
    },

    /// A state dict that does not fit its model: a parameter missing or of the wrong size.
    #[error("model state: parameter `{parameter}`: {reason}")]
    ModelState { parameter: String, reason: String },

    /// Training data that does not fit the model (its tokens, labels or sequence length).
    #[error("dataset {what} = {value}: {reason}")]
    DataMismatch {
        what: &'static str,
        value: i64,
        reason: String,
    },

    /// An engine or device that cannot train this model.
    #[error("the {engine} engine cannot train this model: {reason}")]
    UnsupportedEngine { engine: String, reason: String },

    /// A family whose model is not a transformer was asked for a transformer configuration.
    #[error("family '{family}' has an MLP model, not a transformer")]
    NotATransformer { family: String },

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

    /// An intervention block (a `--config` file, or config.json's `intervention`) with a field
    /// missing, of the wrong type or out of range.
    #[error("{origin}: intervention field `{field}`: {reason}")]
    InterventionField {
        origin: PathBuf,
        field: String,
        reason: String,
    },

    /// An intervention of that name exists already under the parent (MIScope refuses too).
    #[error(
        "intervention '{name}' of '{parent}' exists already in {dir}; give the config another `label`, or delete that directory"
    )]
    InterventionExists {
        parent: String,
        name: String,
        dir: PathBuf,
    },

    /// A regression check found artifacts missing, different or extra.
    #[error(
        "variant '{variant}': {differing} artifact(s) differ from {file} (listed above as MISSING, MISMATCH or EXTRA)"
    )]
    ChecksumMismatch {
        variant: String,
        file: PathBuf,
        differing: usize,
    },

    /// A densify whose ranges add no checkpoint epoch to the variant.
    #[error(
        "variant '{variant}': the ranges add no checkpoint epoch (it has {checkpoints} checkpoints in {num_epochs} epochs); nothing changed"
    )]
    NothingToDensify {
        variant: String,
        checkpoints: usize,
        num_epochs: u64,
    },

    /// A retrain that did not reproduce the run it was to add checkpoints to.
    #[error(
        "variant '{variant}': the retrain did not reproduce {what} (trained with another engine, thread count or machine?); the variant is unchanged"
    )]
    NotReproduced { variant: String, what: String },

    /// A run that stopped before its last epoch, asked for what needs a finished run.
    #[error(
        "variant '{variant}' stopped after {trained} of {num_epochs} epochs; finish it first (tdw train --resume)"
    )]
    UnfinishedRun {
        variant: String,
        trained: u64,
        num_epochs: u64,
    },

    /// A variant name that does not match the family's variant pattern.
    #[error("'{name}' is not a variant of family '{family}' (pattern {pattern})")]
    UnparsableVariant {
        family: String,
        name: String,
        pattern: String,
    },

    /// An `.npz` artifact cannot be read or written.
    #[error("{path}{}: {cause}", key.as_ref().map(|k| format!(" (key `{k}`)")).unwrap_or_default())]
    Npz {
        path: PathBuf,
        key: Option<String>,
        /// What is wrong with the bytes, in the message.
        cause: crate::formats::error::FormatError,
    },

    /// Per-epoch summaries that do not stack into one array per key, or that do not merge with
    /// the `summary.npz` already on disk.
    #[error("{path}: {cause}")]
    Summary { path: PathBuf, cause: SummaryError },

    /// An artifact on disk that lacks a key, or holds it in the wrong dtype.
    #[error("{path}: {cause}")]
    ArtifactContent { path: PathBuf, cause: KeyError },

    /// A variant lacks what the viability certificate reads from it.
    #[error("variant '{variant}': no {what} for the viability certificate: {why}")]
    ViabilityInput {
        variant: String,
        what: &'static str,
        why: String,
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
    #[error("analyzer '{analyzer}': {cause}")]
    AnalyzerInput {
        analyzer: String,
        cause: AnalyzerError,
    },

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
    Render(RenderError),

    /// A view that is drawn once over all of training was asked for frame by frame.
    #[error(
        "view '{view}' is drawn once over all of training, not per epoch; a scrubber needs a per-epoch view"
    )]
    NotPerEpoch { view: String },

    /// A figure path whose extension is not a format we write.
    #[error("{path}: unsupported format (figures: .svg or .png; animations: .gif or .html)")]
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

/// Why a chart could not be drawn or rasterised.
#[derive(Debug, thiserror::Error)]
// The fields are named in each variant's message.
#[allow(missing_docs)]
pub enum RenderError {
    /// PNG export draws text and needs at least one font.
    #[error("PNG export needs a system font and none was found (install fonts-dejavu-core)")]
    NoSystemFont,
    /// A PNG scale outside (0, 8].
    #[error("PNG scale must be in (0, 8], got {scale}")]
    Scale { scale: f32 },
    /// Our own SVG did not parse (a bug in a chart, not in the user's input).
    #[error("SVG could not be parsed for PNG export: {0}")]
    SvgParse(resvg::usvg::Error),
    /// The pixel buffer could not be allocated (zero or enormous size).
    #[error("cannot allocate a {width}×{height} image")]
    ImageSize { width: u32, height: u32 },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    PngEncode(Box<dyn std::error::Error + Send + Sync>),
    /// The GIF encoder failed.
    #[error("GIF encoding failed: {0}")]
    GifEncode(Box<dyn std::error::Error + Send + Sync>),
    /// plotters failed to draw (its backend's error).
    #[error("drawing failed: {0}")]
    Draw(Box<dyn std::error::Error + Send + Sync>),
    /// plotters' SVG had no closing tag to place the raster overlays before.
    #[error("plotters wrote no closing </svg>")]
    NoClosingSvg,
    /// A heatmap panel whose cell count is not its rows × columns (or is empty).
    #[error("heatmap panel '{panel}' has {cells} cells for {rows}×{cols}")]
    HeatmapCells {
        panel: String,
        cells: usize,
        rows: usize,
        cols: usize,
    },
}

/// Why per-epoch summaries do not stack into one array per key, or do not merge with the
/// `summary.npz` on disk (see `analysis::summary`).
#[derive(Debug, thiserror::Error)]
// The fields are named in each variant's message.
#[allow(missing_docs)]
pub enum SummaryError {
    /// An epoch's summary lacks a key the others have.
    #[error("the summary of epoch {epoch} has no `{key}`")]
    MissingInEpoch { epoch: u64, key: String },
    /// A key's values are of different dtypes across epochs.
    #[error("`{key}`: mixed dtypes ({first} and {other})")]
    MixedDtypes {
        key: String,
        first: &'static str,
        other: &'static str,
    },
    /// A key's values have different shapes across epochs.
    #[error("`{key}`: shapes differ across epochs ({first:?} and {other:?})")]
    MixedShapes {
        key: String,
        first: Vec<usize>,
        other: Vec<usize>,
    },
    /// A summary without its `epochs` array.
    #[error("the {which} summary has no `epochs`")]
    NoEpochs { which: &'static str },
    /// A forced rerun that did not cover the epochs on disk.
    #[error("a forced rerun covered epochs {new:?}, the file on disk {old:?}")]
    DifferentEpochs { old: Vec<i64>, new: Vec<i64> },
    /// The new summary lacks a key to merge.
    #[error("the new summary has no `{key}`")]
    MissingInNew { key: String },
    /// A key whose dtype differs between the file on disk and the new values.
    #[error("`{key}`: the summary on disk is {old}, the new values {new}")]
    DtypeChanged {
        key: String,
        old: &'static str,
        new: &'static str,
    },
}

impl From<RenderError> for Error {
    fn from(cause: RenderError) -> Self {
        Error::Render(cause)
    }
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
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

/// Why a model's activation bundle cannot serve an analyzer: the site it lacks, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this model has no {0}")]
pub struct MissingSite(pub String);

/// Why an analyzer produced nothing for an epoch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyzerError {
    /// The model lacks a site the analyzer needs; recorded and skipped, not an error of the run.
    #[error("skipped: {0}")]
    Skipped(MissingSite),
    /// An artifact the analyzer reads lacks a key, or holds it in another dtype.
    #[error("{0}")]
    Key(KeyError),
    /// An array of the wrong rank or shape.
    #[error("`{key}` has shape {found:?}, expected {expected}")]
    Shape {
        /// The array's key (or the weight's name).
        key: String,
        /// Its shape.
        found: Vec<usize>,
        /// What the analyzer needs instead (a rank, a width).
        expected: String,
    },
    /// Activations or logits whose row count is not the probe's.
    #[error("{what}: {found} rows, expected {expected}")]
    Rows {
        /// The array or site (logits, a residual site, the attention pattern).
        what: String,
        /// Rows it has.
        found: usize,
        /// Rows of the probe.
        expected: usize,
    },
    /// A computed value that came out infinite or NaN.
    #[error("{what} is not finite")]
    NotFinite {
        /// The value, in words.
        what: &'static str,
    },
    /// A cross-epoch analyzer given no checkpoints.
    #[error("no checkpoints")]
    NoCheckpoints,
    /// A matrix decomposition that did not converge.
    #[error("{what} did not converge")]
    NotConverged {
        /// The decomposition, in words.
        what: &'static str,
    },
}

impl From<MissingSite> for AnalyzerError {
    fn from(site: MissingSite) -> Self {
        AnalyzerError::Skipped(site)
    }
}

impl From<KeyError> for AnalyzerError {
    fn from(cause: KeyError) -> Self {
        AnalyzerError::Key(cause)
    }
}
