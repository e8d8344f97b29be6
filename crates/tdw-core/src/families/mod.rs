//! Family implementations, one file each, and the table that maps family names to them.

mod modulo_addition;
mod modulo_addition_mlp;

use std::sync::Arc;

pub use modulo_addition::ModuloAddition1Layer;
pub use modulo_addition_mlp::ModuloAdditionMlp;

use crate::family::ModelFamily;

/// The implementations this build has, by family name: the table a
/// [`crate::FamilyRegistry`] pairs family.json declarations with.
pub fn builtin() -> Vec<(String, Arc<dyn ModelFamily>)> {
    let table: [(&str, Arc<dyn ModelFamily>); 3] = [
        (ModuloAddition1Layer::NAME, Arc::new(ModuloAddition1Layer)),
        (
            ModuloAdditionMlp::TWO_LAYER,
            Arc::new(ModuloAdditionMlp::two_layer()),
        ),
        (
            ModuloAdditionMlp::LEARNED_EMBEDDING,
            Arc::new(ModuloAdditionMlp::learned_embedding()),
        ),
    ];
    table
        .into_iter()
        .map(|(name, implementation)| (name.to_string(), implementation))
        .collect()
}
