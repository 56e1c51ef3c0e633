//! A directory's file names, listed in one pass: the wheels that the sums
//! file does not list, and which listed ones are regular files.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::layout::{PathError, Repo};

/// The non-hidden names of a directory, in listing order, each with
/// whether its directory entry says it is a regular file (the type the
/// listing already holds on Linux: no `stat` per name). All names are in
/// one buffer, not a `String` each.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    names: String,
    /// Where each name ends in `names`, and whether it is a regular file.
    ends: Vec<(usize, bool)>,
}

impl Listing {
    /// Each name (lossily UTF-8) and whether it is a regular file.
    pub(crate) fn files(&self) -> impl Iterator<Item = (&str, bool)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(end, _)| end));
        starts.zip(&self.ends).map(|(start, &(end, regular))| (&self.names[start..end], regular))
    }
}

/// The listing of a set's wheels directory, which either of two threads
/// may make. The gate's pool lists each wanted directory as soon as a
/// thread is free (the other is reading the sums file); the thread that
/// needs it makes it itself unless another thread already is, and then
/// waits for that one. It never waits for work still queued, so with one
/// job it is made where it is needed.
#[derive(Debug, Default)]
pub(crate) struct Prelisting {
    started: AtomicBool,
    /// `None` when the thread making it panicked.
    listing: OnceLock<Option<Result<Listing, PathError>>>,
}

impl Prelisting {
    /// Lists `wheels` in `repo`, unless a thread already has started to.
    pub(crate) fn make(&self, repo: &Repo, wheels: &str) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        /// Records "unfinished" if the listing panics, so that no thread
        /// waits for it for ever (the panic itself goes on to the gate).
        struct Unfinished<'a>(&'a OnceLock<Option<Result<Listing, PathError>>>);
        impl Drop for Unfinished<'_> {
            fn drop(&mut self) {
                let _ = self.0.set(None);
            }
        }
        let unfinished = Unfinished(&self.listing);
        let listing = repo.dir(wheels).and_then(|dir| {
            list_files(&dir).map_err(|source| PathError::Io { path: wheels.to_owned(), source })
        });
        let _ = self.listing.set(Some(listing));
        drop(unfinished);
    }

    /// The listing of `wheels`: made here, or by the thread making it.
    pub(crate) fn get(&self, repo: &Repo, wheels: &str) -> Option<&Result<Listing, PathError>> {
        self.make(repo, wheels);
        self.listing.wait().as_ref()
    }
}

/// Lists `dir`.
pub(crate) fn list_files(dir: &Path) -> std::io::Result<Listing> {
    use rustix::fs::{FileType, Mode, OFlags, RawDir};
    let fd = rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    // Room for many entries per system call; an entry is at most 280 bytes.
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut entries = RawDir::new(&fd, buffer.spare_capacity_mut());
    let mut listing = Listing::default();
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name.starts_with(b".") {
            continue; // hidden, `.` and `..`
        }
        listing.names.push_str(&String::from_utf8_lossy(name));
        listing.ends.push((listing.names.len(), entry.file_type() == FileType::RegularFile));
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whichever thread comes first lists the directory, once; the other
    /// gets that listing, waiting if it is being made.
    #[test]
    fn a_prelisting_is_made_once_by_whichever_thread_comes_first() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::create_dir(temp.path().join("w")).unwrap();
        std::fs::write(temp.path().join("w/a.whl"), b"a").unwrap();
        let repo = Repo::new(temp.path()).unwrap();
        let names = |listing: Option<&Result<Listing, PathError>>| -> Vec<String> {
            listing.unwrap().as_ref().unwrap().files().map(|(n, _)| n.to_owned()).collect()
        };
        let alone = Prelisting::default();
        assert_eq!(names(alone.get(&repo, "w")), ["a.whl"], "made where it is needed");
        for _ in 0..50 {
            let shared = Prelisting::default();
            std::thread::scope(|scope| {
                scope.spawn(|| shared.make(&repo, "w"));
                assert_eq!(names(shared.get(&repo, "w")), ["a.whl"]);
            });
        }
        let missing = Prelisting::default();
        assert!(matches!(missing.get(&repo, "nowhere"), Some(Err(PathError::Missing { .. }))));
    }

    /// The listing names each non-hidden entry once, with whether its
    /// directory entry says "regular file": a link, a FIFO or a directory
    /// is not, whatever it points to.
    #[test]
    fn the_listing_reads_names_and_types_from_the_directory_entries() {
        use std::os::unix::ffi::OsStrExt as _;
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        std::fs::write(dir.join("a.whl"), b"a").unwrap();
        std::fs::write(dir.join(".hidden.whl"), b"h").unwrap();
        std::os::unix::fs::symlink("a.whl", dir.join("link.whl")).unwrap();
        std::fs::create_dir(dir.join("sub.whl")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join("fifo.whl"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"bad\xff.whl")), b"b").unwrap();
        // Enough names for several reads of the directory.
        for i in 0..3000 {
            std::fs::write(dir.join(format!("n{i:04}-{}.whl", "x".repeat(200))), b"").unwrap();
        }
        let listing = list_files(dir).unwrap();
        let mut seen: Vec<(String, bool)> = listing.files().map(|(n, r)| (n.to_owned(), r)).collect();
        seen.sort();
        assert_eq!(seen.len(), 3005, "every name once, the hidden one not");
        let few: Vec<(&str, bool)> =
            seen.iter().filter(|(n, _)| !n.starts_with('n')).map(|(n, r)| (n.as_str(), *r)).collect();
        assert_eq!(
            few,
            [
                ("a.whl", true),
                ("bad\u{fffd}.whl", true),
                ("fifo.whl", false),
                ("link.whl", false),
                ("sub.whl", false)
            ]
        );
        assert!(seen.iter().filter(|(n, _)| n.starts_with('n')).all(|(_, r)| *r));
        assert!(list_files(&dir.join("a.whl")).is_err(), "not a directory");
    }
}
