//! Why an explanation failed: an unreadable archive, or one that breaks a
//! safety rule.

use std::fmt;
use std::path::PathBuf;

use crate::show::Name;

/// Why [`compare`] could not explain the difference.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The archive.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Not a zip archive, or a damaged one, as the zip reader found it.
    #[error("{} is not a readable zip archive{}: {reason}", path.display(), in_member(member.as_deref()))]
    Corrupt {
        /// The archive.
        path: PathBuf,
        /// The member being read, when the damage is in one.
        member: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The archive breaks a safety rule; nothing more is read from it.
    #[error("refusing {}: {rule}", path.display())]
    Refused {
        /// The archive.
        path: PathBuf,
        /// The rule it breaks.
        rule: Refusal,
    },
}

pub(crate) fn in_member(member: Option<&str>) -> String {
    member.map(|m| format!(" (member {})", Name(m))).unwrap_or_default()
}

/// A safety rule an archive breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The file is larger than [`Limits::max_archive_bytes`].
    ArchiveTooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// More members than [`Limits::max_members`].
    TooManyMembers {
        /// How many the central directory declares.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A name with a `..` component, which would escape an extraction directory.
    Traversal {
        /// The member.
        member: String,
    },
    /// A name starting with `/`, `\` or a drive letter.
    AbsolutePath {
        /// The member.
        member: String,
    },
    /// An empty name, or one with a control character.
    BadName {
        /// The member.
        member: String,
    },
    /// A symbolic link (file type `S_IFLNK` in the external attributes).
    Symlink {
        /// The member.
        member: String,
    },
    /// A name that appears twice in the central directory.
    Duplicate {
        /// The member.
        member: String,
    },
    /// An encrypted member.
    Encrypted {
        /// The member.
        member: String,
    },
    /// A compression method other than stored or deflated.
    UnsupportedCompression {
        /// The member.
        member: String,
        /// The method's name or number.
        method: String,
    },
    /// A declared uncompressed size above [`Limits::max_member_bytes`].
    MemberTooLarge {
        /// The member.
        member: String,
        /// The declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Declared sizes adding up to more than [`Limits::max_total_bytes`].
    TotalTooLarge {
        /// The member that went over.
        member: String,
        /// The sum so far, that member included.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// A compression ratio above [`Limits::max_ratio`]: a decompression bomb.
    CompressionRatio {
        /// The member.
        member: String,
        /// Declared uncompressed size.
        size: u64,
        /// Compressed size.
        compressed: u64,
        /// The limit.
        limit: u64,
    },
    /// The member decompressed to another size than its header declares.
    SizeMismatch {
        /// The member.
        member: String,
        /// The declared size.
        declared: u64,
        /// The actual size, or `None` when it is larger than declared
        /// (reading stopped there).
        actual: Option<u64>,
    },
}

impl Refusal {
    /// The member the rule is about, if it is about one.
    pub fn member(&self) -> Option<&str> {
        match self {
            Self::ArchiveTooLarge { .. } | Self::TooManyMembers { .. } => None,
            Self::Traversal { member }
            | Self::AbsolutePath { member }
            | Self::BadName { member }
            | Self::Symlink { member }
            | Self::Duplicate { member }
            | Self::Encrypted { member }
            | Self::UnsupportedCompression { member, .. }
            | Self::MemberTooLarge { member, .. }
            | Self::TotalTooLarge { member, .. }
            | Self::CompressionRatio { member, .. }
            | Self::SizeMismatch { member, .. } => Some(member),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ArchiveTooLarge { size, limit } => {
                write!(f, "the file has {size} bytes, more than the limit of {limit}")
            }
            Self::TooManyMembers { count, limit } => {
                write!(f, "{count} members, more than the limit of {limit}")
            }
            Self::Traversal { member } => {
                write!(f, "member {} has a `..` component (path traversal)", Name(member))
            }
            Self::AbsolutePath { member } => write!(f, "member {} is an absolute path", Name(member)),
            Self::BadName { member } => {
                write!(f, "member {} has an empty name or a control character in it", Name(member))
            }
            Self::Symlink { member } => write!(f, "member {} is a symbolic link", Name(member)),
            Self::Duplicate { member } => {
                write!(f, "member {} appears more than once", Name(member))
            }
            Self::Encrypted { member } => write!(f, "member {} is encrypted", Name(member)),
            Self::UnsupportedCompression { member, method } => write!(
                f,
                "member {} is compressed with {method}; wheels use only stored or deflated",
                Name(member)
            ),
            Self::MemberTooLarge { member, size, limit } => write!(
                f,
                "member {} declares {size} bytes uncompressed, more than the limit of {limit}",
                Name(member)
            ),
            Self::TotalTooLarge { member, total, limit } => write!(
                f,
                "members up to {} declare {total} bytes uncompressed in all, more than the limit of {limit}",
                Name(member)
            ),
            Self::CompressionRatio { member, size, compressed, limit } => write!(
                f,
                "member {} expands {compressed} bytes to {size} (ratio {}, more than the limit of {limit}): a decompression bomb",
                Name(member),
                size / (*compressed).max(1)
            ),
            Self::SizeMismatch { member, declared, actual: Some(actual) } => {
                write!(f, "member {} declares {declared} bytes but has {actual}", Name(member))
            }
            Self::SizeMismatch { member, declared, actual: None } => {
                write!(f, "member {} declares {declared} bytes but has more", Name(member))
            }
        }
    }
}
