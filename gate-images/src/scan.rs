//! Finding the files that name images: Dockerfiles anywhere in the
//! repository (bounded walk), the CI configurations at their fixed places,
//! and `dockerfiles/<name>/image_hash` records.

use std::path::Path;

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

/// Looks for every file the gate reads. Symlinks are not followed.
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
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth + 1 < MAX_DEPTH && !SKIPPED_DIRS.contains(&name.as_str()) => {
                    pending.push((rel, depth + 1));
                }
                Ok(t) if t.is_file() && is_dockerfile_name(&name) => {
                    sources.files.push((Kind::Dockerfile, rel));
                }
                _ => {}
            }
        }
    }
    for (kind, rel) in [(Kind::CircleCi, ".circleci/config.yml"), (Kind::GitLab, ".gitlab-ci.yml")] {
        if is_regular_file(&repo.join(rel)) {
            sources.files.push((kind, rel.to_owned()));
        }
    }
    for name in list_dir(&repo.join(".github/workflows")) {
        if (name.ends_with(".yml") || name.ends_with(".yaml"))
            && is_regular_file(&repo.join(".github/workflows").join(&name))
        {
            sources.files.push((Kind::GitHubActions, format!(".github/workflows/{name}")));
        }
    }
    for name in list_dir(&repo.join("dockerfiles")) {
        let rel = format!("dockerfiles/{name}/image_hash");
        if is_regular_file(&repo.join(&rel)) {
            sources.records.push(rel);
        }
    }
    sources.files.sort_by(|a, b| a.1.cmp(&b.1));
    sources.records.sort();
    sources
}

fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Names in `dir`, sorted; empty when it cannot be listed.
fn list_dir(dir: &Path) -> Vec<String> {
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
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        use std::path::Component;
        let inside = !text.is_empty()
            && !text.starts_with(['/', '\\'])
            && Path::new(&text).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if inside {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not a path inside the repository: expected a relative path without `..`"
            ))
        }
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
}

/// Reads a whole text file of at most [`MAX_FILE_BYTES`], without reading more.
pub fn read_bounded(path: &Path) -> Result<String, ReadError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
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
            assert!(err.ends_with("expected a relative path without `..`"), "{no}: {err}");
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
