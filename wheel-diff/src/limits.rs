//! What [`crate::compare`] agrees to read, and how much of a difference it shows.

/// Bounds on what [`compare`] agrees to read from one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest archive file, in bytes.
    pub max_archive_bytes: u64,
    /// Most members (central directory entries) in one archive.
    pub max_members: usize,
    /// Largest declared uncompressed size of one member, in bytes.
    pub max_member_bytes: u64,
    /// Largest sum of the declared uncompressed sizes of one archive's members.
    pub max_total_bytes: u64,
    /// Largest ratio of uncompressed to compressed size, for members larger
    /// than [`RATIO_EXEMPT_BYTES`].
    pub max_ratio: u64,
}

impl Default for Limits {
    /// Generous for real wheels, far below what would exhaust a machine.
    fn default() -> Self {
        Self {
            max_archive_bytes: 1 << 30,
            max_members: 50_000,
            max_member_bytes: 512 << 20,
            max_total_bytes: 2 << 30,
            max_ratio: 100,
        }
    }
}

/// Members up to this uncompressed size are exempt from
/// [`Limits::max_ratio`]: a small file of zeros compresses a thousandfold
/// and is no bomb.
pub const RATIO_EXEMPT_BYTES: u64 = 1 << 20;

/// `METADATA`, `WHEEL` and `RECORD` up to this size are compared field by
/// field; larger ones are compared as plain content.
pub(crate) const MAX_STRUCTURED_BYTES: u64 = 16 << 20;

/// Bytes read from a member at a time.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Most bytes of a line shown on each side of the first difference.
pub(crate) const LINE_SHOWN: usize = 160;

/// Most characters of a header value shown.
pub(crate) const VALUE_SHOWN: usize = 160;
