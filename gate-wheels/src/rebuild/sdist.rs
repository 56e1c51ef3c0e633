//! Sdists, fetched once per hash: `<cache>/sdists/<sha256>/<file>`.
//!
//! A `find-links` directory is looked in first, as pip looks: a file named
//! `<name>-<version>.tar.gz` (the name normalised) whose SHA-256 the pin
//! lists is copied into the store, and no code of the package runs.
//! Otherwise pip downloads the pinned sdist (`--no-binary :all:
//! --require-hashes`) with the interpreter of a prepared environment, into
//! a directory of its own (pip prepares the sdist's metadata, so its build
//! backend runs there: the shared environment is checked afterwards); the
//! one file it leaves is checked against the pin's SHA-256 again and moved
//! into the store. Every job that builds that sdist, for any target Python,
//! unpacks the stored file; a later run reuses it when its SHA-256 still
//! matches.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::cache::file_sha256;
use super::env::{BuildEnv, EnvError};
use crate::requirements::Requirement;
use python_build::step::{FIRST, Runner, StepError, fresh_dir, io};

/// The pin's SHA-256 hashes, hex.
pub fn sha256s(pin: &Requirement) -> Vec<String> {
    pin.hashes.iter().filter(|h| h.algorithm.name() == "sha256").map(|h| h.hex.to_ascii_lowercase()).collect()
}

/// The stored sdist of `hash`, when it is there and intact.
fn stored(store: &Path, hash: &str) -> Option<PathBuf> {
    let dir = store.join(hash);
    let mut files = std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path());
    let (file, None) = (files.next()?, files.next()) else { return None };
    (file_sha256(&file).ok()? == hash).then_some(file)
}

/// The pinned sdist in one of the local `find_links` directories: a file
/// `<name>-<version>.tar.gz` whose SHA-256 is one of `hashes`.
fn in_find_links(find_links: &[PathBuf], pin: &Requirement, hashes: &[String]) -> Option<(PathBuf, String)> {
    let version = pin.version.as_ref()?;
    find_links.iter().flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten()).find_map(
        |entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (project, file_version) = name.strip_suffix(".tar.gz")?.rsplit_once('-')?;
            let same = crate::requirements::normalise_name(project) == pin.name
                && file_version.parse::<pep508_rs::pep440_rs::Version>().ok().as_ref() == Some(version);
            let hash = same.then(|| file_sha256(&entry.path()).ok()).flatten()?;
            hashes.contains(&hash).then(|| (entry.path(), hash))
        },
    )
}

/// The sdist `pin` names: from the store, else from a local `find_links`
/// directory, else downloaded with the interpreter of `env`.
pub fn fetch(
    root: &Path,
    pin: &Requirement,
    env: &BuildEnv,
    runner: &Runner,
    source_args: &[String],
    find_links: &[PathBuf],
    reuse: bool,
) -> Result<PathBuf, EnvError> {
    static DOWNLOADS: AtomicUsize = AtomicUsize::new(0);
    let store = root.join("sdists");
    let hashes = sha256s(pin);
    if reuse && let Some(found) = hashes.iter().find_map(|h| stored(&store, h)) {
        return Ok(found);
    }
    let n = DOWNLOADS.fetch_add(1, Ordering::Relaxed);
    let scratch = store.join(format!(".download-{}-{n}", std::process::id()));
    let log = scratch.join("download.log");
    let failed = |e: StepError| EnvError { reason: e.to_string(), log: Some(log.clone()) };
    fresh_dir(&scratch).map_err(|e| EnvError { reason: e.to_string(), log: None })?;
    let downloaded = match in_find_links(find_links, pin, &hashes) {
        Some((found, _)) => {
            let copy = scratch.join(found.file_name().unwrap_or_default());
            std::fs::copy(&found, &copy)
                .map_err(|e| failed(io(format!("cannot copy {}", found.display()))(e)))?;
            copy
        }
        None => {
            let downloaded = download(pin, env, runner, source_args, &scratch, &log).map_err(failed)?;
            env.check().map_err(|e| failed(StepError::Unexpected(e.to_string())))?;
            downloaded
        }
    };
    let hash = file_sha256(&downloaded)
        .map_err(|e| failed(io(format!("cannot hash {}", downloaded.display()))(e)))?;
    if !hashes.contains(&hash) {
        return Err(failed(StepError::Unexpected(format!(
            "pip downloaded {} with SHA-256 {hash}, which the pin does not list",
            downloaded.display()
        ))));
    }
    let name = downloaded.file_name().unwrap_or_default();
    let dir = store.join(&hash);
    fresh_dir(&dir).map_err(failed)?;
    let file = dir.join(name);
    std::fs::rename(&downloaded, &file)
        .map_err(|e| failed(io(format!("cannot move the sdist into {}", dir.display()))(e)))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(file)
}

/// `pip download` of the pinned sdist into `scratch`; the one file it left.
fn download(
    pin: &Requirement,
    env: &BuildEnv,
    runner: &Runner,
    source_args: &[String],
    scratch: &Path,
    log: &Path,
) -> Result<PathBuf, StepError> {
    for sub in ["home", "tmp", "sdist"] {
        std::fs::create_dir_all(scratch.join(sub))
            .map_err(io(format!("cannot create {}", scratch.display())))?;
    }
    let runner = Runner { work: scratch, venv: &env.dir, ..*runner };
    let pinned = scratch.join("sdist-requirement.txt");
    let hashes: Vec<String> =
        pin.hashes.iter().map(|h| format!("--hash={}:{}", h.algorithm.name(), h.hex)).collect();
    let version = pin.version.as_ref().map(ToString::to_string).unwrap_or_default();
    std::fs::write(&pinned, format!("{}=={version} {}\n", pin.name, hashes.join(" ")))
        .map_err(io(format!("cannot write {}", pinned.display())))?;
    let (pinned, sdists) = (pinned.display().to_string(), scratch.join("sdist").display().to_string());
    // Which target Python fetches the sdist must not matter: its
    // Requires-Python is judged when each target builds it.
    let mut download = vec![
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        "--no-build-isolation",
        "--ignore-requires-python",
        "--require-hashes",
        "-r",
        &pinned,
        "-d",
        &sdists,
    ];
    download.extend(source_args.iter().map(String::as_str));
    runner.run(&runner.pip(&download), scratch, FIRST, log)?;
    let downloaded: Vec<PathBuf> =
        std::fs::read_dir(scratch.join("sdist")).into_iter().flatten().flatten().map(|e| e.path()).collect();
    match &downloaded[..] {
        [sdist] if sdist.to_string_lossy().ends_with(".tar.gz") => Ok(sdist.clone()),
        other => Err(StepError::Unexpected(format!(
            "pip downloaded {:?}, expected one .tar.gz sdist",
            other.iter().filter_map(|p| p.file_name()).collect::<Vec<_>>()
        ))),
    }
}
