//! One wheel built from its sdist, twice, in a controlled environment.
//!
//! Every command runs as
//! `timeout --kill-after=5s <left>s sh -c 'umask <mask>; exec "$@"' sh <command…>`
//! with a cleared environment. GNU `timeout` puts itself and the command in
//! a process group of their own and signals the whole group when the time
//! is up, so a hanging build backend and every process it started are
//! killed (SIGTERM, then SIGKILL five seconds later), without unsafe code
//! in this crate. Output goes straight to a log file, never through a pipe,
//! so a grandchild that escaped the group cannot keep the gate waiting.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gate_core::CancelToken;

use crate::python::Interpreter;

/// How many lines of a failed build's log the report keeps.
pub const LOG_TAIL_LINES: usize = 40;

/// The conditions of one build: everything but these is the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// `1` or `2`: names the build's log and output.
    pub number: u8,
    /// The source tree's directory, relative to the job's build root.
    pub source_dir: &'static str,
    /// `TZ`.
    pub tz: &'static str,
    /// The umask the build runs under.
    pub umask: &'static str,
}

/// The first build: the controlled environment of the release process.
pub const FIRST: Variant = Variant { number: 1, source_dir: "src", tz: "UTC", umask: "022" };

/// The second build varies what must not matter: another build path (of
/// another depth), a time zone fourteen hours east of UTC, and a umask that
/// takes away group and other bits (022 → 027). It never adds write bits: a
/// group-writable umask is a known cause of drift, not a variation.
pub const SECOND: Variant =
    Variant { number: 2, source_dir: "varied/second-build/src", tz: "Etc/GMT-14", umask: "027" };

/// Why a step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The command could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed.
    #[error("`{command}` failed ({status})")]
    Failed {
        /// The command.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// The per-wheel timeout passed; the command's process group was killed.
    #[error("timed out after {limit:?}: `{command}` and every process it started were killed")]
    TimedOut {
        /// The command.
        command: String,
        /// The per-wheel timeout.
        limit: Duration,
    },
    /// The run was cancelled; the command's process group was killed.
    #[error("cancelled: `{command}` and every process it started were killed")]
    Cancelled {
        /// The command.
        command: String,
    },
    /// A step finished but did not leave what it should have.
    #[error("{0}")]
    Unexpected(String),
    /// A file of the build could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// Wraps an I/O error with what was being done.
pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StepError {
    let what = what.into();
    move |source| StepError::Io { what, source }
}

/// The fixed settings of every command of one job.
pub struct Runner<'a> {
    /// Where pip and the build write their home, temporary files and logs.
    pub work: &'a Path,
    /// The fresh virtual environment.
    pub venv: &'a Path,
    /// The interpreter the virtual environment was made from.
    pub python: &'a Interpreter,
    /// `SOURCE_DATE_EPOCH`.
    pub epoch: i64,
    /// When the job's time is up.
    pub deadline: Instant,
    /// The per-wheel timeout, for messages.
    pub limit: Duration,
    /// The gate's cancel token.
    pub cancel: &'a CancelToken,
}

/// Variables passed through from the gate's environment, for downloads only.
const NETWORK_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

impl Runner<'_> {
    /// The virtual environment's interpreter.
    pub fn venv_python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }

    /// Makes the virtual environment in `dir`, without pip of its own when
    /// the interpreter's bundled pip wheel runs pip ([`Runner::pip`]).
    pub fn make_venv(&self, dir: &Path, log: &Path) -> Result<(), StepError> {
        let mut venv = vec![self.python.path.clone().into_os_string(), "-m".into(), "venv".into()];
        if self.python.bundled_pip.is_some() {
            venv.push("--without-pip".into());
        }
        venv.push(self.venv.into());
        self.run(&venv, dir, FIRST, log)
    }

    /// Runs `args` (program first) in `dir` under `variant`, appending its
    /// output to `log`.
    pub fn run(&self, args: &[OsString], dir: &Path, variant: Variant, log: &Path) -> Result<(), StepError> {
        let command = args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StepError::TimedOut { command, limit: self.limit });
        }
        let mut file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io(format!("cannot write the build log {}", log.display())))?;
        writeln!(file, "$ (umask {}; TZ={}; cd {}) {command}", variant.umask, variant.tz, dir.display())
            .map_err(io(format!("cannot write the build log {}", log.display())))?;
        let stderr = file.try_clone().map_err(io("cannot share the build log"))?;
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.venv.join("bin").display());
        let mut cmd = Command::new("timeout");
        cmd.arg("--kill-after=5s")
            .arg(format!("{}s", left.as_secs().max(1)))
            .args(["sh", "-c", &format!("umask {}; exec \"$@\"", variant.umask), "sh"])
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.work.join("home"))
            .env("TMPDIR", self.work.join("tmp"))
            .env("LC_ALL", "C.UTF-8")
            .env("TZ", variant.tz)
            .env("SOURCE_DATE_EPOCH", self.epoch.to_string())
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1")
            .env("PIP_NO_CACHE_DIR", "1")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr);
        if let Some(pip) = &self.python.bundled_pip {
            cmd.env("PYTHONPATH", pip);
        }
        for var in NETWORK_VARS {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        let mut child =
            cmd.spawn().map_err(|source| StepError::Spawn { command: command.clone(), source })?;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(io("cannot wait for the build"))? {
                break status;
            }
            if self.cancel.is_cancelled() {
                // `timeout` leads the group; signalling the group kills the tree.
                let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", child.id())]).status();
                let _ = child.wait();
                return Err(StepError::Cancelled { command });
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        match status.code() {
            Some(0) => Ok(()),
            // 124: timed out; 137: killed after --kill-after.
            Some(124 | 137) => Err(StepError::TimedOut { command, limit: self.limit }),
            _ => Err(StepError::Failed { command, status }),
        }
    }

    /// `python -m pip ARGS` in the virtual environment.
    pub fn pip(&self, args: &[&str]) -> Vec<OsString> {
        let mut all: Vec<OsString> = vec![self.venv_python().into(), "-m".into(), "pip".into()];
        all.extend(args.iter().map(OsString::from));
        all
    }
}

/// The last `lines` lines of `text`, or `None` when it is blank.
pub fn tail(text: &str, lines: usize) -> Option<String> {
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

/// The last [`LOG_TAIL_LINES`] lines of the log at `path`, read from at
/// most its last 64 KiB.
pub fn log_tail(path: &Path) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const MAX: u64 = 64 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
        let mut bytes = Vec::new();
        file.take(MAX).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => tail(&text, LOG_TAIL_LINES).unwrap_or_else(|| "(the log is empty)".to_owned()),
        Err(e) => format!("(cannot read the log {}: {e})", path.display()),
    }
}

/// The only `.whl` file in `dir`.
pub fn single_wheel(dir: &Path) -> Result<PathBuf, String> {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match &wheels[..] {
        [wheel] => Ok(wheel.clone()),
        [] => Err(format!("the build wrote no wheel to {}", dir.display())),
        _ => Err(format!("the build wrote {} wheels to {}, expected one", wheels.len(), dir.display())),
    }
}

/// Empties `dir` (if it exists) and creates it.
pub fn fresh_dir(dir: &Path) -> Result<(), StepError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("cannot empty {}", dir.display()))(e)),
    }
    std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2).as_deref(), Some("b\nc"));
        assert_eq!(tail("a\n", 40).as_deref(), Some("a"));
        assert_eq!(tail(" \n\n", 40), None);
    }
}
