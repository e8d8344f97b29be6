//! `.npy` / `.npz` reading and writing, compatible with numpy's `savez_compressed` / `np.load`.
//!
//! An `.npz` is a zip archive with one `{key}.npy` member per array (DEFLATE, zip64 extra fields,
//! 1980-01-01 timestamps, as numpy writes them). Each member is an NPY v1.0 file: magic, a Python
//! dict literal header (`descr`, `fortran_order`, `shape`) padded so the data starts at a multiple
//! of 64 bytes, then the raw little-endian data. Parsing is split from file access so tests never
//! need the disk; every error names the file and, where known, the key.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use crate::analysis::artifact::{Array, Artifact, DType};
use crate::analysis::zip_writer::ZipWriter;
use crate::atomic_file;
use crate::error::{Error, Result};

fn npz_error(path: &Path, key: Option<&str>, reason: impl Into<String>) -> Error {
    Error::Npz {
        path: path.to_path_buf(),
        key: key.map(str::to_string),
        reason: reason.into(),
    }
}

/// The NPY v1.0 header of an array: magic, version, length and the dict literal, padded so the
/// data starts at a multiple of 64 bytes.
fn npy_header(array: &Array) -> Vec<u8> {
    let shape = array.shape();
    let shape_text = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        array.dtype().descr()
    );
    // magic (6) + version (2) + header length (2) + header + '\n', padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// Streams one array as an NPY v1.0 file into `out`, in 64 KiB pieces.
pub fn write_npy(array: &Array, out: &mut impl Write) -> std::io::Result<()> {
    out.write_all(&npy_header(array))?;
    /// Writes the elements in C order, converted a slice at a time (a per-element walk of the
    /// dynamic-dimension iterator took 0.04 s for the 26 MB activation grid).
    fn put<T: Copy, const N: usize>(
        out: &mut impl Write,
        a: &ArrayD<T>,
        bytes: impl Fn(T) -> [u8; N],
    ) -> std::io::Result<()> {
        const CHUNK: usize = 1 << 14;
        let standard = a.as_standard_layout();
        let values = standard.as_slice().expect("standard layout is contiguous");
        let mut buffer = vec![0u8; CHUNK * N];
        for chunk in values.chunks(CHUNK) {
            for (slot, &v) in buffer.chunks_exact_mut(N).zip(chunk) {
                slot.copy_from_slice(&bytes(v));
            }
            out.write_all(&buffer[..chunk.len() * N])?;
        }
        Ok(())
    }
    match array {
        Array::F16(a) => put(out, a, |v: half::f16| v.to_le_bytes()),
        Array::F32(a) => put(out, a, f32::to_le_bytes),
        Array::F64(a) => put(out, a, f64::to_le_bytes),
        Array::I16(a) => put(out, a, i16::to_le_bytes),
        Array::I32(a) => put(out, a, i32::to_le_bytes),
        Array::I64(a) => put(out, a, i64::to_le_bytes),
        Array::Bool(a) => put(out, a, |v: bool| [u8::from(v)]),
        Array::C128(a) => put(out, a, |v: num_complex::Complex64| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&v.re.to_le_bytes());
            bytes[8..].copy_from_slice(&v.im.to_le_bytes());
            bytes
        }),
    }
}

/// Encodes one array as an NPY v1.0 file.
pub fn encode_npy(array: &Array) -> Vec<u8> {
    let mut out = Vec::new();
    write_npy(array, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// What an NPY header declares.
struct NpyHeader {
    dtype: DType,
    fortran: bool,
    shape: Vec<usize>,
}

impl NpyHeader {
    /// Number of elements (checked against overflow).
    fn count(&self) -> std::result::Result<usize, String> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| "shape overflows".to_string())
    }
}

/// Length of the NPY preamble (magic, version, header length) and of the header that follows,
/// from the file's first 12 bytes (or fewer, for a v1 file shorter than that).
fn npy_preamble(bytes: &[u8]) -> std::result::Result<(usize, usize), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an .npy array (bad magic)".into());
    }
    match bytes[6] {
        1 => Ok((10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize)),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
            Ok((12, len))
        }
        v => Err(format!("unsupported .npy version {v}")),
    }
}

/// Parses the dict literal of an NPY header.
fn parse_npy_header(header: &[u8]) -> std::result::Result<NpyHeader, String> {
    let header = std::str::from_utf8(header).map_err(|_| "non-UTF-8 .npy header")?;
    let descr = header_value(header, "descr").ok_or("header has no 'descr'")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let dtype = DType::from_descr(descr).ok_or_else(|| format!("unsupported dtype '{descr}'"))?;
    let fortran = match header_value(header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err("header has no valid 'fortran_order'".into()),
    };
    let shape_text = header_value(header, "shape").ok_or("header has no 'shape'")?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape {shape_text}"))
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(NpyHeader {
        dtype,
        fortran,
        shape,
    })
}

/// Parses one NPY file (v1, v2 or v3 header; C or Fortran order).
pub fn decode_npy(bytes: &[u8]) -> std::result::Result<Array, String> {
    let (start, header_len) = npy_preamble(bytes)?;
    let header = bytes
        .get(start..start + header_len)
        .ok_or("truncated .npy header")?;
    let header = parse_npy_header(header)?;
    let data = &bytes[start + header_len..];
    let needed = header
        .count()?
        .checked_mul(header.dtype.size())
        .ok_or("shape overflows")?;
    if data.len() < needed {
        return Err(format!("truncated data: {} of {needed} bytes", data.len()));
    }
    Ok(array_from_bytes(
        header.dtype,
        &header.shape,
        header.fortran,
        &data[..needed],
    ))
}

/// Builds an array of `dtype` and `shape` from its little-endian bytes (length checked by the
/// caller).
fn array_from_bytes(dtype: DType, shape: &[usize], fortran: bool, data: &[u8]) -> Array {
    let dims = (shape, fortran);
    fn build<T: Clone, const N: usize>(
        (shape, fortran): (&[usize], bool),
        data: &[u8],
        from: impl Fn([u8; N]) -> T,
    ) -> ArrayD<T> {
        let values: Vec<T> = data
            .chunks_exact(N)
            .map(|c| from(c.try_into().expect("chunks of N")))
            .collect();
        let array = if fortran {
            ArrayD::from_shape_vec(IxDyn(shape).f(), values)
        } else {
            ArrayD::from_shape_vec(IxDyn(shape), values)
        };
        array
            .expect("length checked against the shape")
            .as_standard_layout()
            .into_owned()
    }
    match dtype {
        DType::F16 => Array::F16(build(dims, data, half::f16::from_le_bytes)),
        DType::F32 => Array::F32(build(dims, data, f32::from_le_bytes)),
        DType::F64 => Array::F64(build(dims, data, f64::from_le_bytes)),
        DType::I16 => Array::I16(build(dims, data, i16::from_le_bytes)),
        DType::I32 => Array::I32(build(dims, data, i32::from_le_bytes)),
        DType::I64 => Array::I64(build(dims, data, i64::from_le_bytes)),
        DType::Bool => Array::Bool(build(dims, data, |[b]: [u8; 1]| b != 0)),
        DType::C128 => Array::C128(build(dims, data, |b: [u8; 16]| {
            let half = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
            num_complex::Complex64::new(half(0), half(8))
        })),
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
    let bad = |reason: String| npz_error(path, Some(key), reason);
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| npz_error(path, None, format!("not a readable npz (zip) file: {e}")))?;
    let mut member = archive
        .by_name(&format!("{key}.npy"))
        .map_err(|_| bad("no such key in the file".into()))?;
    let mut preamble = [0u8; 12];
    member
        .read_exact(&mut preamble[..10])
        .map_err(|e| bad(format!("cannot decompress: {e}")))?;
    if preamble[6] >= 2 {
        member
            .read_exact(&mut preamble[10..])
            .map_err(|e| bad(format!("cannot decompress: {e}")))?;
    }
    let (start, header_len) = npy_preamble(&preamble).map_err(bad)?;
    // A v1 preamble is 10 bytes: nothing of the header was read ahead.
    let mut header = vec![0u8; header_len];
    member
        .read_exact(&mut header)
        .map_err(|e| bad(format!("truncated .npy header: {e}")))?;
    debug_assert!(start == 10 || start == 12);
    let header = parse_npy_header(&header).map_err(bad)?;
    let Some((&rows, inner)) = header.shape.split_first() else {
        return Err(bad("a scalar has no rows to slice".into()));
    };
    let inner = inner.to_vec();
    let row = choose(&header.shape)?;
    if row >= rows {
        return Err(bad(format!(
            "row {row} is out of range (the array has {rows})"
        )));
    }
    let item = header.dtype.size();
    let row_bytes = inner.iter().product::<usize>() * item;
    if header.fortran {
        let mut data = Vec::new();
        member
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("cannot decompress: {e}")))?;
        let needed = header.count().map_err(bad)? * item;
        let data = data
            .get(..needed)
            .ok_or_else(|| bad(format!("truncated data: {} of {needed} bytes", data.len())))?;
        let whole = array_from_bytes(header.dtype, &header.shape, true, data);
        return Ok((header.shape.clone(), whole.row(row)));
    }
    let skip = (row * row_bytes) as u64;
    let skipped = std::io::copy(&mut (&mut member).take(skip), &mut std::io::sink())
        .map_err(|e| bad(format!("cannot decompress: {e}")))?;
    let mut data = vec![0u8; row_bytes];
    if skipped < skip || member.read_exact(&mut data).is_err() {
        return Err(bad(format!(
            "truncated data: row {row} of {rows} lies past the member's end"
        )));
    }
    Ok((
        header.shape.clone(),
        array_from_bytes(header.dtype, &inner, false, &data),
    ))
}

/// The raw text of `'key': value` in a Python dict literal (values here are simple literals
/// or a tuple).
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
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
        .map_err(|e| npz_error(path, None, format!("not a readable npz (zip) file: {e}")))?;
    let mut artifact = Artifact::new();
    for index in 0..archive.len() {
        let mut member = archive
            .by_index(index)
            .map_err(|e| npz_error(path, None, format!("member {index}: {e}")))?;
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
            .map_err(|e| npz_error(path, Some(key), format!("cannot decompress: {e}")))?;
        let array = decode_npy(&data).map_err(|reason| npz_error(path, Some(key), reason))?;
        artifact.insert(key, array);
    }
    if let Some(fields) = fields {
        for field in fields {
            if artifact.get(field).is_none() {
                return Err(npz_error(path, Some(field), "no such key in the file"));
            }
        }
    }
    Ok(artifact)
}

/// Cheap integrity check of an artifact on disk: the zip directory at the end of the file parses
/// and lists `.npy` members. Catches truncated and overwritten files without decompressing.
pub fn check(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        npz_error(
            path,
            None,
            format!("corrupt or truncated artifact ({e}); rerun with --force to recompute it"),
        )
    })?;
    if !archive.file_names().any(|name| name.ends_with(".npy")) {
        return Err(npz_error(
            path,
            None,
            "artifact holds no arrays; rerun with --force to recompute it",
        ));
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
            Err(Error::InvalidSetting {
                setting: "neuron".into(),
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
