//! Recognising where a repository keeps its wheels and their sums.

use std::path::Path;

use serde::Deserialize;

/// A sums file and the directory its names refer to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelSet {
    /// The sums file, relative to the repository root.
    pub sums: String,
    /// The directory holding the listed files, relative to the repository root.
    pub wheels: String,
    /// The detached signature of the sums file [default: `<sums>.asc`].
    #[serde(default)]
    pub signature: Option<String>,
    /// The directory of public keys the signature must verify against
    /// [default: `pubkeys`].
    #[serde(default)]
    pub pubkeys: Option<String>,
    /// Requirements files whose `--hash` pins must match this set's wheels
    /// [default: `requirements.txt` and `build-requirements.txt` found at the
    /// root or beside the sums file, each checked against the set sharing
    /// most of its hashes].
    #[serde(default)]
    pub requirements: Vec<String>,
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
}

/// The layout found at `repo` (its name and sets), if any.
///
/// Flat (SecureDrop until 2022): `sha256sums.txt` at the root with
/// `localwheels/` (or `wheels/`), and any `<name>-sha256sums.txt` with
/// `<name>/`. Per-project (SecureDrop since 2022-09): `<project>/sha256sums.txt`
/// with `<project>/wheels/`.
pub fn recognise(repo: &Path) -> Option<(&'static str, Vec<WheelSet>)> {
    let mut root_files = Vec::new();
    let mut root_dirs = Vec::new();
    for entry in std::fs::read_dir(repo).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.file_type() {
            Ok(t) if t.is_dir() && !name.starts_with('.') => root_dirs.push(name),
            Ok(t) if t.is_file() => root_files.push(name),
            _ => {}
        }
    }
    root_files.sort();
    root_dirs.sort();
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
    if !flat.is_empty() {
        return Some(("flat", flat));
    }
    let per_project: Vec<WheelSet> = root_dirs
        .iter()
        .filter(|d| repo.join(d).join("sha256sums.txt").is_file())
        .map(|d| WheelSet::new(format!("{d}/sha256sums.txt"), format!("{d}/wheels")))
        .collect();
    (!per_project.is_empty()).then_some(("per-project", per_project))
}
