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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use gate_core::Evidence;
use zip::read::{Config, OwnedZipFileEntry, ZipFile, ZipReadOptions};
use zip::result::ZipError;
use zip::unstable::read::ZipIterable;
use zip::{CompressionMethod, DateTime};

/// The `zip` crate this API is built on ([`DateTime`] appears in
/// [`Difference::Timestamp`]); its writer makes test and benchmark wheels.
pub use zip;

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
const MAX_STRUCTURED_BYTES: u64 = 16 << 20;

/// Bytes read from a member at a time.
const CHUNK: usize = 64 * 1024;

/// Most bytes of a line shown on each side of the first difference.
const LINE_SHOWN: usize = 160;

/// Most characters of a header value shown.
const VALUE_SHOWN: usize = 160;

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

fn in_member(member: Option<&str>) -> String {
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

/// Everything that differs between two wheels, in a stable order: member
/// order, then each member of the first wheel in its order (added ones where
/// the second wheel has them), then the zip structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WheelDiff {
    /// The differences; empty when the two files are byte-identical.
    pub differences: Vec<Difference>,
}

/// One difference between two wheels, `a` (the first) and `b` (the second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// A member only `b` has.
    MemberAdded {
        /// The member's name.
        member: String,
    },
    /// A member only `a` has.
    MemberRemoved {
        /// The member's name.
        member: String,
    },
    /// The member's uncompressed bytes differ.
    Content {
        /// The member's name.
        member: String,
        /// Where they first differ.
        first: FirstDifference,
        /// Uncompressed sizes in `a` and `b`.
        sizes: (u64, u64),
    },
    /// A header field of `METADATA` or `WHEEL` differs (the `METADATA` body
    /// counts as the field `Description`).
    Field {
        /// The `METADATA` or `WHEEL` member.
        member: String,
        /// The field's name.
        field: String,
        /// Its values in `a` (a field may repeat; empty: absent).
        a: Vec<String>,
        /// Its values in `b`.
        b: Vec<String>,
    },
    /// A row of `RECORD` differs: a member's hash or size, or a row only
    /// one side has.
    Record {
        /// The `RECORD` member.
        member: String,
        /// The path the row is about.
        path: String,
        /// The row's hash and size in `a`, if it has the row.
        a: Option<RecordRow>,
        /// The row's hash and size in `b`, if it has the row.
        b: Option<RecordRow>,
    },
    /// The zip timestamps differ.
    Timestamp {
        /// The member's name.
        member: String,
        /// `a`'s modification time (MS-DOS, no time zone), if valid.
        a: Option<DateTime>,
        /// `b`'s.
        b: Option<DateTime>,
    },
    /// The external attributes differ: on Unix, the mode in the upper 16 bits.
    Mode {
        /// The member's name.
        member: String,
        /// `a`'s external attributes.
        a: u32,
        /// `b`'s.
        b: u32,
    },
    /// The compression method differs, or the compressed size does while
    /// the content is the same (another compressor or level).
    Compression {
        /// The member's name.
        member: String,
        /// How `a` stores it.
        a: Packing,
        /// How `b` stores it.
        b: Packing,
    },
    /// The members both wheels have are in another order.
    Order {
        /// 1-based position, among the common members, of the first that differs.
        position: usize,
        /// The member `a` has there.
        a: String,
        /// The member `b` has there.
        b: String,
    },
    /// Every member matches, but the files differ from this byte on (extra
    /// fields, comments, compressed streams or the directory's layout).
    ZipStructure {
        /// 0-based offset of the first differing byte of the files.
        offset: u64,
    },
}

/// Where two contents first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstDifference {
    /// Text: the first differing line (1-based) on each side, at most
    /// [`LINE_SHOWN`] bytes around the difference; `None` when that side
    /// has ended.
    Line {
        /// 1-based line number.
        line: u64,
        /// `a`'s line.
        a: Option<String>,
        /// `b`'s line.
        b: Option<String>,
    },
    /// Binary: the first differing byte; `None` when that side has ended.
    Byte {
        /// 0-based offset.
        offset: u64,
        /// `a`'s byte.
        a: Option<u8>,
        /// `b`'s byte.
        b: Option<u8>,
    },
}

/// A `RECORD` row's hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// `algorithm=urlsafe-base64-digest`, or empty.
    pub hash: String,
    /// Size in bytes, as written, or empty.
    pub size: String,
}

/// How a member is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// The compression method (`Stored`, `Deflated`).
    pub method: String,
    /// Compressed size in bytes.
    pub compressed_size: u64,
}

impl Difference {
    /// A short name of the kind of difference (`content`, `timestamp`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MemberAdded { .. } => "member added",
            Self::MemberRemoved { .. } => "member removed",
            Self::Content { .. } => "content",
            Self::Field { .. } => "metadata field",
            Self::Record { .. } => "RECORD row",
            Self::Timestamp { .. } => "timestamp",
            Self::Mode { .. } => "mode",
            Self::Compression { .. } => "compression",
            Self::Order { .. } => "member order",
            Self::ZipStructure { .. } => "zip structure",
        }
    }

    /// The member the difference is about (`METADATA`, `WHEEL` or `RECORD`
    /// for field and row differences); `None` for order and zip structure.
    pub fn member(&self) -> Option<&str> {
        match self {
            Self::MemberAdded { member }
            | Self::MemberRemoved { member }
            | Self::Content { member, .. }
            | Self::Field { member, .. }
            | Self::Record { member, .. }
            | Self::Timestamp { member, .. }
            | Self::Mode { member, .. }
            | Self::Compression { member, .. } => Some(member),
            Self::Order { .. } | Self::ZipStructure { .. } => None,
        }
    }

    /// The difference as report evidence: a fact labelled with its kind.
    pub fn to_evidence(&self) -> Evidence {
        Evidence::fact(self.kind(), self.to_string())
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MemberAdded { member } => write!(f, "member added: {}", Name(member)),
            Self::MemberRemoved { member } => write!(f, "member removed: {}", Name(member)),
            Self::Content { member, first: FirstDifference::Line { line, a, b }, .. } => write!(
                f,
                "content differs: {} line {line}: {} → {}",
                Name(member),
                Shown(a.as_deref()),
                Shown(b.as_deref())
            ),
            Self::Content { member, first: FirstDifference::Byte { offset, a, b }, sizes } => write!(
                f,
                "content differs: {} from byte {offset} ({} → {}), sizes {} and {} bytes",
                Name(member),
                Byte(*a),
                Byte(*b),
                sizes.0,
                sizes.1
            ),
            Self::Field { member, field, a, b } => {
                write!(f, "{} field {field}: ", Name(member))?;
                describe_values(f, a, b)
            }
            Self::Record { member, path, a, b } => {
                write!(f, "{} row {}: ", Name(member), Name(path))?;
                match (a, b) {
                    (Some(a), Some(b)) => {
                        let mut parts = Vec::new();
                        if a.hash != b.hash {
                            parts.push(format!("hash {} → {}", Plain(&a.hash), Plain(&b.hash)));
                        }
                        if a.size != b.size {
                            parts.push(format!("size {} → {}", Plain(&a.size), Plain(&b.size)));
                        }
                        f.write_str(&parts.join(", "))
                    }
                    (None, Some(_)) => f.write_str("added"),
                    (Some(_), None) => f.write_str("removed"),
                    (None, None) => f.write_str("absent"),
                }
            }
            Self::Timestamp { member, a, b } => {
                write!(f, "timestamp differs: {} {} → {}", Name(member), Time(*a), Time(*b))
            }
            Self::Mode { member, a, b } => {
                write!(f, "mode differs: {} {} → {}", Name(member), Mode(*a), Mode(*b))
            }
            Self::Compression { member, a, b } => write!(
                f,
                "compression differs: {} {}, {} bytes → {}, {} bytes",
                Name(member),
                a.method,
                a.compressed_size,
                b.method,
                b.compressed_size
            ),
            Self::Order { position, a, b } => {
                write!(f, "member order differs from position {position}: {} → {}", Name(a), Name(b))
            }
            Self::ZipStructure { offset } => write!(
                f,
                "zip structure differs from byte {offset} although every member matches \
                 (extra fields, comments, compressed streams or directory layout)"
            ),
        }
    }
}

/// A header field's values, side by side.
fn describe_values(f: &mut fmt::Formatter<'_>, a: &[String], b: &[String]) -> fmt::Result {
    let list = |values: &[String]| values.iter().map(|v| Value(v).to_string()).collect::<Vec<_>>().join(", ");
    match (a, b) {
        ([], _) => write!(f, "added {}", list(b)),
        (_, []) => write!(f, "removed {}", list(a)),
        ([a], [b]) if a.contains('\n') || b.contains('\n') => {
            // A multi-line value (the description): its first differing line.
            let (la, lb) = (a.lines().collect::<Vec<_>>(), b.lines().collect::<Vec<_>>());
            let at = la.iter().zip(&lb).position(|(x, y)| x != y).unwrap_or(la.len().min(lb.len()));
            write!(
                f,
                "line {} of the value: {} → {}",
                at + 1,
                Shown(la.get(at).copied()),
                Shown(lb.get(at).copied())
            )
        }
        ([a], [b]) => write!(f, "{} → {}", Value(a), Value(b)),
        _ => {
            let removed: Vec<String> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
            let added: Vec<String> = b.iter().filter(|v| !a.contains(v)).cloned().collect();
            match (removed.is_empty(), added.is_empty()) {
                (true, true) => write!(f, "the same values in another order: {} → {}", list(a), list(b)),
                (false, true) => write!(f, "removed {}", list(&removed)),
                (true, false) => write!(f, "added {}", list(&added)),
                (false, false) => write!(f, "removed {}; added {}", list(&removed), list(&added)),
            }
        }
    }
}

impl WheelDiff {
    /// Whether the two files are byte-identical.
    pub fn is_identical(&self) -> bool {
        self.differences.is_empty()
    }

    /// Members with any difference (content, metadata, timestamps…), and
    /// those only one wheel has.
    pub fn differing_members(&self) -> BTreeSet<&str> {
        self.differences.iter().filter_map(Difference::member).collect()
    }

    /// One line: how many differences of each kind, e.g.
    /// `5 differences (timestamp: 4, content: 1)`.
    pub fn summary(&self) -> String {
        if self.differences.is_empty() {
            return "the wheels are identical".to_owned();
        }
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for difference in &self.differences {
            match counts.iter_mut().find(|(kind, _)| *kind == difference.kind()) {
                Some((_, count)) => *count += 1,
                None => counts.push((difference.kind(), 1)),
            }
        }
        let n = self.differences.len();
        let parts: Vec<String> = counts.iter().map(|(kind, count)| format!("{kind}: {count}")).collect();
        format!("{n} difference{} ({})", gate_core::model::plural(n), parts.join(", "))
    }

    /// The first `max` differences as report evidence, then one fact
    /// counting those left out.
    pub fn to_evidence(&self, max: usize) -> Vec<Evidence> {
        let mut evidence: Vec<Evidence> =
            self.differences.iter().take(max).map(Difference::to_evidence).collect();
        let rest = self.differences.len().saturating_sub(max);
        if rest > 0 {
            evidence.push(Evidence::fact("not shown", format!("{rest} more differences")));
        }
        evidence
    }
}

impl fmt::Display for WheelDiff {
    /// One difference per line, or `identical`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.differences.is_empty() {
            return f.write_str("identical");
        }
        for (i, difference) in self.differences.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{difference}")?;
        }
        Ok(())
    }
}

/// Compares the wheels at `a` and `b` and explains every difference.
///
/// Both archives are checked against `limits` and the safety rules before
/// any member is decompressed; every member of both is then read to its end
/// (so a hostile member only one wheel has is refused too), in memory.
pub fn compare(a: &Path, b: &Path, limits: &Limits) -> Result<WheelDiff, ArchiveError> {
    let mut a = Archive::open(a, limits)?;
    let mut b = Archive::open(b, limits)?;
    let mut differences = Vec::new();

    let in_b: HashMap<&str, usize> =
        b.members.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    let in_a: HashMap<&str, usize> =
        a.members.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    let common_a: Vec<&str> =
        a.members.iter().map(|m| m.name.as_str()).filter(|n| in_b.contains_key(n)).collect();
    let common_b = b.members.iter().map(|m| m.name.as_str()).filter(|n| in_a.contains_key(n));
    if let Some((position, (x, y))) = common_a.iter().zip(common_b).enumerate().find(|(_, (x, y))| *x != y) {
        differences.push(Difference::Order { position: position + 1, a: x.to_string(), b: y.to_owned() });
    }

    // `a`'s members in order; each member only `b` has goes right after the
    // last common member before it in `b`.
    let mut added_after: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    let mut previous_common = None;
    for (j, member) in b.members.iter().enumerate() {
        match in_a.get(member.name.as_str()) {
            Some(&i) => previous_common = Some(i),
            None => added_after.entry(previous_common).or_default().push(j),
        }
    }
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    pairs.extend(added_after.get(&None).into_iter().flatten().map(|&j| (None, Some(j))));
    for (i, member) in a.members.iter().enumerate() {
        pairs.push((Some(i), in_b.get(member.name.as_str()).copied()));
        pairs.extend(added_after.get(&Some(i)).into_iter().flatten().map(|&j| (None, Some(j))));
    }

    let mut buffers = Buffers::new();
    for pair in pairs {
        match pair {
            (Some(i), Some(j)) => differences.extend(compare_member(&mut a, i, &mut b, j, &mut buffers)?),
            (Some(i), None) => {
                a.drain(i, &mut buffers.a)?;
                differences.push(Difference::MemberRemoved { member: a.members[i].name.clone() });
            }
            (None, Some(j)) => {
                b.drain(j, &mut buffers.b)?;
                differences.push(Difference::MemberAdded { member: b.members[j].name.clone() });
            }
            (None, None) => {}
        }
    }

    if differences.is_empty() {
        let compared = compare_sources(&mut a.raw()?, &mut b.raw()?, &mut buffers)?;
        if compared.first.is_some() {
            differences.push(Difference::ZipStructure { offset: compared.equal_bytes });
        }
    }
    Ok(WheelDiff { differences })
}

/// One member's central directory entry, with its name decoded.
struct Member {
    name: String,
    entry: OwnedZipFileEntry,
}

/// An opened, checked archive.
struct Archive {
    path: PathBuf,
    zip: ZipIterable<BufReader<File>>,
    members: Vec<Member>,
}

impl Archive {
    /// Opens `path` and checks its central directory against the limits and
    /// the safety rules.
    fn open(path: &Path, limits: &Limits) -> Result<Self, ArchiveError> {
        let io = |source| ArchiveError::Io { path: path.to_owned(), source };
        let refused = |rule| ArchiveError::Refused { path: path.to_owned(), rule };
        let corrupt = |member: Option<String>, reason: String| ArchiveError::Corrupt {
            path: path.to_owned(),
            member,
            reason,
        };
        let file = File::open(path).map_err(io)?;
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(corrupt(None, "not a regular file".to_owned()));
        }
        if metadata.len() > limits.max_archive_bytes {
            return Err(refused(Refusal::ArchiveTooLarge {
                size: metadata.len(),
                limit: limits.max_archive_bytes,
            }));
        }
        let zip = ZipIterable::try_new(BufReader::new(file), Config::default())
            .map_err(|e| corrupt(None, zip_reason(&e)))?;
        // Local headers must agree with the central directory: a name or
        // size hidden in one of them is refused by the zip reader.
        let mut zip = zip.enforce_header_consistency(true);
        if zip.len() > limits.max_members {
            return Err(refused(Refusal::TooManyMembers { count: zip.len(), limit: limits.max_members }));
        }
        let mut members = Vec::new();
        let mut names = BTreeSet::new();
        let mut total: u64 = 0;
        for (index, entry) in zip.files().map_err(|e| corrupt(None, zip_reason(&e)))?.enumerate() {
            let entry = entry.map_err(|e| {
                corrupt(None, format!("central directory entry {}: {}", index + 1, zip_reason(&e)))
            })?;
            let name = entry
                .name()
                .map_err(|e| corrupt(None, format!("name of entry {}: {}", index + 1, zip_reason(&e))))?
                .into_owned();
            let rule = check_name(&name).or_else(|| {
                let member = name.clone();
                if !names.insert(name.clone()) {
                    return Some(Refusal::Duplicate { member });
                }
                if (entry.external_attributes() >> 16) & S_IFMT == S_IFLNK {
                    return Some(Refusal::Symlink { member });
                }
                if entry.encrypted() {
                    return Some(Refusal::Encrypted { member });
                }
                let method = entry.compression();
                if !matches!(method, CompressionMethod::Stored | CompressionMethod::Deflated) {
                    return Some(Refusal::UnsupportedCompression { member, method: method.to_string() });
                }
                let (size, compressed) = (entry.size(), entry.compressed_size());
                if size > RATIO_EXEMPT_BYTES && size / compressed.max(1) > limits.max_ratio {
                    return Some(Refusal::CompressionRatio {
                        member,
                        size,
                        compressed,
                        limit: limits.max_ratio,
                    });
                }
                if size > limits.max_member_bytes {
                    return Some(Refusal::MemberTooLarge { member, size, limit: limits.max_member_bytes });
                }
                total = total.saturating_add(size);
                (total > limits.max_total_bytes).then_some(Refusal::TotalTooLarge {
                    member,
                    total,
                    limit: limits.max_total_bytes,
                })
            });
            if let Some(rule) = rule {
                return Err(refused(rule));
            }
            members.push(Member { name, entry: entry.into() });
        }
        Ok(Self { path: path.to_owned(), zip, members })
    }

    /// A stream of member `index`'s uncompressed bytes.
    fn stream(&mut self, index: usize) -> Result<MemberStream<'_>, ArchiveError> {
        let member = &self.members[index];
        let reader = self
            .zip
            .files()
            .map_err(|e| ArchiveError::Corrupt {
                path: self.path.clone(),
                member: None,
                reason: zip_reason(&e),
            })?
            .reader_mut();
        let file = member.entry.as_ref().with_reader(reader, ZipReadOptions::new()).map_err(|e| {
            ArchiveError::Corrupt {
                path: self.path.clone(),
                member: Some(member.name.clone()),
                reason: zip_reason(&e),
            }
        })?;
        Ok(MemberStream {
            file,
            path: &self.path,
            member: &member.name,
            declared: member.entry.size(),
            read: 0,
        })
    }

    /// Reads member `index` to its end, checking its size and CRC-32.
    fn drain(&mut self, index: usize, buffer: &mut [u8]) -> Result<(), ArchiveError> {
        self.stream(index)?.finish(buffer)
    }

    /// Member `index`'s whole content, when it is small enough to parse.
    fn read_small(&mut self, index: usize, buffer: &mut [u8]) -> Result<Option<Vec<u8>>, ArchiveError> {
        if self.members[index].entry.size() > MAX_STRUCTURED_BYTES {
            return Ok(None);
        }
        let mut stream = self.stream(index)?;
        let mut bytes = Vec::new();
        loop {
            let n = stream.fill(buffer)?;
            bytes.extend_from_slice(&buffer[..n]);
            if n < buffer.len() {
                break;
            }
        }
        stream.finish(buffer)?;
        Ok(Some(bytes))
    }

    /// The archive file's raw bytes, from its start.
    fn raw(&mut self) -> Result<RawFile<'_>, ArchiveError> {
        let io = |source| ArchiveError::Io { path: self.path.clone(), source };
        let reader = self.zip.files().map_err(|e| io(e.into()))?.reader_mut();
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(RawFile { reader, path: &self.path })
    }
}

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// The rule a member name breaks, if any.
fn check_name(name: &str) -> Option<Refusal> {
    let member = name.to_owned();
    let bytes = name.as_bytes();
    if name.is_empty() || name.chars().any(char::is_control) {
        Some(Refusal::BadName { member })
    } else if name.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
    {
        Some(Refusal::AbsolutePath { member })
    } else if name.split(['/', '\\']).any(|part| part == "..") {
        Some(Refusal::Traversal { member })
    } else {
        None
    }
}

/// The zip reader's error, without its generic prefix.
fn zip_reason(error: &ZipError) -> String {
    match error {
        ZipError::InvalidArchive(reason) => reason.to_string(),
        ZipError::UnsupportedArchive(reason) => format!("unsupported: {reason}"),
        other => other.to_string(),
    }
}

/// Something to compare, read in whole buffers.
trait Source {
    /// Fills `buffer` as far as the data goes: fewer bytes than its length
    /// only at the end.
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError>;
}

/// A member's uncompressed bytes, counted against the declared size.
struct MemberStream<'a> {
    file: ZipFile<'a, BufReader<File>>,
    path: &'a Path,
    member: &'a str,
    declared: u64,
    read: u64,
}

impl MemberStream<'_> {
    fn error(&self, error: std::io::Error) -> ArchiveError {
        let reason = error.to_string();
        // The zip reader stops a member at its declared size with this
        // message (zip 9); any other failure is damage.
        if reason.contains("larger than its declared uncompressed size") {
            return ArchiveError::Refused {
                path: self.path.to_owned(),
                rule: Refusal::SizeMismatch {
                    member: self.member.to_owned(),
                    declared: self.declared,
                    actual: None,
                },
            };
        }
        let reason = if reason == "Invalid checksum" { "CRC-32 mismatch".to_owned() } else { reason };
        ArchiveError::Corrupt { path: self.path.to_owned(), member: Some(self.member.to_owned()), reason }
    }

    /// Reads to the end, then checks that the size is the declared one.
    fn finish(mut self, buffer: &mut [u8]) -> Result<(), ArchiveError> {
        while self.fill(buffer)? == buffer.len() {}
        if self.read != self.declared {
            return Err(ArchiveError::Refused {
                path: self.path.to_owned(),
                rule: Refusal::SizeMismatch {
                    member: self.member.to_owned(),
                    declared: self.declared,
                    actual: Some(self.read),
                },
            });
        }
        Ok(())
    }
}

impl Source for MemberStream<'_> {
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError> {
        let filled = read_full(&mut self.file, buffer).map_err(|e| self.error(e))?;
        self.read += filled as u64;
        if self.read > self.declared {
            return Err(ArchiveError::Refused {
                path: self.path.to_owned(),
                rule: Refusal::SizeMismatch {
                    member: self.member.to_owned(),
                    declared: self.declared,
                    actual: None,
                },
            });
        }
        Ok(filled)
    }
}

/// Bytes already in memory.
impl Source for &[u8] {
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError> {
        let n = self.len().min(buffer.len());
        buffer[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// An archive file's raw bytes (for the zip-structure comparison).
struct RawFile<'a> {
    reader: &'a mut BufReader<File>,
    path: &'a Path,
}

impl Source for RawFile<'_> {
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, ArchiveError> {
        read_full(self.reader, buffer)
            .map_err(|source| ArchiveError::Io { path: self.path.to_owned(), source })
    }
}

/// Reads until `buffer` is full or the reader ends.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The two fixed read buffers every comparison reuses.
struct Buffers {
    a: Vec<u8>,
    b: Vec<u8>,
}

impl Buffers {
    fn new() -> Self {
        Self { a: vec![0; CHUNK], b: vec![0; CHUNK] }
    }
}

/// What comparing two sources found.
struct Compared {
    /// Where they first differ; `None` when identical.
    first: Option<FirstDifference>,
    /// How many leading bytes are equal.
    equal_bytes: u64,
}

/// Compares two sources up to their first difference, streaming.
fn compare_sources(
    a: &mut impl Source,
    b: &mut impl Source,
    buffers: &mut Buffers,
) -> Result<Compared, ArchiveError> {
    let (buf_a, buf_b) = (&mut buffers.a[..], &mut buffers.b[..]);
    let mut equal: u64 = 0;
    let mut line: u64 = 1;
    // The current line's bytes before the difference (its last LINE_SHOWN).
    let mut head: Vec<u8> = Vec::with_capacity(2 * LINE_SHOWN);
    let mut clipped = false;
    let mut binary = false;
    loop {
        let (na, nb) = (a.fill(buf_a)?, b.fill(buf_b)?);
        let n = na.min(nb);
        let mismatch = match buf_a[..n] == buf_b[..n] {
            true => None,
            false => buf_a[..n].iter().zip(&buf_b[..n]).position(|(x, y)| x != y),
        };
        let same = mismatch.unwrap_or(n);
        let seen = &buf_a[..same];
        binary = binary || seen.contains(&0);
        match seen.iter().rposition(|&c| c == b'\n') {
            Some(last) => {
                line += seen.iter().filter(|&&c| c == b'\n').count() as u64;
                head.clear();
                clipped = false;
                head.extend_from_slice(&seen[last + 1..]);
            }
            None => head.extend_from_slice(seen),
        }
        if head.len() > LINE_SHOWN {
            head.drain(..head.len() - LINE_SHOWN);
            clipped = true;
        }
        equal += same as u64;
        if mismatch.is_none() && na == nb {
            if na < buf_a.len() {
                return Ok(Compared { first: None, equal_bytes: equal });
            }
            continue;
        }
        let byte_a = buf_a[..na].get(same).copied();
        let byte_b = buf_b[..nb].get(same).copied();
        let tail_a = rest_of_line(&buf_a[same..na], a, na == buf_a.len())?;
        let tail_b = rest_of_line(&buf_b[same..nb], b, nb == buf_b.len())?;
        let text_a = line_text(&head, clipped, &tail_a, byte_a.is_none());
        let text_b = line_text(&head, clipped, &tail_b, byte_b.is_none());
        let first = match (text_a, text_b) {
            (Line::Text(a), Line::Text(b)) if !binary => FirstDifference::Line { line, a, b },
            _ => FirstDifference::Byte { offset: equal, a: byte_a, b: byte_b },
        };
        return Ok(Compared { first: Some(first), equal_bytes: equal });
    }
}

/// The end of a line after the difference: up to the newline or
/// [`LINE_SHOWN`] bytes, reading on from `source` when the buffer ended
/// mid-line and `more` may follow.
fn rest_of_line(after: &[u8], source: &mut impl Source, more: bool) -> Result<Tail, ArchiveError> {
    let mut bytes: Vec<u8> = after.iter().copied().take_while(|&c| c != b'\n').take(LINE_SHOWN + 1).collect();
    let newline_seen = bytes.len() < after.len().min(LINE_SHOWN + 1);
    if !newline_seen && more && bytes.len() <= LINE_SHOWN {
        let mut extra = [0u8; LINE_SHOWN + 1];
        let n = source.fill(&mut extra[..LINE_SHOWN + 1 - bytes.len()])?;
        bytes.extend(extra[..n].iter().copied().take_while(|&c| c != b'\n'));
    }
    let cut = bytes.len() > LINE_SHOWN;
    bytes.truncate(LINE_SHOWN);
    Ok(Tail { bytes, cut })
}

/// The part of a line from the first difference on.
struct Tail {
    bytes: Vec<u8>,
    /// The line goes on past `bytes`.
    cut: bool,
}

/// One side's differing line.
enum Line {
    /// Text; `None` when the side has ended before the line.
    Text(Option<String>),
    /// A NUL byte or invalid UTF-8: the content is binary.
    Binary,
}

/// One side's differing line, for display.
fn line_text(head: &[u8], clipped: bool, tail: &Tail, ended: bool) -> Line {
    if ended && head.is_empty() {
        return Line::Text(None);
    }
    if tail.bytes.contains(&0) {
        return Line::Binary;
    }
    let mut bytes = head.to_vec();
    bytes.extend_from_slice(&tail.bytes);
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        // Cut in the middle of a character by the length limit: fine.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Line::Binary,
    };
    let mut shown = String::new();
    if clipped {
        shown.push('…');
    }
    shown.push_str(text);
    if tail.cut {
        shown.push('…');
    }
    Line::Text(Some(shown))
}

/// Compares member `i` of `a` with member `j` of `b`.
fn compare_member(
    a: &mut Archive,
    i: usize,
    b: &mut Archive,
    j: usize,
    buffers: &mut Buffers,
) -> Result<Vec<Difference>, ArchiveError> {
    let name = a.members[i].name.clone();
    let mut differences = Vec::new();
    let (entry_a, entry_b) = (&a.members[i].entry, &b.members[j].entry);
    let sizes = (entry_a.size(), entry_b.size());
    let packing = |entry: &OwnedZipFileEntry| Packing {
        method: entry.compression().to_string(),
        compressed_size: entry.compressed_size(),
    };
    let (packing_a, packing_b) = (packing(entry_a), packing(entry_b));
    let (time_a, time_b) = (entry_a.last_modified(), entry_b.last_modified());
    let (mode_a, mode_b) = (entry_a.external_attributes(), entry_b.external_attributes());

    // Where the content first differs, unless field differences explain it.
    let first = match structured_kind(&name) {
        Some(kind) => match (a.read_small(i, &mut buffers.a)?, b.read_small(j, &mut buffers.b)?) {
            (Some(x), Some(y)) if x == y => None,
            (Some(x), Some(y)) => {
                let fields = match kind {
                    Structured::Headers => diff_headers(&name, &x, &y),
                    Structured::Record => diff_record(&name, &x, &y),
                };
                match fields {
                    Some(fields) if !fields.is_empty() => {
                        differences.extend(fields);
                        None
                    }
                    // Unparsable, or the same fields in other bytes: the bytes tell.
                    _ => compare_sources(&mut x.as_slice(), &mut y.as_slice(), buffers)?.first,
                }
            }
            _ => stream_difference(a, i, b, j, buffers)?,
        },
        None => stream_difference(a, i, b, j, buffers)?,
    };
    let content_equal = first.is_none() && differences.is_empty();
    if let Some(first) = first {
        differences.push(Difference::Content { member: name.clone(), first, sizes });
    }

    if time_a != time_b {
        differences.push(Difference::Timestamp { member: name.clone(), a: time_a, b: time_b });
    }
    if mode_a != mode_b {
        differences.push(Difference::Mode { member: name.clone(), a: mode_a, b: mode_b });
    }
    if packing_a.method != packing_b.method || (content_equal && packing_a != packing_b) {
        differences.push(Difference::Compression { member: name, a: packing_a, b: packing_b });
    }
    Ok(differences)
}

/// Streams member `i` of `a` against member `j` of `b`, reading both to the
/// end; where they first differ, if they do.
fn stream_difference(
    a: &mut Archive,
    i: usize,
    b: &mut Archive,
    j: usize,
    buffers: &mut Buffers,
) -> Result<Option<FirstDifference>, ArchiveError> {
    let mut stream_a = a.stream(i)?;
    let mut stream_b = b.stream(j)?;
    let compared = compare_sources(&mut stream_a, &mut stream_b, buffers)?;
    stream_a.finish(&mut buffers.a)?;
    stream_b.finish(&mut buffers.b)?;
    Ok(compared.first)
}

/// Members compared field by field.
enum Structured {
    /// `METADATA` and `WHEEL`: RFC 822-style headers.
    Headers,
    /// `RECORD`: CSV rows of path, hash, size.
    Record,
}

/// Whether `name` is a `.dist-info` file compared field by field.
fn structured_kind(name: &str) -> Option<Structured> {
    let (dir, file) = name.split_once('/')?;
    if !dir.ends_with(".dist-info") {
        return None;
    }
    match file {
        "METADATA" | "WHEEL" => Some(Structured::Headers),
        "RECORD" => Some(Structured::Record),
        _ => None,
    }
}

/// Header fields of `METADATA`/`WHEEL`: each name with its values in
/// order, and the body (after the first empty line) as `Description`.
/// `None` if it is not UTF-8 or a line is neither a header nor a
/// continuation.
fn parse_headers(bytes: &[u8]) -> Option<Vec<(String, Vec<String>)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut fields: Vec<(String, Vec<String>)> = Vec::new();
    let mut last: Option<(String, String)> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = last.as_mut()?;
            value.push('\n');
            value.push_str(line.trim_start());
            continue;
        }
        let (name, value) = line.split_once(':')?;
        if let Some((name, value)) = last.take() {
            push_value(&mut fields, &name, value);
        }
        last = Some((name.trim().to_owned(), value.trim().to_owned()));
    }
    if let Some((name, value)) = last {
        push_value(&mut fields, &name, value);
    }
    if !rest.is_empty() {
        push_value(&mut fields, "Description", rest.to_owned());
    }
    Some(fields)
}

/// Adds `value` to the field `name`.
fn push_value(fields: &mut Vec<(String, Vec<String>)>, name: &str, value: String) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some((_, values)) => values.push(value),
        None => fields.push((name.to_owned(), vec![value])),
    }
}

/// Field differences of two header files; `None` if either does not parse.
fn diff_headers(member: &str, a: &[u8], b: &[u8]) -> Option<Vec<Difference>> {
    let (a, b) = (parse_headers(a)?, parse_headers(b)?);
    let mut names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    names.extend(b.iter().map(|(n, _)| n.as_str()).filter(|n| !a.iter().any(|(m, _)| m == n)));
    let values = |fields: &[(String, Vec<String>)], name: &str| {
        fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    Some(
        names
            .into_iter()
            .filter_map(|name| {
                let (va, vb) = (values(&a, name), values(&b, name));
                (va != vb).then(|| Difference::Field {
                    member: member.to_owned(),
                    field: name.to_owned(),
                    a: va,
                    b: vb,
                })
            })
            .collect(),
    )
}

/// `RECORD` rows (path, hash, size) in order; `None` if it is not UTF-8 CSV
/// of three fields a row.
fn parse_record(bytes: &[u8]) -> Option<Vec<(String, RecordRow)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut rows = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut row_started = false;
    while let Some(c) = chars.next() {
        row_started = true;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                rows.push(record_row(std::mem::take(&mut fields))?);
                row_started = false;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    if row_started {
        fields.push(field);
        rows.push(record_row(fields)?);
    }
    Some(rows)
}

fn record_row(fields: Vec<String>) -> Option<(String, RecordRow)> {
    let [path, hash, size]: [String; 3] = fields.try_into().ok()?;
    Some((path, RecordRow { hash, size }))
}

/// Row differences of two `RECORD` files; `None` if either does not parse.
fn diff_record(member: &str, a: &[u8], b: &[u8]) -> Option<Vec<Difference>> {
    let (a, b) = (parse_record(a)?, parse_record(b)?);
    let index_b: HashMap<&str, &RecordRow> = b.iter().map(|(p, r)| (p.as_str(), r)).collect();
    let index_a: HashMap<&str, &RecordRow> = a.iter().map(|(p, r)| (p.as_str(), r)).collect();
    let row = |path: &str, x: Option<&&RecordRow>, y: Option<&&RecordRow>| Difference::Record {
        member: member.to_owned(),
        path: path.to_owned(),
        a: x.map(|r| (*r).clone()),
        b: y.map(|r| (*r).clone()),
    };
    let mut differences: Vec<Difference> = a
        .iter()
        .filter(|(path, r)| index_b.get(path.as_str()) != Some(&r))
        .map(|(path, _)| row(path, index_a.get(path.as_str()), index_b.get(path.as_str())))
        .collect();
    differences.extend(
        b.iter()
            .filter(|(path, _)| !index_a.contains_key(path.as_str()))
            .map(|(path, r)| row(path, None, Some(&r))),
    );
    Some(differences)
}

/// A member or path name, shown as is when plain, else quoted and escaped.
struct Name<'a>(&'a str);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && !self.0.chars().any(|c| c.is_control() || c.is_whitespace() || c == '`' || c == '"');
        if plain { f.write_str(self.0) } else { write!(f, "{:?}", self.0) }
    }
}

/// A value from a file, shown as is when plain.
struct Plain<'a>(&'a str);

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("(empty)") } else { Name(self.0).fmt(f) }
    }
}

/// A header value: quoted, escaped, at most [`VALUE_SHOWN`] characters.
struct Value<'a>(&'a str);

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(VALUE_SHOWN) {
            Some((at, _)) => write!(f, "{:?}…", &self.0[..at]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// A differing line: quoted and escaped, or `(end of file)`.
struct Shown<'a>(Option<&'a str>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, "{line:?}"),
            None => f.write_str("(end of file)"),
        }
    }
}

/// A byte in hex, or `end of file`.
struct Byte(Option<u8>);

impl fmt::Display for Byte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(byte) => write!(f, "0x{byte:02x}"),
            None => f.write_str("end of file"),
        }
    }
}

/// A zip timestamp, or `none` when the field holds no valid date.
struct Time(Option<DateTime>);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(time) => time.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// External attributes: the Unix mode in octal when the upper 16 bits hold
/// one, else the attributes in hex.
struct Mode(u32);

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 >> 16 {
            0 => write!(f, "attributes 0x{:08x}", self.0),
            mode => write!(f, "{mode:06o}"),
        }
    }
}
