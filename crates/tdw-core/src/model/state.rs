//! A model's parameters on the host, by TransformerLens name: the common currency between the
//! seeded initialiser, checkpoint files and the burn model.

use indexmap::IndexMap;

/// A dense f32 array in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Size of each axis.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// A tensor of zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        HostTensor {
            shape,
            data: vec![0.0; n],
        }
    }
}

/// Parameters by state-dict name, in `named_parameters()` order.
pub type StateDict = IndexMap<String, HostTensor>;

/// The values of parameter `name`, which must hold exactly `len` of them (the host engines read
/// weights as flat slices; a wrong size would index out of bounds later).
pub fn values<'a>(state: &'a StateDict, name: &str, len: usize) -> crate::error::Result<&'a [f32]> {
    let invalid = |reason: String| crate::error::Error::ModelState {
        parameter: name.into(),
        reason,
    };
    let tensor = state
        .get(name)
        .ok_or_else(|| invalid("parameter missing from the state dict".into()))?;
    if tensor.data.len() != len {
        return Err(invalid(format!(
            "{} values, expected {len}",
            tensor.data.len()
        )));
    }
    Ok(&tensor.data)
}
