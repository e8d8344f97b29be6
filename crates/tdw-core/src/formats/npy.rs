//! `.npy` files (NPY v1.0 written; v1, v2 and v3 read), compatible with numpy's `np.save` and
//! `np.load`: magic, version, a Python dict literal header (`descr`, `fortran_order`, `shape`)
//! padded so the data starts at a multiple of 64 bytes, then the raw little-endian data.

use std::io::Write;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use super::FormatError;
use super::artifact::{Array, DType};

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
pub(crate) struct NpyHeader {
    pub(crate) dtype: DType,
    pub(crate) fortran: bool,
    pub(crate) shape: Vec<usize>,
}

impl NpyHeader {
    /// Number of elements (checked against overflow).
    pub(crate) fn count(&self) -> Result<usize, FormatError> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(FormatError::ShapeOverflow)
    }
}

/// Length of the NPY preamble (magic, version, header length) and of the header that follows,
/// from the file's first 12 bytes (or fewer, for a v1 file shorter than that).
pub(crate) fn npy_preamble(bytes: &[u8]) -> Result<(usize, usize), FormatError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(FormatError::BadMagic);
    }
    match bytes[6] {
        1 => Ok((10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize)),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(FormatError::TruncatedHeader);
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
            Ok((12, len))
        }
        v => Err(FormatError::UnsupportedVersion(v)),
    }
}

/// Parses the dict literal of an NPY header.
pub(crate) fn parse_npy_header(header: &[u8]) -> Result<NpyHeader, FormatError> {
    let header = std::str::from_utf8(header).map_err(|_| FormatError::NonUtf8Header)?;
    let descr = header_value(header, "descr").ok_or(FormatError::MissingHeaderKey("descr"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let dtype =
        DType::from_descr(descr).ok_or_else(|| FormatError::UnsupportedDtype(descr.to_string()))?;
    let fortran = match header_value(header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err(FormatError::MissingHeaderKey("fortran_order")),
    };
    let shape_text = header_value(header, "shape").ok_or(FormatError::MissingHeaderKey("shape"))?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| FormatError::BadShape(shape_text.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(NpyHeader {
        dtype,
        fortran,
        shape,
    })
}

/// Parses one NPY file (v1, v2 or v3 header; C or Fortran order).
pub fn decode_npy(bytes: &[u8]) -> Result<Array, FormatError> {
    let (start, header_len) = npy_preamble(bytes)?;
    let header = bytes
        .get(start..start + header_len)
        .ok_or(FormatError::TruncatedHeader)?;
    let header = parse_npy_header(header)?;
    let data = &bytes[start + header_len..];
    let needed = header
        .count()?
        .checked_mul(header.dtype.size())
        .ok_or(FormatError::ShapeOverflow)?;
    if data.len() < needed {
        return Err(FormatError::TruncatedData {
            got: data.len(),
            needed,
        });
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
pub(crate) fn array_from_bytes(dtype: DType, shape: &[usize], fortran: bool, data: &[u8]) -> Array {
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

/// The raw text of `'key': value` in a Python dict literal (values here are simple literals
/// or a tuple).
pub(crate) fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
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
