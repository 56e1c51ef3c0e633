//! Build-dependency analysis per target Python, before anything is built:
//! cycles in the build-time closure (which a `--no-binary` build can never
//! finish) and build dependencies that build isolation would take, unpinned,
//! from the index.
//!
//! Opt-in with `[gates.wheels.build-deps]` ([`Config`]). From the pinned
//! requirements and build requirements, the analysis walks the index
//! ([`index`]) breadth first: each distribution gets the version its pin
//! names, else the newest sdist on the index that every requirement met so
//! far allows, uploaded before the run's moment (`--as-of`). Its needs come
//! from [`metadata`]; a need is followed when its marker is true for at least
//! one target Python. The graph's cycles through a build edge ([`graph`]) are
//! then found for each target Python on its own, and reported once each with
//! the Pythons it is a cycle on.

pub mod bisect;
pub mod closure;
pub mod graph;
pub mod hooks;
pub mod index;
pub mod metadata;
mod python;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr as _;

use gate_core::{CheckInfo, Context, Evidence, GateOutcome, HumanDuration, Item, Location, Severity};
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment};
use rayon::prelude::*;
use serde::{Deserialize, Deserializer};

use crate::read_bounded;
use crate::requirements::{self, normalise_name};
use index::{DistFile, Index, Limits, ProjectPage};
use metadata::{Dependency, Metadata};
pub use python::TargetPython;

/// `[gates.wheels.build-deps]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// The Simple API root (PEP 691 JSON, else PEP 503 HTML).
    #[serde(default = "default_index_url", deserialize_with = "index_url")]
    pub index_url: String,
    /// The Pythons markers are evaluated for: versions `X.Y` or `X.Y.Z`, or
    /// interpreters ([`TargetPython`]).
    pub target_pythons: Vec<TargetPython>,
    /// Whether builds use pip's build isolation (the default).
    #[serde(default = "yes")]
    pub build_isolation: bool,
    /// Distributions installed from wheels, never built (pip's
    /// `--only-binary`): their build needs are not followed.
    #[serde(default, deserialize_with = "names")]
    pub only_binary: BTreeSet<String>,
    /// Where index answers are cached; default `$XDG_CACHE_HOME/release-check/index`
    /// (else `~/.cache/release-check/index`). Relative to the repository.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Read only the cache; never send a request.
    #[serde(default)]
    pub offline: bool,
    /// The pinned requirements, relative to the repository.
    #[serde(default = "default_requirements")]
    pub requirements: String,
    /// The pinned build requirements, relative to the repository.
    #[serde(default = "default_build_requirements")]
    pub build_requirements: String,
    /// A JSON report of an earlier run, relative to the repository: every
    /// version of the closure that changed since is listed.
    #[serde(default)]
    pub baseline: Option<String>,
    /// How long asking one sdist's build backend (the PEP 517 hooks) may take.
    #[serde(default = "default_hook_timeout")]
    pub hook_timeout: HumanDuration,
}

fn default_hook_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(120))
}

fn default_index_url() -> String {
    "https://pypi.org/simple/".to_owned()
}

fn default_requirements() -> String {
    "requirements.txt".to_owned()
}

fn default_build_requirements() -> String {
    "build-requirements.txt".to_owned()
}

fn yes() -> bool {
    true
}

fn names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeSet<String>, D::Error> {
    Ok(Vec::<String>::deserialize(deserializer)?.iter().map(|name| normalise_name(name)).collect())
}

fn index_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let url = String::deserialize(deserializer)?;
    if !["https://", "http://"].iter().any(|scheme| url.starts_with(scheme)) {
        return Err(serde::de::Error::custom(format!(
            "expected an https:// or http:// URL of a Simple API root, found `{url}`"
        )));
    }
    Ok(url)
}

/// The checks of the analysis, part of the wheels gate's checks.
pub(crate) const CHECKS: [CheckInfo; 5] = [
    CheckInfo {
        id: "build-cycle",
        default_severity: Severity::Blocker,
        summary: "The build-time closure of the requirements has no cycle on any target Python, so every distribution can be built from source (`--no-binary :all:`) (opt-in: [gates.wheels.build-deps]).",
        remedy: "Read the cycle's edges: pin the distribution that brought the edge to a version without it, or allow a binary wheel for one member of the cycle.",
    },
    CheckInfo {
        id: "unpinned-build-dep",
        default_severity: Severity::Blocker,
        summary: "Every build dependency of the closure is pinned in the build requirements (with build isolation, an unpinned one is taken newest from the index at build time).",
        remedy: "Pin it (`name==version --hash=...`) in the build requirements; build without isolation from those pins.",
    },
    CheckInfo {
        id: "index",
        default_severity: Severity::Blocker,
        summary: "The package index answers for every distribution of the closure: its project page, a matching sdist, its files with the listed SHA-256.",
        remedy: "Check index-url, the network or the cache (offline); pin a version the index has as of the date.",
    },
    CheckInfo {
        id: "build-metadata",
        default_severity: Severity::Blocker,
        summary: "Each distribution's needs are known statically: requirements files parse, and the index metadata file, PKG-INFO, pyproject.toml or setup.cfg give its build and run-time requirements.",
        remedy: "Fix the requirement at the reported place, or pin a version whose metadata is static (Metadata 2.2).",
    },
    CheckInfo {
        id: closure::CHECK,
        default_severity: Severity::Warning,
        summary: "The resolved build-dependency closure (name==version of every distribution) is recorded in the report; with `baseline`, every version that changed since that report is listed.",
        remedy: "A changed build dependency is where a new build failure usually comes from: `release-check bisect` names the upload that changed the analysis.",
    },
];

/// One distribution of the graph.
#[derive(Debug)]
struct Node {
    name: String,
    /// The version analysed, and the newest the index allows as of the date.
    chosen: Option<Chosen>,
    /// Metadata sources passed over, and why.
    fallbacks: Vec<String>,
    /// The extras asked of it so far (`setuptools-scm[toml]`).
    extras: BTreeSet<ExtraName>,
    /// Its needs once read, each with whether the walk follows it yet.
    dependencies: Vec<(Dependency, bool)>,
}

#[derive(Debug)]
struct Chosen {
    version: Version,
    newest: Option<Version>,
    /// The sdist analysed, and when it was uploaded.
    filename: String,
    uploaded: Option<jiff::Timestamp>,
    /// Target Pythons (by index) its `Requires-Python` excludes, with it.
    unsupported: Option<(Vec<usize>, String)>,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.chosen {
            Some(chosen) => write!(f, "{} {}", self.name, chosen.version),
            None => f.write_str(&self.name),
        }
    }
}

/// An edge and why it exists.
#[derive(Debug)]
struct Need {
    edge: graph::Edge,
    dependency: Dependency,
    /// Whether its marker is true, per target Python.
    active: Vec<bool>,
}

/// A distribution read from the index.
struct Resolved {
    chosen: Chosen,
    metadata: Result<Metadata, Box<Item>>,
    /// Whether the project page was PEP 691 JSON.
    json: bool,
}

/// What the walk knows about a name when it reads it.
struct Wanted {
    specifiers: Vec<VersionSpecifiers>,
    pin: Option<Version>,
}

/// The pins of the requirements files and the names the walk starts from.
#[derive(Default)]
struct Pins {
    /// `==` pins of the requirements.
    run: BTreeMap<String, Version>,
    /// `==` pins of the build requirements.
    build: BTreeMap<String, Version>,
    /// Every requirement whose marker is true on a target Python, in file
    /// order, with its extras.
    roots: Vec<(String, Vec<ExtraName>)>,
}

/// Reads both requirements files; their problems are `build-metadata` errors.
fn read_pins(
    ctx: &Context,
    config: &Config,
    environments: &[MarkerEnvironment],
    outcome: &mut GateOutcome,
) -> Pins {
    let mut pins = Pins::default();
    for (path, is_build) in [(&config.requirements, false), (&config.build_requirements, true)] {
        let text = match read_bounded(&ctx.repo.join(path), 16 * 1024 * 1024) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(reason) => {
                outcome.push(Item::error("build-metadata", path, reason).at(Location::file(path)));
                continue;
            }
        };
        let parsed = requirements::parse(&text);
        for error in &parsed.errors {
            outcome.push(
                Item::error("build-metadata", format!("{path}:{}", error.line), error.message.clone())
                    .at(Location::at(path, error.line, error.column)),
            );
        }
        for requirement in parsed.requirements {
            // A marker that does not parse keeps the requirement: better
            // one distribution too many than a cycle missed.
            let active = requirement.marker.as_ref().is_none_or(|marker| {
                pep508_rs::MarkerTree::from_str(marker)
                    .map(|m| environments.iter().any(|e| m.evaluate(e, &requirement.extras)))
                    .unwrap_or(true)
            });
            if !active {
                continue;
            }
            if let Some(version) = &requirement.version {
                let pinned = if is_build { &mut pins.build } else { &mut pins.run };
                pinned.insert(requirement.name.clone(), version.clone());
            }
            pins.roots.push((requirement.name, requirement.extras));
        }
    }
    pins
}

/// What the analyses of every moment share: the target Pythons, the pins,
/// the index client (which reads each project page once) and its threads.
pub(crate) struct Analyser<'a> {
    config: &'a Config,
    /// The target Pythons, as configured.
    pythons: Vec<String>,
    environments: Vec<MarkerEnvironment>,
    pins: Pins,
    index: Index,
    pool: rayon::ThreadPool,
    /// Where the build backend is asked when no static source gives the
    /// needs: the first target Python that is a real interpreter.
    hooks: Hooks,
}

/// What asking a build backend needs.
struct Hooks {
    python: Option<PathBuf>,
    cache: PathBuf,
    index_url: String,
    timeout: std::time::Duration,
}

/// The graph of one moment, and the problems met walking it.
pub(crate) struct Analysis {
    as_of: jiff::Timestamp,
    walk: Walk,
    /// Index and metadata problems, as error items.
    problems: Vec<Item>,
    /// Distributions whose page was PEP 503 HTML (no upload times).
    html_pages: Vec<String>,
    /// Requests sent to the index while walking.
    requests: usize,
}

impl<'a> Analyser<'a> {
    /// Reads the targets and the requirements; their problems go to
    /// `outcome`. `None` when no target Python can be analysed or the
    /// index cannot be used.
    pub(crate) fn new(ctx: &Context, config: &'a Config, outcome: &mut GateOutcome) -> Option<Self> {
        let mut pythons = Vec::new();
        let mut environments = Vec::new();
        for target in &config.target_pythons {
            match target.environment(&ctx.repo) {
                Ok(environment) => {
                    pythons.push(target.name.clone());
                    environments.push(environment);
                }
                Err(why) => outcome.push(Item::error("build-metadata", &target.name, why)),
            }
        }
        if environments.is_empty() {
            return None;
        }
        let pins = read_pins(ctx, config, &environments, outcome);
        let cache = match &config.cache_dir {
            Some(dir) => Ok(ctx.repo.join(dir)),
            None => default_cache_dir(),
        };
        let cache = match cache {
            Ok(cache) => cache,
            Err(reason) => {
                outcome.push(Item::error("index", "", reason));
                return None;
            }
        };
        let index = Index::new(&config.index_url, &cache, config.offline, Limits::default());
        let hooks = Hooks {
            python: config.target_pythons.iter().find_map(|target| target.interpreter(&ctx.repo)),
            cache,
            index_url: config.index_url.clone(),
            timeout: config.hook_timeout.0,
        };
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(ctx.jobs.clamp(1, 8)).build() {
            Ok(pool) => pool,
            Err(e) => {
                outcome.push(Item::error("index", "", format!("could not start index threads: {e}")));
                return None;
            }
        };
        Some(Self { config, pythons, environments, pins, index, pool, hooks })
    }

    /// The target Pythons' labels, as `&str`.
    fn labels(&self) -> Vec<&str> {
        self.pythons.iter().map(String::as_str).collect()
    }

    /// Walks the index breadth first as of `as_of`, one level of the graph
    /// at a time, reading each level's distributions in parallel.
    pub(crate) fn at(&self, ctx: &Context, as_of: jiff::Timestamp) -> Analysis {
        let requests_before = self.index.requests();
        let python_versions: Vec<Version> =
            self.environments.iter().map(|e| e.python_full_version().version.clone()).collect();
        let mut walk = Walk::default();
        let mut problems = Vec::new();
        let mut html_pages = Vec::new();
        let mut frontier: Vec<usize> = Vec::new();
        for (name, extras) in &self.pins.roots {
            frontier.extend(walk.add(name));
            let node = walk.by_name[&normalise_name(name)];
            walk.nodes[node].extras.extend(extras.iter().cloned());
        }
        while !frontier.is_empty() {
            let jobs: Vec<(usize, String, Wanted)> = frontier
                .drain(..)
                .map(|node| {
                    let name = walk.nodes[node].name.clone();
                    let wanted = Wanted {
                        specifiers: walk.wanted.remove(&name).unwrap_or_default(),
                        pin: self.pins.build.get(&name).or(self.pins.run.get(&name)).cloned(),
                    };
                    (node, name, wanted)
                })
                .collect();
            let results: Vec<(usize, Result<Resolved, Box<Item>>)> = self.pool.install(|| {
                jobs.par_iter()
                    .map(|(node, name, wanted)| {
                        let resolved =
                            resolve(ctx, &self.index, &self.hooks, name, wanted, as_of, &python_versions);
                        (*node, resolved)
                    })
                    .collect()
            });
            for (node, result) in results {
                let resolved = match result {
                    Ok(found) => found,
                    Err(item) => {
                        problems.push(*item);
                        walk.unread.push(walk.nodes[node].name.clone());
                        continue;
                    }
                };
                if !resolved.json {
                    html_pages.push(walk.nodes[node].name.clone());
                }
                walk.nodes[node].chosen = Some(resolved.chosen);
                let metadata = match resolved.metadata {
                    Ok(metadata) => metadata,
                    Err(item) => {
                        problems.push(*item);
                        walk.unread.push(walk.nodes[node].to_string());
                        continue;
                    }
                };
                walk.nodes[node].fallbacks = metadata.fallbacks;
                let run = metadata.run.unwrap_or_else(|why| {
                    problems.push(Item::error("build-metadata", walk.nodes[node].to_string(), why));
                    walk.unread.push(walk.nodes[node].to_string());
                    Vec::new()
                });
                walk.nodes[node].dependencies =
                    metadata.build.into_iter().chain(run).map(|dependency| (dependency, false)).collect();
                frontier.extend(walk.follow(node, &self.environments, &self.config.only_binary));
            }
        }
        Analysis { as_of, walk, problems, html_pages, requests: self.index.requests() - requests_before }
    }

    /// Every item and note of `analysis`.
    pub(crate) fn report(&self, analysis: &Analysis, outcome: &mut GateOutcome) {
        let walk = &analysis.walk;
        let pythons = self.labels();
        let snapshot = format!("index {} as of {}", self.config.index_url, analysis.as_of);
        outcome.note(format!(
            "build-deps: {} distributions, {} needs, {} requests to the {snapshot}",
            walk.nodes.len(),
            walk.needs.len(),
            analysis.requests
        ));
        for need in &walk.needs {
            let (from, to) = (&walk.nodes[need.edge.from], &walk.nodes[need.edge.to]);
            let specifiers = VersionSpecifiers::from_str(need.dependency.requirement.specifier.trim());
            if let (Some(chosen), Ok(specifiers)) = (&to.chosen, specifiers)
                && !specifiers.contains(&chosen.version)
            {
                outcome.note(format!(
                    "build-deps: {from} needs `{}` ({}), but the analysis uses {to}: one version per distribution, from its pin or the first requirements met",
                    need.dependency.text, need.dependency.source
                ));
            }
        }
        for node in &walk.nodes {
            if let Some(Chosen { unsupported: Some((excluded, requires)), .. }) = &node.chosen {
                outcome.note(format!(
                    "build-deps: {node} requires Python {requires}, so it does not install on {}; no version as of the date supports every target Python",
                    excluded.iter().map(|&i| pythons[i]).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if !analysis.html_pages.is_empty() {
            outcome.note(format!(
                "build-deps: the index served PEP 503 HTML for {}: no upload times, so --as-of could not filter their files",
                analysis.html_pages.join(", ")
            ));
        }
        outcome.items.extend(analysis.problems.iter().cloned());
        outcome.items.extend(cycle_items(walk, &pythons, &snapshot));
        outcome.items.extend(unpinned_items(walk, self.config, &self.pins.build, &pythons, &snapshot));
        outcome.push(closure::item(&analysis.closure(), analysis.as_of, &snapshot));
    }
}

impl Analysis {
    /// The version analysed of each distribution, by name.
    pub(crate) fn closure(&self) -> BTreeMap<String, Version> {
        self.walk
            .nodes
            .iter()
            .filter_map(|node| Some((node.name.clone(), node.chosen.as_ref()?.version.clone())))
            .collect()
    }
}

/// Runs the analysis, adding its items and notes to `outcome`.
pub(crate) fn run(ctx: &Context, config: &Config, outcome: &mut GateOutcome) {
    let Some(analyser) = Analyser::new(ctx, config, outcome) else { return };
    let analysis = analyser.at(ctx, ctx.now);
    analyser.report(&analysis, outcome);
    if let Some(baseline) = &config.baseline {
        outcome.items.extend(closure::compare(&ctx.repo, baseline, &analysis.closure()));
    }
}

/// The graph as it is walked.
#[derive(Default)]
struct Walk {
    nodes: Vec<Node>,
    by_name: BTreeMap<String, usize>,
    needs: Vec<Need>,
    wanted: BTreeMap<String, Vec<VersionSpecifiers>>,
    /// Distributions whose needs are not (all) known.
    unread: Vec<String>,
}

impl Walk {
    /// The new node of `name`, or `None` when it already has one.
    fn add(&mut self, name: &str) -> Option<usize> {
        let name = normalise_name(name);
        if self.by_name.contains_key(&name) {
            return None;
        }
        self.by_name.insert(name.clone(), self.nodes.len());
        self.nodes.push(Node {
            name,
            chosen: None,
            fallbacks: Vec::new(),
            extras: BTreeSet::new(),
            dependencies: Vec::new(),
        });
        Some(self.nodes.len() - 1)
    }

    /// Adds the needs of `start` that are active on some target Python with
    /// the extras asked of it (only its run-time needs when it is installed
    /// from a wheel), and again for every read node that a new need asks a
    /// new extra of; returns the new nodes, to be read.
    fn follow(
        &mut self,
        start: usize,
        environments: &[MarkerEnvironment],
        only_binary: &BTreeSet<String>,
    ) -> Vec<usize> {
        let mut added = Vec::new();
        let mut work = vec![start];
        while let Some(node) = work.pop() {
            let extras: Vec<ExtraName> = self.nodes[node].extras.iter().cloned().collect();
            let binary = only_binary.contains(&self.nodes[node].name);
            for i in 0..self.nodes[node].dependencies.len() {
                let (dependency, followed) = &self.nodes[node].dependencies[i];
                if *followed || (binary && dependency.source.is_build()) {
                    continue;
                }
                let active: Vec<bool> =
                    environments.iter().map(|e| dependency.marker.evaluate(e, &extras)).collect();
                if !active.contains(&true) {
                    continue;
                }
                let dependency = dependency.clone();
                self.nodes[node].dependencies[i].1 = true;
                let name = &dependency.requirement.name;
                added.extend(self.add(name));
                let to = self.by_name[&normalise_name(name)];
                for extra in &dependency.requirement.extras {
                    let read = self.nodes[to].chosen.is_some();
                    if self.nodes[to].extras.insert(extra.clone()) && read && !work.contains(&to) {
                        work.push(to);
                    }
                }
                if let Ok(specifiers) = VersionSpecifiers::from_str(dependency.requirement.specifier.trim()) {
                    self.wanted.entry(self.nodes[to].name.clone()).or_default().push(specifiers);
                }
                let edge = graph::Edge { from: node, to, build: dependency.source.is_build() };
                self.needs.push(Need { edge, dependency, active });
            }
        }
        added
    }
}

/// `$XDG_CACHE_HOME/release-check/index`, else `~/.cache/release-check/index`.
fn default_cache_dir() -> Result<PathBuf, String> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    non_empty("XDG_CACHE_HOME")
        .or_else(|| non_empty("HOME").map(|home| home.join(".cache")))
        .map(|dir| dir.join("release-check").join("index"))
        .ok_or_else(|| "no cache directory: set cache-dir, XDG_CACHE_HOME or HOME".to_owned())
}

/// The version of an sdist of project `name` from its file name
/// (`{name}-{version}.tar.gz` or `.zip`, the name in any spelling).
fn sdist_version(name: &str, filename: &str) -> Option<Version> {
    let stem = filename.strip_suffix(".tar.gz").or_else(|| filename.strip_suffix(".zip"))?;
    stem.match_indices('-')
        .find(|(at, _)| normalise_name(&stem[..*at]) == name)
        .and_then(|(at, _)| Version::from_str(&stem[at + 1..]).ok())
}

/// Chooses `name`'s version and reads what it needs.
fn resolve(
    ctx: &Context,
    index: &Index,
    hooks: &Hooks,
    name: &str,
    wanted: &Wanted,
    as_of: jiff::Timestamp,
    pythons: &[Version],
) -> Result<Resolved, Box<Item>> {
    let page = index.project(name, &ctx.cancel).map_err(|e| problem("index", name, e.to_string()))?;
    let (chosen, sdist) = choose(&page, name, wanted, as_of, pythons)?;
    let subject = format!("{name} {}", chosen.version);
    let (metadata_file, unread) = match &sdist.core_metadata {
        Some(hash) => {
            let url = format!("{}.metadata", sdist.url);
            match index.file(&url, hash.as_deref(), &ctx.cancel).map(String::from_utf8) {
                Ok(Ok(text)) => (Some((format!("{}.metadata", sdist.filename), text)), None),
                Ok(Err(_)) => (None, Some(format!("the index metadata file {url} is not UTF-8"))),
                Err(e) => (None, Some(format!("the index metadata file is unusable: {e}"))),
            }
        }
        None => (None, None),
    };
    let bytes = index
        .file(&sdist.url, sdist.sha256.as_deref(), &ctx.cancel)
        .map_err(|e| problem("index", &subject, e.to_string()))?;
    let metadata = metadata::sdist_files(&sdist.filename, &bytes)
        .map_err(|why| problem("build-metadata", &subject, why))
        .and_then(|files| {
            let metadata_file = metadata_file.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
            metadata::read(&sdist.filename, metadata_file, &files)
                .map_err(|e| problem("build-metadata", &subject, e.to_string()))
        });
    let metadata = metadata.and_then(|mut metadata| {
        metadata.fallbacks.splice(0..0, unread);
        match &metadata.run {
            Ok(_) => Ok(metadata),
            Err(why) => ask_backend(ctx, hooks, &sdist.filename, &bytes, why.clone(), metadata)
                .map_err(|e| problem("build-metadata", &subject, e)),
        }
    });
    Ok(Resolved { chosen, metadata, json: page.json })
}

/// When no static source gives the run-time needs (`why`), asks the
/// sdist's build backend through the PEP 517 hooks ([`hooks`]): its answer
/// adds to the static build needs and gives the run-time ones. Without an
/// interpreter to ask in, the needs stay unknown.
fn ask_backend(
    ctx: &Context,
    hooks: &Hooks,
    sdist_name: &str,
    sdist: &[u8],
    why: String,
    mut metadata: Metadata,
) -> Result<Metadata, String> {
    let Some(python) = &hooks.python else {
        metadata.run = Err(format!(
            "{why}; the build backend could not be asked (PEP 517 hooks): no target Python is an interpreter"
        ));
        return Ok(metadata);
    };
    let build_requires: Vec<String> = metadata.build.iter().map(|d| d.text.clone()).collect();
    let request = hooks::HookRequest {
        python,
        sdist_name,
        sdist,
        build_requires: &build_requires,
        index_url: &hooks.index_url,
        find_links: None,
        timeout: hooks.timeout,
        cache_dir: &hooks.cache,
        cancel: &ctx.cancel,
    };
    let answer = hooks::ask_backend(&request).map_err(|e| format!("{why}; asking the build backend: {e}"))?;
    let asked = metadata::from_hooks(sdist_name, &answer).map_err(|e| e.to_string())?;
    metadata.fallbacks.push(format!("{why}: asked {} in {}", answer.backend, answer.python));
    metadata.build.extend(asked.build);
    metadata.run = asked.run;
    Ok(metadata)
}

/// An error item of `check` about `subject`.
fn problem(check: &str, subject: &str, reason: impl Into<String>) -> Box<Item> {
    Box::new(Item::error(check, subject, reason))
}

/// The target Pythons (by index) that `file`'s `Requires-Python` excludes;
/// none when it has none or it does not parse (pip ignores those too).
fn excluded(file: &DistFile, pythons: &[Version]) -> Vec<usize> {
    let Some(Ok(supported)) = file.requires_python.as_deref().map(VersionSpecifiers::from_str) else {
        return Vec::new();
    };
    (0..pythons.len()).filter(|&i| !supported.contains(&pythons[i])).collect()
}

/// The version `wanted` gets from `page` as of `as_of`, and its sdist: the
/// pin, else the newest that every requirement met allows and whose
/// `Requires-Python` admits every target Python (else at least one).
fn choose<'a>(
    page: &'a ProjectPage,
    name: &str,
    wanted: &Wanted,
    as_of: jiff::Timestamp,
    pythons: &[Version],
) -> Result<(Chosen, &'a DistFile), Box<Item>> {
    let mut sdists: Vec<(Version, &DistFile)> =
        page.as_of(as_of).filter_map(|file| Some((sdist_version(name, &file.filename)?, file))).collect();
    // The newest version first; of one version, a .tar.gz before a .zip.
    sdists.sort_by(|a, b| {
        b.0.cmp(&a.0).then(a.1.filename.ends_with(".zip").cmp(&b.1.filename.ends_with(".zip")))
    });
    let allowed = |version: &Version, file: &DistFile| {
        !file.yanked && !version.any_prerelease() && wanted.specifiers.iter().all(|s| s.contains(version))
    };
    let newest = sdists
        .iter()
        .find(|(v, f)| allowed(v, f) && excluded(f, pythons).is_empty())
        .or_else(|| sdists.iter().find(|(v, f)| allowed(v, f) && excluded(f, pythons).len() < pythons.len()));
    let chosen = match &wanted.pin {
        Some(pin) => sdists.iter().find(|(v, _)| v == pin),
        None => newest,
    };
    match chosen {
        Some((version, file)) => {
            let excluded = excluded(file, pythons);
            let chosen = Chosen {
                version: version.clone(),
                newest: newest.map(|(v, _)| v.clone()),
                filename: file.filename.clone(),
                uploaded: file.upload_time,
                unsupported: (!excluded.is_empty())
                    .then(|| (excluded, file.requires_python.clone().unwrap_or_default())),
            };
            Ok((chosen, *file))
        }
        None => {
            let what = match &wanted.pin {
                Some(pin) => format!("no sdist of the pinned {name}=={pin}"),
                None if wanted.specifiers.is_empty() => format!("no sdist of {name}"),
                None => format!(
                    "no sdist of {name} matching {}",
                    wanted.specifiers.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and ")
                ),
            };
            Err(problem("index", name, format!("{what} uploaded before {as_of} on {}", page.url)))
        }
    }
}

/// `3.7` or `3.7, 3.9`.
fn list(pythons: &[&str], on: impl Fn(usize) -> bool) -> String {
    pythons.iter().enumerate().filter(|(i, _)| on(*i)).map(|(_, p)| *p).collect::<Vec<_>>().join(", ")
}

/// How one need reads in a cycle: `→ imeta 4.12 (imeta; python_version < "3.8"
/// [Requires-Dist, sdist PKG-INFO]: active on 3.7, inactive on 3.9)`.
fn describe_need(walk: &Walk, need: &Need, pythons: &[&str]) -> String {
    let activity = if need.active.iter().all(|a| *a) {
        String::new()
    } else {
        let inactive = list(pythons, |i| !need.active[i]);
        format!(": active on {}, inactive on {inactive}", list(pythons, |i| need.active[i]))
    };
    format!(
        "→ {} ({} [{}]{activity})",
        walk.nodes[need.edge.to], need.dependency.text, need.dependency.source
    )
}

/// One `build-cycle` item per cycle, with the Pythons it is a cycle on; a
/// pass when there is none.
fn cycle_items(walk: &Walk, pythons: &[&str], snapshot: &str) -> Vec<Item> {
    let mut cycles: BTreeMap<Vec<usize>, Vec<bool>> = BTreeMap::new();
    for python in 0..pythons.len() {
        let active: Vec<usize> = (0..walk.needs.len()).filter(|&i| walk.needs[i].active[python]).collect();
        let edges: Vec<graph::Edge> = active.iter().map(|&i| walk.needs[i].edge).collect();
        for cycle in graph::build_cycles(walk.nodes.len(), &edges) {
            let mut cycle: Vec<usize> = cycle.into_iter().map(|e| active[e]).collect();
            let smallest =
                (0..cycle.len()).min_by_key(|&i| walk.nodes[walk.needs[cycle[i]].edge.from].name.clone());
            cycle.rotate_left(smallest.unwrap_or(0));
            cycles.entry(cycle).or_insert_with(|| vec![false; pythons.len()])[python] = true;
        }
    }
    if cycles.is_empty() {
        let found =
            format!("no build-time cycle among {} distributions on {}", walk.nodes.len(), pythons.join(", "));
        // Needs that were not read may hide a cycle: that is not a pass.
        let item = match walk.unread.is_empty() {
            true => Item::pass("build-cycle", "", found),
            false => Item::skipped(
                "build-cycle",
                "",
                format!(
                    "{found}, but the needs of {} are unknown (see the errors), so a cycle through them cannot be ruled out",
                    walk.unread.join(", ")
                ),
            ),
        };
        return vec![item.with(Evidence::fact("snapshot", snapshot))];
    }
    cycles
        .into_iter()
        .map(|(cycle, on)| {
            let first = &walk.nodes[walk.needs[cycle[0]].edge.from];
            let names: Vec<&str> =
                cycle.iter().map(|&e| walk.nodes[walk.needs[e].edge.from].name.as_str()).collect();
            let path: Vec<String> =
                cycle.iter().map(|&e| describe_need(walk, &walk.needs[e], pythons)).collect();
            let not_on = list(pythons, |i| !on[i]);
            let reason = format!(
                "build-time cycle on {}{}: {first} {}",
                list(pythons, |i| on[i]),
                if not_on.is_empty() { String::new() } else { format!(" (not on {not_on})") },
                path.join(" ")
            );
            let mut item = Item::fail("build-cycle", names.join("→"), reason);
            for (step, &e) in cycle.iter().enumerate() {
                let need = &walk.needs[e];
                let when = if need.edge.build { "to build" } else { "at run time" };
                let from = &walk.nodes[need.edge.from];
                let passed_over = match (need.edge.build, from.fallbacks.is_empty()) {
                    (false, false) => format!(" (passed over: {})", from.fallbacks.join("; ")),
                    _ => String::new(),
                };
                item = item.with(Evidence::fact(
                    format!("edge {}", step + 1),
                    format!(
                        "{from} needs {} {when}: `{}` from {}{passed_over}",
                        walk.nodes[need.edge.to].name, need.dependency.text, need.dependency.source
                    ),
                ));
            }
            item.with(Evidence::fact("snapshot", snapshot))
        })
        .collect()
}

/// One `unpinned-build-dep` item per build dependency that the build
/// requirements do not pin (with build isolation) or do not satisfy
/// (without).
fn unpinned_items(
    walk: &Walk,
    config: &Config,
    build_pins: &BTreeMap<String, Version>,
    pythons: &[&str],
    snapshot: &str,
) -> Vec<Item> {
    let mut by_dependency: BTreeMap<usize, Vec<&Need>> = BTreeMap::new();
    for need in walk.needs.iter().filter(|n| n.edge.build) {
        by_dependency.entry(need.edge.to).or_default().push(need);
    }
    let file = &config.build_requirements;
    let mut items = Vec::new();
    for (node, needs) in by_dependency {
        let node = &walk.nodes[node];
        let pin = build_pins.get(&node.name);
        let unmet: Vec<&&Need> = needs
            .iter()
            .filter(|need| {
                let specifiers = VersionSpecifiers::from_str(need.dependency.requirement.specifier.trim());
                match (pin, specifiers) {
                    (None, _) => true,
                    (Some(pin), Ok(specifiers)) => !config.build_isolation && !specifiers.contains(pin),
                    (Some(_), Err(_)) => !config.build_isolation,
                }
            })
            .collect();
        if unmet.is_empty() {
            continue;
        }
        let by: Vec<String> = unmet
            .iter()
            .map(|need| {
                let on = if need.active.iter().all(|a| *a) {
                    String::new()
                } else {
                    format!(", on {}", list(pythons, |i| need.active[i]))
                };
                format!(
                    "{} (`{}`, {}{on})",
                    walk.nodes[need.edge.from], need.dependency.text, need.dependency.source
                )
            })
            .collect();
        let newest = node.chosen.as_ref().and_then(|c| c.newest.as_ref());
        let reason = match (config.build_isolation, pin) {
            (true, _) => format!(
                "needed to build {} but not pinned in {file}: build isolation installs {}",
                by.join(", "),
                match newest {
                    Some(version) => format!("{} {version}, the newest the {snapshot} allows", node.name),
                    None =>
                        format!("whatever the index has ({} has no matching sdist as of the date)", node.name),
                }
            ),
            (false, None) => format!(
                "needed to build {} but not in {file}: a build without isolation does not have it",
                by.join(", ")
            ),
            (false, Some(pin)) => format!(
                "needed to build {} but {file} pins {}=={pin}, which does not satisfy it",
                by.join(", "),
                node.name
            ),
        };
        let mut item = Item::fail("unpinned-build-dep", &node.name, reason).at(Location::file(file));
        if let Some(version) = newest {
            item = item.with(Evidence::fact("index gives", format!("{} {version}", node.name)));
        }
        items.push(item.with(Evidence::fact("snapshot", snapshot)));
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdist_versions_come_from_file_names_in_any_spelling() {
        assert_eq!(
            sdist_version("setuptools-scm", "setuptools_scm-7.0.4.tar.gz"),
            Version::from_str("7.0.4").ok()
        );
        assert_eq!(
            sdist_version("setuptools-scm", "setuptools-scm-6.4.2.tar.gz"),
            Version::from_str("6.4.2").ok()
        );
        assert_eq!(sdist_version("a", "a-1.0-py3-none-any.whl"), None);
        assert_eq!(sdist_version("a", "ab-1.0.tar.gz"), None);
    }
}
