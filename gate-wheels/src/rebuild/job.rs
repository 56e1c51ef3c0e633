//! One job: a wheel built twice from its sdist in the shared environment,
//! and, when the two differ, built again to name the variation that
//! changes the bytes.
//!
//! Every build starts from nothing of another: the build directory (source
//! tree, `HOME`, `TMPDIR`, metadata) is emptied and the sdist unpacked
//! anew, the environment is cleared and set ([`Conditions::env`]), the
//! build's processes are killed when it ends, and the shared environment is
//! checked for changes after it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use gate_core::CancelToken;

use super::cache::{self, Built};
use super::env::{BuildEnv, remove_tree};
use super::vary::{Conditions, Plan, Variation};
use python_build::frontend::{self, HOOK, Hooks};
use python_build::step::{Step, StepError, fresh_dir, io};

/// Values made once per run, by the first job that needs each, and shared.
pub struct Memo<K, V>(Mutex<HashMap<K, Arc<OnceLock<V>>>>);

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// An empty memo.
    pub fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    /// The value of `key`, made by `make` when no job made it yet; other
    /// jobs asking meanwhile wait for it.
    pub fn get(&self, key: K, make: impl FnOnce() -> V) -> V {
        let cell = self.0.lock().unwrap_or_else(PoisonError::into_inner).entry(key).or_default().clone();
        cell.get_or_init(make).clone()
    }
}

/// What every build of a job shares.
pub struct Builder<'a> {
    /// The sealed environment.
    pub env: &'a BuildEnv,
    /// The variations this machine applies.
    pub plan: &'a Plan,
    /// The sdist.
    pub sdist: &'a Path,
    /// The job's work directory: `build/` (emptied for each build), and
    /// each build's `out-N/` and `build-N.log`.
    pub work: &'a Path,
    /// The target Python's version, for `Requires-Python`.
    pub python_version: &'a str,
    /// `SOURCE_DATE_EPOCH`.
    pub epoch: i64,
    /// When the job's time is up.
    pub deadline: Instant,
    /// The per-wheel timeout, for messages.
    pub limit: Duration,
    /// The gate's cancel token.
    pub cancel: &'a CancelToken,
}

/// A build that did not give a wheel: why, and its log.
pub struct Failed {
    /// Why.
    pub error: StepError,
    /// The build's log.
    pub log: PathBuf,
}

impl Builder<'_> {
    /// The log of build `number`.
    pub fn log(&self, number: usize) -> PathBuf {
        self.work.join(format!("build-{number}.log"))
    }

    /// Build `number` under `conditions`: the wheel, then the environment
    /// checked unchanged.
    pub fn build(&self, number: usize, conditions: &Conditions) -> Result<PathBuf, Failed> {
        let log = self.log(number);
        let started = std::fs::write(&log, format!("# build {number}: {}\n", conditions.describe()));
        let built = started.map_err(io(format!("cannot write {}", log.display())));
        let built = built.and_then(|()| self.build_in(number, conditions, &log));
        let checked = self.env.check().map_err(|e| StepError::Unexpected(e.to_string()));
        match (built, checked) {
            (Ok(wheel), Ok(())) => Ok(wheel),
            (_, Err(error)) | (Err(error), _) => Err(Failed { error, log }),
        }
    }

    fn build_in(&self, number: usize, conditions: &Conditions, log: &Path) -> Result<PathBuf, StepError> {
        let root = self.work.join("build");
        remove_tree(&root).map_err(io(format!("cannot empty {}", root.display())))?;
        let source = root.join(conditions.source_dir());
        let metadata = root.join("metadata");
        let script = root.join("frontend").join("pep517_hook.py");
        for dir in [root.join("tmp"), root.join(conditions.home_dir()), metadata.clone()] {
            std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
        }
        std::fs::create_dir_all(root.join("frontend"))
            .map_err(io("cannot create the frontend's directory"))?;
        std::fs::write(&script, HOOK).map_err(io(format!("cannot write {}", script.display())))?;
        let out = self.work.join(format!("out-{number}"));
        fresh_dir(&out)?;
        let env = conditions.env(self.plan, &root, &self.env.dir.join("bin"), self.epoch);
        let step = Step { args: Vec::new(), dir: &root, env, umask: conditions.umask(), log };
        let run = |step: &Step| step.run(self.deadline, self.limit, self.cancel);
        let _mount = match (conditions.has(Variation::FileOrder), &self.plan.disorderfs) {
            (true, Some((disorderfs, fusermount))) => {
                let backing = root.join("backing");
                frontend::unpack(self.sdist, &backing, &step, &run)?;
                std::fs::create_dir_all(&source)
                    .map_err(io(format!("cannot create {}", source.display())))?;
                let args: Vec<OsString> = vec![
                    disorderfs.into(),
                    "--shuffle-dirents=yes".into(),
                    "-q".into(),
                    backing.into(),
                    source.clone().into(),
                ];
                run(&Step { args, dir: &root, env: step.env.clone(), umask: step.umask, log })?;
                Some(Mount { fusermount: fusermount.clone(), point: source.clone() })
            }
            _ => {
                frontend::unpack(self.sdist, &source, &step, &run)?;
                None
            }
        };
        let name = self.sdist.file_name().unwrap_or_default().to_string_lossy();
        let backend =
            frontend::backend_of(&name, &source).map_err(|e| StepError::Unexpected(e.to_string()))?;
        let hooks = Hooks {
            python: self.env.python(),
            script,
            backend: &backend,
            source: &source,
            prefix: conditions.prefix(self.plan),
            step,
        };
        hooks.build_wheel(&metadata, &out, self.python_version, &run)
    }

    /// Why build 1 and build 2 differ: a build with nothing varied, then
    /// one per variation alone, compared with build 1.
    pub fn explain(&self, first_sha256: &str) -> String {
        /// Why an explaining build gave no wheel to compare.
        #[derive(Debug, thiserror::Error)]
        enum NotCompared {
            #[error(transparent)]
            Build(StepError),
            #[error(transparent)]
            Hash(#[from] std::io::Error),
        }
        let differs = |number: usize, conditions: &Conditions| -> Result<bool, NotCompared> {
            let wheel = self.build(number, conditions).map_err(|f| NotCompared::Build(f.error))?;
            Ok(cache::file_sha256(&wheel)? != first_sha256)
        };
        match differs(3, &Conditions::base()) {
            Ok(true) => {
                return "not deterministic: build 3, with nothing varied, differs from build 1 too (random values, or the time read during the build)".to_owned();
            }
            Ok(false) => {}
            Err(e) => return format!("not explained: build 3, with nothing varied, failed: {e}"),
        }
        let mut changed = Vec::new();
        for (n, &variation) in self.plan.applied.iter().enumerate() {
            let label = format!("{} ({})", variation.name(), self.plan.values(variation));
            match differs(4 + n, &Conditions::only(variation)) {
                Ok(true) => changed.push(label),
                Ok(false) => {}
                Err(e) if Instant::now() >= self.deadline || self.cancel.is_cancelled() => {
                    changed.push(format!("not explained further: {e}"));
                    break;
                }
                Err(e) => changed.push(format!("{label}, under which the build fails: {e}")),
            }
        }
        match changed.is_empty() {
            true => "changed by no variation alone, only by several together".to_owned(),
            false => format!("changed by {}", changed.join("; ")),
        }
    }

    /// Builds 1 (nothing varied) and 2 (every variation of the plan), and
    /// the explanation when they differ.
    pub fn build_twice(&self) -> Result<Built, Failed> {
        let first = self.build(1, &Conditions::base())?;
        let second = self.build(2, &Conditions::all(self.plan))?;
        let hash = |path: &Path, number: usize| {
            cache::file_sha256(path)
                .map_err(|e| Failed { error: io("cannot hash a built wheel")(e), log: self.log(number) })
        };
        let (first_sha256, second_sha256) = (hash(&first, 1)?, hash(&second, 2)?);
        let explained = (first_sha256 != second_sha256).then(|| self.explain(&first_sha256));
        Ok(Built { first, first_sha256, second, second_sha256, explained })
    }
}

/// A disorderfs mount, unmounted when dropped.
struct Mount {
    fusermount: PathBuf,
    point: PathBuf,
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmount = |lazy: bool| {
            let mut args: Vec<OsString> = vec!["-u".into()];
            if lazy {
                args.push("-z".into());
            }
            args.push(self.point.clone().into());
            super::vary::quick_output(
                std::process::Command::new(&self.fusermount).args(args),
                Duration::from_secs(10),
            )
        };
        if unmount(false).is_none() {
            let _ = unmount(true);
        }
    }
}
