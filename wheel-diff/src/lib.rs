//! Explains why two wheels differ, member by member, without diffoscope and
//! without extracting anything.
//!
//! [`compare`] opens both wheels with the `zip` crate and reports every
//! [`Difference`]: members added or removed, the first differing line (text)
//! or byte (binary) of a member, `METADATA` and `WHEEL` header fields,
//! `RECORD` rows, zip timestamps, modes (external attributes), compression
//! and member order. When every member matches but the files do not, it says
//! where the zip structure itself differs, so an explanation of two
//! different files is never empty.
//!
//! Wheels are untrusted input. Before any member is decompressed, each
//! archive's central directory is checked against the [`Limits`] and the
//! safety rules ([`Refusal`]): no `..` component, no absolute path, no
//! symlink, no duplicate name, no encryption, only stored or deflated
//! members, and declared sizes and compression ratios within bounds. Members
//! are then streamed through fixed 64 KiB buffers and compared in memory;
//! nothing is ever written to disk. Declared sizes are only compared against
//! limits, never used to size a buffer, and every member's actual size must
//! equal its declared size.

mod archive;
mod compare;
mod difference;
mod error;
mod limits;
mod show;
mod stream;
mod structured;

pub use compare::compare;
pub use difference::{Difference, FirstDifference, Packing, RecordRow, WheelDiff};
pub use error::{ArchiveError, Refusal};
pub use limits::{Limits, RATIO_EXEMPT_BYTES};

/// The `zip` crate this API is built on ([`zip::DateTime`] appears in
/// [`Difference::Timestamp`]); its writer makes test and benchmark wheels.
pub use zip;
