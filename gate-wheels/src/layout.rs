//! Recognising where a repository keeps its wheels and their sums, and
//! reading them without leaving the repository.
//!
//! Every path the gate reads goes through [`Repo`]: a path must be relative
//! and without `..` (configured paths are refused when the configuration is
//! read), must resolve inside the repository once its directories' symbolic
//! links are followed, and a file must be a regular file, never a symbolic
//! link, FIFO, socket or device, which is checked before it is opened.

use std::fs::FileType;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Deserializer};

/// A sums file and the directory its names refer to.
///
/// Every path is relative to the repository root and may not contain `..`:
/// an absolute path or one with `..` is refused when the configuration is
/// read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelSet {
    /// The sums file, relative to the repository root.
    #[serde(deserialize_with = "repo_path")]
    pub sums: String,
    /// The directory holding the listed files, relative to the repository root.
    #[serde(deserialize_with = "repo_path")]
    pub wheels: String,
    /// The detached signature of the sums file [default: `<sums>.asc`].
    #[serde(default, deserialize_with = "optional_repo_path")]
    pub signature: Option<String>,
    /// The directory of public keys the signature must verify against
    /// [default: `pubkeys`].
    #[serde(default, deserialize_with = "optional_repo_path")]
    pub pubkeys: Option<String>,
    /// Requirements files whose `--hash` pins must match this set's wheels
    /// [default: `requirements.txt` and `build-requirements.txt` found at the
    /// root or beside the sums file, each checked against the set sharing
    /// most of its hashes].
    #[serde(default, deserialize_with = "repo_paths")]
    pub requirements: Vec<String>,
}

fn repo_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let path = String::deserialize(deserializer)?;
    check_inside(&path).map_err(serde::de::Error::custom)?;
    Ok(path)
}

fn optional_repo_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    repo_path(deserializer).map(Some)
}

fn repo_paths<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let paths = Vec::<String>::deserialize(deserializer)?;
    for path in &paths {
        check_inside(path).map_err(serde::de::Error::custom)?;
    }
    Ok(paths)
}

impl WheelSet {
    /// A set with default signature and key locations.
    pub fn new(sums: impl Into<String>, wheels: impl Into<String>) -> Self {
        Self {
            sums: sums.into(),
            wheels: wheels.into(),
            signature: None,
            pubkeys: None,
            requirements: Vec::new(),
        }
    }

    /// The signature file's path.
    pub fn signature_path(&self) -> String {
        self.signature.clone().unwrap_or_else(|| format!("{}.asc", self.sums))
    }

    /// The key directory's path.
    pub fn pubkeys_dir(&self) -> &str {
        self.pubkeys.as_deref().unwrap_or("pubkeys")
    }

    /// `sums → wheels/`, for notes.
    pub fn describe(&self) -> String {
        format!("{} → {}/", self.sums, self.wheels)
    }

    /// The first of the set's paths that is not a path inside the
    /// repository, with its key and why: a set built in code skips the
    /// check the configuration's reader makes.
    pub(crate) fn outside_path(&self) -> Option<(&'static str, PathError)> {
        let requirements = self.requirements.iter().map(|r| ("requirements", r.as_str()));
        [("sums", self.sums.as_str()), ("wheels", self.wheels.as_str())]
            .into_iter()
            .chain(self.signature.as_deref().map(|s| ("signature", s)))
            .chain(self.pubkeys.as_deref().map(|p| ("pubkeys", p)))
            .chain(requirements)
            .find_map(|(key, path)| check_inside(path).err().map(|e| (key, e)))
    }
}

/// Why a path of the repository is refused or cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// Absolute, empty, or with a `..` component.
    #[error("`{path}` is not a path inside the repository: expected a relative path without `..`")]
    NotInside {
        /// The path as written.
        path: String,
    },
    /// Resolves outside the repository through a symbolic link.
    #[error("{path} leads outside the repository through a symbolic link; refusing to read it")]
    Escapes {
        /// The path, relative to the repository.
        path: String,
    },
    /// Nothing is there.
    #[error("{path} does not exist")]
    Missing {
        /// The path, relative to the repository.
        path: String,
    },
    /// A symbolic link, FIFO, socket, device or directory where a file is read.
    #[error("{path} is a {kind}, not a regular file; refusing to open it")]
    NotRegular {
        /// The path, relative to the repository.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// A file or something else where a directory is read.
    #[error("{path} is a {kind}, not a directory")]
    NotDirectory {
        /// The path, relative to the repository.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than the limit for this file.
    #[error("{path} is larger than the {limit}-byte limit for this file")]
    TooLarge {
        /// The path, relative to the repository.
        path: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Any other I/O error.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path, relative to the repository.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl PathError {
    /// An I/O error on `path`: [`PathError::Missing`] when nothing is there.
    fn io(path: &str, source: std::io::Error) -> Self {
        match source.kind() {
            std::io::ErrorKind::NotFound => Self::Missing { path: path.to_owned() },
            _ => Self::Io { path: path.to_owned(), source },
        }
    }

    /// The same error, naming `path` instead.
    fn naming(self, path: &str) -> Self {
        let path = path.to_owned();
        match self {
            Self::NotInside { .. } => Self::NotInside { path },
            Self::Escapes { .. } => Self::Escapes { path },
            Self::Missing { .. } => Self::Missing { path },
            Self::NotRegular { kind, .. } => Self::NotRegular { path, kind },
            Self::NotDirectory { kind, .. } => Self::NotDirectory { path, kind },
            Self::TooLarge { limit, .. } => Self::TooLarge { path, limit },
            Self::Io { source, .. } => Self::Io { path, source },
        }
    }
}

/// Refuses a path that is empty, absolute or has a `..` component: such a
/// path names something outside the repository whatever is on disk.
pub fn check_inside(path: &str) -> Result<(), PathError> {
    let inside = !path.is_empty()
        && !path.contains('\0')
        && !path.starts_with(['/', '\\'])
        && Path::new(path).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    match inside {
        true => Ok(()),
        false => Err(PathError::NotInside { path: path.to_owned() }),
    }
}

/// What a file type is, in words.
pub(crate) fn kind(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_block_device() {
            return "block device";
        }
        if file_type.is_char_device() {
            return "character device";
        }
    }
    if file_type.is_symlink() {
        "symbolic link"
    } else if file_type.is_dir() {
        "directory"
    } else if file_type.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// The repository the gate reads. Every path goes through here, so that
/// none leads outside it and no file is opened before its type is known.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    /// The repository's canonical path: every resolved path starts with it.
    root: PathBuf,
}

impl Repo {
    /// The repository at `path`, resolved.
    pub fn new(path: &Path) -> Result<Self, PathError> {
        let shown = path.display().to_string();
        let root = path.canonicalize().map_err(|e| PathError::io(&shown, e))?;
        Ok(Self { root })
    }

    /// The directory `rel`, its symbolic links followed, which must stay
    /// inside the repository.
    pub fn dir(&self, rel: &str) -> Result<PathBuf, PathError> {
        check_inside(rel)?;
        let real = self.root.join(rel).canonicalize().map_err(|e| PathError::io(rel, e))?;
        if !real.starts_with(&self.root) {
            return Err(PathError::Escapes { path: rel.to_owned() });
        }
        let metadata = std::fs::metadata(&real).map_err(|e| PathError::io(rel, e))?;
        match metadata.is_dir() {
            true => Ok(real),
            false => Err(PathError::NotDirectory { path: rel.to_owned(), kind: kind(&metadata.file_type()) }),
        }
    }

    /// The regular file `rel`: its directory resolved inside the
    /// repository, and the file itself neither a symbolic link nor a FIFO,
    /// socket, device or directory. Nothing is opened.
    pub fn file(&self, rel: &str) -> Result<PathBuf, PathError> {
        check_inside(rel)?;
        let path = Path::new(rel);
        let name = match path.components().next_back() {
            Some(Component::Normal(name)) => name,
            _ => return Err(PathError::NotRegular { path: rel.to_owned(), kind: "directory" }),
        };
        let parent = path.parent().map(|p| p.to_string_lossy()).unwrap_or_default();
        let dir = match parent.trim_start_matches("./") {
            "" | "." => self.root.clone(),
            parent => self.dir(parent).map_err(|e| e.naming(rel))?,
        };
        let full = dir.join(name);
        regular(&full, rel)?;
        Ok(full)
    }

    /// The bytes of the regular file `rel` ([`Repo::file`]), refusing a file
    /// larger than `limit`.
    pub fn read(&self, rel: &str, limit: u64) -> Result<Vec<u8>, PathError> {
        let full = self.file(rel)?;
        read_limited(&full, rel, limit)
    }

    /// Whether anything is at `rel` (a dangling link too): never follows a
    /// final symbolic link, never opens anything.
    pub fn has(&self, rel: &str) -> bool {
        check_inside(rel).is_ok() && std::fs::symlink_metadata(self.root.join(rel)).is_ok()
    }
}

/// Checks that `full` is a regular file without following a final
/// symbolic link; `shown` names it in the error.
fn regular(full: &Path, shown: &str) -> Result<std::fs::Metadata, PathError> {
    let metadata = std::fs::symlink_metadata(full).map_err(|e| PathError::io(shown, e))?;
    match metadata.file_type().is_file() {
        true => Ok(metadata),
        false => Err(PathError::NotRegular { path: shown.to_owned(), kind: kind(&metadata.file_type()) }),
    }
}

/// A wheel's subject, `<wheels>/<name>`, which is also its unit.
pub(crate) fn wheel_subject(set: &WheelSet, name: &str) -> String {
    format!("{}/{name}", set.wheels)
}

/// Reads at most `limit` bytes of a file already checked to be regular.
fn read_limited(full: &Path, shown: &str, limit: u64) -> Result<Vec<u8>, PathError> {
    let file = std::fs::File::open(full).map_err(|e| PathError::io(shown, e))?;
    gate_core::files::read_open_bounded(file, limit)
        .map_err(|e| PathError::io(shown, e))?
        .ok_or_else(|| PathError::TooLarge { path: shown.to_owned(), limit })
}

/// The entries at the root of `repo`: directories (a symbolic link to one
/// too, refused later if it leads outside) and everything else, each sorted.
/// Hidden directories are left out.
fn root_entries(repo: &Path) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(repo).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = match entry.file_type() {
            Ok(t) if t.is_symlink() => repo.join(&name).is_dir(),
            Ok(t) => t.is_dir(),
            Err(_) => continue,
        };
        match is_dir {
            true if !name.starts_with('.') => dirs.push(name),
            true => {}
            // A sums file that is a link, a FIFO or a device still forms a
            // set, so that reading it is refused with an error item.
            false => files.push(name),
        }
    }
    files.sort();
    dirs.sort();
    (files, dirs)
}

/// The layout found at `repo` (its name and sets), if any.
///
/// Flat (SecureDrop until 2022): `sha256sums.txt` at the root with
/// `localwheels/` (or `wheels/`), and any `<name>-sha256sums.txt` with
/// `<name>/`. Per-project (SecureDrop since 2022-09): `<project>/sha256sums.txt`
/// with `<project>/wheels/`. A repository with both has both checked.
pub fn recognise(repo: &Path) -> Option<(&'static str, Vec<WheelSet>)> {
    let (root_files, root_dirs) = root_entries(repo);
    let is_dir = |d: &str| root_dirs.iter().any(|r| r == d);

    let flat: Vec<WheelSet> = root_files
        .iter()
        .filter_map(|file| {
            // A sums file whose directory is missing still forms a set, so
            // that its entries are reported missing instead of going unchecked.
            let wheels = if file == "sha256sums.txt" {
                ["localwheels", "wheels"].into_iter().find(|d| is_dir(d)).unwrap_or("localwheels").to_owned()
            } else {
                file.strip_suffix("-sha256sums.txt")?.to_owned()
            };
            Some(WheelSet::new(file.clone(), wheels))
        })
        .collect();
    let per_project: Vec<WheelSet> = root_dirs
        .iter()
        .filter(|d| std::fs::symlink_metadata(repo.join(d).join("sha256sums.txt")).is_ok())
        .map(|d| WheelSet::new(format!("{d}/sha256sums.txt"), format!("{d}/wheels")))
        .collect();
    match (flat.is_empty(), per_project.is_empty()) {
        (true, true) => None,
        (false, true) => Some(("flat", flat)),
        (true, false) => Some(("per-project", per_project)),
        (false, false) => Some(("flat and per-project", flat.into_iter().chain(per_project).collect())),
    }
}

/// Wheels that no sums file covers: a directory where wheels are kept
/// (`localwheels/`, `wheels/`, `<project>/wheels/`) holding `.whl` files
/// while no set reads it.
#[derive(Debug)]
pub(crate) struct Uncovered {
    /// The directory, relative to the repository.
    pub wheels: String,
    /// The sums file that would cover it by the recognised layouts.
    pub sums: String,
    /// How many `.whl` files it holds, or why it cannot be listed.
    pub wheel_count: Result<usize, PathError>,
}

/// The wheel directories of `repo` that none of `sets` reads; see [`Uncovered`].
pub(crate) fn uncovered(repo: &Repo, sets: &[WheelSet]) -> Vec<Uncovered> {
    let (root_files, root_dirs) = root_entries(&repo.root);
    let normal = |p: &str| p.trim_start_matches("./").trim_end_matches('/').to_owned();
    let covered: std::collections::BTreeSet<String> = sets.iter().map(|s| normal(&s.wheels)).collect();
    let root_sums = |dir: &str| match root_files.iter().any(|f| f == "sha256sums.txt") {
        false => "sha256sums.txt".to_owned(),
        true => format!("{dir}-sha256sums.txt"),
    };
    let candidates = ["localwheels", "wheels"]
        .into_iter()
        .filter(|d| root_dirs.iter().any(|r| r == d))
        .map(|d| (d.to_owned(), root_sums(d)))
        .chain(root_dirs.iter().map(|d| (format!("{d}/wheels"), format!("{d}/sha256sums.txt"))));
    candidates
        .filter(|(wheels, _)| !covered.contains(wheels) && repo.has(wheels))
        .filter_map(|(wheels, sums)| {
            let wheel_count = repo.dir(&wheels).and_then(|dir| {
                let entries = std::fs::read_dir(dir).map_err(|e| PathError::io(&wheels, e))?;
                Ok(entries.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".whl")).count())
            });
            match wheel_count {
                Ok(0) | Err(PathError::NotDirectory { .. }) => None,
                wheel_count => Some(Uncovered { wheels, sums, wheel_count }),
            }
        })
        .collect()
}
