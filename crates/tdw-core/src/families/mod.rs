//! Family implementations, one file each, and the table that maps family names to them.

mod modulo_addition;

use std::sync::Arc;

pub use modulo_addition::ModuloAddition1Layer;

use crate::family::ModelFamily;

/// The implementation registered for a family name, if this build has one.
pub fn implementation(name: &str) -> Option<Arc<dyn ModelFamily>> {
    match name {
        ModuloAddition1Layer::NAME => Some(Arc::new(ModuloAddition1Layer)),
        _ => None,
    }
}

/// Names of the families this build implements.
pub fn implemented_names() -> Vec<String> {
    vec![ModuloAddition1Layer::NAME.to_string()]
}
