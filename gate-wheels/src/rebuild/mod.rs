//! Rebuilding every listed wheel from its sdist, twice, and requiring both
//! builds and the committed wheel to agree byte for byte.
//!
//! Opt-in with `[gates.wheels.rebuild]` ([`Config`]). For each wheel of the
//! sums files (or the configured subset) and each target Python, one job:
//!
//! 1. a fresh virtual environment of the target Python, into which the
//!    hash-pinned build requirements are installed (`--require-hashes`);
//! 2. `pip download --no-binary :all: --no-deps --require-hashes` of the
//!    wheel's sdist, pinned by the requirements file's hashes;
//! 3. two builds (`pip wheel --no-deps --no-build-isolation`) from the
//!    unpacked sdist, the second under varied conditions ([`build::SECOND`]),
//!    each in a controlled environment (`SOURCE_DATE_EPOCH`,
//!    `PYTHONHASHSEED=0`, `LC_ALL=C.UTF-8`, a fixed build directory, a
//!    cleared environment) and under the per-wheel timeout;
//! 4. one item: `rebuild` (reproducible, or differs from the committed
//!    wheel), `rebuild-unstable` (the two builds differ) or
//!    `rebuild-failed`, explained by [`crate::wheel_diff`] or by the tail
//!    of the build log.
//!
//! Jobs run concurrently, `jobs` at a time; one failing never stops the
//! others. Results are cached by the hash of everything a build depends on
//! ([`cache`]), so an unchanged re-run rebuilds nothing.

pub(crate) mod build;
pub(crate) mod cache;
mod progress;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use gate_core::{CheckInfo, Context, Evidence, HumanDuration, Item, Location, Severity};
use rayon::prelude::*;
use serde::{Deserialize, Deserializer};

use crate::python;
use crate::requirements::{self, Requirement};
use crate::{WheelSet, sums, wheel_subject};
use build::{FIRST, Runner, SECOND, StepError, Variant, fresh_dir, io};
use progress::Progress;
pub use python::Interpreter;

/// `[gates.wheels.rebuild]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Target interpreters: versions resolved under the pyenv root
    /// (`$PYENV_ROOT`, else `~/.pyenv`: `versions/<X.Y[.Z]>*/bin/python`),
    /// or interpreter paths (relative to the repository) or command names.
    #[serde(deserialize_with = "non_empty")]
    pub pythons: Vec<String>,
    /// `pip --index-url`. Without it and with `find-links`, pip runs with
    /// `--no-index`; without either, pip's default index.
    #[serde(default, deserialize_with = "index_url")]
    pub index_url: Option<String>,
    /// `pip --find-links` directories (relative to the repository) or URLs.
    #[serde(default)]
    pub find_links: Vec<String>,
    /// The hash-pinned build requirements, relative to the repository.
    #[serde(default = "default_build_requirements")]
    pub build_requirements: String,
    /// The requirements file whose `--hash` pins include each sdist's hash,
    /// relative to the repository.
    #[serde(default = "default_requirements")]
    pub requirements: String,
    /// `SOURCE_DATE_EPOCH`; default: the time of the repository's last commit.
    #[serde(default, deserialize_with = "epoch")]
    pub source_date_epoch: Option<i64>,
    /// How many wheels are built at once; default: `[run] jobs`.
    #[serde(default)]
    pub jobs: Option<NonZeroUsize>,
    /// The time one wheel's job (environment, download, both builds) may take.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// The cache and work directory; default: `$XDG_CACHE_HOME/release-check`
    /// (else `~/.cache/release-check`). Relative to the repository.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Reuse and store results. `--no-cache` sets it to false.
    #[serde(default = "yes")]
    pub cache: bool,
    /// Build even when running as root.
    #[serde(default)]
    pub allow_root: bool,
    /// Rebuild only these wheels (file names or project names); empty: all.
    /// `--wheel NAME` sets it.
    #[serde(default)]
    pub wheels: Vec<String>,
}

fn default_build_requirements() -> String {
    "build-requirements.txt".to_owned()
}

fn default_requirements() -> String {
    "requirements.txt".to_owned()
}

fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(600))
}

fn yes() -> bool {
    true
}

fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let pythons = Vec::<String>::deserialize(deserializer)?;
    if pythons.is_empty() || pythons.iter().any(|p| p.trim().is_empty()) {
        return Err(serde::de::Error::custom(
            "expected at least one target Python, a version such as \"3.11\" or an interpreter path",
        ));
    }
    Ok(pythons)
}

fn index_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let url = String::deserialize(deserializer)?;
    if !["https://", "http://", "file://"].iter().any(|scheme| url.starts_with(scheme)) {
        return Err(serde::de::Error::custom(format!(
            "expected an https://, http:// or file:// URL, found `{url}`"
        )));
    }
    Ok(Some(url))
}

/// 1980-01-01, the earliest time a zip archive can record.
const ZIP_EPOCH: i64 = 315_532_800;

fn epoch<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let epoch = i64::deserialize(deserializer)?;
    if !(ZIP_EPOCH..=4_354_819_199).contains(&epoch) {
        return Err(serde::de::Error::custom(format!(
            "expected seconds since 1970 between {ZIP_EPOCH} (1980, the earliest a zip archive records) and 4354819199 (2107), found {epoch}"
        )));
    }
    Ok(Some(epoch))
}

/// The checks of the rebuild, part of the wheels gate's checks.
pub(crate) const CHECKS: [CheckInfo; 3] = [
    CheckInfo {
        id: "rebuild",
        default_severity: Severity::Blocker,
        summary: "The wheel rebuilt from its hash-pinned sdist is byte-identical to the committed wheel (opt-in: [gates.wheels.rebuild]).",
        remedy: "Read the differences in the evidence: fix the build (a timestamp, a path, a mode, a build dependency) or commit the rebuilt wheel and sign the sums file again.",
    },
    CheckInfo {
        id: "rebuild-unstable",
        default_severity: Severity::Blocker,
        summary: "Two builds of the same sdist, under conditions that must not matter (build path, time zone, umask), give the same wheel.",
        remedy: "Make the build reproducible: the evidence names what differs (build time, random values, paths, file order).",
    },
    CheckInfo {
        id: "rebuild-failed",
        default_severity: Severity::Blocker,
        summary: "The wheel could be rebuilt: interpreter found, sdist pinned and downloaded, build finished within the timeout.",
        remedy: "Read the reason and the build log's tail (the full log's path is in the evidence), fix the cause, and run again.",
    },
];

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
        Item::error("rebuild-failed", self.subject(), reason)
    }
}

/// What every job of a run shares, prepared once.
struct Shared {
    repo: PathBuf,
    cache_root: Result<PathBuf, String>,
    refusal: Option<String>,
    epoch: Result<i64, String>,
    pythons: BTreeMap<String, Result<Interpreter, String>>,
    build_requirements: Result<(PathBuf, Vec<u8>), String>,
    requirements: Result<Vec<Requirement>, String>,
    source_args: Vec<String>,
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
            items.push(Item::error(
                "rebuild-failed",
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
            .ok_or_else(|| "no cache directory: set cache-dir, XDG_CACHE_HOME or HOME".to_owned()),
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
            (target.clone(), interpreter.map_err(|e| e.to_string()))
        })
        .collect();
    let build_requirements = {
        let path = repo.join(&config.build_requirements);
        crate::read_bounded(&path, 1024 * 1024)
            .map(|bytes| (path, bytes))
            .map_err(|e| format!("build requirements ({}): {e}", config.build_requirements))
    };
    let requirements = crate::read_bounded(&repo.join(&config.requirements), 16 * 1024 * 1024)
        .map_err(|e| format!("sdist pins ({}): {e}", config.requirements))
        .map(|bytes| requirements::parse(&String::from_utf8_lossy(&bytes)).requirements);
    let mut source_args = Vec::new();
    match &config.index_url {
        Some(url) => source_args.extend(["--index-url".to_owned(), url.clone()]),
        None if !config.find_links.is_empty() => source_args.push("--no-index".to_owned()),
        None => {}
    }
    for link in &config.find_links {
        let link = if link.contains("://") { link.clone() } else { repo.join(link).display().to_string() };
        source_args.extend(["--find-links".to_owned(), link]);
    }
    Shared { repo, cache_root, refusal, epoch, pythons, build_requirements, requirements, source_args }
}

/// The committer time of `HEAD` in `repo`, for `SOURCE_DATE_EPOCH`.
fn last_commit_time(repo: &Path) -> Result<i64, String> {
    let why = |e: String| {
        format!(
            "no source-date-epoch configured, and the last commit's time is unknown ({e}); set source-date-epoch in [gates.wheels.rebuild]"
        )
    };
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
                    let deadline = started + config.timeout.0;
                    build_twice(ctx, config, shared, job, &plan, deadline)
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
    item.with(Evidence::Timing { label: "rebuild".to_owned(), millis })
}

/// What a job needs before building.
struct Plan<'a> {
    /// The target interpreter.
    python: &'a Interpreter,
    /// The requirement pinning the sdist's hashes.
    pin: &'a Requirement,
    /// `SOURCE_DATE_EPOCH`.
    epoch: i64,
    /// The cache and work directory.
    cache_root: &'a Path,
    /// The cache key.
    key: String,
}

/// The job's [`Plan`], or the item saying why it cannot start.
fn prepare_job<'a>(shared: &'a Shared, job: &Job) -> Result<Plan<'a>, Box<Item>> {
    let fail = |reason: &str| Box::new(job.failed(reason));
    if let Some(refusal) = &shared.refusal {
        return Err(fail(refusal));
    }
    let python = match shared.pythons.get(job.python) {
        Some(Ok(python)) => python,
        Some(Err(e)) => return Err(fail(e)),
        None => return Err(fail("the interpreter was not probed")),
    };
    let epoch = *shared.epoch.as_ref().map_err(|e| fail(e))?;
    let cache_root = shared.cache_root.as_deref().map_err(|e| fail(e))?;
    let (_, build_requirements) = shared.build_requirements.as_ref().map_err(|e| fail(e))?;
    let requirements = shared.requirements.as_ref().map_err(|e| fail(e))?;
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
    let variants = format!("{FIRST:?} {SECOND:?}");
    let key = cache::key(&[
        format!("{name}=={version}").as_bytes(),
        hashes.join(" ").as_bytes(),
        build_requirements,
        python.identity().as_bytes(),
        epoch.to_string().as_bytes(),
        variants.as_bytes(),
    ]);
    Ok(Plan { python, pin, epoch, cache_root, key })
}

/// Builds the job's wheel twice, in a work directory named by `key`, and
/// stores the result in the cache when it is enabled.
fn build_twice(
    ctx: &Context,
    config: &Config,
    shared: &Shared,
    job: &Job,
    plan: &Plan,
    deadline: Instant,
) -> Result<(cache::Built, &'static str), Box<Item>> {
    let Plan { python, pin, epoch, cache_root, ref key } = *plan;
    let short = &key[..16];
    let work = cache_root.join("work").join(short);
    let build_root = cache_root.join("build").join(short);
    let runner = Runner {
        work: &work,
        venv: &work.join("venv"),
        python,
        epoch,
        deadline,
        limit: config.timeout.0,
        cancel: &ctx.cancel,
    };
    let setup_log = work.join("setup.log");
    let failed = |log: &Path, e: StepError| {
        Box::new(
            job.failed(e.to_string())
                .with(Evidence::Log {
                    label: format!("last lines of {}", log.display()),
                    text: build::log_tail(log),
                })
                .with(Evidence::fact("full log", log.display().to_string()))
                .with_all(python.evidence()),
        )
    };
    let setup = || -> Result<PathBuf, StepError> {
        fresh_dir(&work)?;
        fresh_dir(&build_root)?;
        for dir in ["home", "tmp", "sdist"] {
            std::fs::create_dir_all(work.join(dir))
                .map_err(io(format!("cannot create {}", work.display())))?;
        }
        runner.make_venv(&work, &setup_log)?;
        let build_requirements =
            shared.build_requirements.as_ref().map(|(path, _)| path.display().to_string());
        let build_requirements = build_requirements.unwrap_or_default();
        let mut install = vec!["install", "--require-hashes", "--no-deps", "-r", &build_requirements];
        install.extend(shared.source_args.iter().map(String::as_str));
        runner.run(&runner.pip(&install), &work, FIRST, &setup_log)?;
        let pinned = work.join("sdist-requirement.txt");
        let hashes: Vec<String> =
            pin.hashes.iter().map(|h| format!("--hash={}:{}", h.algorithm.name(), h.hex)).collect();
        let version = pin.version.as_ref().map(ToString::to_string).unwrap_or_default();
        std::fs::write(&pinned, format!("{}=={version} {}\n", pin.name, hashes.join(" ")))
            .map_err(io(format!("cannot write {}", pinned.display())))?;
        let (pinned, sdists) = (pinned.display().to_string(), work.join("sdist").display().to_string());
        let mut download = vec![
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--no-build-isolation",
            "--require-hashes",
            "-r",
            &pinned,
            "-d",
            &sdists,
        ];
        download.extend(shared.source_args.iter().map(String::as_str));
        runner.run(&runner.pip(&download), &work, FIRST, &setup_log)?;
        let downloaded: Vec<PathBuf> =
            std::fs::read_dir(work.join("sdist")).into_iter().flatten().flatten().map(|e| e.path()).collect();
        match &downloaded[..] {
            [sdist] if sdist.to_string_lossy().ends_with(".tar.gz") => Ok(sdist.clone()),
            other => Err(StepError::Unexpected(format!(
                "pip downloaded {:?}, expected one .tar.gz sdist",
                other.iter().filter_map(|p| p.file_name()).collect::<Vec<_>>()
            ))),
        }
    };
    let sdist = setup().map_err(|e| failed(&setup_log, e))?;
    let mut wheels = Vec::new();
    for variant in [FIRST, SECOND] {
        let log = work.join(format!("build-{}.log", variant.number));
        let wheel = build_one(&runner, &sdist, &build_root, variant, &log).map_err(|e| failed(&log, e))?;
        wheels.push(wheel);
    }
    let hash = |path: &Path| {
        cache::file_sha256(path).map_err(|e| failed(&setup_log, io("cannot hash a built wheel")(e)))
    };
    let (second, first) = (wheels.pop().unwrap_or_default(), wheels.pop().unwrap_or_default());
    let built = cache::Built { first_sha256: hash(&first)?, first, second_sha256: hash(&second)?, second };
    if !config.cache {
        return Ok((built, "built (cache disabled)"));
    }
    match cache::store(cache_root, key, &built) {
        Ok(stored) => Ok((stored, "built and stored in the cache")),
        Err(e) => {
            Err(failed(&setup_log, io(format!("cannot store the result in {}", cache_root.display()))(e)))
        }
    }
}

/// Unpacks `sdist` and builds it under `variant`; the wheel built.
fn build_one(
    runner: &Runner,
    sdist: &Path,
    build_root: &Path,
    variant: Variant,
    log: &Path,
) -> Result<PathBuf, StepError> {
    let source = build_root.join(variant.source_dir);
    let out = runner.work.join(format!("out-{}", variant.number));
    fresh_dir(&source)?;
    fresh_dir(&out)?;
    // GNU tar refuses member names with `..` and strips leading `/`; the
    // modes come from the umask, the owner is the user building.
    let tar: Vec<std::ffi::OsString> = vec![
        "tar".into(),
        "--extract".into(),
        "--gzip".into(),
        "--strip-components=1".into(),
        "--no-same-owner".into(),
        "--no-same-permissions".into(),
        "--file".into(),
        sdist.into(),
        "--directory".into(),
        source.clone().into(),
    ];
    runner.run(&tar, runner.work, variant, log)?;
    let (out_text, source_text) = (out.display().to_string(), source.display().to_string());
    let wheel = runner.pip(&[
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        &out_text,
        &source_text,
    ]);
    runner.run(&wheel, &source, variant, log)?;
    build::single_wheel(&out).map_err(StepError::Unexpected)
}

/// Most differences shown as evidence.
const DIFFERENCES_SHOWN: usize = 20;

/// The item of a job whose two builds exist.
fn judge(shared: &Shared, job: &Job, python: &Interpreter, built: &cache::Built, how: &str) -> Item {
    let subject = job.subject();
    let expected = &job.entry.sha256;
    let committed = shared.repo.join(&job.set.wheels).join(&job.entry.name);
    let explain = |a: &Path, b: &Path| -> Vec<Evidence> {
        match crate::wheel_diff::compare(a, b, &crate::wheel_diff::Limits::default()) {
            Ok(diff) => {
                let mut evidence = vec![Evidence::fact("differences", diff.summary())];
                evidence.extend(diff.to_evidence(DIFFERENCES_SHOWN));
                evidence
            }
            Err(e) => vec![Evidence::fact("differences", format!("cannot compare: {e}"))],
        }
    };
    let conditions = [FIRST, SECOND]
        .map(|v| format!("build {}: <build>/{}, TZ={}, umask {}", v.number, v.source_dir, v.tz, v.umask))
        .join("; ");
    let built_name = built.first.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let item = if built_name != job.entry.name {
        Item::fail("rebuild", &subject, format!("the build produced {built_name}, not {}", job.entry.name))
            .with(Evidence::hash("sha256", expected.clone(), Some(built.first_sha256.clone())))
    } else if built.first_sha256 != built.second_sha256 {
        let differences = explain(&built.first, &built.second);
        Item::fail(
            "rebuild-unstable",
            &subject,
            format!("unstable between builds: {}", summary_of(&differences)),
        )
        .with(Evidence::hash("sha256", built.first_sha256.clone(), Some(built.second_sha256.clone())))
        .with_all(differences)
    } else if built.first_sha256 != *expected {
        let differences = explain(&committed, &built.first);
        Item::fail(
            "rebuild",
            &subject,
            format!("differs from the committed wheel: {}", summary_of(&differences)),
        )
        .with(Evidence::hash("sha256", expected.clone(), Some(built.first_sha256.clone())))
        .with_all(differences)
    } else {
        Item::pass("rebuild", &subject, "reproducible: both builds and the committed wheel are identical")
            .with(Evidence::hash("sha256", expected.clone(), Some(built.first_sha256.clone())))
    };
    item.at(Location::file(wheel_subject(job.set, &job.entry.name)))
        .with_all(python.evidence())
        .with(Evidence::fact("builds", conditions))
        .with(Evidence::fact("built wheels", format!("{} ({how})", built.first.display())))
}

/// The `differences` fact's value.
fn summary_of(evidence: &[Evidence]) -> String {
    match evidence.first() {
        Some(Evidence::Fact { value, .. }) => value.clone(),
        _ => String::new(),
    }
}
