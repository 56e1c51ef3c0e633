//! An opened wheel whose central directory passed the limits and the
//! safety rules.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use zip::CompressionMethod;
use zip::read::{Config, OwnedZipFileEntry, ZipReadOptions};
use zip::result::ZipError;
use zip::unstable::read::ZipIterable;

use crate::error::{ArchiveError, Refusal};
use crate::limits::{Limits, MAX_STRUCTURED_BYTES, RATIO_EXEMPT_BYTES};
use crate::stream::{MemberStream, RawFile, Source as _};

/// One member's central directory entry, with its name decoded.
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) entry: OwnedZipFileEntry,
}

/// An opened, checked archive.
pub(crate) struct Archive {
    pub(crate) path: PathBuf,
    pub(crate) zip: ZipIterable<BufReader<File>>,
    pub(crate) members: Vec<Member>,
}

impl Archive {
    /// Opens `path` and checks its central directory against the limits and
    /// the safety rules.
    pub(crate) fn open(path: &Path, limits: &Limits) -> Result<Self, ArchiveError> {
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
    pub(crate) fn stream(&mut self, index: usize) -> Result<MemberStream<'_>, ArchiveError> {
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
    pub(crate) fn drain(&mut self, index: usize, buffer: &mut [u8]) -> Result<(), ArchiveError> {
        self.stream(index)?.finish(buffer)
    }

    /// Member `index`'s whole content, when it is small enough to parse.
    pub(crate) fn read_small(
        &mut self,
        index: usize,
        buffer: &mut [u8],
    ) -> Result<Option<Vec<u8>>, ArchiveError> {
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
    pub(crate) fn raw(&mut self) -> Result<RawFile<'_>, ArchiveError> {
        let io = |source| ArchiveError::Io { path: self.path.clone(), source };
        let reader = self.zip.files().map_err(|e| io(e.into()))?.reader_mut();
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(RawFile { reader, path: &self.path })
    }
}

pub(crate) const S_IFMT: u32 = 0o170_000;
pub(crate) const S_IFLNK: u32 = 0o120_000;

/// The rule a member name breaks, if any.
pub(crate) fn check_name(name: &str) -> Option<Refusal> {
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
pub(crate) fn zip_reason(error: &ZipError) -> String {
    match error {
        ZipError::InvalidArchive(reason) => reason.to_string(),
        ZipError::UnsupportedArchive(reason) => format!("unsupported: {reason}"),
        other => other.to_string(),
    }
}
