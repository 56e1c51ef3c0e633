//! Target Pythons and the marker environments they give: asked of the real
//! interpreter when there is one, else from the version with documented
//! defaults.

use std::path::{Path, PathBuf};

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::{Deserialize, Deserializer};

use python_build::interpreter::{self as python, Interpreter, PythonError};
use python_build::probe_cache::probe_cached;

/// A target Python: a version (`3.7`, `3.9.18`), or an interpreter, a path
/// (containing `/`, relative to the repository) or a command name starting
/// with `python` or `pypy`.
///
/// A version is looked up under the pyenv root as the rebuild's versions
/// are (`$PYENV_ROOT`, else `~/.pyenv`: the newest
/// `versions/<version>[.*]/bin/python`). When one is there, it is run once
/// and reports every marker field, as an interpreter target does. When none
/// is, the version gives the documented defaults: `python_version` is `X.Y`
/// and `python_full_version` the version as written (`X.Y` becomes `X.Y.0`);
/// the platform fields are those of CPython on x86-64 Linux:
/// `implementation_name = "cpython"`, `platform_python_implementation =
/// "CPython"`, `os_name = "posix"`, `sys_platform = "linux"`,
/// `platform_system = "Linux"`, `platform_machine = "x86_64"`, empty
/// `platform_release` and `platform_version`.
#[derive(Debug, Clone)]
pub struct TargetPython {
    /// As written in the configuration.
    pub name: String,
    /// The documented defaults of a version; `None` for an interpreter.
    defaults: Option<MarkerEnvironment>,
}

/// Why a target Python is not one, or gives no marker environment.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    /// The configured name is neither a version nor an interpreter.
    #[error(
        "expected a Python version such as \"3.9\" or \"3.9.18\", an interpreter path or a command such as \"python3.9\", found `{name}`"
    )]
    NotATarget {
        /// As written in the configuration.
        name: String,
    },
    /// The target's interpreter exists but cannot answer.
    #[error("target Python `{name}`: {source}")]
    Unanswered {
        /// As written in the configuration.
        name: String,
        /// Why it cannot answer.
        source: PythonError,
    },
}

/// Where a target's markers come from.
enum Source {
    /// A real interpreter, asked.
    Interpreter(Interpreter),
    /// A version's documented defaults, because no interpreter provides it.
    Defaults(MarkerEnvironment, PythonError),
}

impl<'de> Deserialize<'de> for TargetPython {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(&name).map_err(serde::de::Error::custom)
    }
}

impl TargetPython {
    /// The target `name` names, checked as configuration is.
    pub fn new(name: &str) -> Result<Self, TargetError> {
        let interpreter = name.contains('/') || name.starts_with("python") || name.starts_with("pypy");
        if interpreter {
            return Ok(Self { name: name.to_owned(), defaults: None });
        }
        let expected = || TargetError::NotATarget { name: name.to_owned() };
        let parts: Vec<&str> = name.split('.').collect();
        if !(2..=3).contains(&parts.len())
            || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(expected());
        }
        let short = format!("{}.{}", parts[0], parts[1]);
        let full = if parts.len() == 3 { name.to_owned() } else { format!("{short}.0") };
        let defaults = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: "posix",
            platform_machine: "x86_64",
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: &full,
            python_version: &short,
            sys_platform: "linux",
        })
        .map_err(|_| expected())?;
        Ok(Self { name: name.to_owned(), defaults: Some(defaults) })
    }

    /// Where the markers come from, a version looked up under `pyenv`; an
    /// interpreter's answer through the cache in `cache`, when given.
    fn source(&self, repo: &Path, pyenv: Option<&Path>, cache: Option<&Path>) -> Result<Source, PythonError> {
        let path = match &self.defaults {
            Some(defaults) => match python::in_pyenv(&self.name, pyenv) {
                Ok(path) => path,
                Err(missing) => return Ok(Source::Defaults(defaults.clone(), missing)),
            },
            None => python::resolve(&self.name, repo)?,
        };
        match cache {
            Some(cache) => probe_cached(&path, cache),
            None => python::probe(&path),
        }
        .map(Source::Interpreter)
    }

    /// The marker environment: the one the interpreter reports (run once per
    /// process, within 20 s), or a version's documented defaults when no
    /// interpreter provides it. An interpreter that exists but cannot
    /// answer is an error, for a version too.
    pub fn environment(&self, repo: &Path) -> Result<MarkerEnvironment, TargetError> {
        self.environment_in(repo, python::pyenv_root().as_deref())
    }

    fn environment_in(&self, repo: &Path, pyenv: Option<&Path>) -> Result<MarkerEnvironment, TargetError> {
        match self.source(repo, pyenv, None) {
            Ok(Source::Interpreter(interpreter)) => Ok(interpreter.markers),
            Ok(Source::Defaults(defaults, _)) => Ok(defaults),
            Err(source) => Err(TargetError::Unanswered { name: self.name.clone(), source }),
        }
    }

    /// The marker environment, and the interpreter that gave it when there
    /// is one ([`TargetPython::environment`]). With a `cache` directory, an
    /// interpreter that answered before and is unchanged since is not run
    /// ([`probe_cached`]).
    pub fn probe(
        &self,
        repo: &Path,
        cache: Option<&Path>,
    ) -> Result<(MarkerEnvironment, Option<Interpreter>), TargetError> {
        match self.source(repo, python::pyenv_root().as_deref(), cache) {
            Ok(Source::Interpreter(interpreter)) => Ok((interpreter.markers.clone(), Some(interpreter))),
            Ok(Source::Defaults(defaults, _)) => Ok((defaults, None)),
            Err(source) => Err(TargetError::Unanswered { name: self.name.clone(), source }),
        }
    }

    /// The real interpreter of this target, when there is one that answers.
    pub fn interpreter(&self, repo: &Path) -> Option<PathBuf> {
        match self.source(repo, python::pyenv_root().as_deref(), None) {
            Ok(Source::Interpreter(interpreter)) => Some(interpreter.path),
            _ => None,
        }
    }

    /// The target and where its markers come from, for a note:
    /// `3.7 (CPython 3.7.16 at ~/.pyenv/versions/3.7.16/bin/python)`,
    /// `3.7 (no interpreter found in ~/.pyenv/versions: documented defaults)`.
    pub fn describe(&self, repo: &Path) -> String {
        self.describe_in(repo, python::pyenv_root().as_deref())
    }

    fn describe_in(&self, repo: &Path, pyenv: Option<&Path>) -> String {
        let name = &self.name;
        match self.source(repo, pyenv, None) {
            Ok(Source::Interpreter(i)) => format!(
                "{name} ({} {} at {})",
                i.markers.platform_python_implementation(),
                i.version,
                i.path.display()
            ),
            Ok(Source::Defaults(_, PythonError::NotInstalled { versions, .. })) => {
                format!("{name} (no interpreter found in {}: documented defaults)", versions.display())
            }
            Ok(Source::Defaults(..)) => format!("{name} (no pyenv root to look in: documented defaults)"),
            Err(e) => format!("{name} (cannot be asked: {e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::str::FromStr as _;

    use super::*;

    fn marker(text: &str) -> pep508_rs::MarkerTree {
        pep508_rs::MarkerTree::from_str(text).unwrap()
    }

    /// Writes an executable shell script at `dir/relative`.
    fn script(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("#!/bin/sh\n{text}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn versions_without_an_interpreter_give_documented_marker_environments() {
        let (repo, empty) = (Path::new("."), tempfile::tempdir().unwrap());
        let pyenv = Some(empty.path());
        let old = TargetPython::new("3.7").unwrap();
        let environment = old.environment_in(repo, pyenv).unwrap();
        assert!(marker("python_version < \"3.8\" and sys_platform == \"linux\"").evaluate(&environment, &[]));
        assert_eq!(environment.python_full_version().to_string(), "3.7.0");
        let new = TargetPython::new("3.9.18").unwrap().environment_in(repo, pyenv).unwrap();
        assert!(!marker("python_version < \"3.8\"").evaluate(&new, &[]));
        assert_eq!(
            old.describe_in(repo, pyenv),
            format!("3.7 (no interpreter found in {}/versions: documented defaults)", empty.path().display())
        );
        assert_eq!(old.describe_in(repo, None), "3.7 (no pyenv root to look in: documented defaults)");
        for bad in ["3", "3.x", "3..9", "3.9.1.2", "cpython3"] {
            assert!(
                TargetPython::new(bad).unwrap_err().to_string().contains("expected a Python version"),
                "{bad}"
            );
        }
    }

    /// A version under the pyenv root is asked, as the rebuild's is; one
    /// that cannot answer is an error, not the defaults.
    #[test]
    fn versions_with_an_interpreter_are_asked() {
        let (repo, root) = (Path::new("."), tempfile::tempdir().unwrap());
        // The machine's Python 3, installed as if it were 3.7.99.
        script(root.path(), "versions/3.7.99/bin/python", "exec python3 \"$@\"\n");
        let old = TargetPython::new("3.7").unwrap();
        let pyenv = Some(root.path());
        let asked = old.environment_in(repo, pyenv).unwrap();
        let python3 = TargetPython::new("python3").unwrap().environment(repo).unwrap();
        assert_eq!(asked, python3, "the interpreter's own markers, not the defaults");
        let described = old.describe_in(repo, pyenv);
        let path = root.path().join("versions/3.7.99/bin/python");
        assert!(
            described.starts_with("3.7 (CPython 3.")
                && described.ends_with(&format!(" at {})", path.display())),
            "{described}"
        );

        script(root.path(), "versions/3.9.1/bin/python", "exit 3\n");
        let broken = TargetPython::new("3.9").unwrap();
        let error = broken.environment_in(repo, pyenv).unwrap_err().to_string();
        assert!(error.starts_with("target Python `3.9`: ") && error.contains("(exit status: 3)"), "{error}");
        assert!(broken.describe_in(repo, pyenv).starts_with("3.9 (cannot be asked: "));
    }

    #[test]
    fn an_interpreter_describes_itself() {
        let repo = Path::new(".");
        let python3 = TargetPython::new("python3").unwrap();
        let environment = python3.environment(repo).unwrap();
        assert!(marker("python_version >= \"3\" and os_name == \"posix\"").evaluate(&environment, &[]));
        assert_eq!(python3.interpreter(repo), Some(PathBuf::from("python3")));
        let missing = TargetPython::new("bin/no-such-python").unwrap();
        let error = missing.environment(repo).unwrap_err().to_string();
        assert!(error.starts_with("target Python `bin/no-such-python`: cannot run"), "{error}");
        assert_eq!(missing.interpreter(repo), None);
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "bin/python", "echo not json\n");
        let not_python =
            TargetPython::new("bin/python").unwrap().environment(dir.path()).unwrap_err().to_string();
        assert!(not_python.contains("did not describe itself"), "{not_python}");
    }
}
