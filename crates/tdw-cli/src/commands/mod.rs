//! One module per subcommand. Each `run` takes the [`Context`] and its subcommand's arguments,
//! already converted into library options by [`crate::args`], and prints what the user asked for.

pub(crate) mod analyze;
pub(crate) mod animate;
pub(crate) mod bench;
pub(crate) mod checksums;
pub(crate) mod compare;
pub(crate) mod densify;
pub(crate) mod info;
pub(crate) mod init_sweep;
pub(crate) mod intervene;
pub(crate) mod listing;
pub(crate) mod report;
pub(crate) mod sweep;
pub(crate) mod train;
pub(crate) mod viability;
pub(crate) mod view;

use std::path::PathBuf;

use tdw_core::{Device, FamilyRegistry};

/// What every subcommand may need: the registry of families and variants, where they live, and
/// the device (parsed, and as the user wrote it, for child processes).
pub(crate) struct Context {
    pub(crate) registry: FamilyRegistry,
    pub(crate) results_dir: PathBuf,
    pub(crate) families_dir: PathBuf,
    pub(crate) device: Device,
    pub(crate) device_name: String,
}
