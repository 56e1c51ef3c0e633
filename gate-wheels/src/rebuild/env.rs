//! Build environments: one virtual environment per interpreter and build
//! requirements, made once, sealed, and shared read-only by every build
//! that needs it.
//!
//! An environment is `<cache>/envs/<key>` (the key hashes the interpreter
//! and the hash-pinned build requirements file). Once pip has installed the
//! build requirements, every write bit is taken away (`chmod -R a-w`) and a
//! manifest of its contents (each entry's path, type, mode, and SHA-256 or
//! link target) is written beside it. A later run reuses it only when the
//! manifest still matches. During a run, the state of every entry (type,
//! mode, size, times, inode) is compared after each build with the state it
//! had when the run began to use it: a build that wrote into its
//! environment (which the missing write bits stop, except for root) is
//! detected, fails, and so does every later build of that environment.
//!
//! A lock file beside each environment is held shared while a run uses it
//! and exclusively while one makes it, so two runs on one cache never see
//! an environment half made.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use python_build::Interpreter;
use python_build::step::{FIRST, Runner, StepError, fresh_dir, io};

/// Why a shared build environment is no longer trusted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EnvChanged {
    /// Its entries could not be read back.
    #[error("cannot read {}: {error}", dir.display())]
    Unreadable {
        /// The environment.
        dir: PathBuf,
        /// What the system said.
        error: String,
    },
    /// An entry differs from when the run began to use it.
    #[error(
        "the shared build environment {} changed while this build ran (by it, or by a build running at the same time), so no build of it is trusted: {differences}",
        dir.display()
    )]
    Changed {
        /// The environment.
        dir: PathBuf,
        /// What differs, entry by entry.
        differences: String,
    },
}

/// A prepared, sealed environment in use.
#[derive(Debug)]
pub struct BuildEnv {
    /// The virtual environment.
    pub dir: PathBuf,
    /// Each entry's state when this run began to use it.
    state: BTreeMap<String, State>,
    /// What changed, once a change was seen.
    changed: Mutex<Option<EnvChanged>>,
    /// The lock held shared while this run uses it.
    _lock: File,
}

/// Why an environment could not be prepared.
#[derive(Debug, Clone)]
pub struct EnvError {
    /// The reason.
    pub reason: String,
    /// The log of the commands that made it, when any ran.
    pub log: Option<PathBuf>,
}

/// What is needed to prepare an environment.
pub struct Request<'a> {
    /// The work directory of the rebuild (`<cache>/rebuild`).
    pub root: &'a Path,
    /// The command settings (interpreter, deadline, cancel token); its
    /// `work` and `venv` are replaced.
    pub runner: &'a Runner<'a>,
    /// The hash-pinned build requirements file, and its bytes.
    pub build_requirements: (&'a Path, &'a [u8]),
    /// pip's `--index-url` / `--find-links` arguments.
    pub source_args: &'a [String],
    /// Whether an intact environment of an earlier run may be used.
    pub reuse: bool,
}

/// The key of the environment of `python` and `build_requirements`.
pub fn key(python: &Interpreter, build_requirements: &[u8]) -> String {
    let pip = python.bundled_pip.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    gate_core::digest::cache_key(&[
        b"environment v1",
        python.path.as_os_str().as_encoded_bytes(),
        python.identity().as_bytes(),
        pip.as_bytes(),
        build_requirements,
    ])
}

/// Prepares (or reuses) the environment `request` asks for.
pub fn prepare(request: &Request) -> Result<BuildEnv, EnvError> {
    let python = request.runner.python;
    let key = key(python, request.build_requirements.1);
    let envs = request.root.join("envs");
    let short = &key[..16];
    let dir = envs.join(short);
    let manifest_file = envs.join(format!("{short}.manifest"));
    let log = envs.join(format!("{short}.log"));
    let plain = |reason: String| EnvError { reason, log: None };
    std::fs::create_dir_all(&envs).map_err(|e| plain(format!("cannot create {}: {e}", envs.display())))?;
    let lock_path = envs.join(format!("{short}.lock"));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| plain(format!("cannot open the lock {}: {e}", lock_path.display())))?;
    let locked = |e: std::io::Error| plain(format!("cannot lock {}: {e}", lock_path.display()));
    let intact = || -> bool {
        let recorded = std::fs::read_to_string(&manifest_file).ok();
        recorded.is_some() && manifest(&dir).ok() == recorded
    };
    if request.reuse {
        lock.lock_shared().map_err(locked)?;
        if intact() {
            return in_use(dir, lock);
        }
        lock.unlock().map_err(locked)?;
    }
    lock.lock().map_err(locked)?;
    if !(request.reuse && intact()) {
        let _ = std::fs::remove_file(&manifest_file);
        remove_tree(&dir).map_err(|e| plain(format!("cannot remove the old {}: {e}", dir.display())))?;
        let _ = std::fs::remove_file(&log);
        make(request, &dir, &envs.join(format!("{short}.scratch")), &log)
            .map_err(|e| EnvError { reason: e.to_string(), log: Some(log.clone()) })?;
        seal(&dir).map_err(|e| plain(format!("cannot take the write bits off {}: {e}", dir.display())))?;
        let text = manifest(&dir).map_err(|e| plain(format!("cannot read {}: {e}", dir.display())))?;
        gate_core::files::write_cache_entry(&manifest_file, text.as_bytes())
            .map_err(|e| plain(e.to_string()))?;
    }
    lock.unlock().map_err(locked)?;
    lock.lock_shared().map_err(locked)?;
    in_use(dir, lock)
}

fn in_use(dir: PathBuf, lock: File) -> Result<BuildEnv, EnvError> {
    let state = states(&dir)
        .map_err(|e| EnvError { reason: format!("cannot read {}: {e}", dir.display()), log: None })?;
    Ok(BuildEnv { dir, state, changed: Mutex::new(None), _lock: lock })
}

/// Makes the virtual environment and installs the build requirements.
fn make(request: &Request, dir: &Path, scratch: &Path, log: &Path) -> Result<(), StepError> {
    fresh_dir(scratch)?;
    for sub in ["home", "tmp"] {
        std::fs::create_dir_all(scratch.join(sub))
            .map_err(io(format!("cannot create {}", scratch.display())))?;
    }
    let runner = Runner { work: scratch, venv: dir, ..*request.runner };
    runner.make_venv(scratch, log)?;
    let requirements = request.build_requirements.0.display().to_string();
    let mut install = vec!["install", "--require-hashes", "--no-deps", "-r", &requirements];
    install.extend(request.source_args.iter().map(String::as_str));
    runner.run(&runner.pip(&install), scratch, FIRST, log)?;
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

impl BuildEnv {
    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    /// Whether the environment is as it was when this run began to use it;
    /// once changed, it stays refused for the rest of the run.
    pub fn check(&self) -> Result<(), EnvChanged> {
        let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(what) = &*changed {
            return Err(what.clone());
        }
        let now = states(&self.dir)
            .map_err(|e| EnvChanged::Unreadable { dir: self.dir.clone(), error: e.to_string() })?;
        let differences = differences(&self.state, &now);
        if differences.is_empty() {
            return Ok(());
        }
        let what = EnvChanged::Changed { dir: self.dir.clone(), differences: differences.join(", ") };
        *changed = Some(what.clone());
        Err(what)
    }
}

/// An entry's state: what a write, a removal or a change of mode alters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    mode: u32,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    inode: u64,
}

/// The state of every entry under `dir`, by relative path.
fn states(dir: &Path) -> std::io::Result<BTreeMap<String, State>> {
    let mut all = BTreeMap::new();
    walk(dir, dir, &mut |relative, _, meta| {
        all.insert(
            relative.to_owned(),
            State {
                mode: meta.mode(),
                size: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
            },
        );
        Ok(())
    })?;
    Ok(all)
}

/// The paths that were added, removed or changed, at most five.
fn differences(before: &BTreeMap<String, State>, after: &BTreeMap<String, State>) -> Vec<String> {
    let mut found = Vec::new();
    for (path, state) in after {
        match before.get(path) {
            None => found.push(format!("{path} added")),
            Some(old) if old != state => found.push(format!("{path} changed")),
            Some(_) => {}
        }
    }
    found.extend(before.keys().filter(|p| !after.contains_key(*p)).map(|p| format!("{p} removed")));
    let more = found.len().saturating_sub(5);
    found.truncate(5);
    if more > 0 {
        found.push(format!("and {more} more"));
    }
    found
}

/// The manifest of `dir`: one line per entry, sorted by path: its type,
/// permission bits, and SHA-256 (a file) or target (a link).
pub fn manifest(dir: &Path) -> std::io::Result<String> {
    let mut lines = Vec::new();
    walk(dir, dir, &mut |relative, path, meta| {
        let kind = meta.file_type();
        let what = if kind.is_symlink() {
            format!("link {}", std::fs::read_link(path)?.display())
        } else if kind.is_dir() {
            "dir".to_owned()
        } else if kind.is_file() {
            format!("file {}", super::cache::file_sha256(path)?)
        } else {
            "special".to_owned()
        };
        lines.push(format!("{:o} {what} {relative}", meta.mode() & 0o7777));
        Ok(())
    })?;
    lines.sort();
    Ok(lines.join("\n") + "\n")
}

/// Calls `visit` with every entry under `dir` (not following links): its
/// path relative to `root`, its path, its metadata.
fn walk(
    root: &Path,
    dir: &Path,
    visit: &mut dyn FnMut(&str, &Path, &std::fs::Metadata) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        visit(&relative, &path, &meta)?;
        if meta.is_dir() {
            walk(root, &path, visit)?;
        }
    }
    Ok(())
}

/// Takes every write bit off `dir` and everything in it (links excepted).
pub fn seal(dir: &Path) -> std::io::Result<()> {
    let mut all = vec![dir.to_owned()];
    walk(dir, dir, &mut |_, path, meta| {
        if !meta.file_type().is_symlink() {
            all.push(path.to_owned());
        }
        Ok(())
    })?;
    for path in all {
        let mode = std::fs::symlink_metadata(&path)?.mode();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7555))?;
    }
    Ok(())
}

/// Removes `dir`, sealed or not; a missing one is nothing to do.
pub fn remove_tree(dir: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(dir).is_err() {
        return Ok(());
    }
    let mut dirs = vec![dir.to_owned()];
    walk(dir, dir, &mut |_, path, meta| {
        if meta.is_dir() {
            dirs.push(path.to_owned());
        }
        Ok(())
    })?;
    for dir in dirs {
        let mode = std::fs::symlink_metadata(&dir)?.mode();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode | 0o700))?;
    }
    std::fs::remove_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_tree_has_no_write_bits_and_its_changes_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        std::fs::create_dir_all(env.join("lib/site")).unwrap();
        std::fs::write(env.join("lib/site/a.py"), "A = 1\n").unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", env.join("python")).unwrap();
        seal(&env).unwrap();
        for path in [env.clone(), env.join("lib/site"), env.join("lib/site/a.py")] {
            assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o222, 0, "{}", path.display());
        }
        let before = manifest(&env).unwrap();
        assert!(before.contains("link /usr/bin/python3 python"), "{before}");
        let state = states(&env).unwrap();
        assert!(differences(&state, &states(&env).unwrap()).is_empty());

        // What root may still do: write a file into a sealed directory.
        let site = env.join("lib/site");
        std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(site.join("evil.pth"), "import os\n").unwrap();
        std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o555)).unwrap();
        let found = differences(&state, &states(&env).unwrap());
        assert!(found.contains(&"lib/site/evil.pth added".to_owned()), "{found:?}");
        assert!(found.contains(&"lib/site changed".to_owned()), "{found:?}");
        assert_ne!(manifest(&env).unwrap(), before);

        remove_tree(&env).unwrap();
        assert!(!env.exists());
        remove_tree(&env).unwrap();
    }
}
