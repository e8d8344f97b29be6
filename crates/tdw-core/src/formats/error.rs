//! Why an `.npy` or `.npz` could not be read (the file and key are added by the caller).

/// What is wrong with an array file's bytes.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not an .npy array (bad magic)")]
    BadMagic,
    #[error("unsupported .npy version {0}")]
    UnsupportedVersion(u8),
    #[error("truncated .npy header")]
    TruncatedHeader,
    #[error("non-UTF-8 .npy header")]
    NonUtf8Header,
    /// `descr`, `fortran_order` or `shape` missing (or, for `fortran_order`, not a bool).
    #[error("header has no valid '{0}'")]
    MissingHeaderKey(&'static str),
    #[error("unsupported dtype '{0}'")]
    UnsupportedDtype(String),
    #[error("bad shape {0}")]
    BadShape(String),
    #[error("shape overflows")]
    ShapeOverflow,
    #[error("truncated data: {got} of {needed} bytes")]
    TruncatedData { got: usize, needed: usize },
    #[error("not a readable npz (zip) file: {0}")]
    NotZip(#[source] zip::result::ZipError),
    #[error("member {index}: {source}")]
    Member {
        index: usize,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("cannot decompress: {0}")]
    Decompress(#[source] std::io::Error),
    #[error("no such key in the file")]
    NoSuchKey,
    #[error("a scalar has no rows to slice")]
    ScalarHasNoRows,
    #[error("row {row} is out of range (the array has {rows})")]
    RowOutOfRange { row: usize, rows: usize },
    #[error("truncated data: row {row} of {rows} lies past the member's end")]
    RowPastEnd { row: usize, rows: usize },
    #[error("corrupt or truncated artifact ({0}); rerun with --force to recompute it")]
    Corrupt(#[source] zip::result::ZipError),
    #[error("artifact holds no arrays; rerun with --force to recompute it")]
    NoArrays,
    /// Per-epoch summaries that do not stack into one array per key (see
    /// [`crate::analysis::summary`]).
    #[error("cannot stack summaries: {0}")]
    Summary(String),
}
