//! How pip builds an sdist, by pip version: whether it builds through
//! PEP 517 in an isolated build environment or the legacy way (`setup.py`
//! run in the environment pip runs in), which build requirements it assumes
//! when an sdist declares none, and what the setuptools backend adds to them.
//! Each rule names the pip versions it holds for; `docs/pip-model.md` lists
//! them with their sources in pip's history.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr as _;

use pep508_rs::pep440_rs::Version;

use super::metadata::BuildSystem;

/// The pip whose rules are applied, and where its version comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pip {
    /// Its version; `None` when unknown, and then the rules of current pip
    /// apply.
    pub version: Option<Version>,
    /// `pip = "21.3.1" in the configuration`, `pip==21.3.1 in
    /// build-requirements.txt`, `bundled with CPython 3.9.18`.
    pub from: String,
}

impl fmt::Display for Pip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => write!(f, "pip {version} ({})", self.from),
            None => write!(f, "pip of unknown version ({}): the rules of current pip", self.from),
        }
    }
}

/// How pip builds one sdist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PEP 517 in an isolated build environment, its requirements installed
    /// from the index.
    Isolated,
    /// PEP 517 in the environment pip runs in (`--no-build-isolation`).
    NotIsolated,
    /// `setup.py` run in the environment pip runs in, with its setuptools.
    Legacy,
}

/// What the environment pip runs in holds: the build requirements' pins,
/// else what a fresh virtual environment of the target Python has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outer {
    /// Pinned versions by normalised name.
    pub pins: BTreeMap<String, Version>,
    /// Whether setuptools is importable there.
    pub setuptools: bool,
    /// Whether wheel is importable there.
    pub wheel: bool,
}

impl Outer {
    /// The environment of `pins` on a Python of `python` (`X.Y`): a fresh
    /// virtual environment has setuptools before Python 3.12 (ensurepip
    /// installs it) and never wheel.
    pub fn new(pins: BTreeMap<String, Version>, python: &Version) -> Self {
        let venv_setuptools = python.release().get(..2).is_some_and(|r| r < [3, 12].as_slice());
        Self {
            setuptools: pins.contains_key("setuptools") || venv_setuptools,
            wheel: pins.contains_key("wheel"),
            pins,
        }
    }
}

fn version(text: &str) -> Version {
    Version::from_str(text).unwrap_or_else(|_| unreachable!("a literal version"))
}

/// pip 22.1: builds a setup.py-only sdist through PEP 517 when setuptools
/// cannot be imported (pypa/pip#10717).
const SETUPTOOLS_FALLBACK: &str = "22.1";
/// pip 23.1: also when wheel cannot be imported (pypa/pip#8559).
const WHEEL_FALLBACK: &str = "23.1";
/// pip 24.0: the default build requirements are `setuptools>=40.8.0` alone.
const NO_DEFAULT_WHEEL: &str = "24.0";
/// pip 25.3: the legacy way is gone; every sdist builds through PEP 517.
const NO_LEGACY: &str = "25.3";

impl Pip {
    /// Whether the rules of pip `at_least` and later apply.
    fn since(&self, at_least: &str) -> bool {
        self.version.as_ref().is_none_or(|v| *v >= version(at_least))
    }

    /// How this pip builds an sdist with `build_system`, in `outer`, with
    /// build isolation or not; and the rule that says so, for evidence.
    pub fn mode(&self, build_system: &BuildSystem, outer: &Outer, isolation: bool) -> (Mode, String) {
        let pep517 = if isolation { Mode::Isolated } else { Mode::NotIsolated };
        if build_system.pyproject {
            return (
                pep517,
                "it has a pyproject.toml, so pip (19.0 and later) builds it through PEP 517".into(),
            );
        }
        let pip = self.version.as_ref().map_or("current pip".to_owned(), |v| format!("pip {v}"));
        if self.since(NO_LEGACY) {
            return (pep517, format!("{pip} builds every sdist through PEP 517 (pip 25.3 and later)"));
        }
        if self.since(WHEEL_FALLBACK) {
            return match (outer.setuptools, outer.wheel) {
                (true, true) => (
                    Mode::Legacy,
                    format!(
                        "{pip} builds a setup.py-only sdist with setup.py when setuptools and wheel are installed where it runs (pip 23.1 to 25.2)"
                    ),
                ),
                _ => (
                    pep517,
                    format!(
                        "{pip} builds a setup.py-only sdist through PEP 517 when setuptools or wheel is not installed where it runs (pip 23.1 to 25.2)"
                    ),
                ),
            };
        }
        if self.since(SETUPTOOLS_FALLBACK) {
            return match outer.setuptools {
                true => (
                    Mode::Legacy,
                    format!(
                        "{pip} builds a setup.py-only sdist with setup.py when setuptools is installed where it runs (pip 22.1 to 23.0)"
                    ),
                ),
                false => (
                    pep517,
                    format!(
                        "{pip} builds a setup.py-only sdist through PEP 517 when setuptools is not installed where it runs (pip 22.1 to 23.0)"
                    ),
                ),
            };
        }
        (
            Mode::Legacy,
            format!("{pip} builds a setup.py-only sdist with setup.py, where it runs (pip 19.0 to 22.0)"),
        )
    }

    /// The build requirements pip assumes for an sdist without a
    /// `[build-system]` table: `setuptools>=40.8.0` and `wheel` before pip
    /// 24.0, `setuptools>=40.8.0` alone since.
    pub fn default_requires(&self) -> &'static [&'static str] {
        if self.since(NO_DEFAULT_WHEEL) { &["setuptools>=40.8.0"] } else { &["setuptools>=40.8.0", "wheel"] }
    }
}

/// The backend pip assumes when `[build-system]` names none.
pub use super::hooks::DEFAULT_BACKEND;

/// Whether `backend` is setuptools' (`setuptools.build_meta` or its
/// `__legacy__`).
pub fn is_setuptools_backend(backend: &str) -> bool {
    let module = backend.split(':').next().unwrap_or("").trim();
    module == "setuptools.build_meta"
}

/// What `get_requires_for_build_wheel` of setuptools `setuptools` returns
/// besides `setup_requires`: `setuptools` and `wheel` before 40.6.3 (setuptools
/// commit ed22402), `wheel` until 70.1.0, nothing since (setuptools took in
/// `bdist_wheel`, commit b3d3e93).
pub fn setuptools_backend_requires(setuptools: &Version) -> &'static [&'static str] {
    if *setuptools >= version("70.1.0") {
        &[]
    } else if *setuptools >= version("40.6.3") {
        &["wheel"]
    } else {
        &["setuptools", "wheel"]
    }
}

/// The pip version in the file name of a bundled pip wheel
/// (`pip-23.0.1-py3-none-any.whl`).
pub fn bundled_version(wheel: &std::path::Path) -> Option<Version> {
    let name = wheel.file_name()?.to_str()?;
    Version::from_str(name.strip_prefix("pip-")?.split('-').next()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pip(text: &str) -> Pip {
        Pip { version: Some(version(text)), from: "test".into() }
    }

    fn setup_py_only() -> BuildSystem {
        BuildSystem::default()
    }

    #[test]
    fn setup_py_only_sdists_build_as_each_pip_version_builds_them() {
        let tools = Outer { setuptools: true, wheel: true, ..Outer::default() };
        let no_wheel = Outer { setuptools: true, wheel: false, ..Outer::default() };
        let bare = Outer::default();
        let mode = |p: &str, outer: &Outer| pip(p).mode(&setup_py_only(), outer, true).0;
        assert_eq!(mode("21.3.1", &bare), Mode::Legacy);
        assert_eq!(mode("22.0.4", &no_wheel), Mode::Legacy);
        assert_eq!(mode("22.1", &bare), Mode::Isolated);
        assert_eq!(mode("23.0.1", &no_wheel), Mode::Legacy);
        assert_eq!(mode("23.1", &no_wheel), Mode::Isolated);
        assert_eq!(mode("24.0", &tools), Mode::Legacy);
        assert_eq!(mode("25.2", &tools), Mode::Legacy);
        assert_eq!(mode("25.3", &tools), Mode::Isolated);
        let unknown = Pip { version: None, from: "no pin".into() };
        assert_eq!(unknown.mode(&setup_py_only(), &tools, true).0, Mode::Isolated);
        assert_eq!(pip("21.3.1").mode(&setup_py_only(), &tools, false).0, Mode::Legacy);
        let pyproject = BuildSystem { pyproject: true, ..BuildSystem::default() };
        assert_eq!(pip("21.3.1").mode(&pyproject, &tools, true).0, Mode::Isolated);
        assert_eq!(pip("21.3.1").mode(&pyproject, &tools, false).0, Mode::NotIsolated);
    }

    #[test]
    fn defaults_follow_the_pip_and_setuptools_versions() {
        assert_eq!(pip("23.3.2").default_requires(), ["setuptools>=40.8.0", "wheel"]);
        assert_eq!(pip("24.0").default_requires(), ["setuptools>=40.8.0"]);
        assert_eq!(setuptools_backend_requires(&version("40.6.2")), ["setuptools", "wheel"]);
        assert_eq!(setuptools_backend_requires(&version("63.1.0")), ["wheel"]);
        assert!(setuptools_backend_requires(&version("70.1.0")).is_empty());
        assert!(is_setuptools_backend("setuptools.build_meta:__legacy__"));
        assert!(!is_setuptools_backend("flit_core.buildapi"));
        let venv37 = Outer::new(BTreeMap::new(), &version("3.7.16"));
        let venv312 = Outer::new(BTreeMap::new(), &version("3.12.1"));
        assert!(venv37.setuptools && !venv37.wheel && !venv312.setuptools);
        assert_eq!(
            bundled_version(std::path::Path::new("/x/pip-23.0.1-py3-none-any.whl")),
            Some(version("23.0.1"))
        );
    }
}
