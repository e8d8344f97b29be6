//! Charts of a variant's training and analysis (spec §6): a catalogue of named views, each
//! reading artifacts and drawing one [`Figure`] (SVG, PNG on export), and the HTML report that
//! puts them all on one page.

pub mod animation;
mod builtin;
pub mod catalog;
pub mod chart;
pub mod color;
pub mod compare;
pub mod definition;
pub mod figure;
pub mod init_sweep;
pub mod peers;
pub mod phases;
mod raster;
pub mod report;
pub mod scrubber;
pub mod text;
pub mod viability;

pub use animation::Animation;
pub use builtin::loss_curve_chart;
pub use catalog::{BoundView, EpochCursor, Requirement, ViewCatalog, ViewDefinition};
pub use compare::{Comparison, ComparisonRow};
pub use figure::{Figure, ImageFormat};
pub use peers::{PeerAxis, PeerComparison, PeerDivergence};
pub use phases::Phases;
pub use report::Report;
pub use scrubber::Scrubber;
