//! The analysis of one target Python at one moment, as pip of the modelled
//! version would build ([`pip`](super::pip)).
//!
//! Each requirements file is an environment resolved from the index
//! ([`resolve`](super::resolve)); every member of it is built from source
//! (`--no-binary :all:`), except `only-binary` ones. Each build is done the
//! way that pip builds that sdist: through PEP 517 in an isolated build
//! environment, which pip resolves on its own from the index (the
//! repository's pins do not reach it; constraints do), and whose every
//! member is built from source in turn; through PEP 517 without isolation;
//! or the legacy way, `setup.py` in the environment pip runs in. A build
//! whose environment needs, however deeply, the release being built is a
//! cycle.
//!
//! [`Analysis`] holds every target Python's analysis at one moment; the
//! analyser makes one with `Analyser::at`, one thread per target Python.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, PoisonError};

use gate_core::{Context, Item};
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};

use super::catalog::{self, Catalog, Release, ReleaseInfo, SdistError};
use super::hooks::{self, HookRequest};
use super::index::IndexError;
use super::metadata::{self, Dependency, HookNeeds, Metadata, NeedsUnknown, Source};
use super::pip::{self, Mode};
use super::resolve::{self, Resolution, Target};
use crate::analyser::{Analyser, Python};
use crate::checks::Check;
use crate::config::Config;

/// One release built from source on one Python.
#[derive(Debug)]
pub(crate) struct Build {
    pub release: Release,
    pub read: catalog::Read,
    pub mode: Option<(Mode, String)>,
    /// Its isolated build environment: the build requirements, then what the
    /// backend adds that they do not satisfy. Each with what it resolves.
    pub envs: Vec<(Vec<Dependency>, Arc<Resolution>)>,
    /// The builds of its environments' members: (build, environment, member name).
    pub needs: Vec<(usize, usize, String)>,
    /// The requirements files (by index) whose environment has it.
    pub root_of: BTreeSet<usize>,
}

/// A build need the environment pip runs in does not meet (no build
/// isolation, or a legacy build).
#[derive(Debug, Clone)]
pub(crate) struct Unmet {
    pub build: usize,
    pub dependency: Dependency,
    /// Without isolation (PEP 517), or a legacy `setup.py` build.
    pub legacy: bool,
    /// The version the index gives for it, when resolved.
    pub gives: Option<Release>,
}

/// The analysis of one Python.
#[derive(Debug, Default)]
pub(crate) struct PythonAnalysis {
    /// One environment per requirements file.
    pub roots: Vec<Arc<Resolution>>,
    pub builds: Vec<Build>,
    pub by_release: HashMap<Release, usize>,
    pub unmet: Vec<Unmet>,
    pub problems: Vec<Item>,
    pub unread: BTreeSet<String>,
    pub notes: BTreeSet<String>,
}

/// The analysis of one moment.
pub(crate) struct Analysis {
    pub as_of: jiff::Timestamp,
    /// One per target Python, in the analyser's order.
    pub pythons: Vec<PythonAnalysis>,
    /// Requests sent to the index while analysing.
    pub requests: usize,
}

impl Analysis {
    /// Every release of the analysis (the requirements files' environments,
    /// every build and every build environment), by name.
    pub(crate) fn closure(&self) -> BTreeMap<String, BTreeSet<Version>> {
        let mut closure: BTreeMap<String, BTreeSet<Version>> = BTreeMap::new();
        for release in self.releases() {
            closure.entry(release.name.clone()).or_default().insert(release.version.clone());
        }
        closure
    }

    /// The sdist of each release and when it was uploaded.
    pub(crate) fn sdists(&self) -> BTreeMap<(String, Version), (String, Option<jiff::Timestamp>)> {
        let mut sdists = BTreeMap::new();
        let mut add = |release: &Release, read: &catalog::Read| {
            if let Ok(info) = read.as_ref() {
                sdists.insert(
                    (release.name.clone(), release.version.clone()),
                    (info.sdist.filename.clone(), info.sdist.upload_time),
                );
            }
        };
        for python in &self.pythons {
            for root in &python.roots {
                root.members.values().for_each(|m| add(&m.release, &m.read));
            }
            for build in &python.builds {
                add(&build.release, &build.read);
                for (_, env) in &build.envs {
                    env.members.values().for_each(|m| add(&m.release, &m.read));
                }
            }
        }
        sdists
    }

    /// Every release of the analysis.
    pub(crate) fn releases(&self) -> BTreeSet<&Release> {
        let mut releases = BTreeSet::new();
        for python in &self.pythons {
            for root in &python.roots {
                releases.extend(root.members.values().map(|m| &m.release));
            }
            for build in &python.builds {
                releases.insert(&build.release);
                for (_, env) in &build.envs {
                    releases.extend(env.members.values().map(|m| &m.release));
                }
            }
        }
        releases
    }
}

impl Analyser<'_> {
    /// Analyses every target Python as of `as_of`.
    pub(crate) fn at(&self, ctx: &Context, as_of: jiff::Timestamp) -> Analysis {
        // The first analysis also counts the pages fetched while the
        // interpreters were asked.
        let first = lock(&self.requests_before).take();
        let requests_before = first.unwrap_or_else(|| self.catalog.index.requests());
        // One thread per target Python: each resolves on its own, sharing the
        // catalog; their build backends, when asked, run side by side.
        let pythons = std::thread::scope(|scope| {
            let running: Vec<_> = self
                .pythons
                .iter()
                .map(|python| (python, scope.spawn(move || analyse(self, ctx, python, as_of))))
                .collect();
            running
                .into_iter()
                .map(|(python, thread)| {
                    thread.join().unwrap_or_else(|_| PythonAnalysis {
                        problems: vec![Check::Index.error(
                            &python.label,
                            format!("the analysis of the target Python {} panicked", python.label),
                        )],
                        unread: BTreeSet::from([format!("everything on {}", python.label)]),
                        ..PythonAnalysis::default()
                    })
                })
                .collect()
        });
        Analysis { as_of, pythons, requests: self.catalog.index.requests() - requests_before }
    }
}

/// Why a release's build backend gave no answer on one Python.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum AskError {
    /// The target has a version but no interpreter to run the backend in.
    #[error(
        "the build backend could not be asked (PEP 517 hooks): no interpreter for the target Python {label}"
    )]
    NoInterpreter { label: String },
    /// The backend's own build environment cannot be resolved: the
    /// reason of its first problem.
    #[error("its build environment cannot be resolved: {reason}")]
    Unresolved { reason: String },
    /// The backend's own build environment needs the release.
    #[error("the build backend of {release} cannot be asked: its own build environment needs it")]
    Cycle { release: Release },
    /// The sdist cannot be fetched.
    #[error(transparent)]
    Sdist(#[from] IndexError),
    /// The backend was asked and gave no answer: why, as
    /// [`hooks::ask_backend`] says.
    #[error("asking the build backend: {0}")]
    Backend(Arc<hooks::HookError>),
    /// The answer does not parse.
    #[error(transparent)]
    Metadata(#[from] metadata::MetadataError),
}

/// The build backends' answers of one Python, by release, and the releases
/// whose backend is being asked.
type Asked = (HashMap<Release, Result<HookNeeds, AskError>>, BTreeSet<Release>);

/// What a release needs at run time on one Python, or why it is unknown.
type Needs = Result<Vec<Dependency>, RunNeedsError>;

/// Why what a release needs at run time on one Python is unknown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunNeedsError {
    /// Its sdist cannot be read.
    #[error(transparent)]
    Sdist(#[from] SdistError),
    /// No static source gives them, and the build backend gave no answer.
    #[error(transparent)]
    Ask(#[from] AskError),
    /// Neither the sdist nor its build backend says.
    #[error(transparent)]
    Unknown(#[from] NeedsUnknown),
}

/// The walk of one Python.
struct Walker<'a> {
    analyser: &'a Analyser<'a>,
    ctx: &'a Context,
    catalog: &'a Catalog,
    python: &'a Python,
    target: Target<'a>,
    /// Resolved build environments, by their requirements.
    envs: Mutex<HashMap<Vec<String>, Arc<Resolution>>>,
    /// The backend's answers, by release; and the releases being asked.
    asked: Mutex<Asked>,
}

/// Analyses `python` as of `as_of`.
pub(crate) fn analyse(
    analyser: &Analyser,
    ctx: &Context,
    python: &Python,
    as_of: jiff::Timestamp,
) -> PythonAnalysis {
    let catalog = &analyser.catalog;
    let target = Target {
        markers: &python.markers,
        python: &python.version,
        as_of,
        constraints: &analyser.constraints,
    };
    let walker =
        Walker { analyser, ctx, catalog, python, target, envs: Mutex::default(), asked: Mutex::default() };
    walker.walk()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Walker<'_> {
    fn config(&self) -> &Config {
        self.analyser.config
    }

    /// The run-time needs of `release` on this Python: static, else the
    /// build backend's answer.
    fn run_needs(&self, release: &Release, info: &ReleaseInfo) -> Needs {
        let metadata = info.metadata.as_ref().map_err(|e| e.clone())?;
        let why = match &metadata.run {
            Ok(needs) => return Ok(needs.clone()),
            Err(why) => why,
        };
        match self.hook_needs(release, info, metadata)?.run {
            Ok(needs) => Ok(needs),
            Err(backend) => {
                Err(NeedsUnknown::NorBackend { why: Box::new(why.clone()), backend: Box::new(backend) }
                    .into())
            }
        }
    }

    /// Resolves `requirements` into an environment, once per set.
    fn environment(&self, requirements: &[Dependency]) -> Arc<Resolution> {
        let key: Vec<String> = requirements.iter().map(|d| format!("{}\0{:?}", d.text, d.source)).collect();
        if let Some(found) = lock(&self.envs).get(&key) {
            return Arc::clone(found);
        }
        let run_needs = |release: &Release, info: &ReleaseInfo| self.run_needs(release, info);
        let resolved =
            Arc::new(resolve::resolve(self.catalog, requirements, self.target, &run_needs, &self.ctx.cancel));
        Arc::clone(lock(&self.envs).entry(key).or_insert(resolved))
    }

    /// The build requirements pip installs for `metadata` through PEP 517:
    /// `[build-system] requires`, else pip's default.
    fn build_requires(&self, metadata: &Metadata) -> Vec<Dependency> {
        if metadata.build_system.table {
            return metadata.build_system.requires.clone();
        }
        let defaults: Vec<(String, u32)> =
            self.python.pip.default_requires().iter().map(|r| ((*r).to_owned(), 1)).collect();
        let file = format!("{}'s default build-system", self.python.pip);
        metadata::dependencies(&file, &defaults, Source::DefaultBackend).unwrap_or_default()
    }

    /// The pins a backend is asked with: the resolved isolated environment,
    /// or for a legacy build the environment pip runs in.
    fn hook_pins(&self, metadata: &Metadata) -> Result<Vec<String>, AskError> {
        let (mode, _) =
            self.python.pip.mode(&metadata.build_system, &self.python.outer, self.config().build_isolation);
        let outer = &self.python.outer.pins;
        if mode != Mode::Isolated && ["setuptools", "wheel"].iter().any(|n| outer.contains_key(*n)) {
            return Ok(["setuptools", "wheel"]
                .iter()
                .filter_map(|n| outer.get(*n).map(|v| format!("{n}=={v}")))
                .collect());
        }
        let env = self.environment(&self.build_requires(metadata));
        if let Some(problem) = env.problems.first() {
            return Err(AskError::Unresolved { reason: problem.reason.clone() });
        }
        Ok(env.members.values().map(|m| format!("{}=={}", m.release.name, m.release.version)).collect())
    }

    /// What the build backend of `release` says on this Python, asked once.
    fn hook_needs(
        &self,
        release: &Release,
        info: &ReleaseInfo,
        metadata: &Metadata,
    ) -> Result<HookNeeds, AskError> {
        {
            let asked = lock(&self.asked);
            if let Some(found) = asked.0.get(release) {
                return found.clone();
            }
            if asked.1.contains(release) {
                return Err(AskError::Cycle { release: release.clone() });
            }
        }
        lock(&self.asked).1.insert(release.clone());
        let answer = self.ask(info, metadata);
        let mut asked = lock(&self.asked);
        asked.1.remove(release);
        asked.0.entry(release.clone()).or_insert(answer).clone()
    }

    fn ask(&self, info: &ReleaseInfo, metadata: &Metadata) -> Result<HookNeeds, AskError> {
        let Some(python) = &self.python.interpreter else {
            return Err(AskError::NoInterpreter { label: self.python.label.clone() });
        };
        let pins = self.hook_pins(metadata)?;
        let sdist = self.catalog.sdist_bytes(&info.sdist, &self.ctx.cancel)?;
        let hooks = &self.analyser.hooks;
        // Online, pip keeps what it installs for the backend in the cache;
        // offline it is given only those files.
        let dists = hooks.cache.join("hooks").join("dists");
        let (find_links, keep) = match self.config().offline {
            true => (Some(dists.as_path()), None),
            false => (None, Some(dists.as_path())),
        };
        let request = HookRequest {
            python,
            sdist_name: &info.sdist.filename,
            sdist: &sdist,
            build_requires: &pins,
            index_url: &self.config().index_url,
            find_links,
            keep,
            timeout: hooks.timeout,
            cache_dir: &hooks.cache,
            cancel: &self.ctx.cancel,
        };
        let answer = hooks::ask_backend(&request).map_err(|e| AskError::Backend(Arc::new(e)))?;
        let needs = metadata::from_hooks(&info.sdist.filename, &answer)?;
        Ok(needs)
    }

    /// What the backend adds to the build requirements for `release`
    /// (`get_requires_for_build_wheel`), given its first environment.
    fn backend_requires(
        &self,
        release: &Release,
        info: &ReleaseInfo,
        metadata: &Metadata,
        env: &Resolution,
    ) -> Result<Vec<Dependency>, AskError> {
        let asked = lock(&self.asked).0.get(release).cloned();
        if let Some(Ok(answer)) = asked {
            return Ok(answer.build);
        }
        let backend = metadata.build_system.backend.as_deref().unwrap_or(pip::DEFAULT_BACKEND);
        if !pip::is_setuptools_backend(backend) {
            return Ok(Vec::new());
        }
        let own = release.name == "setuptools" && !metadata.build_system.backend_path.is_empty();
        let setuptools = match own {
            true => Some(release.version.clone()),
            false => env.members.get("setuptools").map(|m| m.release.version.clone()),
        };
        let mut extra: Vec<Dependency> = match setuptools {
            Some(version) => {
                let items: Vec<(String, u32)> =
                    pip::setuptools_backend_requires(&version).iter().map(|r| ((*r).to_owned(), 1)).collect();
                let file = format!("setuptools {version}'s get_requires_for_build_wheel");
                metadata::dependencies(&file, &items, Source::BackendRequires).unwrap_or_default()
            }
            None => Vec::new(),
        };
        match &metadata.setup_requires {
            Some(setup) => extra.extend(setup.iter().cloned()),
            None if metadata.setup_py_setup_requires => {
                return self.hook_needs(release, info, metadata).map(|answer| answer.build);
            }
            None => {}
        }
        Ok(extra)
    }

    /// Adds the build of `release`, first needed from `first`; its index.
    fn add(
        &self,
        analysis: &mut PythonAnalysis,
        queue: &mut VecDeque<usize>,
        (release, read): (&Release, &catalog::Read),
    ) -> Option<usize> {
        if self.config().only_binary.contains(&release.name) {
            return None;
        }
        if let Some(&found) = analysis.by_release.get(release) {
            return Some(found);
        }
        let index = analysis.builds.len();
        analysis.builds.push(Build {
            release: release.clone(),
            read: Arc::clone(read),
            mode: None,
            envs: Vec::new(),
            needs: Vec::new(),
            root_of: BTreeSet::new(),
        });
        analysis.by_release.insert(release.clone(), index);
        queue.push_back(index);
        Some(index)
    }

    fn absorb(&self, analysis: &mut PythonAnalysis, resolution: &Resolution) {
        analysis.problems.extend(resolution.problems.iter().cloned());
        analysis.unread.extend(resolution.unread.iter().cloned());
        analysis.notes.extend(resolution.notes.iter().cloned());
    }

    fn walk(&self) -> PythonAnalysis {
        let mut analysis = PythonAnalysis::default();
        let mut queue = VecDeque::new();
        for (root, (_, requirements)) in self.analyser.roots.iter().enumerate() {
            let resolution = self.environment(requirements);
            self.absorb(&mut analysis, &resolution);
            for member in resolution.members.values() {
                let added = self.add(&mut analysis, &mut queue, (&member.release, &member.read));
                if let Some(build) = added {
                    analysis.builds[build].root_of.insert(root);
                }
            }
            analysis.roots.push(resolution);
        }
        while let Some(at) = queue.pop_front() {
            if self.ctx.cancel.is_cancelled() {
                analysis.problems.push(Check::Index.error("", "cancelled"));
                break;
            }
            let release = analysis.builds[at].release.clone();
            let read = Arc::clone(&analysis.builds[at].read);
            let Ok(info) = read.as_ref() else { continue };
            let Ok(metadata) = &info.metadata else { continue };
            let (mode, rule) = self.python.pip.mode(
                &metadata.build_system,
                &self.python.outer,
                self.config().build_isolation,
            );
            analysis.builds[at].mode = Some((mode, rule));
            match mode {
                Mode::Isolated => self.isolated(&mut analysis, &mut queue, at, &release, info, metadata),
                Mode::NotIsolated => {
                    let mut needs = self.build_requires(metadata);
                    needs.extend(metadata.setup_requires.iter().flatten().cloned());
                    self.unmet(&mut analysis, at, needs, false);
                }
                Mode::Legacy => {
                    let setuptools = metadata::dependencies(
                        "setup.py",
                        &[("setuptools".to_owned(), 1)],
                        Source::DefaultBackend,
                    )
                    .unwrap_or_default();
                    if !self.python.outer.setuptools {
                        self.unmet(&mut analysis, at, setuptools, true);
                    }
                    let setup = metadata.setup_requires.clone().unwrap_or_default();
                    self.unmet(&mut analysis, at, setup, true);
                }
            }
        }
        analysis
    }

    /// An isolated build: its environments, and the builds of their members.
    fn isolated(
        &self,
        analysis: &mut PythonAnalysis,
        queue: &mut VecDeque<usize>,
        at: usize,
        release: &Release,
        info: &ReleaseInfo,
        metadata: &Metadata,
    ) {
        let requires = self.build_requires(metadata);
        let first = self.environment(&requires);
        self.absorb(analysis, &first);
        let mut envs = vec![(requires, Arc::clone(&first))];
        match self.backend_requires(release, info, metadata, &first) {
            Ok(extra) => {
                // pip installs what the backend asks for and the first
                // environment does not satisfy, resolved on its own.
                let missing: Vec<Dependency> = extra
                    .into_iter()
                    .filter(|d| {
                        let name = pip_requirements::normalise_name(&d.requirement.name);
                        let active = d.marker.evaluate(&self.python.markers, &[]);
                        let met = first.members.get(&name).is_some_and(|m| {
                            VersionSpecifiers::from_str(d.requirement.specifier.trim())
                                .is_ok_and(|s| s.contains(&m.release.version))
                        });
                        active && !met
                    })
                    .collect();
                if !missing.is_empty() {
                    let second = self.environment(&missing);
                    self.absorb(analysis, &second);
                    envs.push((missing, second));
                }
            }
            Err(why) => {
                analysis.problems.push(Check::BuildMetadata.error(release.to_string(), why.to_string()));
                analysis.unread.insert(release.to_string());
            }
        }
        let mut needs = Vec::new();
        for (e, (_, env)) in envs.iter().enumerate() {
            for (name, member) in &env.members {
                if let Some(to) = self.add(analysis, queue, (&member.release, &member.read)) {
                    needs.push((to, e, name.clone()));
                }
            }
        }
        analysis.builds[at].envs = envs;
        analysis.builds[at].needs = needs;
    }

    /// Records the needs of build `at` that the environment pip runs in does
    /// not meet.
    fn unmet(&self, analysis: &mut PythonAnalysis, at: usize, needs: Vec<Dependency>, legacy: bool) {
        for dependency in needs {
            if !dependency.marker.evaluate(&self.python.markers, &[]) {
                continue;
            }
            let name = pip_requirements::normalise_name(&dependency.requirement.name);
            let met = match self.python.outer.pins.get(&name) {
                Some(pin) => VersionSpecifiers::from_str(dependency.requirement.specifier.trim())
                    .map_or(true, |s| s.contains(pin)),
                None => name == "setuptools" && self.python.outer.setuptools,
            };
            if met {
                continue;
            }
            let resolved = self.environment(std::slice::from_ref(&dependency));
            let gives = resolved.members.get(&name).map(|m| m.release.clone());
            analysis.unmet.push(Unmet { build: at, dependency, legacy, gives });
        }
    }
}
