//! Target Pythons and the marker environments they give: from a version
//! with documented defaults, or asked of a real interpreter.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::{Deserialize, Deserializer};

/// A target Python: a version (`3.7`, `3.9.18`), or an interpreter, a path
/// (containing `/`, relative to the repository) or a command name starting
/// with `python` or `pypy`.
///
/// For a version, `python_version` is `X.Y` and `python_full_version` the
/// version as written (`X.Y` becomes `X.Y.0`); the platform fields are those
/// of CPython on x86-64 Linux: `implementation_name = "cpython"`,
/// `platform_python_implementation = "CPython"`, `os_name = "posix"`,
/// `sys_platform = "linux"`, `platform_system = "Linux"`,
/// `platform_machine = "x86_64"`, empty `platform_release` and
/// `platform_version`. An interpreter is run once and reports every field.
#[derive(Debug, Clone)]
pub struct TargetPython {
    /// As written in the configuration.
    pub name: String,
    /// The environment of a version; `None` for an interpreter.
    version: Option<MarkerEnvironment>,
}

impl<'de> Deserialize<'de> for TargetPython {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(&name).map_err(serde::de::Error::custom)
    }
}

/// How long an interpreter may take to describe itself.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Prints the PEP 508 marker environment as JSON (Python 3.3 and later).
const PROBE: &str = r#"
import json, os, platform, sys
def version(info):
    text = "%d.%d.%d" % (info.major, info.minor, info.micro)
    return text if info.releaselevel == "final" else text + info.releaselevel[0] + str(info.serial)
print(json.dumps({
    "implementation_name": sys.implementation.name,
    "implementation_version": version(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}))
"#;

#[derive(Deserialize)]
struct Probed {
    implementation_name: String,
    implementation_version: String,
    os_name: String,
    platform_machine: String,
    platform_python_implementation: String,
    platform_release: String,
    platform_system: String,
    platform_version: String,
    python_full_version: String,
    python_version: String,
    sys_platform: String,
}

impl TargetPython {
    /// The target `name` names, checked as configuration is.
    pub fn new(name: &str) -> Result<Self, String> {
        let interpreter = name.contains('/') || name.starts_with("python") || name.starts_with("pypy");
        if interpreter {
            return Ok(Self { name: name.to_owned(), version: None });
        }
        let expected = || {
            format!(
                "expected a Python version such as \"3.9\" or \"3.9.18\", an interpreter path or a command such as \"python3.9\", found `{name}`"
            )
        };
        let parts: Vec<&str> = name.split('.').collect();
        if !(2..=3).contains(&parts.len())
            || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(expected());
        }
        let short = format!("{}.{}", parts[0], parts[1]);
        let full = if parts.len() == 3 { name.to_owned() } else { format!("{short}.0") };
        let environment = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
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
        Ok(Self { name: name.to_owned(), version: Some(environment) })
    }

    /// The marker environment: the version's, or the one the interpreter
    /// reports (run from `repo`, within a timeout).
    pub fn environment(&self, repo: &Path) -> Result<MarkerEnvironment, String> {
        if let Some(environment) = &self.version {
            return Ok(environment.clone());
        }
        let program = if self.name.contains('/') { repo.join(&self.name) } else { self.name.clone().into() };
        let fail = |why: String| format!("target Python `{}`: {why}", self.name);
        let mut child = Command::new(&program)
            .args(["-I", "-c", PROBE])
            .current_dir(repo)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("cannot run {}: {e}", program.display())))?;
        let started = Instant::now();
        while child.try_wait().map_err(|e| fail(e.to_string()))?.is_none() {
            if started.elapsed() > PROBE_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("no answer within {PROBE_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        let probed: Probed = serde_json::from_slice(&output.stdout).map_err(|e| {
            fail(format!("{} did not describe itself ({}): {e}", program.display(), output.status))
        })?;
        MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: &probed.implementation_name,
            implementation_version: &probed.implementation_version,
            os_name: &probed.os_name,
            platform_machine: &probed.platform_machine,
            platform_python_implementation: &probed.platform_python_implementation,
            platform_release: &probed.platform_release,
            platform_system: &probed.platform_system,
            platform_version: &probed.platform_version,
            python_full_version: &probed.python_full_version,
            python_version: &probed.python_version,
            sys_platform: &probed.sys_platform,
        })
        .map_err(|e| fail(format!("reported a version that is not PEP 440: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    #[test]
    fn versions_give_documented_marker_environments() {
        let repo = Path::new(".");
        let old = TargetPython::new("3.7").unwrap().environment(repo).unwrap();
        let marker =
            pep508_rs::MarkerTree::from_str("python_version < \"3.8\" and sys_platform == \"linux\"")
                .unwrap();
        assert!(marker.evaluate(&old, &[]));
        assert!(!marker.evaluate(&TargetPython::new("3.9.18").unwrap().environment(repo).unwrap(), &[]));
        for bad in ["3", "3.x", "3..9", "3.9.1.2", "cpython3"] {
            assert!(TargetPython::new(bad).unwrap_err().contains("expected a Python version"), "{bad}");
        }
    }

    #[test]
    fn an_interpreter_describes_itself() {
        let repo = Path::new(".");
        let python3 = TargetPython::new("python3").unwrap().environment(repo).unwrap();
        let this_python =
            pep508_rs::MarkerTree::from_str("python_version >= \"3\" and os_name == \"posix\"").unwrap();
        assert!(this_python.evaluate(&python3, &[]));
        let missing = TargetPython::new("bin/no-such-python").unwrap().environment(repo).unwrap_err();
        assert!(missing.starts_with("target Python `bin/no-such-python`: cannot run"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        let fake = dir.path().join("bin/python");
        std::fs::write(&fake, "#!/bin/sh\necho not json\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let not_python = TargetPython::new("bin/python").unwrap().environment(dir.path()).unwrap_err();
        assert!(not_python.contains("did not describe itself"), "{not_python}");
    }
}
