//! The interpreter probe's answer, kept on disk so that a later run starts
//! no interpreter while nothing it depends on has changed.
//!
//! An answer is stored under `interpreters/<key>.json` in the caller's
//! cache directory. The key is the probe script itself (a new release-check
//! asks again) and the interpreter as it is found without running it
//! ([`interpreter_identity`]): the path as configured, the program it runs
//! and the file that program resolves to (its canonical path, size,
//! modification and change times, device and inode), and the content of a
//! `pyvenv.cfg` beside the program or one directory above. The kernel's
//! release and version are part of it too, as the `platform_release` and
//! `platform_version` markers are. The entry also records the state of the
//! directories the answer's pip fields were read from (the bundled pip
//! wheel's, and `purelib`), checked when it is read, so that installing or
//! removing a pip asks again.
//!
//! An entry starts with a SHA-256 of the rest ([`cache_key`]): one torn by a crash (it is
//! written atomically but unsynced, [`gate_core::files::write_cache_entry`])
//! or unparsable is ignored, and the interpreter is asked again.

use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use gate_core::digest::cache_key;
use serde::{Deserialize, Serialize};

use crate::interpreter::{Answer, Interpreter, PROBE, PROBE_TIMEOUT, PythonError, answer_of, ask, program};

/// Largest entry or `pyvenv.cfg` read.
const MAX_READ: u64 = 1024 * 1024;

/// What an entry holds after its hash line.
#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    /// The key it was stored under.
    key: String,
    /// The probe's output, as printed.
    answer: String,
    /// Each directory the answer's pip fields depend on, and its state.
    witnesses: Vec<(String, String)>,
}

/// [`crate::interpreter::probe`], through a cache on disk under `cache` (in
/// `interpreters/`): an interpreter answered before, and unchanged since,
/// is not run again. Asked at most once per process, as `probe` is, and
/// sharing its answers.
pub fn probe_cached(path: &Path, cache: &Path) -> Result<Interpreter, PythonError> {
    answer_of(path).get_or_init(|| probe(path, cache)).clone()
}

/// The stored answer when the interpreter at `path` is unchanged, else the
/// interpreter's own, then stored. An interpreter that cannot be identified
/// is asked, and its error is the probe's. Failures are not stored; neither
/// is an answer when the interpreter changed while it was asked.
fn probe(path: &Path, cache: &Path) -> Result<Interpreter, PythonError> {
    let Ok(key) = key_of(path) else {
        return ask(path, PROBE_TIMEOUT).map(|(asked, _)| asked);
    };
    let entry = cache.join("interpreters").join(format!("{key}.json"));
    if let Some(answer) = load(&entry, &key) {
        return Ok(answer.interpreter(path));
    }
    let (asked, printed) = ask(path, PROBE_TIMEOUT)?;
    if key_of(path).is_ok_and(|now| now == key) {
        store(&entry, &key, printed);
    }
    Ok(asked)
}

/// The interpreter at `path` as a cache knows it without running it, one
/// fact a line: the path as given, the program run (a command name looked
/// up on `PATH`), its canonical path with the size, modification and change
/// times (to the nanosecond), device and inode of that file, and the
/// content of each `pyvenv.cfg` that Python would read (beside the program
/// or one directory above, for the program as found and as resolved), or
/// `absent`.
pub fn interpreter_identity(path: &Path) -> std::io::Result<String> {
    let program = match path.components().count() == 1 && path.is_relative() {
        true => on_path(path).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?,
        false => program(path)?,
    };
    let real = std::fs::canonicalize(&program)?;
    let meta = std::fs::metadata(&real)?;
    let mut lines = vec![
        format!("path {}", path.display()),
        format!("program {}", program.display()),
        format!("real {}", real.display()),
        format!("file {} {}", meta.len(), state(&meta)),
    ];
    let mut configs: Vec<PathBuf> = [&program, &real]
        .iter()
        .filter_map(|p| p.parent())
        .flat_map(|dir| [Some(dir), dir.parent()])
        .flatten()
        .map(|dir| dir.join("pyvenv.cfg"))
        .collect();
    configs.dedup();
    for config in configs {
        lines.push(format!("{} {}", config.display(), content(&config)?));
    }
    Ok(lines.join("\n"))
}

/// The first executable file named `name` in a directory of `PATH`, as
/// `execvp` finds it.
fn on_path(name: &Path) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
}

/// Modification and change times, device and inode.
fn state(meta: &std::fs::Metadata) -> String {
    format!(
        "{}.{:09} {}.{:09} {} {}",
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        meta.dev(),
        meta.ino()
    )
}

/// The content of the file at `path`, quoted; `absent` when there is none.
fn content(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(file) => file.take(MAX_READ).read_to_end(&mut bytes)?,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            return Ok("absent".to_owned());
        }
        Err(e) => return Err(e),
    };
    Ok(format!("{:?}", String::from_utf8_lossy(&bytes)))
}

/// The cache key of the interpreter at `path`.
fn key_of(path: &Path) -> std::io::Result<String> {
    let identity = interpreter_identity(path)?;
    let kernel = ["osrelease", "version"]
        .map(|name| std::fs::read_to_string(Path::new("/proc/sys/kernel").join(name)).unwrap_or_default());
    Ok(cache_key(&[
        b"interpreter probe",
        PROBE.as_bytes(),
        identity.as_bytes(),
        kernel[0].as_bytes(),
        kernel[1].as_bytes(),
    ]))
}

/// The directories whose content decides the answer's pip fields, each with
/// its state (`absent` when it is gone).
fn witnesses(answer: &Answer) -> Vec<(String, String)> {
    let bundled = Path::new(&answer.bundled_pip).parent().filter(|_| !answer.bundled_pip.is_empty());
    [bundled, Some(Path::new(&answer.purelib))]
        .into_iter()
        .flatten()
        .map(|dir| {
            let state = std::fs::metadata(dir).map_or_else(|_| "absent".to_owned(), |m| state(&m));
            (dir.display().to_string(), state)
        })
        .collect()
}

/// The answer stored in `entry` under `key`, when it is whole, parses, and
/// its witnesses are unchanged.
fn load(entry: &Path, key: &str) -> Option<Answer> {
    let mut bytes = Vec::new();
    std::fs::File::open(entry).ok()?.take(MAX_READ).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (hash, body) = text.split_once('\n')?;
    if cache_key(&[body.as_bytes()]) != hash {
        return None;
    }
    let stored: Entry = serde_json::from_str(body).ok()?;
    let answer: Answer = serde_json::from_str(&stored.answer).ok()?;
    (stored.key == key && stored.witnesses == witnesses(&answer)).then_some(answer)
}

/// Stores the probe's output `printed` in `entry` under `key`. A cache
/// that cannot be written costs the next run a probe, nothing else.
fn store(entry: &Path, key: &str, printed: String) {
    let Ok(answer) = serde_json::from_str::<Answer>(&printed) else { return };
    let witnesses = witnesses(&answer);
    let Ok(body) = serde_json::to_string(&Entry { key: key.to_owned(), answer: printed, witnesses }) else {
        return;
    };
    let text = format!("{}\n{body}", cache_key(&[body.as_bytes()]));
    let _ = gate_core::files::write_cache_entry(entry, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, SystemTime};

    use super::*;

    /// An interpreter (the machine's `python3`) behind a script that counts
    /// its runs, in `dir/venv/bin/python`, and the cache directory.
    struct Counted {
        dir: tempfile::TempDir,
    }

    impl Counted {
        fn new() -> Self {
            let counted = Self { dir: tempfile::tempdir().unwrap() };
            counted.write_script("");
            counted
        }

        fn python(&self) -> PathBuf {
            self.dir.path().join("venv/bin/python")
        }

        fn cache(&self) -> PathBuf {
            self.dir.path().join("cache")
        }

        /// Writes the script, `extra` making it longer.
        fn write_script(&self, extra: &str) {
            let (python, runs) = (self.python(), self.dir.path().join("runs"));
            std::fs::create_dir_all(python.parent().unwrap()).unwrap();
            let text = format!("#!/bin/sh\n{extra}echo run >> '{}'\nexec python3 \"$@\"\n", runs.display());
            std::fs::write(&python, text).unwrap();
            std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        }

        /// How many times the interpreter ran.
        fn runs(&self) -> usize {
            std::fs::read_to_string(self.dir.path().join("runs")).map_or(0, |runs| runs.lines().count())
        }

        /// Probes through the cache, without the per-process memory of
        /// `probe_cached`, as a new run of release-check would.
        fn probe(&self) -> Interpreter {
            probe(&self.python(), &self.cache()).unwrap()
        }

        /// The one cache entry.
        fn entry(&self) -> PathBuf {
            let entries: Vec<PathBuf> = std::fs::read_dir(self.cache().join("interpreters"))
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|e| e == "json"))
                .collect();
            assert_eq!(entries.len(), 1, "{entries:?}");
            entries[0].clone()
        }
    }

    /// A second probe of an unchanged interpreter starts no process, and
    /// gives the same answer.
    #[test]
    fn an_unchanged_interpreter_is_not_run_again() {
        let counted = Counted::new();
        let first = counted.probe();
        assert_eq!(counted.runs(), 1);
        assert_eq!(counted.probe(), first);
        assert_eq!(counted.probe(), first);
        assert_eq!(counted.runs(), 1, "the cached answer was not used");
        assert!(first.version.starts_with("3.") && first.path == counted.python(), "{first:?}");
    }

    /// A change to the interpreter's file (its size; its modification time
    /// alone) asks again.
    #[test]
    fn a_changed_interpreter_file_is_asked_again() {
        let counted = Counted::new();
        counted.probe();
        counted.write_script(": longer\n");
        counted.probe();
        assert_eq!(counted.runs(), 2, "a new size did not ask again");
        counted.probe();
        assert_eq!(counted.runs(), 2);
        let file = std::fs::File::options().write(true).open(counted.python()).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
        drop(file); // An executable open for writing cannot run.
        counted.probe();
        assert_eq!(counted.runs(), 3, "a new modification time did not ask again");
    }

    /// A `pyvenv.cfg` above the interpreter that appears or changes asks again.
    #[test]
    fn a_changed_pyvenv_cfg_is_asked_again() {
        let counted = Counted::new();
        counted.probe();
        let config = counted.dir.path().join("venv/pyvenv.cfg");
        std::fs::write(&config, "home = /usr/bin\n").unwrap();
        counted.probe();
        assert_eq!(counted.runs(), 2, "a new pyvenv.cfg did not ask again");
        counted.probe();
        assert_eq!(counted.runs(), 2);
        std::fs::write(&config, "home = /usr/local/bin\n").unwrap();
        counted.probe();
        assert_eq!(counted.runs(), 3, "a changed pyvenv.cfg did not ask again");
    }

    /// An entry torn (truncated, or garbage, or its body changed under its
    /// hash) is not trusted: the interpreter is asked again and the entry
    /// written whole.
    #[test]
    fn a_torn_entry_is_asked_again() {
        let counted = Counted::new();
        let first = counted.probe();
        let whole = std::fs::read(counted.entry()).unwrap();
        let tampered = String::from_utf8(whole.clone()).unwrap().replacen("posix", "nt", 1);
        let torn: [&[u8]; 4] = [&whole[..whole.len() / 2], b"", b"garbage\n{}", tampered.as_bytes()];
        for (n, bytes) in torn.into_iter().enumerate() {
            std::fs::write(counted.entry(), bytes).unwrap();
            assert_eq!(counted.probe(), first);
            assert_eq!(counted.runs(), n + 2, "entry {n} was trusted");
            assert_eq!(std::fs::read(counted.entry()).unwrap(), whole, "entry {n} was not written again");
        }
        counted.probe();
        assert_eq!(counted.runs(), 5);
    }

    /// A failure is not stored: the next run asks again.
    #[test]
    fn a_failure_is_not_stored() {
        let counted = Counted::new();
        counted.write_script("echo run >> \"$0.runs\"\nexit 3\n");
        let failed = probe(&counted.python(), &counted.cache()).unwrap_err().to_string();
        assert!(failed.contains("(exit status: 3)"), "{failed}");
        assert!(probe(&counted.python(), &counted.cache()).is_err());
        let runs = std::fs::read_to_string(counted.python().with_extension("runs")).unwrap();
        assert_eq!(runs.lines().count(), 2);
        assert!(!counted.cache().join("interpreters").exists());
    }
}
