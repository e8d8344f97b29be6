//! The files analysis writes, in numpy's formats, so MIScope and numpy read our runs and we read
//! theirs: arrays ([`artifact`]), `.npy` ([`npy`]), `.npz` ([`npz`]: a zip of `.npy` members,
//! written by [`zip_writer`] and compressed by our own [`deflate`] encoder, read with the `zip`
//! crate). Nothing here knows about analyzers; errors are [`FormatError`], wrapped with the
//! file's path (and key) by [`crate::Error::Npz`]. The encoder and the zip writer are internal:
//! users read and write through [`npz`].

pub mod artifact;
pub(crate) mod deflate;
pub mod error;
pub mod npy;
pub mod npz;
pub(crate) mod zip_writer;

pub use artifact::{Array, Artifact, DType};
pub use error::{FormatError, KeyError};
