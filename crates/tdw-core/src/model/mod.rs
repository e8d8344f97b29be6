//! The HookedTransformer: sizes ([`config`]), parameters on the host ([`state`]), the seeded
//! initialiser ([`init`]), the burn forward passes ([`transformer`]) and the activation cache.

pub mod cache;
pub mod config;
pub mod init;
pub mod mlp;
pub mod state;
pub mod transformer;
