//! Why a build backend gave no answer ([`HookError`]), or no run-time
//! needs ([`PrepareError`]), and the refusals on the way.
//!
//! [`PrepareError`] is part of a [`HookAnswer`](super::HookAnswer), which is
//! cloned and compared: where a cause is an I/O error (not `Clone`), its
//! message is kept instead.

use std::path::PathBuf;
use std::process::ExitStatus;

use python_build::interpreter::PythonError;
use python_build::step::StepError;

use super::MAX_ENTRIES;
use crate::archive::ArchiveError;

/// Why a build backend gave no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The run was cancelled before anything was asked.
    #[error("cancelled before the build backend was asked")]
    Cancelled,
    /// The interpreter to ask in cannot be found.
    #[error("cannot find the interpreter {}: {source}", python.display())]
    NoInterpreter {
        /// As given.
        python: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The interpreter cannot say what it is.
    #[error(transparent)]
    Probe(#[from] PythonError),
    /// The answer cannot be encoded for the cache.
    #[error("cannot encode the answer: {0}")]
    Encode(serde_json::Error),
    /// The answer cannot be stored in the cache.
    #[error("cannot store the answer in {}: {source}", dir.display())]
    Store {
        /// The cache's directory of hook answers.
        dir: PathBuf,
        /// Why.
        source: gate_core::files::WriteError,
    },
    /// The work directory cannot be made afresh.
    #[error("cannot make the work directory: {0}")]
    WorkDir(StepError),
    /// A directory under the work directory cannot be created.
    #[error("cannot create {}: {source}", work.display())]
    Create {
        /// The work directory.
        work: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The sdist is not unpacked.
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    /// Its `pyproject.toml` names no usable backend.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The virtual environment or the build requirements cannot be set up,
    /// or the timeout passed (or the run was cancelled) while installing
    /// what `get_requires_for_build_wheel` asked for.
    #[error(transparent)]
    Setup(StepFailure),
    /// The script that asks the backend cannot be written.
    #[error("cannot write {}: {source}", script.display())]
    Script {
        /// Where it was to go.
        script: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// `get_requires_for_build_wheel` gave no answer, or
    /// `prepare_metadata_for_build_wheel` timed out or was cancelled.
    #[error(transparent)]
    Hook(HookFailure),
}

/// Why `prepare_metadata_for_build_wheel` gave no run-time needs, though
/// `get_requires_for_build_wheel` answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// The backend has no such hook.
    #[error("the backend {backend} has no prepare_metadata_for_build_wheel hook")]
    NoHook {
        /// `module:object`.
        backend: String,
    },
    /// What `get_requires_for_build_wheel` asked for cannot be installed.
    #[error("{0}\n(so prepare_metadata_for_build_wheel was not asked)")]
    NotAsked(StepFailure),
    /// The hook failed.
    #[error(transparent)]
    Hook(HookFailure),
    /// What it wrote cannot be read.
    #[error(transparent)]
    DistInfo(DistInfoError),
}

/// A step of an ask that failed: what it was, and what
/// [`StepError`] said (its message: its cause is not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {error}{}", output(.tail.as_deref()))]
pub struct StepFailure {
    /// What the step was for: `cannot make a virtual environment`.
    pub what: String,
    /// The step's error, as it says it.
    pub error: String,
    /// The last lines of the step's output, when it ran and failed.
    pub tail: Option<String>,
    /// Whether that ends the ask: the timeout passed or the run was cancelled.
    pub over: bool,
}

/// `; last lines of its output:\n<tail>`, or nothing.
fn output(tail: Option<&str>) -> String {
    tail.map_or(String::new(), |tail| format!("; last lines of its output:\n{tail}"))
}

/// Why one hook gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookFailure {
    /// The hook ran and failed.
    #[error("the backend {backend} failed in {hook} ({status}); last lines of its output:\n{tail}")]
    Failed {
        /// `module:object`.
        backend: String,
        /// `get_requires_for_build_wheel`.
        hook: String,
        /// How it ended.
        status: ExitStatus,
        /// The last lines of its output.
        tail: String,
    },
    /// It could not be run to the end: `what` is `the backend <backend>,
    /// asked for <hook>`.
    #[error(transparent)]
    Step(StepFailure),
    /// Its answer cannot be read.
    #[error("the backend {backend}, asked for {hook}: its answer: {error}")]
    Unread {
        /// `module:object`.
        backend: String,
        /// The hook.
        hook: String,
        /// Why, as [`gate_core::files::ReadError`] says.
        error: String,
    },
    /// Its answer is not what [`HOOKS`](super::HOOKS) writes.
    #[error("the backend {backend}, asked for {hook}: its answer is not understood: {error}")]
    NotUnderstood {
        /// `module:object`.
        backend: String,
        /// The hook.
        hook: String,
        /// The JSON parser's message.
        error: String,
    },
}

impl HookFailure {
    /// Whether it ends the ask: the timeout passed or the run was cancelled.
    pub fn is_over(&self) -> bool {
        matches!(self, Self::Step(step) if step.over)
    }
}

/// Why the `METADATA` that `prepare_metadata_for_build_wheel` wrote
/// cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistInfoError {
    /// The hook returned something else than a directory name.
    #[error(
        "the backend {backend}'s prepare_metadata_for_build_wheel returned `{name}`, not the name of a .dist-info directory"
    )]
    NotDistInfo {
        /// `module:object`.
        backend: String,
        /// What it returned.
        name: String,
    },
    /// The file cannot be read.
    #[error("{name}/METADATA: {error}")]
    Read {
        /// The `.dist-info` directory.
        name: String,
        /// Why, as [`gate_core::files::ReadError`] says.
        error: String,
    },
    /// The file is not text.
    #[error("{name}/METADATA is not UTF-8")]
    NotUtf8 {
        /// The `.dist-info` directory.
        name: String,
    },
}

/// Why the sdist's `pyproject.toml` names no usable backend; each message
/// starts with `<sdist>!pyproject.toml`.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The file cannot be read.
    #[error("{file}: {source}")]
    Read {
        /// `<sdist>!pyproject.toml`.
        file: String,
        /// Why.
        source: gate_core::files::ReadError,
    },
    /// The file is not text.
    #[error("{file}: not UTF-8")]
    NotUtf8 {
        /// `<sdist>!pyproject.toml`.
        file: String,
    },
    /// The TOML parser's message.
    #[error("{file}: invalid TOML: {message}")]
    Toml {
        /// `<sdist>!pyproject.toml`.
        file: String,
        /// What the parser said.
        message: String,
    },
    /// `build-backend` is of this TOML type.
    #[error("{file}: build-backend is a {found}, expected a string")]
    NotAString {
        /// `<sdist>!pyproject.toml`.
        file: String,
        /// The TOML type found.
        found: &'static str,
    },
    /// `backend-path` is no list of directories, or has `entry` outside the sdist.
    #[error("{file}: expected backend-path to be a list of directories inside the sdist{}", found_entry(.entry.as_deref()))]
    BackendPath {
        /// `<sdist>!pyproject.toml`.
        file: String,
        /// The entry outside the sdist, if that is what is wrong.
        entry: Option<String>,
    },
}

/// `, found `entry``, or nothing.
fn found_entry(entry: Option<&str>) -> String {
    entry.map_or(String::new(), |entry| format!(", found `{entry}`"))
}

/// Why an sdist is not unpacked; each message starts with the sdist's name.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The archive cannot be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// Neither a `.tar.gz` nor a `.zip`.
    #[error("{sdist}: only .tar.gz and .zip sdists can be unpacked")]
    NotAnSdist {
        /// The sdist's file name.
        sdist: String,
    },
    /// The directory to unpack into cannot be made.
    #[error("cannot create {}: {source}", root.display())]
    Root {
        /// The directory.
        root: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Too many members.
    #[error("{sdist}: more than {MAX_ENTRIES} members")]
    TooMany {
        /// The sdist's file name.
        sdist: String,
    },
    /// A member that would leave the root, or is no file, directory or link.
    #[error("{sdist}: the member `{member}` is refused: {why}")]
    Refused {
        /// The sdist's file name.
        sdist: String,
        /// The member's name.
        member: String,
        /// Why.
        why: Refusal,
    },
    /// Writing a member failed.
    #[error("{sdist}: cannot unpack `{member}`: {source}")]
    Failed {
        /// The sdist's file name.
        sdist: String,
        /// The member's name.
        member: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Why one member of an sdist is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Its name is absolute.
    #[error("an absolute name")]
    Absolute,
    /// Its name has a `..`.
    #[error("a `..` in its name")]
    DotDot,
    /// Under another top directory than the first member's.
    #[error("outside the top directory `{0}/`")]
    OutsideTop(String),
    /// It would be written through a link the sdist made.
    #[error("it would be written through the link `{}`", .0.display())]
    ThroughLink(PathBuf),
    /// A tar member of this type flag.
    #[error("a special file (tar type `{}`)", .0.escape_ascii())]
    TarSpecial(u8),
    /// A zip member of this Unix mode.
    #[error("a special file (mode {0:o})")]
    ZipSpecial(u32),
    /// A symbolic link to this target.
    #[error("a link to `{0}`, outside the sdist")]
    AbsoluteLink(String),
    /// A hard link whose target is refused.
    #[error("a link to {0}")]
    LinkTo(Box<Refusal>),
    /// A link to the top directory.
    #[error("a link to the top directory")]
    LinkToTop,
    /// A hard link to this member, which is no file.
    #[error("a hard link to `{0}`, not a file")]
    NotAFile(String),
    /// A link that leads outside the sdist.
    #[error("a link outside the sdist")]
    LinkOutside,
    /// A link to nothing.
    #[error("a link to nothing")]
    LinkToNothing,
}
