//! What differs between two wheels, and how each difference reads.

use std::collections::BTreeSet;
use std::fmt;

use gate_core::Evidence;
use zip::DateTime;

use crate::show::{Byte, Mode, Name, Plain, Shown, Time, Value};

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
pub(crate) fn describe_values(f: &mut fmt::Formatter<'_>, a: &[String], b: &[String]) -> fmt::Result {
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
