//! Finding the files that name images: Dockerfiles anywhere in the
//! repository (bounded walk), the CI configurations at their fixed places,
//! and `dockerfiles/<name>/image_hash` records.

use std::path::{Path, PathBuf};

use gate_core::CancelToken;

/// Largest file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Deepest directory searched for Dockerfiles, counted from the repository root.
pub const MAX_DEPTH: usize = 6;

/// Most directory entries looked at while searching for Dockerfiles.
pub const MAX_ENTRIES: usize = 200_000;

/// Directories never searched.
const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules"];

/// Text written where an image is expected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The reference (after `ARG` substitution in a Dockerfile).
    pub text: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Where in the file's structure: `FROM`, `jobs.build.container`, ...
    pub context: String,
}

/// What a parser found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An image reference (not yet validated).
    Image(Found),
    /// A reference built from a variable with no known value.
    Unresolved {
        /// The text as written.
        found: Found,
        /// The variable (or expression) without a value.
        variable: String,
    },
    /// A structural problem in the file.
    Malformed {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read past this place (BuildKit refuses it there:
    /// a bad parser directive, an over-long line), so whatever follows was
    /// not checked.
    Unreadable {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
    },
}

/// The kind of a file that names images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Dockerfile.
    Dockerfile,
    /// `.circleci/config.yml`.
    CircleCi,
    /// `.github/workflows/*.yml` and `*.yaml`.
    GitHubActions,
    /// `.gitlab-ci.yml`.
    GitLab,
}

impl Kind {
    /// Human name, for notes.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Dockerfile => "Dockerfile",
            Kind::CircleCi => "CircleCI",
            Kind::GitHubActions => "GitHub Actions",
            Kind::GitLab => "GitLab CI",
        }
    }
}

/// The files found, relative to the repository, with `/` separators.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sources {
    /// Files that name images, sorted by path.
    pub files: Vec<(Kind, String)>,
    /// `dockerfiles/<name>/image_hash` files, sorted.
    pub records: Vec<String>,
    /// Places the gate would read but refused to (a directory that resolves
    /// outside the repository), each with the reason.
    pub refused: Vec<(String, String)>,
    /// Why the search stopped early, if it did.
    pub truncated: Option<String>,
}

/// Whether `name` is a Dockerfile's name: `Dockerfile`, `*.Dockerfile`, `Dockerfile.*`
/// (not `Dockerfile.dockerignore`).
pub fn is_dockerfile_name(name: &str) -> bool {
    name == "Dockerfile"
        || (name.len() > ".Dockerfile".len() && name.ends_with(".Dockerfile"))
        || (name.len() > "Dockerfile.".len()
            && name.starts_with("Dockerfile.")
            && !name.ends_with(".dockerignore"))
}

/// Whether a directory entry of this type, at `path`, is a directory: a real
/// one, or a symbolic link to one (never walked into, never read as a file).
fn is_dir_entry(file_type: std::fs::FileType, path: &Path) -> bool {
    file_type.is_dir() || (file_type.is_symlink() && std::fs::metadata(path).is_ok_and(|m| m.is_dir()))
}

/// Looks for every file the gate reads. Symbolic links to directories are
/// not walked into. A file found under one of the names the gate reads is
/// listed whatever its type (a FIFO, a socket, a symbolic link): reading
/// it ([`read_file`]) says what is wrong with it, so that nothing the gate
/// should have read is skipped without a word.
pub fn discover(repo: &Path, cancel: &CancelToken) -> Sources {
    let mut sources = Sources::default();
    let mut pending: Vec<(String, usize)> = vec![(String::new(), 0)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = pending.pop() {
        if cancel.is_cancelled() {
            sources.truncated = Some("cancelled".to_owned());
            break;
        }
        let Ok(entries) = std::fs::read_dir(repo.join(&dir)) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                sources.truncated = Some(format!("stopped after {MAX_ENTRIES} directory entries"));
                pending.clear();
                break;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() {
                if depth + 1 < MAX_DEPTH && !SKIPPED_DIRS.contains(&name.as_str()) {
                    pending.push((rel, depth + 1));
                }
            } else if is_dockerfile_name(&name) && !is_dir_entry(file_type, &entry.path()) {
                sources.files.push((Kind::Dockerfile, rel));
            }
        }
    }
    for (kind, rel) in [(Kind::CircleCi, ".circleci/config.yml"), (Kind::GitLab, ".gitlab-ci.yml")] {
        let path = repo.join(rel);
        if let Ok(meta) = std::fs::symlink_metadata(&path)
            && !is_dir_entry(meta.file_type(), &path)
        {
            sources.files.push((kind, rel.to_owned()));
        }
    }
    for name in list_inside(repo, ".github/workflows", &mut sources.refused) {
        let rel = format!(".github/workflows/{name}");
        let path = repo.join(&rel);
        if (name.ends_with(".yml") || name.ends_with(".yaml"))
            && std::fs::symlink_metadata(&path).is_ok_and(|m| !is_dir_entry(m.file_type(), &path))
        {
            sources.files.push((Kind::GitHubActions, rel));
        }
    }
    for name in list_inside(repo, "dockerfiles", &mut sources.refused) {
        let rel = format!("dockerfiles/{name}/image_hash");
        let path = repo.join(&rel);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !is_dir_entry(m.file_type(), &path)) {
            sources.records.push(rel);
        }
    }
    sources.files.sort_by(|a, b| a.1.cmp(&b.1));
    sources.records.sort();
    sources
}

/// Names in the directory `rel`, sorted; empty when it does not exist or is
/// not a directory. A directory that resolves outside the repository is
/// not listed: it is added to `refused`.
fn list_inside(repo: &Path, rel: &str, refused: &mut Vec<(String, String)>) -> Vec<String> {
    let dir = match resolve(repo, rel, Want::Directory) {
        Ok(dir) => dir,
        Err(e @ ReadError::Outside) => {
            refused.push((rel.to_owned(), e.to_string()));
            return Vec::new();
        }
        Err(_) => return Vec::new(),
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// A path inside the repository, from the configuration: relative, without
/// `..`, checked when the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct RepoPath(String);

impl RepoPath {
    /// The path, relative to the repository root, as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RepoPath {
    type Error = crate::reference::ConfigValueError;

    fn try_from(text: String) -> Result<Self, crate::reference::ConfigValueError> {
        use std::path::Component;
        let inside = !text.is_empty()
            && !text.starts_with(['/', '\\'])
            && Path::new(&text).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if inside { Ok(Self(text)) } else { Err(crate::reference::ConfigValueError::OutsideRepository(text)) }
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// An I/O error.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("larger than the {MAX_FILE_BYTES}-byte limit; refusing to read it")]
    TooLarge,
    /// Not UTF-8.
    #[error("not UTF-8 text (first invalid byte at offset {0})")]
    NotUtf8(usize),
    /// Not what was expected: a FIFO, a socket, a device, a directory (or,
    /// where a directory was expected, a file).
    #[error("a {0}, not a {1}; refusing to open it")]
    WrongType(&'static str, &'static str),
    /// It, or a directory on its path, is a symbolic link that leads outside
    /// the repository.
    #[error("resolves outside the repository through a symbolic link; refusing to read it")]
    Outside,
    /// A symbolic link to nothing.
    #[error("a symbolic link to nothing")]
    Dangling,
}

impl ReadError {
    /// Whether the file (or directory) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What a path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A regular file.
    File,
    /// A directory.
    Directory,
}

impl Want {
    fn name(self) -> &'static str {
        match self {
            Want::File => "regular file",
            Want::Directory => "directory",
        }
    }
}

/// What kind of file this is, in words.
fn type_name(file_type: std::fs::FileType) -> &'static str {
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
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// The real path of `rel`, a path inside `repo`, once every symbolic link on
/// the way is resolved: it must stay inside the repository and be what is
/// wanted. Nothing is opened: the type is read from the file system's
/// metadata, so a FIFO is refused without blocking.
pub fn resolve(repo: &Path, rel: &str, want: Want) -> Result<PathBuf, ReadError> {
    let path = repo.join(rel);
    let link = std::fs::symlink_metadata(&path)?;
    let root = repo.canonicalize()?;
    let real = match path.canonicalize() {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && link.file_type().is_symlink() => {
            return Err(ReadError::Dangling);
        }
        Err(e) => return Err(e.into()),
    };
    if !real.starts_with(&root) {
        return Err(ReadError::Outside);
    }
    let file_type = std::fs::symlink_metadata(&real)?.file_type();
    let fits = match want {
        Want::File => file_type.is_file(),
        Want::Directory => file_type.is_dir(),
    };
    if !fits {
        return Err(ReadError::WrongType(type_name(file_type), want.name()));
    }
    Ok(real)
}

/// Reads the text file `rel` inside `repo`: a regular file inside the
/// repository ([`resolve`]), of at most [`MAX_FILE_BYTES`], in UTF-8.
pub fn read_file(repo: &Path, rel: &str) -> Result<String, ReadError> {
    use std::io::Read as _;
    let real = resolve(repo, rel, Want::File)?;
    let file = std::fs::File::open(&real)?;
    // Replaced since it was checked? Judge what was opened.
    let file_type = file.metadata()?.file_type();
    if !file_type.is_file() {
        return Err(ReadError::WrongType(type_name(file_type), Want::File.name()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8(e.utf8_error().valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_paths_stay_inside_the_repository() {
        for yes in ["dockerfiles/test-records", "./records", "a/./b/"] {
            assert_eq!(RepoPath::try_from(yes.to_owned()).unwrap().as_str(), yes);
        }
        for no in ["", "/etc", "\\\\server\\share", "../elsewhere", "records/../../x"] {
            let err = RepoPath::try_from(no.to_owned()).unwrap_err();
            assert!(err.to_string().ends_with("expected a relative path without `..`"), "{no}: {err}");
        }
    }

    #[test]
    fn dockerfile_names() {
        for yes in ["Dockerfile", "build.Dockerfile", "Dockerfile.bookworm"] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in ["dockerfile", ".Dockerfile", "Dockerfile.", "Dockerfile.dockerignore", "Dockerfiles"] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }
}
