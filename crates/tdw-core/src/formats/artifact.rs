//! An analysis artifact: an ordered set of named n-d arrays, as one `.npz` file holds them.
//!
//! The dtypes are those MIScope writes (f16, f32, f64, i16, i32, i64, bool, and complex128 for
//! DMD's eigenvalues and modes); key order is kept, because numpy keeps it and the reference
//! files list keys in a documented order.

use crate::formats::error::KeyError;
use indexmap::IndexMap;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;

/// Element type of an array, with numpy's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// numpy `float16`.
    F16,
    /// numpy `float32`.
    F32,
    /// numpy `float64`.
    F64,
    /// numpy `int16`.
    I16,
    /// numpy `int32`.
    I32,
    /// numpy `int64`.
    I64,
    /// numpy `bool`.
    Bool,
    /// numpy `complex128`.
    C128,
}

impl DType {
    /// numpy's dtype name (`float32`, `int16`, `bool`, ...), as manifest.json records it.
    pub fn numpy_name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::Bool => "bool",
            DType::C128 => "complex128",
        }
    }

    /// The little-endian `descr` of an `.npy` header (`<f4`, `|b1`, ...).
    pub fn descr(self) -> &'static str {
        match self {
            DType::F16 => "<f2",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::I16 => "<i2",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::Bool => "|b1",
            DType::C128 => "<c16",
        }
    }

    /// Parses a `descr`; `None` for types artifacts never hold.
    pub fn from_descr(descr: &str) -> Option<Self> {
        Some(match descr {
            "<f2" => DType::F16,
            "<f4" => DType::F32,
            "<f8" => DType::F64,
            "<i2" => DType::I16,
            "<i4" => DType::I32,
            "<i8" => DType::I64,
            "|b1" | "<b1" | "b1" | "?" | "|?" => DType::Bool,
            "<c16" => DType::C128,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::F16 | DType::I16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::C128 => 16,
        }
    }
}

/// One array of an artifact.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    /// `float16` values.
    F16(ArrayD<half::f16>),
    /// `float32` values.
    F32(ArrayD<f32>),
    /// `float64` values.
    F64(ArrayD<f64>),
    /// `int16` values.
    I16(ArrayD<i16>),
    /// `int32` values.
    I32(ArrayD<i32>),
    /// `int64` values.
    I64(ArrayD<i64>),
    /// `bool` values.
    Bool(ArrayD<bool>),
    /// `complex128` values.
    C128(ArrayD<Complex64>),
}

macro_rules! array_from {
    ($($t:ty => $variant:ident),*) => {$(
        impl<D: ndarray::Dimension> From<ndarray::Array<$t, D>> for Array {
            fn from(a: ndarray::Array<$t, D>) -> Self {
                Array::$variant(a.into_dyn())
            }
        }
        impl From<$t> for Array {
            /// A 0-d array (numpy's scalar entries).
            fn from(v: $t) -> Self {
                Array::$variant(ArrayD::from_elem(IxDyn(&[]), v))
            }
        }
    )*};
}

impl Array {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Array::F16(_) => DType::F16,
            Array::F32(_) => DType::F32,
            Array::F64(_) => DType::F64,
            Array::I16(_) => DType::I16,
            Array::I32(_) => DType::I32,
            Array::I64(_) => DType::I64,
            Array::Bool(_) => DType::Bool,
            Array::C128(_) => DType::C128,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Array::F16(a) => a.shape(),
            Array::F32(a) => a.shape(),
            Array::F64(a) => a.shape(),
            Array::I16(a) => a.shape(),
            Array::I32(a) => a.shape(),
            Array::I64(a) => a.shape(),
            Array::Bool(a) => a.shape(),
            Array::C128(a) => a.shape(),
        }
    }

    /// The sub-array at index `i` of the first axis (`a[i]` in numpy); `i` must be in range.
    pub fn row(&self, i: usize) -> Array {
        let axis = ndarray::Axis(0);
        match self {
            Array::F16(a) => Array::F16(a.index_axis(axis, i).to_owned()),
            Array::F32(a) => Array::F32(a.index_axis(axis, i).to_owned()),
            Array::F64(a) => Array::F64(a.index_axis(axis, i).to_owned()),
            Array::I16(a) => Array::I16(a.index_axis(axis, i).to_owned()),
            Array::I32(a) => Array::I32(a.index_axis(axis, i).to_owned()),
            Array::I64(a) => Array::I64(a.index_axis(axis, i).to_owned()),
            Array::Bool(a) => Array::Bool(a.index_axis(axis, i).to_owned()),
            Array::C128(a) => Array::C128(a.index_axis(axis, i).to_owned()),
        }
    }

    /// The values widened to f64 (bools as 0/1, complex numbers as their real part, as numpy's
    /// `astype(float)`), in row-major order; for comparisons and charts.
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            Array::F16(a) => a.mapv(|v| v.to_f64()),
            Array::F32(a) => a.mapv(f64::from),
            Array::F64(a) => a.clone(),
            Array::I16(a) => a.mapv(f64::from),
            Array::I32(a) => a.mapv(f64::from),
            Array::I64(a) => a.mapv(|v| v as f64),
            Array::Bool(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
            Array::C128(a) => a.mapv(|v| v.re),
        }
    }

    /// The values as complex numbers (real arrays with a zero imaginary part): numpy writes DMD
    /// results as float64 when every eigenvalue is real, and complex128 otherwise.
    pub fn to_complex(&self) -> ArrayD<Complex64> {
        match self {
            Array::C128(a) => a.clone(),
            real => real.to_f64().mapv(|v| Complex64::new(v, 0.0)),
        }
    }
}

array_from!(half::f16 => F16, f32 => F32, f64 => F64, i16 => I16, i32 => I32, i64 => I64, bool => Bool, Complex64 => C128);

/// Named arrays in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Artifact {
    arrays: IndexMap<String, Array>,
}

impl Artifact {
    /// An artifact with no arrays.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces, keeping its slot) an array.
    pub fn insert(&mut self, key: impl Into<String>, array: impl Into<Array>) {
        self.arrays.insert(key.into(), array.into());
    }

    /// Builder form of [`Artifact::insert`].
    pub fn with(mut self, key: impl Into<String>, array: impl Into<Array>) -> Self {
        self.insert(key, array);
        self
    }

    /// The array under `key`.
    pub fn get(&self, key: &str) -> Option<&Array> {
        self.arrays.get(key)
    }

    /// Removes and returns an array.
    pub fn remove(&mut self, key: &str) -> Option<Array> {
        self.arrays.shift_remove(key)
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.arrays.keys().map(String::as_str)
    }

    /// (key, array) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Array)> {
        self.arrays.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of arrays.
    pub fn len(&self) -> usize {
        self.arrays.len()
    }

    /// Whether there are no arrays.
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty()
    }

    /// Keys with their shapes and dtypes, without the data (what manifest.json records).
    pub fn layout(&self) -> Vec<(String, Vec<usize>, DType)> {
        self.iter()
            .map(|(k, a)| (k.to_string(), a.shape().to_vec(), a.dtype()))
            .collect()
    }

    /// The array under `key`, or an error listing the keys there are.
    fn require(&self, key: &str) -> Result<&Array, KeyError> {
        self.arrays.get(key).ok_or_else(|| KeyError::Missing {
            key: key.to_string(),
            keys: self.keys().map(str::to_string).collect(),
        })
    }

    /// An f32 array, or why not.
    pub fn f32(&self, key: &str) -> Result<&ArrayD<f32>, KeyError> {
        match self.require(key)? {
            Array::F32(a) => Ok(a),
            other => Err(KeyError::Dtype {
                key: key.to_string(),
                found: other.dtype().numpy_name(),
                expected: "float32",
            }),
        }
    }

    /// Any numeric array as complex numbers, or why not.
    pub fn as_complex(&self, key: &str) -> Result<ArrayD<Complex64>, KeyError> {
        self.require(key).map(Array::to_complex)
    }

    /// Any numeric array widened to f64, or why not.
    pub fn as_f64(&self, key: &str) -> Result<ArrayD<f64>, KeyError> {
        self.require(key).map(Array::to_f64)
    }
}
