//! Target interpreters, shared by the rebuild and the build-dependency
//! analysis: a version is found under the pyenv root, anything else is a
//! path or a command, and each interpreter is run once per process to learn
//! both what the rebuild needs (version, ABI, platform tag, bundled pip) and
//! its PEP 508 marker environment. [`crate::probe_cache::probe_cached`]
//! keeps that answer on disk too, so that a later run starts no interpreter
//! at all while the interpreter is unchanged.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read as _, Seek as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use gate_core::Evidence;
use pep508_rs::MarkerEnvironment;
use rustix::process::Signal;
use serde::Deserialize;

use crate::process::{kill_group, wait_in_thread};

/// What an interpreter reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The interpreter that ran.
    pub path: PathBuf,
    /// Exact version, `3.11.7` (the `python_full_version` marker).
    pub version: String,
    /// Implementation name, `cpython` (the `implementation_name` marker).
    pub implementation: String,
    /// Platform tag, `linux_x86_64`.
    pub platform: String,
    /// ABI tag, `cp311` (`cp37m` on 3.7).
    pub abi: String,
    /// The pip wheel bundled with the interpreter's `ensurepip`, run from
    /// the wheel so that a fresh virtual environment needs no pip of its own.
    pub bundled_pip: Option<PathBuf>,
    /// The interpreter's own installed `pip` package directory, when it is
    /// the bundled wheel's version: the same code, already compiled to
    /// bytecode, so pip starts without compiling itself from the wheel
    /// (about a second of CPU at every start).
    pub installed_pip: Option<PathBuf>,
    /// The PEP 508 marker environment.
    pub markers: MarkerEnvironment,
}

impl Interpreter {
    /// The interpreter's identity as report evidence.
    pub fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::fact(
                "python",
                format!("{} {} ({})", self.implementation, self.version, self.path.display()),
            ),
            Evidence::fact("platform tag", &self.platform),
            Evidence::fact("abi tag", &self.abi),
        ]
    }

    /// What about the interpreter decides a build, for the rebuild's cache key.
    pub fn identity(&self) -> String {
        format!("{} {} {} {}", self.implementation, self.version, self.platform, self.abi)
    }
}

/// Why a target has no usable interpreter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PythonError {
    /// A version, but no pyenv root to look in.
    #[error(
        "Python {version} not found: neither PYENV_ROOT nor HOME is set, so there is no pyenv root to look in"
    )]
    NoPyenvRoot {
        /// The version asked for.
        version: String,
    },
    /// A version that the pyenv root does not have.
    #[error(
        "Python {version} not found: no {}/{version}[.*]/bin/python (install it with `pyenv install {version}`, or configure an interpreter path)",
        versions.display()
    )]
    NotInstalled {
        /// The version asked for.
        version: String,
        /// `<pyenv root>/versions`.
        versions: PathBuf,
    },
    /// The interpreter could not be started or waited for.
    #[error("cannot run the interpreter {}: {source}", path.display())]
    Run {
        /// The interpreter.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The interpreter did not answer in time, and was killed.
    #[error("the interpreter {} did not answer within {limit:?}, and was killed", path.display())]
    TimedOut {
        /// The interpreter.
        path: PathBuf,
        /// How long it was given.
        limit: Duration,
    },
    /// The interpreter answered, but not with a description of itself.
    #[error("{} is not a usable Python interpreter: it did not describe itself ({status}): {detail}", path.display())]
    Unusable {
        /// The interpreter.
        path: PathBuf,
        /// Its exit status.
        status: String,
        /// The end of its standard error, or why its answer was not understood.
        detail: String,
    },
}

/// How long an interpreter may take to describe itself.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Prints, as JSON, the ABI tag, the platform tag, the bundled pip wheel (and
/// the installed pip package of its version, if any), the `purelib`
/// directory and the PEP 508 marker environment (as PEP 508's reference
/// code computes it). Python 2.7 and 3.3 and later.
pub(crate) const PROBE: &str = r#"
import os, sys, sysconfig
def version(info):
    text = "%d.%d.%d" % (info.major, info.minor, info.micro)
    return text if info.releaselevel == "final" else text + info.releaselevel[0] + str(info.serial)
def quote(text):
    if not isinstance(text, type(u"")):
        text = text.decode("utf-8", "replace")
    out = []
    for c in text:
        o = ord(c)
        if 0x20 <= o < 0x7f and c != '"' and c != "\\":
            out.append(c)
        elif o > 0xffff:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xd800 + (o >> 10), 0xdc00 + (o & 0x3ff)))
        else:
            out.append("\\u%04x" % o)
    return '"' + "".join(out) + '"'
def encode(value):
    if isinstance(value, dict):
        return "{" + ", ".join(quote(k) + ": " + encode(value[k]) for k in sorted(value)) + "}"
    return quote(value)
implementation = getattr(sys, "implementation", None)
name = implementation.name if implementation else ""
abi = "%s%d%d%s" % ({"cpython": "cp", "pypy": "pp"}.get(name, name) or "cp",
    sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))
bundle = os.path.join(os.path.dirname(os.__file__), "ensurepip", "_bundled")
try:
    pips = sorted(os.path.join(bundle, n) for n in os.listdir(bundle) if n.startswith("pip-") and n.endswith(".whl"))
except OSError:
    pips = []
installed = ""
purelib = sysconfig.get_paths()["purelib"]
if pips:
    bundled = os.path.basename(pips[-1]).split("-")[1]
    if (os.path.isfile(os.path.join(purelib, "pip", "__init__.py"))
            and os.path.isdir(os.path.join(purelib, "pip-%s.dist-info" % bundled))):
        installed = os.path.join(purelib, "pip")
if name == "cpython" and sys.platform.startswith("linux") and hasattr(os, "uname"):
    # What `platform` answers here, without importing it (and `re`):
    # `platform.uname()` is `os.uname()` on Linux, and CPython's
    # `sys.version` starts with its version.
    system, _, release, kernel, machine = os.uname()
    full = sys.version.split()[0]
    if full.count(".") == 1:
        full += ".0"
    platform_markers = {
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": release,
        "platform_system": system,
        "platform_version": kernel,
        "python_full_version": full,
        "python_version": ".".join(full.split(".")[:2]),
    }
else:
    import platform
    platform_markers = {
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
    }
markers = {
    "implementation_name": name,
    "implementation_version": version(implementation.version) if implementation else "0",
    "os_name": os.name,
    "sys_platform": sys.platform,
}
markers.update(platform_markers)
print(encode({
    "installed_pip": installed,
    "purelib": purelib,
    "abi": abi,
    "platform_tag": sysconfig.get_platform().replace("-", "_").replace(".", "_"),
    "bundled_pip": pips[-1] if pips else "",
    "markers": markers,
}))
"#;

/// The probe's answer.
#[derive(Deserialize)]
pub(crate) struct Answer {
    abi: String,
    platform_tag: String,
    /// The bundled pip wheel, or empty.
    pub(crate) bundled_pip: String,
    installed_pip: String,
    /// Where pip installs pure-Python packages.
    pub(crate) purelib: String,
    markers: MarkerEnvironment,
}

impl Answer {
    /// The interpreter at `path` as this answer describes it.
    pub(crate) fn interpreter(self, path: &Path) -> Interpreter {
        Interpreter {
            path: path.to_owned(),
            version: self.markers.python_full_version().to_string(),
            implementation: self.markers.implementation_name().to_owned(),
            platform: self.platform_tag,
            abi: self.abi,
            bundled_pip: (!self.bundled_pip.is_empty()).then(|| PathBuf::from(self.bundled_pip)),
            installed_pip: (!self.installed_pip.is_empty()).then(|| PathBuf::from(self.installed_pip)),
            markers: self.markers,
        }
    }
}

/// Finds the interpreter `target` names: a version (`3.11`, `3.11.7`) under
/// the pyenv root ([`in_pyenv`]), or else a path (relative to `repo` when
/// it contains `/`) or a command name looked up on `PATH` when it runs.
pub fn resolve(target: &str, repo: &Path) -> Result<PathBuf, PythonError> {
    if is_version(target) {
        return in_pyenv(target, pyenv_root().as_deref());
    }
    Ok(if target.contains('/') { repo.join(target) } else { PathBuf::from(target) })
}

/// The newest `<root>/versions/<version>[.*]/bin/python` that exists.
pub fn in_pyenv(version: &str, root: Option<&Path>) -> Result<PathBuf, PythonError> {
    let Some(root) = root else {
        return Err(PythonError::NoPyenvRoot { version: version.to_owned() });
    };
    let versions = root.join("versions");
    let mut found: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(&versions)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let matches = name == version || name.strip_prefix(version).is_some_and(|r| r.starts_with('.'));
            (matches && is_version(&name)).then(|| (numbers(&name), entry.path().join("bin/python")))
        })
        .filter(|(_, python)| python.exists())
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, python)| python)
        .ok_or(PythonError::NotInstalled { version: version.to_owned(), versions })
}

/// `$PYENV_ROOT`, else `~/.pyenv`.
pub fn pyenv_root() -> Option<PathBuf> {
    std::env::var_os("PYENV_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pyenv")))
}

/// Whether `text` is dotted numbers, `3` or `3.11.7`.
fn is_version(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

fn numbers(version: &str) -> Vec<u64> {
    version.split('.').map(|n| n.parse().unwrap_or(0)).collect()
}

/// What the interpreter at `path` says about itself, asked at most once per
/// process (within [`PROBE_TIMEOUT`]): later calls, from any thread, get
/// the first answer, failures included.
pub fn probe(path: &Path) -> Result<Interpreter, PythonError> {
    answer_of(path).get_or_init(|| ask(path, PROBE_TIMEOUT).map(|(asked, _)| asked)).clone()
}

/// The answer slot of the interpreter at `path`, shared by every thread of
/// the process.
pub(crate) fn answer_of(path: &Path) -> Arc<OnceLock<Result<Interpreter, PythonError>>> {
    type Answers = Mutex<HashMap<PathBuf, Arc<OnceLock<Result<Interpreter, PythonError>>>>>;
    static ANSWERS: OnceLock<Answers> = OnceLock::new();
    // Cloned out of the map's lock: other interpreters are asked meanwhile.
    ANSWERS
        .get_or_init(Answers::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(path.to_owned())
        .or_default()
        .clone()
}

/// The program [`ask`] runs for `path`: a relative path of more than one
/// component made absolute (the probe runs in `/`); a command name as is,
/// looked up on `PATH` when it starts.
pub(crate) fn program(path: &Path) -> std::io::Result<PathBuf> {
    match path.is_relative() && path.components().count() > 1 {
        true => std::path::absolute(path),
        false => Ok(path.to_owned()),
    }
}

/// Runs the interpreter at `path` with [`PROBE`], killing its process group
/// after `limit`: what it says, and its answer as printed. Its output goes
/// to unnamed temporary files, not pipes, so that nothing it leaves running
/// can keep the caller waiting; its end is noticed the moment it happens.
pub(crate) fn ask(path: &Path, limit: Duration) -> Result<(Interpreter, String), PythonError> {
    let cannot_run = |e: std::io::Error| PythonError::Run { path: path.to_owned(), source: Arc::new(e) };
    let (mut stdout, mut stderr) =
        (tempfile::tempfile().map_err(cannot_run)?, tempfile::tempfile().map_err(cannot_run)?);
    // `-I` is Python 3.4 and later; `-E -s` run from `/` isolate 2.7 too: no
    // `PYTHON*` variables, no user site, no module of the working directory.
    let child = Command::new(program(path).map_err(cannot_run)?)
        .args(["-E", "-s", "-c", PROBE])
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().map_err(cannot_run)?)
        .stderr(stderr.try_clone().map_err(cannot_run)?)
        .process_group(0)
        .spawn()
        .map_err(cannot_run)?;
    let group = child.id();
    let finished = wait_in_thread(child);
    let Ok(status) = finished.recv_timeout(limit) else {
        kill_group(group, Signal::KILL);
        let _ = finished.recv();
        return Err(PythonError::TimedOut { path: path.to_owned(), limit });
    };
    // Whatever the probe left running in its group ends with it.
    kill_group(group, Signal::KILL);
    let status = status.map_err(cannot_run)?;
    let unusable =
        |detail: String| PythonError::Unusable { path: path.to_owned(), status: status.to_string(), detail };
    let errors = crate::log::tail(&read_start(&mut stderr), 5);
    let printed = read_start(&mut stdout);
    let answer: Answer = match (status.success(), serde_json::from_str(&printed)) {
        (true, Ok(answer)) => answer,
        (true, Err(e)) => return Err(unusable(errors.unwrap_or_else(|| e.to_string()))),
        (false, _) => return Err(unusable(errors.unwrap_or_else(|| "nothing on standard error".to_owned()))),
    };
    Ok((answer.interpreter(path), printed))
}

/// The first 64 KiB of `file`, as text; empty when it cannot be read.
fn read_start(file: &mut File) -> String {
    let mut bytes = Vec::new();
    let _ = file.rewind().and_then(|()| file.take(64 * 1024).read_to_end(&mut bytes));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Instant;

    use super::*;

    /// Writes an executable shell script at `path`.
    fn script(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("#!/bin/sh\n{text}")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn versions_and_paths_are_told_apart() {
        assert!(is_version("3") && is_version("3.11") && is_version("3.11.7"));
        assert!(!is_version("3.11-dev") && !is_version("python3") && !is_version("") && !is_version("3..1"));
        let repo = Path::new("repo");
        assert_eq!(resolve("bin/python", repo).unwrap(), repo.join("bin/python"));
        assert_eq!(resolve("python3", repo).unwrap(), PathBuf::from("python3"));
    }

    #[test]
    fn a_version_is_the_newest_matching_one_under_the_pyenv_root() {
        let root = tempfile::tempdir().unwrap();
        for version in ["3.9.2", "3.9.18", "3.10.1", "3.9.20-dev"] {
            script(&root.path().join("versions").join(version).join("bin/python"), "");
        }
        std::fs::create_dir_all(root.path().join("versions/3.9.30")).unwrap(); // no bin/python
        let found = |version| in_pyenv(version, Some(root.path()));
        assert_eq!(found("3.9").unwrap(), root.path().join("versions/3.9.18/bin/python"));
        assert_eq!(found("3.9.2").unwrap(), root.path().join("versions/3.9.2/bin/python"));
        assert_eq!(found("3.1").unwrap_err().to_string().split(':').next(), Some("Python 3.1 not found"));
        assert!(matches!(found("3.8"), Err(PythonError::NotInstalled { .. })));
        assert!(matches!(in_pyenv("3.9", None), Err(PythonError::NoPyenvRoot { .. })));
    }

    /// The same interpreter, asked twice (here from two threads at once),
    /// runs once.
    #[test]
    fn each_interpreter_is_asked_once() {
        let dir = tempfile::tempdir().unwrap();
        let (python, runs) = (dir.path().join("bin/python"), dir.path().join("runs"));
        script(&python, &format!("echo run >> '{}'\nexec python3 \"$@\"\n", runs.display()));
        let asked: Vec<Interpreter> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2).map(|_| s.spawn(|| probe(&python).unwrap())).collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(asked[0], asked[1]);
        assert_eq!(probe(&python).unwrap(), asked[0]);
        assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n");
        let python3 = &asked[0];
        assert_eq!(python3.markers.python_full_version().to_string(), python3.version);
        assert!(python3.version.starts_with("3.") && python3.abi.starts_with("cp3"), "{python3:?}");
        assert_eq!(python3.markers.os_name(), "posix");
        assert!(python3.platform.starts_with("linux_"), "{python3:?}");
    }

    /// Every interpreter here (python3 and each under the pyenv root,
    /// Python 2.7 included) to try the probe on.
    fn interpreters_here() -> Vec<PathBuf> {
        let mut found = vec![PathBuf::from("python3")];
        if let Some(Ok(versions)) = pyenv_root().map(|root| std::fs::read_dir(root.join("versions"))) {
            found.extend(versions.flatten().map(|v| v.path().join("bin/python")).filter(|p| p.is_file()));
        }
        found
    }

    /// Runs `script` with `python` and returns its standard output.
    fn run_python(python: &Path, script: &str) -> String {
        let output = std::process::Command::new(python).args(["-E", "-s", "-c", script]).output().unwrap();
        assert!(output.status.success(), "{}: {}", python.display(), String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// The probe computes the `platform` markers without importing
    /// `platform` on CPython on Linux: on every interpreter here they are
    /// what its other branch, PEP 508's reference code (the `platform`
    /// module), says. That branch is the referee, run on its own.
    #[test]
    fn the_probe_answers_as_the_platform_module_does() {
        let (_, fallback) = PROBE.split_once("else:\n    import platform\n").unwrap();
        let (fallback, _) = fallback.split_once("\nmarkers = {").unwrap();
        let fallback: String = fallback.lines().map(|line| format!("{}\n", line.trim_start())).collect();
        let referee = format!("import json, platform\n{fallback}print(json.dumps(platform_markers))\n");
        let interpreters = interpreters_here();
        for python in &interpreters {
            let probed: serde_json::Value = serde_json::from_str(&run_python(python, PROBE)).unwrap();
            let referee: serde_json::Value = serde_json::from_str(&run_python(python, &referee)).unwrap();
            assert_eq!(referee.as_object().unwrap().len(), 7, "the referee names the platform markers");
            for (key, expected) in referee.as_object().unwrap() {
                assert_eq!(&probed["markers"][key], expected, "{key} of {}", python.display());
            }
        }
    }

    /// The probe writes its JSON by hand (importing `json` costs more than
    /// the rest of the probe): whatever a path holds, Python's own `json`
    /// reads back what was written, on Python 2.7 as on 3.
    #[test]
    fn the_probe_writes_json_that_json_reads_back() {
        let (helpers, _) = PROBE.split_once("implementation = ").unwrap();
        let check = format!(
            "{helpers}\nimport json\nfor case in [u'', u'plain', u'a \"quote\" and a back\\\\slash', u'\\x00\\n\\x1f\\x7f', u'\\u00e9\\u202e\\u2066', u'\\U0001F600', u'\\udcff', u'::error::x']:\n    assert json.loads(encode({{u'k': case, u'n': {{u'k': case}}}})) == {{u'k': case, u'n': {{u'k': case}}}}, repr(case)\nprint('ok')\n"
        );
        for python in interpreters_here() {
            assert_eq!(run_python(&python, &check), "ok\n", "{}", python.display());
        }
    }

    /// Python 2.7 has no `-I`: the probe must not need it.
    #[test]
    fn an_interpreter_without_isolated_mode_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let python = dir.path().join("python2-like");
        script(
            &python,
            "for a; do [ \"$a\" = -I ] && { echo 'Unknown option: -I' >&2; exit 2; }; done\nexec python3 \"$@\"\n",
        );
        let (asked, _) = ask(&python, PROBE_TIMEOUT).unwrap();
        assert_eq!(asked.markers.os_name(), "posix");
    }

    #[test]
    fn an_interpreter_that_cannot_answer_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = ask(&dir.path().join("no-python"), PROBE_TIMEOUT).unwrap_err().to_string();
        assert!(
            missing.starts_with("cannot run the interpreter ") && missing.contains("no-python"),
            "{missing}"
        );

        let failing = dir.path().join("failing");
        script(&failing, "echo 'SyntaxError: invalid syntax' >&2\nexit 1\n");
        let failed = ask(&failing, PROBE_TIMEOUT).unwrap_err().to_string();
        assert!(
            failed.ends_with("did not describe itself (exit status: 1): SyntaxError: invalid syntax"),
            "{failed}"
        );

        let chatty = dir.path().join("chatty");
        script(&chatty, "echo not json\n");
        let chatted = ask(&chatty, PROBE_TIMEOUT).unwrap_err().to_string();
        assert!(chatted.contains("did not describe itself (exit status: 0): expected"), "{chatted}");

        // A hanging interpreter is killed, and its child, holding what was
        // its standard output, does not keep the caller waiting.
        let hanging = dir.path().join("hanging");
        script(&hanging, "sleep 5 &\nexec sleep 30\n");
        let started = Instant::now();
        let hung = ask(&hanging, Duration::from_millis(300)).unwrap_err().to_string();
        assert!(hung.ends_with("did not answer within 300ms, and was killed"), "{hung}");
        assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    }
}
