//! File utilities every crate shares: one atomic writer that replaces only
//! regular files, and one bounded reader that opens only regular files.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Something other than a regular file is at the path.
    #[error("cannot write {path}: it is {what}, not a regular file; refusing to replace it")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What is there: "a symbolic link", "a FIFO", ….
        what: &'static str,
    },
    /// The directory to write in does not exist.
    #[error("cannot write {path}: directory {dir} does not exist")]
    NoDirectory {
        /// The path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// An I/O error.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

/// What a non-regular file is, in words; `None` for a regular file.
pub fn non_regular_kind(file_type: std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_file() {
        return None;
    }
    Some(if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            if file_type.is_fifo() {
                "a FIFO"
            } else if file_type.is_socket() {
                "a socket"
            } else if file_type.is_block_device() || file_type.is_char_device() {
                "a device"
            } else {
                "a special file"
            }
        }
        #[cfg(not(unix))]
        {
            "a special file"
        }
    })
}

/// Writes `bytes` to `path` under a temporary name in the same directory,
/// synced, then renamed over `path`: a reader sees the old file or the new
/// one, never half of one, and a failed write leaves nothing behind.
///
/// Only a regular file is replaced: a symbolic link, FIFO, socket, device or
/// directory at `path` is refused before anything is written. With
/// `create_dirs`, missing directories are made; without, a missing
/// directory is an error.
pub fn write_atomic(path: &Path, bytes: &[u8], create_dirs: bool) -> Result<(), WriteError> {
    write_replacing(path, bytes, create_dirs, true)
}

/// [`write_atomic`] for a cache entry, which is not synced to the disk
/// first: a reader still sees the old file or the new one, never half of
/// one, but after a power loss the entry may be empty or gone, so whoever
/// reads a cache must check what it reads (a hash, a parse) and fetch again
/// when it does not hold. Syncing every entry of a cold run took longer
/// than everything else the run did.
pub fn write_cache_entry(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_replacing(path, bytes, true, false)
}

/// [`write_atomic`], synced or not.
fn write_replacing(path: &Path, bytes: &[u8], create_dirs: bool, synced: bool) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    match std::fs::symlink_metadata(path) {
        Ok(metadata) => {
            if let Some(what) = non_regular_kind(metadata.file_type()) {
                return Err(WriteError::NotRegular { path: path.to_owned(), what });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if create_dirs {
        std::fs::create_dir_all(dir).map_err(io)?;
    } else if !dir.is_dir() {
        return Err(WriteError::NoDirectory { path: path.to_owned(), dir: dir.to_owned() });
    }
    let mut temporary = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    temporary.write_all(bytes).map_err(io)?;
    if synced {
        temporary.as_file().sync_all().map_err(io)?;
    }
    temporary.persist(path).map(drop).map_err(|e| io(e.error))
}

/// Why a file could not be read by [`read_bounded`].
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing is at the path.
    #[error("{} does not exist", path.display())]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// Something other than a regular file is at the path.
    #[error("{} is {what}, not a regular file; refusing to open it", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What is there: "a symbolic link", "a FIFO", ….
        what: &'static str,
    },
    /// The file is larger than the limit.
    #[error("{} is larger than the {limit}-byte limit for this file", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// An I/O error.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

/// Reads a whole small file, refusing one larger than `limit` bytes and,
/// before opening anything, one that is not a regular file (a symbolic
/// link, FIFO, socket, device or directory).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing { path: path.to_owned() },
        _ => ReadError::Io { path: path.to_owned(), source },
    };
    let metadata = std::fs::symlink_metadata(path).map_err(io)?;
    if let Some(what) = non_regular_kind(metadata.file_type()) {
        return Err(ReadError::NotRegular { path: path.to_owned(), what });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    read_open_bounded(file, limit)
        .map_err(io)?
        .ok_or_else(|| ReadError::TooLarge { path: path.to_owned(), limit })
}

/// Reads an open file to its end, or `None` when it holds more than
/// `limit` bytes. The buffer is sized from the file's length, so that a
/// large file is read in place rather than into a buffer that grows (and
/// is copied) through every power of two.
pub fn read_open_bounded(file: std::fs::File, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let length = file.metadata().map_or(0, |m| m.len());
    // One more byte than the limit tells a file over it; one more than
    // the length saves a growth to see the end.
    let room = usize::try_from(length.min(limit).saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(room);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_read_sizes_its_buffer_from_the_file_and_refuses_one_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sums");
        let text = vec![b'x'; 100_000];
        std::fs::write(&path, &text).unwrap();
        let open = || std::fs::File::open(&path).unwrap();
        let bytes = read_open_bounded(open(), 1_000_000).unwrap().unwrap();
        assert_eq!(bytes, text);
        assert!(bytes.capacity() <= text.len() + 1, "grown to {} for {} bytes", bytes.capacity(), text.len());
        assert_eq!(read_open_bounded(open(), 100_000).unwrap(), Some(text), "a file at the limit is read");
        assert_eq!(read_open_bounded(open(), 99_999).unwrap(), None, "one byte over is refused");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(read_open_bounded(open(), 0).unwrap(), Some(Vec::new()));
    }

    #[test]
    fn replaces_a_regular_file_and_creates_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"one", false).unwrap();
        write_atomic(&path, b"two", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_links_fifos_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        for (path, what) in
            [(&link, "a symbolic link"), (&fifo, "a FIFO"), (&dir.path().to_owned(), "a directory")]
        {
            let err = write_atomic(path, b"x", false).unwrap_err();
            assert!(matches!(err, WriteError::NotRegular { what: w, .. } if w == what), "{err}");
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_cache_entry_is_replaced_whole_in_a_directory_made_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/pages/p.json");
        write_cache_entry(&path, b"one").unwrap();
        write_cache_entry(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file is left"
        );
        let link = dir.path().join("cache/link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(matches!(write_cache_entry(&link, b"x"), Err(WriteError::NotRegular { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn a_missing_directory_is_an_error_unless_asked_to_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/report.json");
        assert!(matches!(write_atomic(&path, b"x", false), Err(WriteError::NoDirectory { .. })));
        write_atomic(&path, b"x", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }

    #[test]
    fn read_bounded_reads_a_regular_file_within_its_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"12345");
        let error = read_bounded(&file, 4).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge { limit: 4, .. }), "{error:?}");
        let error = read_bounded(dir.path(), 100).unwrap_err();
        assert!(matches!(error, ReadError::NotRegular { what: "a directory", .. }), "{error:?}");
        assert!(matches!(read_bounded(&dir.path().join("none"), 1), Err(ReadError::Missing { .. })));
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            let error = read_bounded(&link, 100).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{} is a symbolic link, not a regular file; refusing to open it", link.display())
            );
        }
    }
}
