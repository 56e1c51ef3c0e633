//! The last resort of [`super::metadata`]: asking an sdist's build backend
//! itself, through the PEP 517 hooks `get_requires_for_build_wheel` and
//! `prepare_metadata_for_build_wheel`, in the target Python.
//!
//! [`ask_backend`] unpacks the sdist into a fresh work directory, refusing
//! absolute names, `..`, links that lead outside it, special files and
//! archives that unpack to more than [`MAX_UNPACKED`] bytes. It makes a
//! virtual environment of the target interpreter, installs the build
//! requirements into it with pip, and runs [`HOOKS`] once per hook. What the
//! first hook adds (`setup_requires`, `wheel`) is installed before the second
//! is asked, as pip does. Every command runs in the rebuild's controlled
//! environment ([`python_build::Runner`]) under one timeout for the
//! whole ask: a backend that hangs is killed with every process it started.
//!
//! Complete answers are cached by the sdist's SHA-256, the interpreter (its
//! resolved path, size and modification time, so a hit runs no Python), the
//! build requirements and where pip takes them from.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gate_core::CancelToken;
use gate_core::files::read_bounded;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

mod error;

pub use self::error::{
    BackendError, DistInfoError, HookError, HookFailure, PrepareError, Refusal, StepFailure, UnpackError,
};
use super::archive::{self, ArchiveError, MAX_UNPACKED};
use super::sources::core_metadata;
use gate_core::digest::{cache_key, hex};
use python_build::interpreter::{self as python, Interpreter};
use python_build::log::log_tail;
use python_build::probe_cache::interpreter_identity;
use python_build::step::{FIRST, Runner, StepError, fresh_dir};

/// The backend PEP 517 prescribes when `[build-system]` names none.
pub const DEFAULT_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// Most members an sdist may have.
const MAX_ENTRIES: usize = 100_000;

/// Largest `pyproject.toml`, hook answer or `METADATA` read.
const MAX_TEXT: u64 = 4 * 1024 * 1024;

/// `SOURCE_DATE_EPOCH` of the hooks: 1980-01-01, the earliest a wheel can hold.
const EPOCH: i64 = 315_532_800;

/// Asks a build backend one thing (`requires` or `metadata`) and writes the
/// answer as JSON. Arguments: the mode, the source tree, the answer's file,
/// the backend (`module:object`), its `backend-path` as a JSON list, and for
/// `metadata` the directory the backend writes its `.dist-info` to. Python
/// 3.6 and later.
pub const HOOKS: &str = r#"
import importlib, json, os, platform, sys

def main():
    mode, source, out, name, backend_path = sys.argv[1:6]
    sys.path[:0] = [os.path.join(source, entry) for entry in json.loads(backend_path)]
    module, _, attributes = name.partition(":")
    backend = importlib.import_module(module.strip())
    for attribute in filter(None, attributes.strip().split(".")):
        backend = getattr(backend, attribute)
    answer = {"python": "%s %s" % (platform.python_implementation(), platform.python_version())}
    if mode == "requires":
        hook = getattr(backend, "get_requires_for_build_wheel", None)
        answer["build"] = None if hook is None else list(hook({}))
        answer["prepare"] = hasattr(backend, "prepare_metadata_for_build_wheel")
    else:
        answer["dist_info"] = backend.prepare_metadata_for_build_wheel(sys.argv[6], {})
    with open(out, "w") as file:
        json.dump(answer, file)

main()
"#;

/// What one sdist's build backend says it needs, asked in one interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAnswer {
    /// What `get_requires_for_build_wheel` adds to the build requirements,
    /// in its order (none when the backend has no such hook, as PEP 517 says).
    pub build: Vec<String>,
    /// Each `Requires-Dist` of the `METADATA` that
    /// `prepare_metadata_for_build_wheel` wrote, with its 1-based line; an
    /// error saying why when that hook could not be asked.
    pub run: Result<Vec<(String, u32)>, PrepareError>,
    /// The backend, `setuptools.build_meta:__legacy__`.
    pub backend: String,
    /// The interpreter, `CPython 3.9.18 at <path>`.
    pub python: String,
}

/// One question to a build backend.
#[derive(Debug, Clone, Copy)]
pub struct HookRequest<'a> {
    /// The target interpreter, a path.
    pub python: &'a Path,
    /// The sdist's file name, `.tar.gz` or `.zip`.
    pub sdist_name: &'a str,
    /// Its bytes, already checked against the index's hash.
    pub sdist: &'a [u8],
    /// The `[build-system] requires` (or the setuptools default), as
    /// resolved: `setuptools==65.5.0`.
    pub build_requires: &'a [String],
    /// The Simple API root pip installs them from.
    pub index_url: &'a str,
    /// A directory pip installs them from instead (`--no-index --find-links`):
    /// offline, nothing else is reached.
    pub find_links: Option<&'a Path>,
    /// A directory pip first downloads them into from the index (`pip
    /// download --no-deps`), then installs them from, as from `find_links`:
    /// what an offline ask later finds there.
    pub keep: Option<&'a Path>,
    /// For the whole ask: unpacking, the virtual environment, pip, both hooks.
    pub timeout: Duration,
    /// Where answers are cached (under `hooks/`) and the work directory is made.
    pub cache_dir: &'a Path,
    /// The gate's cancel token.
    pub cancel: &'a CancelToken,
}

/// Asks the sdist's build backend what it needs to build a wheel and at run
/// time, from the cache when the same question was answered before. An
/// error says why there is no answer: a refused sdist, pip or the backend
/// failing (with the last lines of its output), the timeout, a cancelled run.
pub fn ask_backend(request: &HookRequest) -> Result<HookAnswer, HookError> {
    if request.cancel.is_cancelled() {
        return Err(HookError::Cancelled);
    }
    let deadline = Instant::now() + request.timeout;
    // The interpreter as the cache knows it without running it: the same
    // identity its probe answer is cached under.
    let identity = interpreter_identity(request.python)
        .map_err(|source| HookError::NoInterpreter { python: request.python.to_owned(), source })?;
    let sdist_sha256 = hex(&sha2::Sha256::digest(request.sdist));
    let key = cache_key(&[
        b"pep517 hooks",
        HOOKS.as_bytes(),
        sdist_sha256.as_bytes(),
        identity.as_bytes(),
        request.build_requires.join("\n").as_bytes(),
        answer_source(request).as_bytes(),
    ]);
    let hooks_dir = request.cache_dir.join("hooks");
    let entry = hooks_dir.join(format!("{key}.json"));
    if let Some(answer) = load(&entry) {
        return Ok(answer);
    }
    let python = python::probe(request.python)?;
    static ASKS: AtomicUsize = AtomicUsize::new(0);
    let work = hooks_dir.join("work").join(format!(
        "{}-{}-{}",
        &key[..16],
        std::process::id(),
        ASKS.fetch_add(1, Ordering::Relaxed)
    ));
    let answer = ask(request, &python, &work, deadline);
    // The logs' last lines are in the answer's errors; the work directory goes.
    let _ = std::fs::remove_dir_all(&work);
    let answer = answer?;
    if let Some(cached) = Cached::of(&answer) {
        let json = serde_json::to_vec(&cached).map_err(HookError::Encode)?;
        gate_core::files::write_cache_entry(&entry, &json)
            .map_err(|source| HookError::Store { dir: hooks_dir, source })?;
    }
    Ok(answer)
}

/// Where the installed requirements come from, for the cache key: a
/// directory kept online and read offline is the same source.
fn answer_source(request: &HookRequest) -> String {
    match request.keep.or(request.find_links) {
        Some(dir) => format!("files in {}", dir.display()),
        None => format!("index {}", request.index_url),
    }
}

/// The lines of a requirements file naming where pip takes packages from.
fn pip_source(request: &HookRequest) -> Vec<String> {
    match request.find_links.or(request.keep) {
        Some(dir) => vec!["--no-index".to_owned(), format!("--find-links {}", dir.display())],
        None => vec![format!("--index-url {}", request.index_url)],
    }
}

/// A cached answer, when there is a readable one.
fn load(entry: &Path) -> Option<HookAnswer> {
    let bytes = read_bounded(entry, MAX_TEXT).ok()?;
    serde_json::from_slice::<Cached>(&bytes).ok().map(HookAnswer::from)
}

/// A complete answer as the cache stores it: `run` as `{"Ok": [...]}`, the
/// form every release so far has written. Only complete answers are
/// cached, so an entry of any other form (`{"Err": ...}`) is not read, and
/// the backend is asked again.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Cached {
    build: Vec<String>,
    run: CachedRun,
    backend: String,
    python: String,
}

/// The run-time needs of a complete answer.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
enum CachedRun {
    Ok(Vec<(String, u32)>),
}

impl Cached {
    /// `answer` as cached, when it is complete.
    fn of(answer: &HookAnswer) -> Option<Self> {
        let run = CachedRun::Ok(answer.run.as_ref().ok()?.clone());
        Some(Self {
            build: answer.build.clone(),
            run,
            backend: answer.backend.clone(),
            python: answer.python.clone(),
        })
    }
}

impl From<Cached> for HookAnswer {
    fn from(cached: Cached) -> Self {
        let CachedRun::Ok(run) = cached.run;
        Self { build: cached.build, run: Ok(run), backend: cached.backend, python: cached.python }
    }
}

/// What [`HOOKS`] writes.
#[derive(Debug, Deserialize)]
struct Reply {
    python: String,
    #[serde(default)]
    build: Option<Vec<String>>,
    #[serde(default)]
    prepare: bool,
    #[serde(default)]
    dist_info: Option<String>,
}

/// The ask itself, in `work`.
fn ask(
    request: &HookRequest,
    python: &Interpreter,
    work: &Path,
    deadline: Instant,
) -> Result<HookAnswer, HookError> {
    fresh_dir(work).map_err(HookError::WorkDir)?;
    for dir in ["home", "tmp", "hook", "metadata"] {
        std::fs::create_dir_all(work.join(dir))
            .map_err(|source| HookError::Create { work: work.to_owned(), source })?;
    }
    let source = work.join("src");
    unpack(request.sdist_name, request.sdist, &source)?;
    let (backend, backend_path) = backend_of(request.sdist_name, &source)?;
    let runner = Runner {
        work,
        venv: &work.join("venv"),
        python,
        epoch: EPOCH,
        deadline,
        limit: request.timeout,
        cancel: request.cancel,
    };
    let setup_log = work.join("setup.log");
    let setup = |what: &str, e: StepError| HookError::Setup(failure(what, e, &setup_log));
    runner.make_venv(work, &setup_log).map_err(|e| setup("cannot make a virtual environment", e))?;
    install(&runner, request, "build-requirements", request.build_requires, &setup_log)
        .map_err(|e| setup("cannot install the build requirements", e))?;
    let script = work.join("hook").join("pep517_hooks.py");
    std::fs::write(&script, HOOKS).map_err(|source| HookError::Script { script: script.clone(), source })?;
    let hook = |name: &str, mode: &str, extra: &[&Path]| -> Result<Reply, HookFailure> {
        let (out, log) = (work.join(format!("{mode}.json")), work.join(format!("{mode}.log")));
        let mut args: Vec<OsString> = vec![
            runner.venv_python().into(),
            script.clone().into(),
            mode.into(),
            source.clone().into(),
            out.clone().into(),
            backend.clone().into(),
            backend_path.clone().into(),
        ];
        args.extend(extra.iter().map(|p| p.as_os_str().to_owned()));
        let (backend, hook) = (backend.clone(), name.to_owned());
        runner.run(&args, &source, FIRST, &log).map_err(|e| match e {
            StepError::Failed { status, .. } => HookFailure::Failed {
                backend: backend.clone(),
                hook: hook.clone(),
                status,
                tail: log_tail(&log),
            },
            e => HookFailure::Step(failure(&format!("the backend {backend}, asked for {hook}"), e, &log)),
        })?;
        let text = read_bounded(&out, MAX_TEXT).map_err(|e| HookFailure::Unread {
            backend: backend.clone(),
            hook: hook.clone(),
            error: e.to_string(),
        })?;
        serde_json::from_slice(&text).map_err(|e| HookFailure::NotUnderstood {
            backend,
            hook,
            error: e.to_string(),
        })
    };
    let requires = hook("get_requires_for_build_wheel", "requires", &[]).map_err(HookError::Hook)?;
    let build = requires.build.unwrap_or_default();
    let python_text = format!("{} at {}", requires.python, request.python.display());
    let answer =
        |run| HookAnswer { build: build.clone(), run, backend: backend.clone(), python: python_text.clone() };
    if !requires.prepare {
        return Ok(answer(Err(PrepareError::NoHook { backend: backend.clone() })));
    }
    if let Err(e) = install(&runner, request, "hook-requirements", &build, &setup_log) {
        let what = "cannot install what get_requires_for_build_wheel asked for";
        let failed = failure(what, e, &setup_log);
        return match failed.over {
            true => Err(HookError::Setup(failed)),
            false => Ok(answer(Err(PrepareError::NotAsked(failed)))),
        };
    }
    let metadata_dir = work.join("metadata");
    match hook("prepare_metadata_for_build_wheel", "metadata", &[&metadata_dir]) {
        Ok(prepared) => {
            let run = requires_dist(&backend, &metadata_dir, prepared.dist_info.as_deref());
            Ok(answer(run.map_err(PrepareError::DistInfo)))
        }
        Err(failed) if failed.is_over() => Err(HookError::Hook(failed)),
        Err(failed) => Ok(answer(Err(PrepareError::Hook(failed)))),
    }
}

/// Why a step failed, and whether that ends the ask (the timeout passed or
/// the run was cancelled); with the last lines of `log` when it ran and failed.
fn failure(what: &str, e: StepError, log: &Path) -> StepFailure {
    let over = matches!(e, StepError::TimedOut { .. } | StepError::Cancelled { .. });
    let tail = matches!(e, StepError::Failed { .. }).then(|| log_tail(log));
    StepFailure { what: what.to_owned(), error: e.to_string(), tail, over }
}

/// The `Requires-Dist` of the `.dist-info` directory `dist_info` that
/// `prepare_metadata_for_build_wheel` named.
fn requires_dist(
    backend: &str,
    dir: &Path,
    dist_info: Option<&str>,
) -> Result<Vec<(String, u32)>, DistInfoError> {
    let name = dist_info.unwrap_or_default();
    if !name.ends_with(".dist-info") || Path::new(name).components().count() != 1 || name.starts_with('.') {
        return Err(DistInfoError::NotDistInfo { backend: backend.to_owned(), name: name.to_owned() });
    }
    let path = dir.join(name).join("METADATA");
    let bytes = read_bounded(&path, MAX_TEXT)
        .map_err(|e| DistInfoError::Read { name: name.to_owned(), error: e.to_string() })?;
    let text = String::from_utf8(bytes).map_err(|_| DistInfoError::NotUtf8 { name: name.to_owned() })?;
    Ok(core_metadata(&text).requires_dist)
}

/// Installs `requirements` into the virtual environment, from the index or
/// the find-links directory; none is nothing to do. They and pip's source
/// go through a requirements file `name`d in the work directory, so that the
/// index URL, which may hold a token, is on no command line and in no message.
fn install(
    runner: &Runner,
    request: &HookRequest,
    name: &str,
    requirements: &[String],
    log: &Path,
) -> Result<(), StepError> {
    if requirements.is_empty() {
        return Ok(());
    }
    let option = |r: &&String| r.contains(['\n', '\r']) || r.trim_start().starts_with('-');
    if let Some(option) = requirements.iter().find(option) {
        return Err(StepError::Unexpected(format!(
            "`{}` is not a requirement, and is not passed to pip",
            option.escape_debug()
        )));
    }
    let write = |file: &Path, lines: Vec<String>| {
        std::fs::write(file, lines.join("\n") + "\n")
            .map_err(|e| StepError::Io { what: format!("cannot write {}", file.display()), source: e })
    };
    if let Some(keep) = request.keep {
        let file = runner.work.join(format!("{name}-download.txt"));
        let mut lines = vec![format!("--index-url {}", request.index_url)];
        lines.extend(requirements.iter().cloned());
        write(&file, lines)?;
        std::fs::create_dir_all(keep)
            .map_err(|e| StepError::Io { what: format!("cannot create {}", keep.display()), source: e })?;
        let (file, keep) = (file.display().to_string(), keep.display().to_string());
        runner.run(
            &runner.pip(&["download", "--no-deps", "-d", &keep, "-r", &file]),
            runner.work,
            FIRST,
            log,
        )?;
    }
    let file = runner.work.join(format!("{name}.txt"));
    let mut lines = pip_source(request);
    lines.extend(requirements.iter().cloned());
    write(&file, lines)?;
    let file = file.display().to_string();
    runner.run(&runner.pip(&["install", "--no-warn-script-location", "-r", &file]), runner.work, FIRST, log)
}

/// The backend `pyproject.toml`'s `[build-system]` names (else PEP 517's
/// default) and its `backend-path` as a JSON list, each entry inside the tree.
fn backend_of(sdist: &str, source: &Path) -> Result<(String, String), BackendError> {
    let path = source.join("pyproject.toml");
    if !path.exists() {
        return Ok((DEFAULT_BACKEND.to_owned(), "[]".to_owned()));
    }
    let file = format!("{sdist}!pyproject.toml");
    let bytes =
        read_bounded(&path, MAX_TEXT).map_err(|source| BackendError::Read { file: file.clone(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| BackendError::NotUtf8 { file: file.clone() })?;
    let table = text
        .parse::<toml::Table>()
        .map_err(|e| BackendError::Toml { file: file.clone(), message: e.message().to_owned() })?;
    let build_system = table.get("build-system").and_then(toml::Value::as_table);
    let backend = match build_system.and_then(|b| b.get("build-backend")) {
        None => DEFAULT_BACKEND.to_owned(),
        Some(toml::Value::String(backend)) => backend.clone(),
        Some(other) => {
            return Err(BackendError::NotAString { file, found: other.type_str() });
        }
    };
    let mut entries: Vec<String> = Vec::new();
    if let Some(value) = build_system.and_then(|b| b.get("backend-path")) {
        let expected =
            |entry: Option<&String>| BackendError::BackendPath { file: file.clone(), entry: entry.cloned() };
        match value {
            // pip iterates what it finds: a string is its characters, so
            // `"."` is `["."]`.
            toml::Value::String(path) => entries.extend(path.chars().map(String::from)),
            toml::Value::Array(list) => {
                for entry in list {
                    entries.push(entry.as_str().ok_or_else(|| expected(None))?.to_owned());
                }
            }
            _ => return Err(expected(None)),
        }
        for entry in &entries {
            if !Path::new(entry).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
                return Err(expected(Some(entry)));
            }
        }
    }
    Ok((backend, serde_json::Value::from(entries).to_string()))
}

/// What one member of an sdist is.
enum Kind<'a> {
    File {
        executable: bool,
    },
    Dir,
    Symlink(&'a str),
    Hardlink(&'a str),
    /// A device, a FIFO, a socket.
    Special(Refusal),
}

/// Unpacks the sdist `name` into `root`, without its top directory.
fn unpack(name: &str, bytes: &[u8], root: &Path) -> Result<(), UnpackError> {
    let mut unpacker = Unpacker::new(name, root)?;
    if name.ends_with(".tar.gz") {
        archive::walk_tar(name, bytes, MAX_UNPACKED, |member, contents| {
            let kind = match member.kind {
                b'0' | 0 | b'7' => Kind::File { executable: member.mode & 0o111 != 0 },
                b'5' => Kind::Dir,
                b'2' => Kind::Symlink(&member.link),
                b'1' => Kind::Hardlink(&member.link),
                other => Kind::Special(Refusal::TarSpecial(other)),
            };
            unpacker.add(&member.path, kind, contents).map(|()| true)
        })?;
    } else if name.ends_with(".zip") {
        let bad = |source| ArchiveError::Zip { name: name.to_owned(), source };
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
        for index in 0..archive.len() {
            let mut file = archive.by_index(index).map_err(bad)?;
            let path = file.name().map_err(bad)?.into_owned();
            let mode = file.unix_mode().unwrap_or(0);
            if file.is_symlink() {
                let mut target = String::new();
                (&mut file).take(4096).read_to_string(&mut target).map_err(|source| {
                    ArchiveError::ZipMember { name: name.to_owned(), path: path.clone(), source }
                })?;
                unpacker.add(&path, Kind::Symlink(&target), &mut std::io::empty())?;
            } else if file.is_dir() {
                unpacker.add(&path, Kind::Dir, &mut std::io::empty())?;
            } else if !matches!(mode & 0o170_000, 0 | 0o100_000) {
                let kind = Kind::Special(Refusal::ZipSpecial(mode));
                unpacker.add(&path, kind, &mut std::io::empty())?;
            } else {
                unpacker.add(&path, Kind::File { executable: mode & 0o111 != 0 }, &mut file)?;
            }
        }
    } else {
        return Err(UnpackError::NotAnSdist { sdist: name.to_owned() });
    }
    unpacker.finish()
}

/// Writes members under one root, refusing any that would leave it.
struct Unpacker<'a> {
    sdist: &'a str,
    /// Canonical.
    root: PathBuf,
    /// The sdist's top directory, from its first member.
    top: Option<String>,
    written: u64,
    entries: usize,
    /// Each symbolic link made: its member name and where it is.
    links: Vec<(String, PathBuf)>,
}

impl<'a> Unpacker<'a> {
    fn new(sdist: &'a str, root: &Path) -> Result<Self, UnpackError> {
        let cannot = |source| UnpackError::Root { root: root.to_owned(), source };
        std::fs::create_dir_all(root).map_err(cannot)?;
        let root = std::fs::canonicalize(root).map_err(cannot)?;
        Ok(Self { sdist, root, top: None, written: 0, entries: 0, links: Vec::new() })
    }

    /// `member` relative to the top directory; `None` for the top directory.
    fn relative(&mut self, member: &str) -> Result<Option<PathBuf>, Refusal> {
        if member.starts_with('/') {
            return Err(Refusal::Absolute);
        }
        let parts: Vec<&str> = member.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        if parts.contains(&"..") {
            return Err(Refusal::DotDot);
        }
        let Some((top, rest)) = parts.split_first() else { return Ok(None) };
        match &self.top {
            None => self.top = Some((*top).to_owned()),
            Some(first) if first != top => return Err(Refusal::OutsideTop(first.clone())),
            Some(_) => {}
        }
        Ok((!rest.is_empty()).then(|| rest.iter().collect()))
    }

    /// Refuses `relative` when an existing directory on its way, or itself,
    /// is a symbolic link.
    fn no_link_on_the_way(&self, relative: &Path) -> Result<(), Refusal> {
        let mut at = PathBuf::new();
        for part in relative.components() {
            at.push(part);
            match std::fs::symlink_metadata(self.root.join(&at)) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Refusal::ThroughLink(at));
                }
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Writes one member.
    fn add(&mut self, member: &str, kind: Kind, contents: &mut dyn Read) -> Result<(), UnpackError> {
        let sdist = self.sdist;
        let refused = |why| UnpackError::Refused { sdist: sdist.to_owned(), member: member.to_owned(), why };
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(UnpackError::TooMany { sdist: sdist.to_owned() });
        }
        let Some(relative) = self.relative(member).map_err(refused)? else { return Ok(()) };
        if let Kind::Special(what) = kind {
            return Err(refused(what));
        }
        self.no_link_on_the_way(&relative).map_err(refused)?;
        let dest = self.root.join(&relative);
        let failed =
            |source| UnpackError::Failed { sdist: sdist.to_owned(), member: member.to_owned(), source };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        match kind {
            Kind::Dir => std::fs::create_dir_all(&dest).map_err(failed)?,
            Kind::File { executable } => {
                let mut file = File::create(&dest).map_err(failed)?;
                self.copy(contents, &mut file).map_err(failed)?;
                if executable {
                    use std::os::unix::fs::PermissionsExt as _;
                    file.set_permissions(std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
                }
            }
            Kind::Symlink(target) => {
                if target.is_empty() || target.starts_with('/') {
                    return Err(refused(Refusal::AbsoluteLink((*target).to_owned())));
                }
                std::os::unix::fs::symlink(target, &dest).map_err(failed)?;
                self.links.push((member.to_owned(), dest));
            }
            Kind::Hardlink(target) => {
                let source = self.relative(target).map_err(|why| refused(Refusal::LinkTo(Box::new(why))))?;
                let source = source.ok_or_else(|| refused(Refusal::LinkToTop))?;
                self.no_link_on_the_way(&source).map_err(refused)?;
                let mut from = File::open(self.root.join(&source)).map_err(failed)?;
                if !from.metadata().map_err(failed)?.is_file() {
                    return Err(refused(Refusal::NotAFile((*target).to_owned())));
                }
                let mut file = File::create(&dest).map_err(failed)?;
                self.copy(&mut from, &mut file).map_err(failed)?;
            }
            Kind::Special(_) => {}
        }
        Ok(())
    }

    /// Copies `from` into `to`, counting against [`MAX_UNPACKED`].
    fn copy(&mut self, from: &mut dyn Read, to: &mut File) -> std::io::Result<()> {
        let left = MAX_UNPACKED - self.written;
        self.written += std::io::copy(&mut from.take(left + 1), to)?;
        if self.written > MAX_UNPACKED {
            return Err(std::io::Error::other(format!(
                "the sdist unpacks to more than {MAX_UNPACKED} bytes"
            )));
        }
        Ok(())
    }

    /// Checks that every link made leads to something inside the root.
    fn finish(self) -> Result<(), UnpackError> {
        for (member, link) in &self.links {
            let why = match std::fs::canonicalize(link) {
                Ok(target) if target.starts_with(&self.root) => continue,
                Ok(_) => Refusal::LinkOutside,
                Err(_) => Refusal::LinkToNothing,
            };
            return Err(UnpackError::Refused { sdist: self.sdist.to_owned(), member: member.clone(), why });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_reads_what_older_releases_wrote_and_nothing_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("entry.json");
        // A complete answer, as every release so far has written it.
        let written = r#"{"build":["wheel"],"run":{"Ok":[["six",3],["attrs>=20",4]]},"backend":"setuptools.build_meta:__legacy__","python":"CPython 3.9.18 at python3.9"}"#;
        std::fs::write(&entry, written).unwrap();
        let answer = load(&entry).expect("an answer in the old form is read");
        assert_eq!(answer.build, ["wheel"]);
        assert_eq!(answer.run, Ok(vec![("six".to_owned(), 3), ("attrs>=20".to_owned(), 4)]));
        assert_eq!(answer.backend, DEFAULT_BACKEND);
        assert_eq!(answer.python, "CPython 3.9.18 at python3.9");
        // What is written now is that same form.
        let cached = Cached::of(&answer).unwrap();
        let json: serde_json::Value = serde_json::to_value(&cached).unwrap();
        assert_eq!(json, serde_json::from_str::<serde_json::Value>(written).unwrap());
        // An incomplete answer is not cached, and an entry holding one is
        // not read: the backend is asked again.
        let incomplete =
            HookAnswer { run: Err(PrepareError::NoHook { backend: "b".to_owned() }), ..answer.clone() };
        assert_eq!(Cached::of(&incomplete), None);
        std::fs::write(&entry, written.replace(r#"{"Ok":[["six",3],["attrs>=20",4]]}"#, r#"{"Err":"why"}"#))
            .unwrap();
        assert_eq!(load(&entry), None);
    }

    #[test]
    fn member_names_stay_under_the_top_directory() {
        let root = tempfile::tempdir().unwrap();
        let mut unpacker = Unpacker::new("a-1.tar.gz", root.path()).unwrap();
        assert_eq!(unpacker.relative("a-1/").unwrap(), None);
        assert_eq!(unpacker.relative("./a-1//x/./y").unwrap(), Some(PathBuf::from("x/y")));
        assert!(
            unpacker.relative("b-1/x").unwrap_err().to_string().contains("outside the top directory `a-1/`")
        );
        assert!(unpacker.relative("a-1/../x").unwrap_err().to_string().contains("`..`"));
        assert!(unpacker.relative("/a-1/x").unwrap_err().to_string().contains("absolute"));
    }

    #[test]
    fn backend_path_is_read_as_pip_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let read = |value: &str| {
            std::fs::write(
                dir.path().join("pyproject.toml"),
                format!("[build-system]\nrequires = []\nbuild-backend = \"flit_core.build_thyself\"\nbackend-path = {value}\n"),
            )
            .unwrap();
            backend_of("flit_core-2.3.0.tar.gz", dir.path())
        };
        // flit_core 2.3.0 writes a string; pip iterates it.
        assert_eq!(read("\".\"").unwrap(), ("flit_core.build_thyself".to_owned(), "[\".\"]".to_owned()));
        assert_eq!(read("[\".\", \"tools\"]").unwrap().1, "[\".\",\"tools\"]");
        let error = read("\"/x\"").unwrap_err().to_string();
        assert!(error.contains("found `/`"), "{error}");
        assert!(read("3").unwrap_err().to_string().contains("expected backend-path to be a list"));
        std::fs::remove_file(dir.path().join("pyproject.toml")).unwrap();
        assert_eq!(
            backend_of("a-1.tar.gz", dir.path()).unwrap(),
            (DEFAULT_BACKEND.to_owned(), "[]".to_owned())
        );
    }

    #[test]
    fn an_archive_larger_than_the_limit_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let mut unpacker = Unpacker::new("a-1.tar.gz", root.path()).unwrap();
        unpacker.written = MAX_UNPACKED - 10;
        let error = unpacker
            .add("a-1/big", Kind::File { executable: false }, &mut std::io::repeat(0).take(11))
            .unwrap_err()
            .to_string();
        assert!(error.contains("more than 1073741824 bytes"), "{error}");
        // Never more than one byte past the limit was written.
        assert_eq!(std::fs::metadata(root.path().join("big")).unwrap().len(), 11);
    }
}
