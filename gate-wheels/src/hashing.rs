//! The `hash` items of a set's listed wheels: each wheel's type checked
//! before it is opened, then its bytes hashed (or read as a Git LFS pointer)
//! and compared with the sums file.
//!
//! On a sums file of many small wheels the system calls are most of the
//! work, so each wheel is looked up by its name in the wheels directory and
//! opened once: `openat` on a directory descriptor resolves one path
//! component where a full path resolves them all. A wheel whose directory
//! entry already said "regular file" (the listing reads the types with the
//! names) is not `stat`ed again; any other is checked with `fstatat` before
//! it is opened. Either way it is opened without following a link and
//! without blocking, so a file replaced since by a link or a FIFO is refused
//! or read as empty, never followed or waited on.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use gate_core::digest::hex;
use gate_core::{Context, Evidence, Item, Location};
use rayon::prelude::*;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::digest::{HashError, sha256_rest};
use crate::layout::{self, WheelSet, wheel_subject};
use crate::{Check, lfs, sums};

/// The wheels of a set still to hash: where they are, and the sums file
/// lines of the entries to hash, in name order.
pub(crate) struct Hashing {
    /// The wheels directory, resolved inside the repository.
    pub(crate) wheels_dir: PathBuf,
    /// The sums file line of each entry to hash, in name order, and whether
    /// the directory listing showed a regular file by its name.
    pub(crate) listed: Vec<(u32, bool)>,
}

impl Hashing {
    /// Adds the `hash` items of the set's wheels to `items`, hashed on the
    /// current rayon pool and written in place.
    pub(crate) fn extend_items(
        &self,
        ctx: &Context,
        set: &WheelSet,
        entries: &[sums::Entry],
        items: &mut Vec<Item>,
    ) {
        let cancelled = || ctx.cancel.is_cancelled();
        // Small files take microseconds each: they are named together, and
        // only a file too large for a pointer is named on its own.
        ctx.working_on(format!("checking the hashes of {} wheels listed in {}", self.listed.len(), set.sums));
        let activity = |subject: &str| ctx.working_on(format!("checking the hash of {subject}"));
        let dir = WheelsDir::open(&self.wheels_dir);
        // Entries are in line order, one per line.
        let entry = |line: u32| &entries[entries.partition_point(|e| e.line < line)];
        items.par_extend(self.listed.par_iter().map(|&(line, regular)| {
            let mut item = check_wheel(&dir, set, &set.sums, (entry(line), regular), &cancelled, &activity);
            // Made here, in parallel, rather than by the runner.
            item.id = item.id_in(crate::NAME);
            item
        }));
    }
}

/// The wheels directory: its path, and a descriptor of it to look names up
/// in, when it could be opened (else each wheel is looked up by its path,
/// which fails the same way).
struct WheelsDir {
    path: PathBuf,
    fd: Option<OwnedFd>,
}

/// What a name in the wheels directory is, not following a link.
enum Kind {
    /// A regular file.
    File,
    /// Anything else: a link, a FIFO, a socket, a device or a directory.
    Other(std::fs::FileType),
}

impl WheelsDir {
    fn open(path: &Path) -> Self {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Self { path: path.to_owned(), fd: rustix::fs::open(path, flags, Mode::empty()).ok() }
    }

    /// What `name` is, without following a link.
    fn kind(&self, name: &str) -> std::io::Result<Kind> {
        let Some(fd) = &self.fd else {
            return Ok(Self::kind_of(std::fs::symlink_metadata(self.path.join(name))?));
        };
        let stat = rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW)?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => Ok(Kind::File),
            // Rare: the message names the type, so ask std for it.
            _ => Ok(Self::kind_of(std::fs::symlink_metadata(self.path.join(name))?)),
        }
    }

    fn kind_of(metadata: std::fs::Metadata) -> Kind {
        match metadata.file_type().is_file() {
            true => Kind::File,
            false => Kind::Other(metadata.file_type()),
        }
    }

    /// The start of `name`: the whole file when it is shorter than
    /// `buffer`, read with no other system call than open, read and close;
    /// else the full buffer and the open file to read the rest from. It is
    /// opened without following a link and without blocking, so a link is
    /// refused and a FIFO is read as empty, not waited on.
    fn read_start<'b>(&self, name: &str, buffer: &'b mut [u8]) -> std::io::Result<Start<'b>> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = match &self.fd {
            Some(fd) => rustix::fs::openat(fd, name, flags, Mode::empty())?,
            None => rustix::fs::open(self.path.join(name), flags, Mode::empty())?,
        };
        let mut filled = 0;
        loop {
            match rustix::io::read(&file, &mut buffer[filled..]) {
                Ok(0) => return Ok(Start::Whole(&buffer[..filled])),
                Ok(n) => filled += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            if filled == buffer.len() {
                return Ok(Start::Larger(std::fs::File::from(file), buffer));
            }
        }
    }
}

/// What [`WheelsDir::read_start`] read.
enum Start<'b> {
    /// The whole file.
    Whole(&'b [u8]),
    /// A full buffer; the rest is still to read from the file.
    Larger(std::fs::File, &'b [u8]),
}

/// The item of one listed wheel: missing, refused, or its hash compared.
/// Its type is checked before it is opened: a symbolic link (inside the
/// repository or not), FIFO, socket, device or directory is an error.
fn check_wheel(
    dir: &WheelsDir,
    set: &WheelSet,
    sums_name: &str,
    (entry, listed_regular): (&sums::Entry, bool),
    cancelled: &(dyn Fn() -> bool + Sync),
    activity: &(dyn Fn(&str) + Sync),
) -> Item {
    let subject = wheel_subject(set, &entry.name);
    let listed_at = Location::at(sums_name, entry.line, 1);
    if entry.name.contains(['/', '\\', '\0']) || entry.name == ".." || entry.name == "." {
        return Check::UnsafePath
            .fail(subject, "listed name is a path, not a file name in the wheels directory")
            .at(listed_at);
    }
    let missing = || {
        Check::Missing.fail(&subject, format!("listed in {sums_name} but not present")).at(listed_at.clone())
    };
    if !listed_regular {
        match dir.kind(&entry.name) {
            Ok(Kind::File) => {}
            Ok(Kind::Other(file_type)) => {
                let kind = layout::kind(&file_type);
                return Check::UnsafePath
                    .error(
                        &subject,
                        format!(
                            "{subject} is a {kind}, not a regular file; refusing to open it: commit the wheel itself"
                        ),
                    )
                    .with(Evidence::hash("sha256", entry.sha256.clone(), None))
                    .at(listed_at);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return missing(),
            Err(e) => return Check::Hash.error(subject, format!("cannot read: {e}")).at(listed_at),
        }
    }
    // A small file is read once, into the stack: as an LFS pointer if it is
    // one, else hashed from the bytes already read; a larger one is hashed
    // on from the same open file.
    let mut buffer = [0u8; lfs::MAX_POINTER_BYTES as usize + 1];
    // Only a large file and an error name the path: not built per wheel.
    let path = || dir.path.join(&entry.name);
    let hashed = match dir.read_start(&entry.name, &mut buffer) {
        Ok(Start::Whole(bytes)) => {
            if let Some(pointer) = lfs::parse(bytes).transpose() {
                let pointer = match pointer {
                    Ok(pointer) => pointer,
                    Err(e) => return lfs::invalid_item(&subject, &e).at(listed_at),
                };
                let evidence = Evidence::hash("sha256", entry.sha256.clone(), Some(pointer.oid.clone()));
                let size = Evidence::fact("LFS object size", pointer.size.to_string());
                return if pointer.oid == entry.sha256 {
                    Check::Hash
                        .pass(subject, "Git LFS pointer names the listed SHA-256 (object not downloaded)")
                } else {
                    Check::Hash.fail(subject, format!("Git LFS pointer's oid differs from {sums_name}"))
                }
                .with(evidence)
                .with(size)
                .at(listed_at);
            }
            use sha2::Digest as _;
            Ok((hex(&sha2::Sha256::digest(bytes)), bytes.len() as u64))
        }
        Ok(Start::Larger(file, start)) => {
            // Worth naming if the gate times out: a large file takes a while.
            activity(&subject);
            sha256_rest(file, start, &path(), cancelled).map_err(|e| e.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return missing(),
        Err(source) => Err(HashError::Io { path: path().display().to_string(), source }.to_string()),
    };
    match hashed {
        Ok((actual, size)) => {
            let item = if actual == entry.sha256 {
                Check::Hash.pass(subject, "SHA-256 matches")
            } else {
                Check::Hash.fail(subject, format!("SHA-256 differs from {sums_name}"))
            };
            // Three pieces, in a list made for three: a first push would
            // make room for four, on every listed wheel.
            let mut item = item;
            item.evidence = vec![
                Evidence::hash("sha256", entry.sha256.clone(), Some(actual)),
                Evidence::fact("size", format!("{size} bytes")),
                Evidence::Location(listed_at),
            ];
            item
        }
        Err(reason) => Check::Hash
            .error(subject, reason)
            .with(Evidence::hash("sha256", entry.sha256.clone(), None))
            .at(listed_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_file_is_read_whole_and_a_larger_one_is_left_open_after_a_full_buffer() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("small"), b"1234567").unwrap();
        std::fs::write(temp.path().join("large"), b"123456789").unwrap();
        for dir in [WheelsDir::open(temp.path()), WheelsDir { path: temp.path().to_owned(), fd: None }] {
            let mut buffer = [0u8; 8];
            assert!(matches!(dir.read_start("small", &mut buffer).unwrap(), Start::Whole(b"1234567")));
            let Start::Larger(mut rest, start) = dir.read_start("large", &mut buffer).unwrap() else {
                panic!("8 bytes do not hold a 9-byte file")
            };
            assert_eq!(start, b"12345678");
            let mut tail = Vec::new();
            std::io::Read::read_to_end(&mut rest, &mut tail).unwrap();
            assert_eq!(tail, b"9");
        }
    }

    #[test]
    fn a_name_is_judged_without_following_links_and_a_fifo_never_blocks() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("wheel"), b"12345").unwrap();
        std::os::unix::fs::symlink("wheel", temp.path().join("link")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            temp.path().join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        for dir in [WheelsDir::open(temp.path()), WheelsDir { path: temp.path().to_owned(), fd: None }] {
            assert!(matches!(dir.kind("wheel").unwrap(), Kind::File));
            assert!(matches!(dir.kind("link").unwrap(), Kind::Other(t) if t.is_symlink()));
            assert!(
                matches!(dir.kind("fifo").unwrap(), Kind::Other(t) if layout::kind(&t).starts_with("FIFO"))
            );
            assert_eq!(dir.kind("absent").err().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
            let mut buffer = [0u8; 8];
            // Were the link followed or the FIFO waited on, these would not fail (or not return).
            assert!(dir.read_start("link", &mut buffer).is_err(), "a link is not followed");
            assert!(
                matches!(dir.read_start("fifo", &mut buffer), Ok(Start::Whole(b""))),
                "a FIFO is not waited on"
            );
        }
    }
}
