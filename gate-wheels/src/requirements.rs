//! Hash-pinned pip requirements files, cross-checked against a sums file.
//!
//! The files are parsed by the `pip-requirements` crate, re-exported here;
//! [`check`] then answers, requirement by requirement, whether the pinned
//! `name==version` has a wheel in the sums file whose SHA-256 is one of the
//! pinned hashes.

mod cross_check;
mod listed;

pub use cross_check::check;
pub(crate) use cross_check::{Map, Set, check_files};
pub use pip_requirements::{
    FileOption, HashAlgorithm, OptionKind, PinnedHash, Requirement, RequirementsFile, normalise_name, parse,
    wheel_release,
};
