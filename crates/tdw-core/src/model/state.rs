//! A model's parameters on the host, by TransformerLens name: the common currency between the
//! seeded initialiser, checkpoint files and the burn model.

use indexmap::IndexMap;

/// A dense f32 array in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
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
