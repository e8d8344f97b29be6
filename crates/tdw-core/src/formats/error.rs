//! Why an `.npy` or `.npz` could not be read (the file and key are added by the caller). Like
//! the crate's error, a variant prints its cause in its message and does not also return it from
//! `source()`.

/// What is wrong with an array file's bytes.
#[derive(Debug, thiserror::Error)]
// The fields are named in each variant's message.
#[allow(missing_docs)]
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
    NotZip(zip::result::ZipError),
    #[error("member {index}: {cause}")]
    Member {
        index: usize,
        cause: zip::result::ZipError,
    },
    #[error("cannot decompress: {0}")]
    Decompress(std::io::Error),
    #[error("no such key in the file")]
    NoSuchKey,
    #[error("a scalar has no rows to slice")]
    ScalarHasNoRows,
    #[error("row {row} is out of range (the array has {rows})")]
    RowOutOfRange { row: usize, rows: usize },
    #[error("truncated data: row {row} of {rows} lies past the member's end")]
    RowPastEnd { row: usize, rows: usize },
    #[error("corrupt or truncated artifact ({0}); rerun with --force to recompute it")]
    Corrupt(zip::result::ZipError),
    #[error("artifact holds no arrays; rerun with --force to recompute it")]
    NoArrays,
}

/// Why an artifact's array cannot be read as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
// The fields are named in each variant's message.
#[allow(missing_docs)]
pub enum KeyError {
    /// The artifact has no array under the key.
    #[error("no key `{key}` (keys: {})", keys.join(", "))]
    Missing { key: String, keys: Vec<String> },
    /// The array is of another dtype.
    #[error("`{key}` is {found}, expected {expected}")]
    Dtype {
        key: String,
        found: &'static str,
        expected: &'static str,
    },
}
