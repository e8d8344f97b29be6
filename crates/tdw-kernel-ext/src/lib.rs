pub use tdw_core::prelude;
