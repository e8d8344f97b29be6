//! The HookedTransformer: sizes ([`config`]), parameters on the host ([`state`]), the seeded
//! initialiser ([`init`]), the burn forward passes ([`transformer`]), the activation cache, and
//! what analyzers see of a forward pass on a probe ([`bundle`], with the grid probe's table
//! forward in [`grid_forward`]).

pub mod bundle;
pub mod cache;
pub mod config;
pub mod grid_forward;
pub mod hook;
pub mod init;
pub mod mlp;
pub mod probe;
pub mod state;
pub mod transformer;
