//! Integration tests of tdw-core, as modules of one test binary (each extra binary re-links burn).

mod analysis;
mod analyzers;
mod causal;
mod checksums;
mod common;
mod densify;
mod engines;
mod families;
mod fuzz;
mod init_sweep;
mod interventions;
mod layers;
mod mlp_families;
mod peers;
mod pipeline;
mod reference;
mod snapshot;
mod test_family;
mod training;
mod views;
