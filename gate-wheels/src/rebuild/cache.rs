//! The rebuild cache: content-addressed results of both builds of a wheel.
//!
//! The key is the SHA-256 of everything a build depends on: the pinned
//! sdist hashes (pip refuses any other sdist), the build requirements file,
//! the interpreter's identity and the variations this machine applies. An
//! entry is a directory `<cache>/results/<key>/` holding both built wheels
//! and a `result` file with their names and hashes (and, when they differ,
//! which variations changed the bytes); it is written under a temporary
//! name and renamed into place, so a reader sees all or nothing. Only
//! builds that produced two wheels are stored: a failure is retried.

use std::path::{Path, PathBuf};

/// Both builds of one wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The first build's wheel file.
    pub first: PathBuf,
    /// Its SHA-256.
    pub first_sha256: String,
    /// The second build's wheel file.
    pub second: PathBuf,
    /// Its SHA-256.
    pub second_sha256: String,
    /// When the two differ: which variations change the bytes.
    pub explained: Option<String>,
}

/// The SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    crate::digest::sha256_file(path, &|| false).map(|(hash, _)| hash).map_err(std::io::Error::other)
}

fn entry(root: &Path, key: &str) -> PathBuf {
    root.join("results").join(key)
}

/// The cached builds for `key`, when there is an intact entry.
pub fn load(root: &Path, key: &str) -> Option<Built> {
    let dir = entry(root, key);
    let text = std::fs::read_to_string(dir.join("result")).ok()?;
    let mut lines = text.lines();
    let mut next = |number: u8| -> Option<(PathBuf, String)> {
        let (name, hash) = lines.next()?.split_once(' ')?;
        let path = dir.join(number.to_string()).join(name);
        // An entry altered on disk is not used.
        (!name.contains('/') && file_sha256(&path).ok()? == hash).then(|| (path, hash.to_owned()))
    };
    let (first, first_sha256) = next(1)?;
    let (second, second_sha256) = next(2)?;
    let explained = lines.next().and_then(|l| l.strip_prefix("explained ")).map(str::to_owned);
    Some(Built { first, first_sha256, second, second_sha256, explained })
}

/// Stores both builds under `key` and returns them at their cached paths.
pub fn store(root: &Path, key: &str, built: &Built) -> std::io::Result<Built> {
    let dir = entry(root, key);
    let staging = root.join("results").join(format!(".{key}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let mut result = String::new();
    let mut stored = Vec::new();
    for (number, (wheel, hash)) in
        [(&built.first, &built.first_sha256), (&built.second, &built.second_sha256)].into_iter().enumerate()
    {
        let name =
            wheel.file_name().ok_or_else(|| std::io::Error::other("a built wheel has no file name"))?;
        let sub = (number + 1).to_string();
        std::fs::create_dir_all(staging.join(&sub))?;
        std::fs::copy(wheel, staging.join(&sub).join(name))?;
        result.push_str(&format!("{} {hash}\n", name.to_string_lossy()));
        stored.push(dir.join(&sub).join(name));
    }
    if let Some(explained) = &built.explained {
        result.push_str(&format!("explained {}\n", explained.replace(['\n', '\r'], " ")));
    }
    std::fs::write(staging.join("result"), result)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir)?;
    let second = stored.pop().unwrap_or_default();
    let first = stored.pop().unwrap_or_default();
    Ok(Built {
        first,
        first_sha256: built.first_sha256.clone(),
        second,
        second_sha256: built.second_sha256.clone(),
        explained: built.explained.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_round_trips_and_a_damaged_one_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a/x-1-py3-none-any.whl"), dir.path().join("b/x-1-py3-none-any.whl"));
        for (path, text) in [(&a, "one"), (&b, "two")] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let built = Built {
            first_sha256: file_sha256(&a).unwrap(),
            first: a,
            second_sha256: file_sha256(&b).unwrap(),
            second: b,
            explained: Some("changed by: clock".to_owned()),
        };
        let root = dir.path().join("cache");
        let key = gate_core::digest::cache_key(&[b"sdist", b"python"]);
        assert_ne!(key, gate_core::digest::cache_key(&[b"sdis", b"tpython"]));
        assert_eq!(load(&root, &key), None);
        let stored = store(&root, &key, &built).unwrap();
        assert_eq!(load(&root, &key), Some(stored.clone()));
        std::fs::write(&stored.second, "altered").unwrap();
        assert_eq!(load(&root, &key), None);
    }
}
