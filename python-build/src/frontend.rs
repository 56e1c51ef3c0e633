//! A minimal PEP 517 frontend: what pip does for `pip wheel --no-deps
//! --no-build-isolation <source tree>`, without starting pip.
//!
//! pip reads `[build-system]`, then calls the backend's hooks through
//! `pyproject_hooks`, each in a fresh process of the environment's
//! interpreter: `prepare_metadata_for_build_wheel` into a temporary
//! directory, then `build_wheel` with that metadata directory. [`HOOK`]
//! is that in-process half: it loads the backend as `pyproject_hooks`
//! does (a `backend-path` module from the source tree before any other),
//! calls one hook with positional arguments, and writes its answer as JSON.
//! Like pip, a backend without `prepare_metadata_for_build_wheel` is only
//! asked for the wheel, and a target Python the sdist's `Requires-Python`
//! excludes is refused.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr as _;

use gate_core::files::read_bounded;
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use serde::Deserialize;

use crate::step::{Step, StepError, io};

/// The backend pip uses when `[build-system]` names none.
pub const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// Largest `pyproject.toml`, hook answer or `METADATA` read.
const MAX_TEXT: u64 = 4 * 1024 * 1024;

/// Calls one PEP 517 hook in this process. Arguments: the hook's name, the
/// backend (`module:object`), `backend-path` as a JSON list of absolute
/// directories, the answer's file, the hook's arguments as a JSON list.
/// Python 3.6 and later.
pub const HOOK: &str = r#""""release-check's PEP 517 frontend: one hook, in this process."""
import importlib, json, os, sys, traceback
from importlib.machinery import PathFinder


class BackendPathFinder(object):
    """Finds top-level modules in backend-path first, as pyproject_hooks does."""

    def __init__(self, paths, module):
        self.paths = paths
        self.parent = module.partition(".")[0]

    def find_spec(self, fullname, path=None, target=None):
        if "." in fullname:
            return None
        spec = PathFinder.find_spec(fullname, path=self.paths)
        if spec is None and fullname == self.parent:
            sys.exit("release-check frontend: the backend %r is not in backend-path %r" % (fullname, self.paths))
        return spec


def inside(path, directory):
    path, directory = os.path.normcase(os.path.abspath(path)), os.path.normcase(os.path.abspath(directory))
    return os.path.commonprefix([path, directory]) == directory


def backend(name, paths):
    module, _, attributes = name.partition(":")
    if paths:
        sys.meta_path.insert(0, BackendPathFinder(paths, module))
    try:
        found = importlib.import_module(module)
    except ImportError:
        traceback.print_exc()
        sys.exit("release-check frontend: cannot import the build backend %r" % module)
    if paths and not any(inside(found.__file__, p) for p in paths):
        sys.exit("release-check frontend: the backend %r was not loaded from backend-path" % module)
    for attribute in filter(None, attributes.split(".")):
        found = getattr(found, attribute)
    return found


def main():
    hook_name, name, paths, out, arguments = sys.argv[1:6]
    hook = getattr(backend(name, json.loads(paths)), hook_name, None)
    answer = {"missing": hook is None, "result": None}
    if hook is not None:
        answer["result"] = hook(*json.loads(arguments))
    with open(out, "w") as file:
        json.dump(answer, file)


main()
"#;

/// A backend as `[build-system]` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `module:object`.
    pub name: String,
    /// `backend-path`, absolute, each inside the source tree.
    pub path: Vec<PathBuf>,
}

/// Why a source tree names no usable backend: the message names the file,
/// line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(String);

/// The backend of the source tree `source` (unpacked from `sdist`): its
/// `pyproject.toml`'s `[build-system]`, else pip's legacy backend when
/// there is a `setup.py`. Errors name the file, line and column.
pub fn backend_of(sdist: &str, source: &Path) -> Result<Backend, BackendError> {
    let path = source.join("pyproject.toml");
    let legacy = Backend { name: LEGACY_BACKEND.to_owned(), path: Vec::new() };
    if std::fs::symlink_metadata(&path).is_err() {
        return match source.join("setup.py").exists() {
            true => Ok(legacy),
            false => Err(BackendError(format!(
                "{sdist}: neither 'setup.py' nor 'pyproject.toml' found, so there is nothing to build"
            ))),
        };
    }
    let file = format!("{sdist}!pyproject.toml");
    let bytes = read_bounded(&path, MAX_TEXT).map_err(|e| BackendError(format!("{file}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| BackendError(format!("{file}: not UTF-8")))?;
    let table = text.parse::<toml::Table>().map_err(|e| {
        let (line, column) = line_column(&text, e.span().map_or(0, |s| s.start));
        BackendError(format!("{file}:{line}:{column}: invalid TOML: {}", e.message()))
    })?;
    let located = |key: &str, what: String| {
        let (line, column) = line_column(&text, text.find(key).unwrap_or(0));
        BackendError(format!("{file}:{line}:{column}: {what}"))
    };
    let Some(build_system) = table.get("build-system") else { return Ok(legacy) };
    let Some(build_system) = build_system.as_table() else {
        return Err(located("build-system", "[build-system] is not a table".to_owned()));
    };
    let name = match build_system.get("build-backend") {
        None => return Ok(legacy),
        Some(toml::Value::String(name)) if valid_backend(name) => name.trim().to_owned(),
        Some(toml::Value::String(name)) => {
            return Err(located(
                "build-backend",
                format!(
                    "build-backend `{}` is not `module.path` or `module.path:object`",
                    name.escape_debug()
                ),
            ));
        }
        Some(other) => {
            return Err(located(
                "build-backend",
                format!("build-backend is a {}, expected a string", other.type_str()),
            ));
        }
    };
    let mut paths = Vec::new();
    match build_system.get("backend-path") {
        None => {}
        Some(toml::Value::Array(entries)) => {
            for entry in entries {
                let Some(entry) = entry.as_str() else {
                    return Err(located(
                        "backend-path",
                        "backend-path holds a value that is not a string".to_owned(),
                    ));
                };
                let inside = inside(source, entry).ok_or_else(|| {
                    located(
                        "backend-path",
                        format!(
                            "backend-path `{}` is not a directory inside the source tree",
                            entry.escape_debug()
                        ),
                    )
                })?;
                paths.push(inside);
            }
        }
        Some(other) => {
            return Err(located(
                "backend-path",
                format!("backend-path is a {}, expected an array", other.type_str()),
            ));
        }
    }
    Ok(Backend { name, path: paths })
}

/// `module.path` or `module.path:object.path`, of identifiers.
fn valid_backend(name: &str) -> bool {
    let identifiers = |part: &str| {
        !part.is_empty()
            && part.split('.').all(|p| {
                p.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && p.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    let name = name.trim();
    match name.split_once(':') {
        Some((module, object)) => identifiers(module) && identifiers(object),
        None => identifiers(name),
    }
}

/// `entry` joined to `root`, when it stays inside it (lexically, and
/// after links are followed).
fn inside(root: &Path, entry: &str) -> Option<PathBuf> {
    let mut joined = root.to_owned();
    for component in Path::new(entry).components() {
        match component {
            Component::Normal(part) => joined.push(part),
            Component::CurDir => {}
            Component::ParentDir if joined.starts_with(root) && joined != root => {
                joined.pop();
            }
            _ => return None,
        }
    }
    let real = std::fs::canonicalize(&joined).ok()?;
    let real_root = std::fs::canonicalize(root).ok()?;
    real.starts_with(&real_root).then_some(joined)
}

/// The 1-based line and column of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    (before.matches('\n').count() + 1, before.chars().rev().take_while(|&c| c != '\n').count() + 1)
}

/// A hook's answer.
#[derive(Deserialize)]
struct Answer {
    missing: bool,
    result: Option<String>,
}

/// Where and how one build's hooks run.
pub struct Hooks<'a> {
    /// The environment's interpreter.
    pub python: PathBuf,
    /// [`HOOK`], written into the build's directory.
    pub script: PathBuf,
    /// The backend.
    pub backend: &'a Backend,
    /// The source tree: every hook's working directory.
    pub source: &'a Path,
    /// `taskset`, `faketime`: what runs the interpreter.
    pub prefix: Vec<OsString>,
    /// Everything else of the command: environment, umask, log.
    pub step: Step<'a>,
}

impl Hooks<'_> {
    /// Calls `hook` with `arguments`; `None` when the backend lacks it.
    fn call(
        &self,
        hook: &str,
        arguments: serde_json::Value,
        answer: &Path,
        run: &dyn Fn(&Step) -> Result<(), StepError>,
    ) -> Result<Option<String>, StepError> {
        let paths: Vec<String> = self.backend.path.iter().map(|p| p.display().to_string()).collect();
        let mut args = self.prefix.clone();
        args.extend([
            self.python.clone().into_os_string(),
            self.script.clone().into_os_string(),
            hook.into(),
            self.backend.name.clone().into(),
            serde_json::Value::from(paths).to_string().into(),
            answer.into(),
            arguments.to_string().into(),
        ]);
        let step = Step {
            args,
            dir: self.source,
            env: self.step.env.clone(),
            umask: self.step.umask,
            log: self.step.log,
        };
        run(&step)?;
        let text = read_bounded(answer, MAX_TEXT).map_err(|e| {
            StepError::Unexpected(format!("the backend {}'s answer to {hook}: {e}", self.backend.name))
        })?;
        let answer: Answer = serde_json::from_slice(&text).map_err(|e| {
            StepError::Unexpected(format!(
                "the backend {}'s answer to {hook} is not understood: {e}",
                self.backend.name
            ))
        })?;
        if answer.missing {
            return Ok(None);
        }
        answer.result.map(Some).ok_or_else(|| {
            StepError::Unexpected(format!("the backend {}'s {hook} returned no name", self.backend.name))
        })
    }

    /// `prepare_metadata_for_build_wheel` into `metadata` (when the
    /// backend has it), then `build_wheel` into `out`: the wheel built.
    /// `python_version` is refused when `Requires-Python` excludes it.
    pub fn build_wheel(
        &self,
        metadata: &Path,
        out: &Path,
        python_version: &str,
        run: &dyn Fn(&Step) -> Result<(), StepError>,
    ) -> Result<PathBuf, StepError> {
        let work = metadata.parent().unwrap_or(metadata);
        let prepared = self.call(
            "prepare_metadata_for_build_wheel",
            serde_json::json!([metadata.display().to_string(), null]),
            &work.join("metadata.json"),
            run,
        )?;
        let metadata_dir = match prepared {
            None => None,
            Some(name) => {
                let dir = metadata.join(one_name(&name, ".dist-info", &self.backend.name)?);
                check_requires_python(&dir.join("METADATA"), python_version)?;
                Some(dir.display().to_string())
            }
        };
        let built = self
            .call(
                "build_wheel",
                serde_json::json!([out.display().to_string(), null, metadata_dir]),
                &work.join("wheel.json"),
                run,
            )?
            .ok_or_else(|| {
                StepError::Unexpected(format!("the backend {} has no build_wheel hook", self.backend.name))
            })?;
        let wheel = out.join(one_name(&built, ".whl", &self.backend.name)?);
        if !wheel.is_file() {
            return Err(StepError::Unexpected(format!(
                "the backend {} named {built}, but wrote no such wheel to {}",
                self.backend.name,
                out.display()
            )));
        }
        Ok(wheel)
    }
}

/// `name`, when it is one plain file name ending in `suffix`.
fn one_name<'a>(name: &'a str, suffix: &str, backend: &str) -> Result<&'a str, StepError> {
    let plain = Path::new(name).components().count() == 1 && !name.starts_with('.') && !name.contains('/');
    match plain && name.ends_with(suffix) {
        true => Ok(name),
        false => Err(StepError::Unexpected(format!(
            "the backend {backend} returned `{}`, not the name of a {suffix} in the directory it was given",
            name.escape_debug()
        ))),
    }
}

/// Refuses `python_version` when the `Requires-Python` of `metadata`
/// excludes it, as pip does.
fn check_requires_python(metadata: &Path, python_version: &str) -> Result<(), StepError> {
    let bytes = read_bounded(metadata, MAX_TEXT).map_err(|e| StepError::Unexpected(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    let header = text.split("\n\n").next().unwrap_or_default();
    let Some(wanted) = header.lines().find_map(|l| l.strip_prefix("Requires-Python:")) else { return Ok(()) };
    let wanted = wanted.trim();
    let (Ok(specifiers), Ok(version)) =
        (VersionSpecifiers::from_str(wanted), Version::from_str(python_version))
    else {
        return Err(StepError::Unexpected(format!(
            "{}: Requires-Python `{}` is not a version specifier",
            metadata.display(),
            wanted.escape_debug()
        )));
    };
    match specifiers.contains(&version) {
        true => Ok(()),
        false => Err(StepError::Unexpected(format!(
            "the package requires a different Python: {python_version} not in '{wanted}' (its Requires-Python)"
        ))),
    }
}

/// Unpacks the `.tar.gz` sdist into `source` (its top directory stripped)
/// under `umask`. GNU and BSD tar both refuse `..` members and strip a
/// leading `/`; modes come from the umask, the owner is the user building.
pub fn unpack(
    sdist: &Path,
    source: &Path,
    step: &Step,
    run: &dyn Fn(&Step) -> Result<(), StepError>,
) -> Result<(), StepError> {
    std::fs::create_dir_all(source).map_err(io(format!("cannot create {}", source.display())))?;
    let args: Vec<OsString> = vec![
        "tar".into(),
        "-x".into(),
        "-z".into(),
        "--strip-components=1".into(),
        "--no-same-owner".into(),
        "--no-same-permissions".into(),
        "-f".into(),
        sdist.into(),
        "-C".into(),
        source.into(),
    ];
    run(&Step { args, dir: step.dir, env: step.env.clone(), umask: step.umask, log: step.log })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(pyproject: Option<&str>, setup_py: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = pyproject {
            std::fs::write(dir.path().join("pyproject.toml"), text).unwrap();
        }
        if setup_py {
            std::fs::write(dir.path().join("setup.py"), "").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("backend")).unwrap();
        dir
    }

    #[test]
    fn the_backend_is_read_as_pip_reads_it() {
        let flit = "[build-system]\nrequires = [\"flit_core\"]\nbuild-backend = \"flit_core.buildapi\"\n";
        let dir = tree(Some(flit), false);
        assert_eq!(backend_of("x.tar.gz", dir.path()).unwrap().name, "flit_core.buildapi");
        let dir = tree(None, true);
        assert_eq!(backend_of("x.tar.gz", dir.path()).unwrap().name, LEGACY_BACKEND);
        let dir = tree(Some("[project]\nname = \"x\"\n"), false);
        assert_eq!(backend_of("x.tar.gz", dir.path()).unwrap().name, LEGACY_BACKEND);
        let dir = tree(None, false);
        assert!(
            backend_of("x.tar.gz", dir.path())
                .unwrap_err()
                .to_string()
                .contains("neither 'setup.py' nor 'pyproject.toml' found")
        );

        let in_tree =
            "[build-system]\nrequires = []\nbuild-backend = \"b:api\"\nbackend-path = [\"backend\"]\n";
        let dir = tree(Some(in_tree), false);
        let backend = backend_of("x.tar.gz", dir.path()).unwrap();
        assert_eq!(backend.path, [dir.path().join("backend")]);
    }

    #[test]
    fn a_bad_build_system_is_a_located_error() {
        for (text, expected) in [
            (
                "[build-system]\nbuild-backend = 3\n",
                "x.tar.gz!pyproject.toml:2:1: build-backend is a integer",
            ),
            ("[build-system\n", "x.tar.gz!pyproject.toml:1:"),
            (
                "[build-system]\nbuild-backend = \"a b\"\n",
                "x.tar.gz!pyproject.toml:2:1: build-backend `a b` is not",
            ),
            (
                "[build-system]\nbuild-backend = \"b\"\nbackend-path = [\"../outside\"]\n",
                "x.tar.gz!pyproject.toml:3:1: backend-path `../outside` is not a directory inside",
            ),
            (
                "[build-system]\nbuild-backend = \"b\"\nbackend-path = [\"/etc\"]\n",
                "x.tar.gz!pyproject.toml:3:1: backend-path `/etc` is not a directory inside",
            ),
        ] {
            let dir = tree(Some(text), false);
            let error = backend_of("x.tar.gz", dir.path()).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn requires_python_refuses_a_python_it_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let metadata = dir.path().join("METADATA");
        std::fs::write(&metadata, "Metadata-Version: 2.1\nName: x\nRequires-Python: >=3.10\n\nBody\n")
            .unwrap();
        assert!(check_requires_python(&metadata, "3.11.7").is_ok());
        let refused = check_requires_python(&metadata, "3.9.18").unwrap_err().to_string();
        assert_eq!(
            refused,
            "the package requires a different Python: 3.9.18 not in '>=3.10' (its Requires-Python)"
        );
        assert!(one_name("../x.whl", ".whl", "b").is_err() && one_name("x.whl", ".whl", "b").is_ok());
    }
}
