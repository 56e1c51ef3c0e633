//! What the analyses of every moment share: the target Pythons probed, the
//! requirements and constraints read, the catalog of releases and where
//! build backends' answers are cached.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr as _;

use gate_core::files::read_bounded;
use gate_core::{Context, GateOutcome, Location};
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerTree};

use crate::catalog::Catalog;
use crate::checks::Check;
use crate::config::Config;
use crate::index::{Index, Limits};
use crate::metadata::{Dependency, Source};
use crate::pip::{self, Outer, Pip};
use crate::resolve::{Constraints, Spec};

/// What asking a build backend needs.
pub(crate) struct Hooks {
    pub cache: PathBuf,
    pub timeout: std::time::Duration,
}

/// One target Python, as the analysis sees it.
#[derive(Debug, Clone)]
pub(crate) struct Python {
    /// As configured.
    pub label: String,
    pub markers: MarkerEnvironment,
    /// `python_full_version`.
    pub version: Version,
    /// The interpreter the build backend is asked in, when there is one.
    pub interpreter: Option<PathBuf>,
    /// The pip whose rules apply.
    pub pip: Pip,
    /// The environment pip runs in.
    pub outer: Outer,
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
    /// The index's request count before the first analysis's pages were
    /// fetched (while the interpreters were asked): the first analysis
    /// counts from there, later ones from their own start.
    pub requests_before: std::sync::Mutex<Option<usize>>,
}

/// A requirements file as dependencies; its problems go to `outcome`.
fn read_requirements(ctx: &Context, path: &str, outcome: &mut GateOutcome) -> Option<Vec<Dependency>> {
    let text = match read_bounded(&ctx.repo.join(path), 16 * 1024 * 1024) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(reason) => {
            outcome.push(Check::BuildMetadata.error(path, reason.to_string()).at(Location::file(path)));
            return None;
        }
    };
    let parsed = pip_requirements::parse(&text);
    for error in &parsed.errors {
        outcome.push(
            Check::BuildMetadata
                .error(format!("{path}:{}", error.line), error.message.clone())
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

/// How many threads read the index (and the sdists it serves): twice
/// `run.jobs`, at most 8. A read mostly waits, on the server or on the
/// disk the cache is written to: on the build-deps benchmark's data, 4
/// threads on 2 cores made a cold run 17% faster than 2.
fn index_threads(jobs: usize) -> usize {
    jobs.saturating_mul(2).clamp(1, 8)
}

/// The normalised names of the requirements of `roots` without a marker,
/// which every target Python resolves, each once.
fn unconditional_names(roots: &[(String, Vec<Dependency>)]) -> Vec<String> {
    let mut names: Vec<String> = roots
        .iter()
        .flat_map(|(_, dependencies)| dependencies)
        .filter(|d| d.marker.is_true())
        .map(|d| pip_requirements::normalise_name(&d.requirement.name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
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
        let cache = match &config.cache_dir {
            Some(dir) => Ok(ctx.repo.join(dir)),
            None => default_cache_dir(),
        };
        // The requirements are read first, so that their project pages can
        // be fetched while the interpreters answer; their problems are told
        // after the interpreters'.
        let mut read = GateOutcome::new();
        let mut roots = Vec::new();
        for file in [&config.requirements, &config.build_requirements] {
            if let Some(dependencies) = read_requirements(ctx, file, &mut read) {
                roots.push((file.clone(), dependencies));
            }
        }
        let constraints_read = config.constraints.as_ref().map(|file| {
            let dependencies = read_requirements(ctx, file, &mut read).unwrap_or_default();
            constraints_of(file, &dependencies)
        });
        let index = match &cache {
            Err(reason) => Err(Check::Index.error("", reason.to_string())),
            Ok(cache) => match rayon::ThreadPoolBuilder::new().num_threads(index_threads(ctx.jobs)).build() {
                Ok(pool) => {
                    let index = Index::new(&config.index_url, cache, config.offline, Limits::default());
                    Ok((Catalog::new(index, pool), cache.clone()))
                }
                Err(e) => Err(Check::Index.error("", format!("could not start index threads: {e}"))),
            },
        };
        let requests_before = index.as_ref().map_or(0, |(catalog, _)| catalog.index.requests());
        // Every target's interpreter is asked at once (each answer through
        // the cache, when there is one); problems are told in the
        // configuration's order. Meanwhile the pages of the requirements
        // every target needs (those without a marker) are fetched: each
        // target's walk starts with them.
        let probed: Vec<_> = std::thread::scope(|scope| {
            let cache = cache.as_deref().ok();
            let asking: Vec<_> = config
                .target_pythons
                .iter()
                .map(|target| scope.spawn(move || target.probe(&ctx.repo, cache)))
                .collect();
            if let Ok((catalog, _)) = &index {
                let names = unconditional_names(&roots);
                scope.spawn(move || catalog.pages(&names, &ctx.cancel));
            }
            asking.into_iter().map(|asked| asked.join()).collect()
        });
        let mut targets = Vec::new();
        for (target, probed) in config.target_pythons.iter().zip(probed) {
            match probed.unwrap_or_else(|panic| std::panic::resume_unwind(panic)) {
                Ok((markers, interpreter)) => targets.push((target.name.clone(), markers, interpreter)),
                Err(why) => outcome.push(Check::BuildMetadata.error(&target.name, why.to_string())),
            }
        }
        if targets.is_empty() {
            return None;
        }
        targets.sort_by(|a, b| {
            let version = |m: &pep508_rs::MarkerEnvironment| m.python_full_version().version.clone();
            version(&a.1).cmp(&version(&b.1)).then(a.0.cmp(&b.0))
        });
        outcome.items.extend(read.items);
        let build_pins: Vec<Dependency> = roots
            .iter()
            .find(|(file, _)| *file == config.build_requirements)
            .map(|(_, d)| d.clone())
            .unwrap_or_default();
        let constraints = constraints_read.unwrap_or_default();
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
        let (catalog, cache) = match index {
            Ok(index) => index,
            Err(item) => {
                outcome.push(item);
                return None;
            }
        };
        let hooks = Hooks { cache, timeout: config.hook_timeout.0 };
        Some(Self {
            config,
            pythons,
            roots,
            constraints,
            catalog,
            hooks,
            requests_before: std::sync::Mutex::new(Some(requests_before)),
        })
    }

    /// The target Pythons' labels, in the analyser's order.
    pub(crate) fn labels(&self) -> Vec<&str> {
        self.pythons.iter().map(|p| p.label.as_str()).collect()
    }
}

/// Neither `XDG_CACHE_HOME` nor `HOME` is set, and no `cache-dir` is
/// configured.
#[derive(Debug, thiserror::Error)]
#[error("no cache directory: set cache-dir, XDG_CACHE_HOME or HOME")]
struct NoCacheDir;

/// `$XDG_CACHE_HOME/release-check/index`, else `~/.cache/release-check/index`.
fn default_cache_dir() -> Result<PathBuf, NoCacheDir> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    non_empty("XDG_CACHE_HOME")
        .or_else(|| non_empty("HOME").map(|home| home.join(".cache")))
        .map(|dir| dir.join("release-check").join("index"))
        .ok_or(NoCacheDir)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, Instant};

    use super::*;

    /// The index is read on twice `run.jobs` threads, from 2 to 8.
    #[test]
    fn the_index_is_read_on_twice_the_jobs_at_most_eight() {
        assert_eq!([1, 2, 3, 4, 5, 256].map(index_threads), [2, 4, 6, 8, 8, 8]);
    }

    /// The target interpreters are asked at the same time, and a target that
    /// cannot answer is told in the configuration's order.
    #[test]
    fn target_interpreters_are_asked_at_once() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("b", "sleep 1\nexec python3 \"$@\"\n"),
            ("a", "sleep 1\nexec python3 \"$@\"\n"),
            ("c", "sleep 1\nexit 3\n"),
        ] {
            let python = dir.path().join(name).join("python");
            std::fs::create_dir_all(python.parent().unwrap()).unwrap();
            std::fs::write(&python, format!("#!/bin/sh\n{text}")).unwrap();
            std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.path().join("requirements.txt"), "").unwrap();
        std::fs::write(dir.path().join("build-requirements.txt"), "").unwrap();
        let config: Config = toml::from_str(
            "target-pythons = [\"c/python\", \"b/python\", \"a/python\"]\ncache-dir = \"cache\"\noffline = true\n",
        )
        .unwrap();
        let ctx = Context::new(dir.path());
        let mut outcome = GateOutcome::default();
        let started = Instant::now();
        let analyser = Analyser::new(&ctx, &config, &mut outcome).unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2500), "asked one after another: {took:?}");
        assert_eq!(analyser.labels(), ["a/python", "b/python"]);
        let errors: Vec<&str> = outcome.items.iter().map(|item| item.reason.as_str()).collect();
        assert!(errors.len() == 1 && errors[0].contains("target Python `c/python`"), "{errors:?}");
    }
}
