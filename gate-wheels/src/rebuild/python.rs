//! Target interpreters: a version resolved under the pyenv root, or a path,
//! and what the interpreter says about itself.

use std::path::{Path, PathBuf};

use gate_core::Evidence;

/// What a target interpreter reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The target as configured (`3.11`, `/usr/bin/python3`); part of item subjects.
    pub label: String,
    /// The interpreter that runs.
    pub path: PathBuf,
    /// Exact version, `3.11.7`.
    pub version: String,
    /// Implementation name, `cpython`.
    pub implementation: String,
    /// Platform tag, `linux_x86_64`.
    pub platform: String,
    /// ABI tag, `cp311` (`cp37m` on 3.7).
    pub abi: String,
    /// The pip wheel bundled with the interpreter's `ensurepip`, run from
    /// the wheel so that a fresh virtual environment needs no pip of its own.
    pub bundled_pip: Option<PathBuf>,
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

    /// What about the interpreter decides the build, for the cache key.
    pub fn identity(&self) -> String {
        format!("{} {} {} {}", self.implementation, self.version, self.platform, self.abi)
    }
}

/// Prints version, implementation, platform tag, ABI tag and the bundled pip
/// wheel, one per line. Python 3.6 and later.
const PROBE: &str = r#"
import glob, os, platform, sys, sysconfig
abi = "%s%d%d%s" % ({"cpython": "cp", "pypy": "pp"}.get(sys.implementation.name, sys.implementation.name),
    sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))
pips = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "ensurepip", "_bundled", "pip-*.whl")))
print(platform.python_version())
print(sys.implementation.name)
print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))
print(abi)
print(pips[-1] if pips else "")
"#;

/// Finds the interpreter `target` names: a version (`3.11`, `3.11.7`) under
/// `<pyenv root>/versions/`, the newest matching one, or else a path
/// (relative to `repo`) or a command name on `PATH`.
pub fn resolve(target: &str, repo: &Path) -> Result<PathBuf, String> {
    if !is_version(target) {
        return Ok(if target.contains('/') { repo.join(target) } else { PathBuf::from(target) });
    }
    let root = pyenv_root().ok_or_else(|| {
        format!("Python {target} not found: neither PYENV_ROOT nor HOME is set, so there is no pyenv root to look in")
    })?;
    let versions = root.join("versions");
    let mut found: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(&versions)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let matches = name == target || name.strip_prefix(target).is_some_and(|r| r.starts_with('.'));
            (matches && is_version(&name)).then(|| (numbers(&name), entry.path().join("bin/python")))
        })
        .filter(|(_, python)| python.exists())
        .collect();
    found.sort();
    found.pop().map(|(_, python)| python).ok_or_else(|| {
        format!(
            "Python {target} not found: no {}/{target}[.*]/bin/python (install it with `pyenv install {target}`, or configure an interpreter path)",
            versions.display()
        )
    })
}

/// `$PYENV_ROOT`, else `~/.pyenv`.
fn pyenv_root() -> Option<PathBuf> {
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

/// Runs the interpreter `target` resolves to and asks what it is.
pub fn probe(target: &str, repo: &Path) -> Result<Interpreter, String> {
    let path = resolve(target, repo)?;
    let output = std::process::Command::new(&path)
        .args(["-I", "-c", PROBE])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the interpreter {} (python {target}): {e}", path.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    match (output.status.success(), &lines[..]) {
        (true, [version, implementation, platform, abi, pip]) => Ok(Interpreter {
            label: target.to_owned(),
            path,
            version: (*version).to_owned(),
            implementation: (*implementation).to_owned(),
            platform: (*platform).to_owned(),
            abi: (*abi).to_owned(),
            bundled_pip: (!pip.is_empty()).then(|| PathBuf::from(pip)),
        }),
        _ => Err(format!(
            "{} (python {target}) is not a usable Python 3 interpreter: {}{}",
            path.display(),
            output.status,
            super::build::tail(&String::from_utf8_lossy(&output.stderr), 5)
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_paths_are_told_apart() {
        assert!(is_version("3") && is_version("3.11") && is_version("3.11.7"));
        assert!(!is_version("3.11-dev") && !is_version("python3") && !is_version("") && !is_version("3..1"));
        let repo = Path::new("repo");
        assert_eq!(resolve("bin/python", repo).unwrap(), repo.join("bin/python"));
        assert_eq!(resolve("python3", repo).unwrap(), PathBuf::from("python3"));
    }
}
