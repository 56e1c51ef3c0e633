//! Rebuilding every listed wheel from its sdist, twice, and requiring both
//! builds and the committed wheel to agree byte for byte.
//!
//! Opt-in with `[gates.wheels.rebuild]` ([`Config`]). Prepared once per run
//! and shared by every job that needs it:
//!
//! - one build environment per target Python and build requirements
//!   ([`env`]): a virtual environment into which pip installs the
//!   hash-pinned build requirements (`--require-hashes`), then sealed
//!   read-only and checked after every build;
//! - each sdist, once per hash ([`sdist`]): `pip download --no-binary :all:
//!   --require-hashes`, pinned by the requirements file's hashes;
//! - what this machine can vary ([`vary::Plan`]).
//!
//! Then, for each wheel of the sums files (or the configured subset) and
//! each target Python, one job ([`job`]): two builds from a freshly
//! unpacked sdist, through the PEP 517 hooks as pip calls them
//! ([`frontend`], no pip process per build), the first in the controlled
//! environment of the release process (`SOURCE_DATE_EPOCH`,
//! `PYTHONHASHSEED=0`, `C.UTF-8`, UTC, umask 022, a cleared environment),
//! the second under every variation of the plan; and one item: `rebuild`
//! (reproducible, or differs from the committed wheel), `rebuild-unstable`
//! (the two builds differ: more builds name the variation that changes the
//! bytes) or `rebuild-failed`, explained by [`wheel_diff`] or by the
//! tail of the build log.
//!
//! Jobs run concurrently, `jobs` at a time; one failing never stops the
//! others. Results are cached by the hash of everything a build depends on
//! ([`cache`]), so an unchanged re-run rebuilds nothing.

pub(crate) mod cache;
mod config;
pub(crate) mod env;
mod job;
mod progress;
mod sdist;
pub(crate) mod vary;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use gate_core::files::read_bounded;
use gate_core::{Context, Evidence, Item, Location};
use rayon::prelude::*;

use crate::layout::{WheelSet, wheel_subject};
use crate::requirements::{self, Requirement};
use crate::sums;
pub(crate) use config::Check;
pub use config::Config;
use env::{BuildEnv, EnvError};
use job::{Builder, Memo};
use progress::Progress;
pub use python_build::Interpreter;
use python_build::frontend;
use python_build::interpreter as python;
use python_build::log::log_tail;
use python_build::step::fresh_dir;
use python_build::{Runner, StepError};
use vary::Plan;

/// Adds several pieces of evidence to an item.
trait WithAll {
    fn with_all(self, evidence: Vec<Evidence>) -> Self;
}

impl WithAll for Item {
    fn with_all(mut self, evidence: Vec<Evidence>) -> Self {
        self.evidence.extend(evidence);
        self
    }
}

/// One wheel built with one target Python.
struct Job<'a> {
    set: &'a WheelSet,
    entry: &'a sums::Entry,
    python: &'a str,
}

impl Job<'_> {
    fn subject(&self) -> String {
        format!("{}@{}", wheel_subject(self.set, &self.entry.name), self.python)
    }

    fn failed(&self, reason: impl Into<String>) -> Item {
        Check::Failed.error(self.subject(), reason)
    }
}

/// Why nothing of a run's shared preparation can be used by its jobs: the
/// reason of every job's error item.
#[derive(Debug, thiserror::Error)]
enum SharedError {
    /// No configured, XDG or home cache directory.
    #[error("no cache directory: set cache-dir, XDG_CACHE_HOME or HOME")]
    NoCacheDirectory,
    /// No `SOURCE_DATE_EPOCH` configured and none from git.
    #[error(
        "no source-date-epoch configured, and the last commit's time is unknown ({why}); set source-date-epoch in [gates.wheels.rebuild]"
    )]
    NoEpoch {
        /// Why git could not tell.
        why: String,
    },
    /// A target interpreter was not found or did not answer.
    #[error(transparent)]
    Python(#[from] python::PythonError),
    /// A file the jobs need could not be read.
    #[error("{what} ({file}): {source}")]
    Unreadable {
        /// What the file is for.
        what: &'static str,
        /// The file, as configured.
        file: String,
        /// Why.
        source: gate_core::files::ReadError,
    },
}

/// What every job of a run shares, prepared once.
struct Shared {
    repo: PathBuf,
    cache_root: Result<PathBuf, SharedError>,
    refusal: Option<String>,
    epoch: Result<i64, SharedError>,
    pythons: BTreeMap<String, Result<Interpreter, SharedError>>,
    build_requirements: Result<(PathBuf, Vec<u8>), SharedError>,
    requirements: Result<Vec<Requirement>, SharedError>,
    source_args: Vec<String>,
    /// The `find-links` that are local directories.
    find_links: Vec<PathBuf>,
    /// What the second build varies here.
    plan: Plan,
    /// The build environments, by key.
    envs: Memo<String, Result<Arc<BuildEnv>, EnvError>>,
    /// The sdists, by the pin's hashes.
    sdists: Memo<String, Result<PathBuf, EnvError>>,
}

/// The rebuild items of the wheels of `sets` that this run wants.
pub(crate) fn run(ctx: &Context, config: &Config, sets: &[(&WheelSet, Vec<sums::Entry>)]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut jobs = Vec::new();
    let mut matched = vec![false; config.wheels.len()];
    for (set, entries) in sets {
        let mut seen = std::collections::BTreeSet::new();
        for entry in entries.iter().filter(|e| e.name.ends_with(".whl") && seen.insert(&e.name)) {
            let project = requirements::wheel_release(&entry.name).map(|(name, _)| name);
            let selected: Vec<usize> = (0..config.wheels.len())
                .filter(|&i| {
                    let wanted = &config.wheels[i];
                    *wanted == entry.name || project.as_deref() == Some(&requirements::normalise_name(wanted))
                })
                .collect();
            selected.iter().for_each(|&i| matched[i] = true);
            let wanted = ctx.wants(&wheel_subject(set, &entry.name));
            if wanted && (config.wheels.is_empty() || !selected.is_empty()) {
                jobs.extend(config.pythons.iter().map(|python| Job { set, entry, python }));
            }
        }
    }
    // A name that matches no wheel belongs to the first set's unit, so that
    // a sharded run reports it once.
    if sets.first().is_some_and(|(set, _)| ctx.wants(&set.sums)) {
        for (wanted, _) in config.wheels.iter().zip(&matched).filter(|(_, m)| !**m) {
            items.push(Check::Failed.error(
                wanted,
                format!(
                    "asked to rebuild `{wanted}`, but no sums file lists a wheel of that file or project name"
                ),
            ));
        }
    }
    if jobs.is_empty() {
        return items;
    }
    let shared = prepare(ctx, config);
    let threads = config.jobs.map_or(ctx.jobs, NonZeroUsize::get).max(1);
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool,
        Err(e) => {
            items.extend(jobs.iter().map(|job| job.failed(format!("could not start build threads: {e}"))));
            return items;
        }
    };
    let progress = Progress::stderr(jobs.len());
    let built: Vec<Item> = pool.install(|| {
        jobs.par_iter().with_max_len(1).map(|job| rebuild(ctx, config, &shared, &progress, job)).collect()
    });
    progress.finish();
    items.extend(built);
    items
}

/// Everything the jobs share; each problem becomes every job's error.
fn prepare(ctx: &Context, config: &Config) -> Shared {
    let repo = ctx.repo.clone();
    let cache_root = match &config.cache_dir {
        Some(dir) => Ok(repo.join(dir)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .map(|dir| dir.join("release-check"))
            .ok_or(SharedError::NoCacheDirectory),
    }
    .map(|dir| dir.join("rebuild"));
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let refusal = (root && !config.allow_root).then(|| {
        "refusing to build as root: builds run by root and under a group-writable umask are known causes of wheel drift (owners and modes leak into archives, files written where an unprivileged build could not); run as an unprivileged user, or set allow-root = true in [gates.wheels.rebuild] (CI containers that only run as root)".to_owned()
    });
    let epoch = config.source_date_epoch.map_or_else(|| last_commit_time(&repo), Ok);
    let pythons = config
        .pythons
        .iter()
        .map(|target| {
            let interpreter = python::resolve(target, &repo).and_then(|path| python::probe(&path));
            (target.clone(), interpreter.map_err(SharedError::from))
        })
        .collect();
    let build_requirements = {
        let path = repo.join(&config.build_requirements);
        read_bounded(&path, 1024 * 1024).map(|bytes| (path, bytes)).map_err(|source| {
            SharedError::Unreadable {
                what: "build requirements",
                file: config.build_requirements.clone(),
                source,
            }
        })
    };
    let requirements = read_bounded(&repo.join(&config.requirements), 16 * 1024 * 1024)
        .map_err(|source| SharedError::Unreadable {
            what: "sdist pins",
            file: config.requirements.clone(),
            source,
        })
        .map(|bytes| requirements::parse(&String::from_utf8_lossy(&bytes)).requirements);
    let mut source_args = Vec::new();
    match &config.index_url {
        Some(url) => source_args.extend(["--index-url".to_owned(), url.clone()]),
        None if !config.find_links.is_empty() => source_args.push("--no-index".to_owned()),
        None => {}
    }
    let mut find_links = Vec::new();
    for link in &config.find_links {
        let link = match link.contains("://") {
            true => link.clone(),
            false => {
                find_links.push(repo.join(link));
                repo.join(link).display().to_string()
            }
        };
        source_args.extend(["--find-links".to_owned(), link]);
    }
    Shared {
        repo,
        cache_root,
        refusal,
        epoch,
        pythons,
        build_requirements,
        requirements,
        source_args,
        find_links,
        plan: Plan::detect(),
        envs: Memo::new(),
        sdists: Memo::new(),
    }
}

/// The committer time of `HEAD` in `repo`, for `SOURCE_DATE_EPOCH`.
fn last_commit_time(repo: &Path) -> Result<i64, SharedError> {
    let why = |why: String| SharedError::NoEpoch { why };
    let sh = xshell::Shell::new().map_err(|e| why(e.to_string()))?;
    let text = xshell::cmd!(sh, "git -C {repo} log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .read()
        .map_err(|_| why(format!("`git log` failed in {}", repo.display())))?;
    text.trim().parse().map_err(|_| why(format!("`git log` printed `{}`", text.trim())))
}

/// One job, from cache or built, judged.
fn rebuild(ctx: &Context, config: &Config, shared: &Shared, progress: &Progress, job: &Job) -> Item {
    let started = Instant::now();
    let subject = job.subject();
    let item = match prepare_job(shared, job) {
        Err(item) => *item,
        Ok(plan) => {
            let python = plan.python;
            let cached = config.cache.then(|| cache::load(plan.cache_root, &plan.key)).flatten();
            let built = match cached {
                Some(built) => Ok((built, "reused from the cache")),
                None => {
                    let python = format!("{} {}", python.implementation, python.version);
                    let _building = progress.building(&subject, &python);
                    ctx.working_on(format!("rebuilding {subject}"));
                    let deadline = started + config.timeout.0;
                    build_job(ctx, config, shared, job, &plan, deadline)
                }
            };
            match built {
                Ok((built, how)) => judge(shared, job, python, &built, how)
                    .with(Evidence::fact("SOURCE_DATE_EPOCH", plan.epoch.to_string()))
                    .with(Evidence::fact("cache key", plan.key)),
                Err(item) => *item,
            }
        }
    };
    let took = started.elapsed();
    progress.done(&subject, &item.reason, took);
    let millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    item.with(Evidence::Timing { label: "rebuild".into(), millis })
}

/// What a job needs before building.
struct JobPlan<'a> {
    /// The target interpreter.
    python: &'a Interpreter,
    /// The requirement pinning the sdist's hashes.
    pin: &'a Requirement,
    /// `SOURCE_DATE_EPOCH`.
    epoch: i64,
    /// The cache and work directory.
    cache_root: &'a Path,
    /// The hash-pinned build requirements file and its bytes.
    build_requirements: (&'a Path, &'a [u8]),
    /// The cache key.
    key: String,
}

/// The job's [`JobPlan`], or the item saying why it cannot start.
fn prepare_job<'a>(shared: &'a Shared, job: &Job) -> Result<JobPlan<'a>, Box<Item>> {
    let fail = |reason: &str| Box::new(job.failed(reason));
    if let Some(refusal) = &shared.refusal {
        return Err(fail(refusal));
    }
    let python = match shared.pythons.get(job.python) {
        Some(Ok(python)) => python,
        Some(Err(e)) => return Err(fail(&e.to_string())),
        None => return Err(fail("the interpreter was not probed")),
    };
    let epoch = *shared.epoch.as_ref().map_err(|e| fail(&e.to_string()))?;
    let cache_root = shared.cache_root.as_deref().map_err(|e| fail(&e.to_string()))?;
    let (build_requirements_path, build_requirements) =
        shared.build_requirements.as_ref().map_err(|e| fail(&e.to_string()))?;
    let requirements = shared.requirements.as_ref().map_err(|e| fail(&e.to_string()))?;
    let Some((name, version)) = requirements::wheel_release(&job.entry.name) else {
        return Err(fail("not a wheel file name (name-version-python-abi-platform.whl)"));
    };
    let pin = requirements.iter().find(|r| r.name == name && r.version.as_ref() == Some(&version));
    let Some(pin) = pin.filter(|r| !r.hashes.is_empty()) else {
        return Err(fail(&format!(
            "no pin `{name}=={version}` with --hash in the sdist pins: pip's --require-hashes needs the sdist's hash"
        )));
    };
    let hashes: Vec<String> =
        pin.hashes.iter().map(|h| format!("{}:{}", h.algorithm.name(), h.hex)).collect();
    let key = gate_core::digest::cache_key(&[
        format!("{name}=={version}").as_bytes(),
        hashes.join(" ").as_bytes(),
        build_requirements,
        python.identity().as_bytes(),
        epoch.to_string().as_bytes(),
        shared.plan.describe().as_bytes(),
        frontend::HOOK.as_bytes(),
    ]);
    Ok(JobPlan {
        python,
        pin,
        epoch,
        cache_root,
        build_requirements: (build_requirements_path, build_requirements),
        key,
    })
}

/// Builds the job's wheel twice, in the shared environment of its Python,
/// from the shared sdist, and stores the result in the cache when it is
/// enabled.
fn build_job(
    ctx: &Context,
    config: &Config,
    shared: &Shared,
    job: &Job,
    plan: &JobPlan,
    deadline: Instant,
) -> Result<(cache::Built, &'static str), Box<Item>> {
    let JobPlan { python, pin, epoch, cache_root, build_requirements, ref key } = *plan;
    let failed = |reason: String, log: Option<&Path>| {
        let mut item = job.failed(reason);
        if let Some(log) = log {
            item = item
                .with(Evidence::Log {
                    label: format!("last lines of {}", log.display()).into(),
                    text: log_tail(log),
                })
                .with(Evidence::fact("full log", log.display().to_string()));
        }
        Box::new(item.with_all(python.evidence()))
    };
    let env_failed = |e: EnvError| failed(e.reason, e.log.as_deref());
    // The setup commands' own work directory and venv are set by env and sdist.
    let runner = Runner {
        work: cache_root,
        venv: cache_root,
        python,
        epoch,
        deadline,
        limit: config.timeout.0,
        cancel: &ctx.cancel,
    };
    let env_key = env::key(python, build_requirements.1);
    let env = shared
        .envs
        .get(env_key, || {
            let request = env::Request {
                root: cache_root,
                runner: &runner,
                build_requirements,
                source_args: &shared.source_args,
                reuse: config.cache,
            };
            env::prepare(&request).map(Arc::new)
        })
        .map_err(env_failed)?;
    let sdist = shared
        .sdists
        .get(sdist::sha256s(pin).join(" ") + &format!(" {}", pin.name), || {
            sdist::fetch(
                cache_root,
                pin,
                &env,
                &runner,
                &shared.source_args,
                &shared.find_links,
                config.cache,
            )
        })
        .map_err(env_failed)?;
    let work = cache_root.join("work").join(&key[..16]);
    fresh_dir(&work).map_err(|e| failed(e.to_string(), None))?;
    let builder = Builder {
        env: &env,
        plan: &shared.plan,
        sdist: &sdist,
        work: &work,
        python_version: &python.version,
        epoch,
        deadline,
        limit: config.timeout.0,
        cancel: &ctx.cancel,
    };
    let built = builder.build_twice().map_err(|f| failed(f.error.to_string(), Some(&f.log)))?;
    if !config.cache {
        return Ok((built, "built (cache disabled)"));
    }
    match cache::store(cache_root, key, &built) {
        Ok(stored) => Ok((stored, "built and stored in the cache")),
        Err(e) => Err(failed(
            StepError::Io { what: format!("cannot store the result in {}", cache_root.display()), source: e }
                .to_string(),
            None,
        )),
    }
}

/// Most differences shown as evidence.
const DIFFERENCES_SHOWN: usize = 20;

/// The item of a job whose two builds exist.
fn judge(shared: &Shared, job: &Job, python: &Interpreter, built: &cache::Built, how: &str) -> Item {
    let subject = job.subject();
    let expected = &job.entry.sha256;
    let committed = shared.repo.join(&job.set.wheels).join(&job.entry.name);
    let explain = |a: &Path, b: &Path| -> Vec<Evidence> {
        match wheel_diff::compare(a, b, &wheel_diff::Limits::default()) {
            Ok(diff) => {
                let mut evidence = vec![Evidence::fact("differences", diff.summary())];
                evidence.extend(diff.to_evidence(DIFFERENCES_SHOWN));
                evidence
            }
            Err(e) => vec![Evidence::fact("differences", format!("cannot compare: {e}"))],
        }
    };
    let plan = &shared.plan;
    let built_name = built.first.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let item = if built_name != job.entry.name {
        Check::Rebuild
            .fail(&subject, format!("the build produced {built_name}, not {}", job.entry.name))
            .with(Evidence::hash("sha256", expected.clone(), Some(built.first_sha256.clone())))
    } else if built.first_sha256 != built.second_sha256 {
        let differences = explain(&built.first, &built.second);
        let explained = built.explained.as_deref().unwrap_or("not explained");
        Check::Unstable
            .fail(&subject, format!("unstable between builds: {explained}: {}", summary_of(&differences)))
            .with(Evidence::hash("sha256", built.first_sha256.clone(), Some(built.second_sha256.clone())))
            .with(Evidence::fact("explained", explained))
            .with_all(differences)
    } else if built.first_sha256 != *expected {
        let differences = explain(&committed, &built.first);
        Check::Rebuild
            .fail(&subject, format!("differs from the committed wheel: {}", summary_of(&differences)))
            .with(Evidence::hash("sha256", expected.clone(), Some(built.first_sha256.clone())))
            .with_all(differences)
    } else {
        Check::Rebuild
            .pass(&subject, "reproducible: both builds and the committed wheel are identical")
            .with(Evidence::hash("sha256", expected.clone(), Some(built.first_sha256.clone())))
    };
    let item = item
        .at(Location::file(wheel_subject(job.set, &job.entry.name)))
        .with_all(python.evidence())
        .with(Evidence::fact("build 1", "controlled: nothing varied"))
        .with(Evidence::fact("build 2", format!("varied: {}", plan.describe())));
    let item = match plan.skipped.is_empty() {
        true => item,
        false => item.with(Evidence::fact("not varied", plan.describe_skipped())),
    };
    item.with(Evidence::fact("built wheels", format!("{} ({how})", built.first.display())))
}

/// The `differences` fact's value.
fn summary_of(evidence: &[Evidence]) -> String {
    match evidence.first() {
        Some(Evidence::Fact { value, .. }) => value.clone(),
        _ => String::new(),
    }
}
