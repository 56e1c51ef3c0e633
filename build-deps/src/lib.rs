//! Build-dependency analysis per target Python, before anything is built:
//! cycles that a build from source (`--no-binary :all:`) walks into, and
//! build dependencies that build isolation takes, unpinned, from the index.
//!
//! Opt-in with `[gates.wheels.build-deps]` ([`Config`]). Each target Python
//! is analysed on its own ([`model`]), in an order that does not depend on
//! the configuration's: the requirements files are resolved from the index
//! ([`resolve`]) as of the run's moment (`--as-of`), every release is built
//! as the modelled pip version builds it ([`pip`]), and each isolated build
//! environment is resolved from the index in turn, recursively; the
//! repository's pins do not reach it, a constraints file does. Releases are
//! read once per run ([`catalog`]) from the index ([`index`]); what they
//! need comes from [`metadata`]. The results are reported per release and
//! cycle with the Pythons they hold on ([`report`]).
//!
//! The `wheels` gate of release-check runs the analysis ([`run`]) and lists
//! its [`CHECKS`] among its own; `release-check bisect` drives [`bisect`].
//! Requirements files are read with `pip-requirements`, build backends are
//! asked through `python-build`, and findings are `gate-core` items.

pub mod archive;
pub mod bisect;
pub(crate) mod catalog;
pub mod closure;
pub mod graph;
pub mod hooks;
pub mod index;
pub mod metadata;
pub(crate) mod model;
pub mod pip;
mod python;
mod report;
pub(crate) mod resolve;
mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr as _;

use gate_core::{CheckInfo, Context, GateOutcome, HumanDuration, Item, Location, Severity};
use pep508_rs::MarkerTree;
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use serde::{Deserialize, Deserializer};

use catalog::{Catalog, Release};
use gate_core::files::read_bounded;
use index::{Index, Limits};
use metadata::{Dependency, Source};
use model::{Python, PythonAnalysis};
use pip::{Outer, Pip};
use pip_requirements::normalise_name;
pub use python::TargetPython;
use resolve::{Constraints, Spec};

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
    /// A constraints file, relative to the repository, that reaches every
    /// resolution, build environments included, as `PIP_CONSTRAINT` does.
    #[serde(default)]
    pub constraints: Option<String>,
    /// The pip version whose rules apply (`"21.3.1"`); else the `pip` pinned
    /// in the build requirements, else each target interpreter's own.
    #[serde(default, deserialize_with = "pip_version")]
    pub pip: Option<Version>,
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

fn pip_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Version>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Version::from_str(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!("expected a pip version such as \"21.3.1\", found `{text}`: {e}"))
    })
}

/// The checks of the analysis; the wheels gate lists them among its own.
pub const CHECKS: [CheckInfo; 5] = [
    CheckInfo {
        id: "build-cycle",
        default_severity: Severity::Blocker,
        summary: "No build from source (`--no-binary :all:`) needs, in its build environment, the release it builds, on any target Python, as the modelled pip builds (opt-in: [gates.wheels.build-deps]).",
        remedy: "Read the cycle's path: hold the release that brought the edge to a version without it in a constraints file that reaches build environments (`constraints`, PIP_CONSTRAINT), or allow a binary wheel for one member of the cycle (`only-binary`).",
    },
    CheckInfo {
        id: "unpinned-build-dep",
        default_severity: Severity::Blocker,
        summary: "Everything a build installs is pinned: with build isolation, every member of each isolated build environment is held to one version by a constraints file that reaches it (the repository's requirements files do not); without isolation, or for a legacy setup.py build, the build requirements provide every build need.",
        remedy: "Pin it with `==` in a constraints file given as `constraints` (and to pip as PIP_CONSTRAINT), or build without isolation from the pinned build requirements.",
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

/// What asking a build backend needs.
pub(crate) struct Hooks {
    pub cache: PathBuf,
    pub timeout: std::time::Duration,
}

/// What the analyses of every moment share: the target Pythons, the
/// requirements, the constraints and the catalog of releases read (which
/// reads each project page once).
pub(crate) struct Analyser<'a> {
    pub config: &'a Config,
    /// In version order, then by name: never in the configuration's order.
    pub pythons: Vec<Python>,
    /// Each requirements file and its requirements.
    pub roots: Vec<(String, Vec<Dependency>)>,
    pub constraints: Constraints,
    pub catalog: Catalog,
    pub hooks: Hooks,
}

/// The analysis of one moment.
pub(crate) struct Analysis {
    pub as_of: jiff::Timestamp,
    /// One per target Python, in the analyser's order.
    pub pythons: Vec<PythonAnalysis>,
    /// Requests sent to the index while analysing.
    pub requests: usize,
}

/// A requirements file as dependencies; its problems go to `outcome`.
fn read_requirements(ctx: &Context, path: &str, outcome: &mut GateOutcome) -> Option<Vec<Dependency>> {
    let text = match read_bounded(&ctx.repo.join(path), 16 * 1024 * 1024) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(reason) => {
            outcome.push(Item::error("build-metadata", path, reason.to_string()).at(Location::file(path)));
            return None;
        }
    };
    let parsed = pip_requirements::parse(&text);
    for error in &parsed.errors {
        outcome.push(
            Item::error("build-metadata", format!("{path}:{}", error.line), error.message.clone())
                .at(Location::at(path, error.line, error.column)),
        );
    }
    let dependencies = parsed
        .requirements
        .into_iter()
        .map(|requirement| {
            // A marker that does not parse keeps the requirement: better one
            // distribution too many than a cycle missed.
            let marker =
                requirement.marker.as_deref().and_then(|m| MarkerTree::from_str(m).ok()).unwrap_or_default();
            let text = match &requirement.version {
                Some(version) => format!("{}=={version} ({path}:{})", requirement.name, requirement.line),
                None => {
                    format!("{}{} ({path}:{})", requirement.name, requirement.specifier, requirement.line)
                }
            };
            Dependency { requirement, text, marker, source: Source::Requirements }
        })
        .collect();
    Some(dependencies)
}

/// `==` pins of `dependencies` whose marker is true for `markers`.
fn pins_of(dependencies: &[Dependency], markers: &pep508_rs::MarkerEnvironment) -> BTreeMap<String, Version> {
    dependencies
        .iter()
        .filter(|d| d.marker.evaluate(markers, &[]))
        .filter_map(|d| Some((d.requirement.name.clone(), d.requirement.version.clone()?)))
        .collect()
}

/// The constraints of `file`, by name.
fn constraints_of(file: &str, dependencies: &[Dependency]) -> Constraints {
    let mut constraints = Constraints::new();
    for dependency in dependencies {
        if let Ok(specifiers) = VersionSpecifiers::from_str(dependency.requirement.specifier.trim()) {
            let text =
                format!("{file}: {}{}", dependency.requirement.name, dependency.requirement.specifier.trim());
            constraints
                .entry(dependency.requirement.name.clone())
                .or_default()
                .push(Spec { specifiers, text });
        }
    }
    constraints
}

impl<'a> Analyser<'a> {
    /// Reads the targets, the requirements and the constraints; their
    /// problems go to `outcome`. `None` when no target Python can be
    /// analysed or the index cannot be used.
    pub(crate) fn new(ctx: &Context, config: &'a Config, outcome: &mut GateOutcome) -> Option<Self> {
        let mut targets = Vec::new();
        for target in &config.target_pythons {
            match target.probe(&ctx.repo) {
                Ok((markers, interpreter)) => targets.push((target.name.clone(), markers, interpreter)),
                Err(why) => outcome.push(Item::error("build-metadata", &target.name, why)),
            }
        }
        if targets.is_empty() {
            return None;
        }
        targets.sort_by(|a, b| {
            let version = |m: &pep508_rs::MarkerEnvironment| m.python_full_version().version.clone();
            version(&a.1).cmp(&version(&b.1)).then(a.0.cmp(&b.0))
        });
        let mut roots = Vec::new();
        for file in [&config.requirements, &config.build_requirements] {
            if let Some(dependencies) = read_requirements(ctx, file, outcome) {
                roots.push((file.clone(), dependencies));
            }
        }
        let build_pins: Vec<Dependency> = roots
            .iter()
            .find(|(file, _)| *file == config.build_requirements)
            .map(|(_, d)| d.clone())
            .unwrap_or_default();
        let constraints = match &config.constraints {
            Some(file) => constraints_of(file, &read_requirements(ctx, file, outcome).unwrap_or_default()),
            None => Constraints::new(),
        };
        let pythons = targets
            .into_iter()
            .map(|(label, markers, interpreter)| {
                let version = markers.python_full_version().version.clone();
                let pins = pins_of(&build_pins, &markers);
                let pip = match (
                    &config.pip,
                    pins.get("pip"),
                    interpreter.as_ref().and_then(|i| i.bundled_pip.as_deref()),
                ) {
                    (Some(version), _, _) => {
                        Pip { version: Some(version.clone()), from: "the configuration's `pip`".into() }
                    }
                    (None, Some(pin), _) => Pip {
                        version: Some(pin.clone()),
                        from: format!("pip=={pin} in {}", config.build_requirements),
                    },
                    (None, None, Some(bundled)) => Pip {
                        version: pip::bundled_version(bundled),
                        from: format!("bundled with Python {version}"),
                    },
                    (None, None, None) => Pip {
                        version: None,
                        from: format!(
                            "no `pip` key, no pip pinned in {}, no interpreter",
                            config.build_requirements
                        ),
                    },
                };
                let outer = Outer::new(pins, &version);
                Python { label, markers, version, interpreter: interpreter.map(|i| i.path), pip, outer }
            })
            .collect();
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
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(ctx.jobs.clamp(1, 8)).build() {
            Ok(pool) => pool,
            Err(e) => {
                outcome.push(Item::error("index", "", format!("could not start index threads: {e}")));
                return None;
            }
        };
        let hooks = Hooks { cache, timeout: config.hook_timeout.0 };
        Some(Self { config, pythons, roots, constraints, catalog: Catalog::new(index, pool), hooks })
    }

    /// The target Pythons' labels, in the analyser's order.
    pub(crate) fn labels(&self) -> Vec<&str> {
        self.pythons.iter().map(|p| p.label.as_str()).collect()
    }

    /// Analyses every target Python as of `as_of`.
    pub(crate) fn at(&self, ctx: &Context, as_of: jiff::Timestamp) -> Analysis {
        let requests_before = self.catalog.index.requests();
        // One thread per target Python: each resolves on its own, sharing the
        // catalog; their build backends, when asked, run side by side.
        let pythons = std::thread::scope(|scope| {
            let running: Vec<_> = self
                .pythons
                .iter()
                .map(|python| (python, scope.spawn(move || model::analyse(self, ctx, python, as_of))))
                .collect();
            running
                .into_iter()
                .map(|(python, thread)| {
                    thread.join().unwrap_or_else(|_| PythonAnalysis {
                        problems: vec![Item::error(
                            "index",
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

    /// Every item and note of `analysis`.
    pub(crate) fn report(&self, analysis: &Analysis, outcome: &mut GateOutcome) {
        report::report(self, analysis, outcome);
    }
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

    /// Every need of the analysis, described, by a key that another
    /// moment's analysis shares.
    pub(crate) fn needs(&self, analyser: &Analyser) -> BTreeMap<String, String> {
        report::needs(analyser, self)
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

/// Runs the analysis, adding its items and notes to `outcome`: the wheels
/// gate's `[gates.wheels.build-deps]`.
pub fn run(ctx: &Context, config: &Config, outcome: &mut GateOutcome) {
    let Some(analyser) = Analyser::new(ctx, config, outcome) else { return };
    let analysis = analyser.at(ctx, ctx.now);
    analyser.report(&analysis, outcome);
    if let Some(baseline) = &config.baseline {
        outcome.items.extend(closure::compare(&ctx.repo, baseline, &analysis.closure()));
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
