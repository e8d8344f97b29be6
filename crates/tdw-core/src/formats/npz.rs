//! `.npz` reading and writing, compatible with numpy's `savez_compressed` / `np.load`.
//!
//! An `.npz` is a zip archive with one `{key}.npy` member per array (DEFLATE, zip64 extra fields,
//! 1980-01-01 timestamps, as numpy writes them); each member is an [`npy`](super::npy) file.
//! Parsing is split from file access so tests never need the disk; every error names the file
//! and, where known, the key.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use super::FormatError;
use super::artifact::{Array, Artifact};
use super::npy::{array_from_bytes, npy_preamble, parse_npy_header};
/// The `.npy` functions, where callers of this module have always found them.
pub use super::npy::{decode_npy, encode_npy, write_npy};
use super::zip_writer::ZipWriter;
use crate::atomic_file;
use crate::error::{Error, Result};

fn npz_error(path: &Path, key: Option<&str>, source: FormatError) -> Error {
    Error::Npz {
        path: path.to_path_buf(),
        key: key.map(str::to_string),
        cause: source,
    }
}

/// One sub-array `a[i]` of the array `key` in the `.npz` at `path`, taken along its first axis;
/// `choose` sees the whole array's shape and picks `i` (or refuses). Returns the whole shape and
/// the sub-array.
///
/// Why: a view of one neuron needs 1/512 of `neuron_activations`' 26 MB `activations` (p = 113).
/// The member is decompressed only up to the end of row `i` and nothing before it is kept, so
/// the cost is a streaming inflate of `(i + 1)/n` of the member instead of inflating, allocating
/// and converting all of it. (A Fortran-ordered member, which numpy writes only when asked, is
/// read whole and sliced.)
pub fn read_leading_slice(
    path: &Path,
    key: &str,
    choose: impl FnOnce(&[usize]) -> Result<usize>,
) -> Result<(Vec<usize>, Array)> {
    let bad = |source: FormatError| npz_error(path, Some(key), source);
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| npz_error(path, None, FormatError::NotZip(e)))?;
    let mut member = archive
        .by_name(&format!("{key}.npy"))
        .map_err(|_| bad(FormatError::NoSuchKey))?;
    let mut preamble = [0u8; 12];
    member
        .read_exact(&mut preamble[..10])
        .map_err(|e| bad(FormatError::Decompress(e)))?;
    if preamble[6] >= 2 {
        member
            .read_exact(&mut preamble[10..])
            .map_err(|e| bad(FormatError::Decompress(e)))?;
    }
    let (start, header_len) = npy_preamble(&preamble).map_err(bad)?;
    // A v1 preamble is 10 bytes: nothing of the header was read ahead.
    let mut header = vec![0u8; header_len];
    member
        .read_exact(&mut header)
        .map_err(|_| bad(FormatError::TruncatedHeader))?;
    debug_assert!(start == 10 || start == 12);
    let header = parse_npy_header(&header).map_err(bad)?;
    let Some((&rows, inner)) = header.shape.split_first() else {
        return Err(bad(FormatError::ScalarHasNoRows));
    };
    let inner = inner.to_vec();
    let row = choose(&header.shape)?;
    if row >= rows {
        return Err(bad(FormatError::RowOutOfRange { row, rows }));
    }
    let item = header.dtype.size();
    let row_bytes = inner.iter().product::<usize>() * item;
    if header.fortran {
        let mut data = Vec::new();
        member
            .read_to_end(&mut data)
            .map_err(|e| bad(FormatError::Decompress(e)))?;
        let needed = header.count().map_err(bad)? * item;
        let data = data.get(..needed).ok_or_else(|| {
            bad(FormatError::TruncatedData {
                got: data.len(),
                needed,
            })
        })?;
        let whole = array_from_bytes(header.dtype, &header.shape, true, data);
        return Ok((header.shape.clone(), whole.row(row)));
    }
    let skip = (row * row_bytes) as u64;
    let skipped = std::io::copy(&mut (&mut member).take(skip), &mut std::io::sink())
        .map_err(|e| bad(FormatError::Decompress(e)))?;
    let mut data = vec![0u8; row_bytes];
    if skipped < skip || member.read_exact(&mut data).is_err() {
        return Err(bad(FormatError::RowPastEnd { row, rows }));
    }
    Ok((
        header.shape.clone(),
        array_from_bytes(header.dtype, &inner, false, &data),
    ))
}

/// Streams an artifact as an `.npz` (zip) archive into `out`, each member compressed by
/// [`deflate`](super::deflate) as it is written.
fn write_npz<W: Write>(artifact: &Artifact, out: W) -> std::io::Result<W> {
    let mut zip = ZipWriter::new(out);
    for (key, array) in artifact.iter() {
        zip.member(&format!("{key}.npy"), |member| write_npy(array, member))?;
    }
    zip.finish()
}

/// Serialises an artifact as an `.npz` in memory.
pub fn encode_npz(artifact: &Artifact) -> std::io::Result<Vec<u8>> {
    Ok(write_npz(artifact, Cursor::new(Vec::new()))?.into_inner())
}

/// Parses `.npz` bytes; `path` names the file in errors. `fields` keeps only those keys.
pub fn decode_npz(bytes: &[u8], path: &Path, fields: Option<&[&str]>) -> Result<Artifact> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| npz_error(path, None, FormatError::NotZip(e)))?;
    let mut artifact = Artifact::new();
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(|source| {
            npz_error(
                path,
                None,
                FormatError::Member {
                    index,
                    cause: source,
                },
            )
        })?;
        let name = member.name().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            continue;
        };
        if fields.is_some_and(|f| !f.contains(&key)) {
            continue;
        }
        // The declared size may be a lie in a corrupt file: reserve modestly and let it grow.
        let mut data = Vec::with_capacity(member.size().min(1 << 24) as usize);
        member
            .read_to_end(&mut data)
            .map_err(|e| npz_error(path, Some(key), FormatError::Decompress(e)))?;
        let array = decode_npy(&data).map_err(|reason| npz_error(path, Some(key), reason))?;
        artifact.insert(key, array);
    }
    if let Some(fields) = fields {
        for field in fields {
            if artifact.get(field).is_none() {
                return Err(npz_error(path, Some(field), FormatError::NoSuchKey));
            }
        }
    }
    Ok(artifact)
}

/// Cheap integrity check of an artifact on disk: the zip directory at the end of the file parses
/// and lists `.npy` members. Catches truncated and overwritten files without decompressing.
pub fn check(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| npz_error(path, None, FormatError::Corrupt(e)))?;
    if !archive.file_names().any(|name| name.ends_with(".npy")) {
        return Err(npz_error(path, None, FormatError::NoArrays));
    }
    Ok(())
}

/// Writes an artifact atomically (streamed into a temporary file, then renamed).
pub fn write(path: &Path, artifact: &Artifact) -> Result<()> {
    atomic_file::write_with(path, |file| {
        let buffered = std::io::BufWriter::with_capacity(1 << 20, file);
        write_npz(artifact, buffered)?.flush()
    })
}

/// Reads an artifact, optionally only some keys.
pub fn read(path: &Path, fields: Option<&[&str]>) -> Result<Artifact> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_npz(&bytes, path, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn sample() -> Artifact {
        Artifact::new()
            .with("coefficients", array![1.5f32, -2.0, 3.25])
            .with("grid", array![[1i16, 2], [3, 4]])
            .with("flags", array![true, false])
            .with("confidence", array![half::f16::from_f32(0.5)])
            .with("epochs", array![0i64, 100])
            .with("scalar", 0.25f64)
            .with("counts", array![[[1i32]]])
            .with(
                "eigenvalues",
                array![
                    num_complex::Complex64::new(0.9, -0.25),
                    num_complex::Complex64::new(f64::MIN_POSITIVE, 1e300)
                ],
            )
    }

    #[test]
    fn npz_round_trip_keeps_order_dtypes_and_values() {
        let artifact = sample();
        let bytes = encode_npz(&artifact).unwrap();
        let back = decode_npz(&bytes, Path::new("a.npz"), None).unwrap();
        assert_eq!(back, artifact);
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            [
                "coefficients",
                "grid",
                "flags",
                "confidence",
                "epochs",
                "scalar",
                "counts",
                "eigenvalues"
            ]
        );
        let only = decode_npz(&bytes, Path::new("a.npz"), Some(&["grid"])).unwrap();
        assert_eq!(only.len(), 1);
    }

    #[test]
    fn npy_header_is_numpy_v1_aligned() {
        let bytes = encode_npy(&Array::from(array![[1.0f32, 2.0], [3.0, 4.0]]));
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"));
        assert!(header.ends_with('\n'));
    }

    #[test]
    fn fortran_order_is_read_correctly() {
        let mut f = encode_npy(&Array::from(array![[1i32, 2, 3], [4, 5, 6]]));
        let at = f.windows(5).position(|w| w == b"False").unwrap();
        f[at..at + 5].copy_from_slice(b"True ");
        // Column-major data of [[1,2,3],[4,5,6]] is 1,4,2,5,3,6.
        let start = f.len() - 24;
        for (i, v) in [1i32, 4, 2, 5, 3, 6].iter().enumerate() {
            f[start + 4 * i..start + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        assert_eq!(
            decode_npy(&f).unwrap(),
            Array::from(array![[1i32, 2, 3], [4, 5, 6]])
        );
    }

    #[test]
    fn corrupt_and_truncated_files_are_errors_naming_the_file() {
        let bytes = encode_npz(&sample()).unwrap();
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            let err =
                decode_npz(&bytes[..cut], Path::new("dir/epoch_00100.npz"), None).unwrap_err();
            assert!(err.to_string().contains("dir/epoch_00100.npz"), "{err}");
        }
        // A flipped bit inside the first member's compressed data (after its local header's
        // 30 fixed bytes, name and extra field): the inflater or the CRC must notice.
        let name_len = u16::from_le_bytes([bytes[26], bytes[27]]) as usize;
        let extra_len = u16::from_le_bytes([bytes[28], bytes[29]]) as usize;
        let data = 30 + name_len + extra_len;
        for offset in 0..4 {
            let mut flipped = bytes.clone();
            flipped[data + offset] ^= 0x10;
            assert!(
                decode_npz(&flipped, Path::new("x.npz"), None)
                    .is_err_and(|e| e.to_string().contains("x.npz")),
                "a flipped bit at data byte {offset} went unnoticed"
            );
        }
        for bad in [
            &b"\x93NUMPY\x01\x00\x05\x00{'de"[..],
            b"hello",
            b"\x93NUMPY\x09\x00\x00\x00",
        ] {
            assert!(decode_npy(bad).is_err());
        }
    }

    /// One row read by itself equals that row of the whole array, for every row, for C and
    /// Fortran order; bad rows and truncated members are errors naming the file and key.
    #[test]
    fn a_leading_slice_equals_the_row_of_the_whole_array() {
        let dir = tempfile::tempdir().unwrap();
        let whole = ndarray::Array3::from_shape_fn((5, 3, 4), |(i, j, k)| {
            (i * 100 + j * 10 + k) as f32 - 0.5
        });
        let path = dir.path().join("epoch_00010.npz");
        write(
            &path,
            &Artifact::new()
                .with("activations", whole.clone())
                .with("other", array![1i16, 2]),
        )
        .unwrap();
        for row in 0..5 {
            let (shape, slice) = read_leading_slice(&path, "activations", |shape| {
                assert_eq!(shape, [5, 3, 4]);
                Ok(row)
            })
            .unwrap();
            assert_eq!(shape, vec![5, 3, 4]);
            let expected = Array::from(whole.index_axis(ndarray::Axis(0), row).to_owned());
            assert_eq!(slice, expected, "row {row}");
        }
        let err = read_leading_slice(&path, "activations", |_| Ok(5)).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        let err = read_leading_slice(&path, "missing", |_| Ok(0)).unwrap_err();
        assert!(err.to_string().contains("epoch_00010.npz"), "{err}");
        let refused = read_leading_slice(&path, "activations", |_| {
            Err(Error::InvalidParameter {
                name: "neuron".into(),
                value: "9".into(),
                reason: "test".into(),
            })
        });
        assert!(refused.is_err());

        // Fortran order: the same rows.
        let mut member = encode_npy(&Array::from(array![[1i32, 2, 3], [4, 5, 6]]));
        let at = member.windows(5).position(|w| w == b"False").unwrap();
        member[at..at + 5].copy_from_slice(b"True ");
        let start = member.len() - 24;
        for (i, v) in [1i32, 4, 2, 5, 3, 6].iter().enumerate() {
            member[start + 4 * i..start + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        let fortran = dir.path().join("fortran.npz");
        let mut zip = ZipWriter::new(std::fs::File::create(&fortran).unwrap());
        zip.member("grid.npy", |out| out.write_all(&member))
            .unwrap();
        zip.finish().unwrap();
        let (_, row) = read_leading_slice(&fortran, "grid", |_| Ok(1)).unwrap();
        assert_eq!(row, Array::from(array![4i32, 5, 6]));

        // A member whose data stops early (shape claims more rows than are stored).
        let mut short = encode_npy(&Array::from(array![[1.0f32, 2.0], [3.0, 4.0]]));
        let at = short.windows(6).position(|w| w == b"(2, 2)").unwrap();
        short[at + 1] = b'9';
        let truncated = dir.path().join("truncated.npz");
        let mut zip = ZipWriter::new(std::fs::File::create(&truncated).unwrap());
        zip.member("a.npy", |out| out.write_all(&short)).unwrap();
        zip.finish().unwrap();
        let err = read_leading_slice(&truncated, "a", |_| Ok(7)).unwrap_err();
        assert!(
            err.to_string().contains("truncated.npz")
                && err.to_string().contains("past the member's end"),
            "{err}"
        );
        assert!(read_leading_slice(&truncated, "a", |_| Ok(1)).is_ok());
    }
}
