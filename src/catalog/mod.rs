//! Catalogs on disk (native only, `catalog` feature): the manifest that lists a store's
//! tracks, their analysis into a [`CatalogIndex`](crate::CatalogIndex) (whole, or one share
//! of a build spread over machines), and the index files that result.
//!
//! The CLI, the Python wheel and the distributed indexing job are thin layers over this.

pub mod build;
pub mod files;
pub mod manifest;
pub mod parts_dir;

pub use build::{BuildOptions, BuildReport, Failure, ShardSpec, build_index};
pub use manifest::{Entry, read_folder, read_manifest};
