//! Running build commands (a virtual environment, pip, a build backend):
//! each in a cleared environment, under a umask, with its output appended
//! to a log file, and within a deadline.
//!
//! Every command is the leader of a process group of its own
//! ([`std::os::unix::process::CommandExt::process_group`]). When the
//! deadline passes, the whole group gets SIGTERM, then SIGKILL five seconds
//! later; when the run is cancelled, SIGKILL at once; and when the command
//! ends by itself, whatever it left running in its group is killed too, so
//! that no process of one build outlives it to touch another. The signals
//! are sent to the group with `kill(2)` through rustix (this crate has no
//! unsafe code), and the command's end is noticed the moment it happens: a
//! thread waits for it. Output goes straight to a log file,
//! never through a pipe, so a process that escaped the group cannot keep the
//! gate waiting.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gate_core::CancelToken;
use rustix::process::Signal;

use crate::interpreter::Interpreter;
use crate::process::{kill_group, wait_in_thread};

/// The time zone and umask of a setup command (a virtual environment, pip);
/// a build may run under conditions of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// `TZ`.
    pub tz: &'static str,
    /// The umask the command runs under.
    pub umask: &'static str,
}

/// The conditions of every setup command: the controlled environment of
/// the release process.
pub const FIRST: Variant = Variant { tz: "UTC", umask: "022" };

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

/// Variables passed through from the gate's environment to pip, for
/// downloads; never to a build.
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
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.venv.join("bin").display());
        let mut env: Vec<(String, OsString)> = vec![
            ("PATH".into(), path.into()),
            ("HOME".into(), self.work.join("home").into()),
            ("TMPDIR".into(), self.work.join("tmp").into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("TZ".into(), variant.tz.into()),
            ("SOURCE_DATE_EPOCH".into(), self.epoch.to_string().into()),
            ("PYTHONHASHSEED".into(), "0".into()),
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
            ("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()),
            ("PIP_NO_INPUT".into(), "1".into()),
            ("PIP_NO_CACHE_DIR".into(), "1".into()),
        ];
        if let Some(pip) = self.pip_path() {
            env.push(("PYTHONPATH".into(), pip.into()));
        }
        env.extend(network_vars());
        let step = Step { args: args.to_vec(), dir, env, umask: variant.umask, log };
        step.run(self.deadline, self.limit, self.cancel)
    }

    /// Where `python -m pip` finds pip: a directory holding only a link to
    /// the interpreter's installed pip of the bundled version (compiled
    /// already; nothing else of its site-packages is visible), else the
    /// bundled wheel itself.
    fn pip_path(&self) -> Option<PathBuf> {
        if let Some(installed) = &self.python.installed_pip {
            let dir = self.work.join("pip-path");
            let link = dir.join("pip");
            let linked = std::fs::read_link(&link).is_ok_and(|to| to == *installed)
                || (std::fs::create_dir_all(&dir).is_ok()
                    && std::os::unix::fs::symlink(installed, &link).is_ok());
            if linked {
                return Some(dir);
            }
        }
        self.python.bundled_pip.clone()
    }

    /// `python -m pip ARGS` in the virtual environment.
    pub fn pip(&self, args: &[&str]) -> Vec<OsString> {
        let mut all: Vec<OsString> = vec![self.venv_python().into(), "-m".into(), "pip".into()];
        all.extend(args.iter().map(OsString::from));
        all
    }
}

/// The [`NETWORK_VARS`] set in the gate's environment.
pub fn network_vars() -> Vec<(String, OsString)> {
    NETWORK_VARS
        .iter()
        .filter_map(|var| std::env::var_os(var).map(|value| ((*var).to_owned(), value)))
        .collect()
}

/// One command and everything it runs with.
pub struct Step<'a> {
    /// The program, then its arguments.
    pub args: Vec<OsString>,
    /// Its working directory.
    pub dir: &'a Path,
    /// Its whole environment: nothing else of the gate's is passed.
    pub env: Vec<(String, OsString)>,
    /// The umask it runs under, octal.
    pub umask: &'a str,
    /// The log its output is appended to.
    pub log: &'a Path,
}

/// How long a timed-out command's process group has between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

impl Step<'_> {
    /// The command as the log and messages show it.
    pub fn command(&self) -> String {
        self.args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    }

    /// Runs the command to its end, or kills its process group when
    /// `deadline` passes (the error names `limit`) or `cancel` is set.
    pub fn run(&self, deadline: Instant, limit: Duration, cancel: &CancelToken) -> Result<(), StepError> {
        let command = self.command();
        if deadline.saturating_duration_since(Instant::now()).is_zero() {
            return Err(StepError::TimedOut { command, limit });
        }
        let cannot_log = || format!("cannot write the build log {}", self.log.display());
        let mut file = File::options().create(true).append(true).open(self.log).map_err(io(cannot_log()))?;
        let shown: Vec<String> = self
            .env
            .iter()
            .filter(|(name, _)| !NETWORK_VARS.contains(&name.as_str()))
            .map(|(name, value)| format!("{name}={}", value.to_string_lossy()))
            .collect();
        writeln!(
            file,
            "$ (umask {}; cd {}; env -i {}) {command}",
            self.umask,
            self.dir.display(),
            shown.join(" ")
        )
        .map_err(io(cannot_log()))?;
        let stderr = file.try_clone().map_err(io("cannot share the build log"))?;
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", &format!("umask {}; exec \"$@\"", self.umask), "sh"])
            .args(&self.args)
            .current_dir(self.dir)
            .env_clear()
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr)
            .process_group(0);
        let child = cmd.spawn().map_err(|source| StepError::Spawn { command: command.clone(), source })?;
        let group = child.id();
        let finished = wait_in_thread(child);
        let wait = |until: Instant| -> Option<std::io::Result<ExitStatus>> {
            finished.recv_timeout(until.saturating_duration_since(Instant::now())).ok()
        };
        let status = loop {
            // Woken at once when the command ends; at least every CHECK to
            // see whether the run was cancelled.
            if let Some(status) = wait(deadline.min(Instant::now() + CHECK)) {
                break status.map_err(io("cannot wait for the build"))?;
            }
            if cancel.is_cancelled() {
                kill_group(group, Signal::KILL);
                let _ = finished.recv();
                return Err(StepError::Cancelled { command });
            }
            if Instant::now() >= deadline {
                kill_group(group, Signal::TERM);
                if wait(Instant::now() + GRACE).is_none() {
                    kill_group(group, Signal::KILL);
                    let _ = finished.recv();
                }
                kill_group(group, Signal::KILL);
                return Err(StepError::TimedOut { command, limit });
            }
        };
        // Whatever the command left running in its group ends with it.
        kill_group(group, Signal::KILL);
        match status.code() {
            Some(0) => Ok(()),
            _ => Err(StepError::Failed { command, status }),
        }
    }
}

/// How often a running command's cancellation is checked.
const CHECK: Duration = Duration::from_millis(50);

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

    /// Whether a process whose command line contains `marker` is running.
    fn running(marker: &str) -> bool {
        std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(marker))
        })
    }

    fn step<'a>(script: &str, dir: &'a Path, log: &'a Path) -> Step<'a> {
        Step {
            args: vec!["/bin/sh".into(), "-c".into(), script.into()],
            dir,
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            umask: "027",
            log,
        }
    }

    /// The command is this process's own child (no `timeout` or other
    /// wrapper in between), runs under the umask, in a cleared environment.
    #[test]
    fn a_step_is_our_child_under_its_umask_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let (log, out) = (dir.path().join("log"), dir.path().join("out"));
        let script = format!("echo $PPID $(umask) ${{HOME:-nohome}} > {}", out.display());
        let cancel = CancelToken::default();
        step(&script, dir.path(), &log)
            .run(Instant::now() + Duration::from_secs(60), Duration::from_secs(60), &cancel)
            .unwrap();
        let said = std::fs::read_to_string(&out).unwrap();
        assert_eq!(said.trim(), format!("{} 0027 nohome", std::process::id()));
        let failed = step("exit 3", dir.path(), &log).run(
            Instant::now() + Duration::from_secs(60),
            Duration::from_secs(60),
            &cancel,
        );
        assert!(matches!(failed, Err(StepError::Failed { .. })), "{failed:?}");
    }

    /// Cancelling the run ends a running command's whole group at once.
    #[test]
    fn a_cancelled_run_kills_the_command_s_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let cancel = CancelToken::default();
        let marker = format!("{}", 400_000 + std::process::id());
        let script = format!("sleep {marker} & sleep {marker}");
        let started = Instant::now();
        let cancelled = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                cancel.cancel();
            });
            step(&script, dir.path(), &log).run(
                Instant::now() + Duration::from_secs(600),
                Duration::from_secs(600),
                &cancel,
            )
        });
        assert!(matches!(cancelled, Err(StepError::Cancelled { .. })), "{cancelled:?}");
        assert!(started.elapsed() < Duration::from_secs(60), "not stopped: {:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(200));
        assert!(!running(&format!("sleep {marker}")), "a process of the cancelled group is still running");
    }

    /// pip runs from the interpreter's installed pip of the bundled version,
    /// already compiled, through a directory that shows nothing else of its
    /// site-packages; the virtual environment stays without pip.
    #[test]
    fn pip_runs_from_the_installed_copy_of_the_bundled_version() {
        let python = crate::interpreter::in_pyenv("3.11", crate::interpreter::pyenv_root().as_deref())
            .expect("the pyenv Python 3.11 the suite needs");
        let python = crate::interpreter::probe(&python).unwrap();
        let installed = python.installed_pip.clone().expect("pyenv's 3.11 has its bundled pip installed");
        assert!(installed.ends_with("site-packages/pip"), "{installed:?}");
        let dir = tempfile::tempdir().unwrap();
        let (work, venv, log) = (dir.path().join("work"), dir.path().join("venv"), dir.path().join("log"));
        std::fs::create_dir_all(work.join("home")).unwrap();
        std::fs::create_dir_all(work.join("tmp")).unwrap();
        let cancel = CancelToken::default();
        let runner = Runner {
            work: &work,
            venv: &venv,
            python: &python,
            epoch: 1_700_000_000,
            deadline: Instant::now() + Duration::from_secs(120),
            limit: Duration::from_secs(120),
            cancel: &cancel,
        };
        runner.make_venv(dir.path(), &log).unwrap();
        runner.run(&runner.pip(&["--version"]), dir.path(), FIRST, &log).unwrap();
        let said = std::fs::read_to_string(&log).unwrap();
        let from = work.join("pip-path/pip");
        assert!(said.contains(&format!("from {}", from.display())), "{said}");
        assert_eq!(std::fs::read_link(&from).unwrap(), installed);
        assert!(!venv.join("bin/pip").exists(), "the environment got a pip of its own");
    }

    /// A command that outlives its deadline is killed from here with every
    /// process it started, and so is what a finished command left running.
    #[test]
    fn the_whole_process_group_is_killed_at_the_deadline_and_after_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let cancel = CancelToken::default();
        let (hung, left) =
            (format!("{}", 200_000 + std::process::id()), format!("{}", 300_000 + std::process::id()));
        let started = Instant::now();
        let script = format!("sleep {hung} & sleep {hung}");
        let timed_out = step(&script, dir.path(), &log).run(
            Instant::now() + Duration::from_millis(300),
            Duration::from_millis(300),
            &cancel,
        );
        assert!(matches!(timed_out, Err(StepError::TimedOut { .. })), "{timed_out:?}");
        assert!(started.elapsed() < GRACE, "the group ignored SIGTERM? {:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(200));
        assert!(!running(&format!("sleep {hung}")), "a process of the timed-out group is still running");

        let script = format!("sleep {left} >/dev/null 2>&1 & exit 0");
        step(&script, dir.path(), &log)
            .run(Instant::now() + Duration::from_secs(60), Duration::from_secs(60), &cancel)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(!running(&format!("sleep {left}")), "what a finished command left running still runs");
    }
}
