//! Family implementations, one file each, and the table that maps family names to them.

mod modulo_addition;
mod modulo_addition_mlp;

use std::sync::Arc;

pub use modulo_addition::ModuloAddition1Layer;
pub use modulo_addition_mlp::ModuloAdditionMlp;

use crate::family::ModelFamily;

/// The implementation registered for a family name, if this build has one.
pub fn implementation(name: &str) -> Option<Arc<dyn ModelFamily>> {
    match name {
        ModuloAddition1Layer::NAME => Some(Arc::new(ModuloAddition1Layer)),
        ModuloAdditionMlp::TWO_LAYER => Some(Arc::new(ModuloAdditionMlp::two_layer())),
        ModuloAdditionMlp::LEARNED_EMBEDDING => {
            Some(Arc::new(ModuloAdditionMlp::learned_embedding()))
        }
        _ => None,
    }
}

/// Names of the families this build implements.
pub fn implemented_names() -> Vec<String> {
    [
        ModuloAddition1Layer::NAME,
        ModuloAdditionMlp::TWO_LAYER,
        ModuloAdditionMlp::LEARNED_EMBEDDING,
    ]
    .map(String::from)
    .to_vec()
}
