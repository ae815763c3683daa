//! Suites: YAML files of cases with expectations, loaded into resolved, hashed [`Suite`]s.
//!
//! The format is documented in `suites/README.md`; [`load`] turns a file into a [`Suite`] or a
//! list of located errors; [`bundled`] holds the suites compiled into the binary.

pub mod bundled;
pub mod expect;
pub mod load;
pub mod schema;
mod template;

pub use load::{Disk, Limits, LoadError, Source, load, load_with};
pub use schema::{Case, Generation, Mode, Seeds, Suite};
