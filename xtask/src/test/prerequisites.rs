//! What the test suite needs besides the Rust toolchain, found, installed
//! when this task may, and named with how to get it when it is not there.
//!
//! Finding ([`probe`]) and installing ([`install`]) touch the machine;
//! deciding what to install ([`plan`]) and what to tell the user
//! ([`how_to`]) are pure, and tested without installing anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// The pyenv Pythons the tests build with: 3.7 and 3.9 for the
/// build-dependency referee (`gate-wheels/tests/build_deps_pypi.rs`), 3.9
/// and 3.11 for the rebuild and the PEP 517 hooks
/// (`gate-wheels/tests/rebuild.rs`, `build-deps/tests/build_deps_hooks.rs`).
pub const PYTHONS: [&str; 3] = ["3.7", "3.9", "3.11"];

/// The package index the network tests reach.
pub const INDEX: &str = "https://pypi.org/simple/";

/// Debian packages `pyenv install` needs to build CPython (pyenv's wiki,
/// "Suggested build environment", without Tk).
const PYTHON_BUILD_PACKAGES: [&str; 10] = [
    "build-essential",
    "libssl-dev",
    "zlib1g-dev",
    "libbz2-dev",
    "libreadline-dev",
    "libsqlite3-dev",
    "libncurses-dev",
    "xz-utils",
    "libffi-dev",
    "liblzma-dev",
];

/// One thing the suite needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// What it is called in the report: `gpg`, `Python 3.9`.
    pub name: String,
    /// Which tests need it.
    pub why: &'static str,
    /// How it is found and how it is got.
    pub kind: Kind,
}

/// How a requirement is found and got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A program that answers `program args…`; from a Debian package.
    Program { program: &'static str, args: &'static [&'static str], package: &'static str },
    /// A Python version under the pyenv root (`$PYENV_ROOT`, else `~/.pyenv`),
    /// as the tests look for it: `versions/<X.Y>.*/bin/python`.
    Pyenv { version: &'static str },
    /// A rustup component (for `--lint`).
    Component { component: &'static str, cargo_subcommand: &'static str },
    /// HTTPS to this URL, with the system's certificate store.
    Network { url: &'static str },
    /// A directory that must exist beside the checkout.
    Directory { path: PathBuf },
}

/// What was found for a requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Present: the version line, path or answer that showed it.
    Yes(String),
    /// Absent, and why it counts as absent.
    No(String),
}

impl Found {
    /// Whether it is present.
    pub fn is_yes(&self) -> bool {
        matches!(self, Found::Yes(_))
    }
}

/// What this task may do to get what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Whether installing is allowed at all (`--no-install` says no).
    pub install: bool,
    /// How apt-get can run.
    pub apt: Apt,
    /// The pyenv program, when there is one.
    pub pyenv: Option<PathBuf>,
    /// Whether rustup is there to add components.
    pub rustup: bool,
}

/// How apt-get can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apt {
    /// As root.
    Root,
    /// Through `sudo -n` (sudo without a password).
    Sudo,
    /// Not at all, and why.
    No(&'static str),
}

/// What to install.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Debian packages, for one `apt-get install -y`.
    pub apt: BTreeSet<&'static str>,
    /// `pyenv install --skip-existing` of each, after the packages.
    pub pyenv: Vec<&'static str>,
    /// `rustup component add` of these.
    pub components: Vec<&'static str>,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if !self.apt.is_empty() {
            parts.push(format!("apt packages {}", self.apt.iter().copied().collect::<Vec<_>>().join(" ")));
        }
        if !self.pyenv.is_empty() {
            parts.push(format!("pyenv Pythons {}", self.pyenv.join(" ")));
        }
        if !self.components.is_empty() {
            parts.push(format!("rustup components {}", self.components.join(" ")));
        }
        f.write_str(&parts.join("; "))
    }
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.apt.is_empty() && self.pyenv.is_empty() && self.components.is_empty()
    }
}

/// Everything the suite needs; the lint steps' components too with `lint`.
pub fn requirements(workspace: &Path, lint: bool) -> Vec<Requirement> {
    let program = |name: &str, why, program, args, package| Requirement {
        name: name.to_owned(),
        why,
        kind: Kind::Program { program, args, package },
    };
    let mut all = vec![
        Requirement {
            name: "shared fixtures".to_owned(),
            why: "the tests read third-party fixtures in place, beside the checkout",
            kind: Kind::Directory { path: workspace.join("../shared/fixtures") },
        },
        program(
            "git",
            "release-check reads the commit and the LFS tests run git",
            "git",
            &["--version"],
            "git",
        ),
        program("gpg", "the signature tests compare release-check with gpg", "gpg", &["--version"], "gnupg"),
        program(
            "git-lfs",
            "the LFS pointer tests compare release-check with git-lfs",
            "git",
            &["lfs", "version"],
            "git-lfs",
        ),
        program(
            "docker-registry",
            "the images gate's registry tests serve it on 127.0.0.1 (gate-images/tests/registry.rs)",
            "/usr/bin/docker-registry",
            &["--version"],
            "docker-registry",
        ),
        program(
            "python3 with venv",
            "the rebuild and hook tests make sdists in a virtual environment",
            "python3",
            &["-c", "import venv, ensurepip; import sys; print(sys.version.split()[0])"],
            "python3-venv",
        ),
        program("tar", "the rebuild tests unpack sdists", "tar", &["--version"], "tar"),
        program(
            "timeout",
            "the build-dependency referee bounds real pip in time (gate-wheels/tests/build_deps_pypi.rs)",
            "timeout",
            &["--version"],
            "coreutils",
        ),
        program(
            "faketime",
            "the rebuild's clock variation runs builds under libfaketime (gate-wheels/tests/rebuild_frontend.rs)",
            "faketime",
            &["--version"],
            "faketime",
        ),
        program(
            "disorderfs",
            "the rebuild's file-order variation mounts the source tree through disorderfs (rebuild_frontend.rs)",
            "disorderfs",
            &["--version"],
            "disorderfs",
        ),
        program(
            "taskset",
            "the rebuild's CPU-count variation pins builds to one CPU (rebuild_frontend.rs)",
            "taskset",
            &["--version"],
            "util-linux",
        ),
        program(
            "et_EE.UTF-8 locale",
            "the rebuild's locale variation builds under et_EE.UTF-8 (rebuild_frontend.rs)",
            "sh",
            &["-c", "locale -a | grep -qix 'et_EE.utf8' && echo et_EE.utf8"],
            "locales-all",
        ),
        program(
            "sha256sum",
            "the image-test tests compare release-check with sha256sum",
            "sha256sum",
            &["--version"],
            "coreutils",
        ),
        program("mkfifo", "the hostile-input tests make FIFOs", "mkfifo", &["--version"], "coreutils"),
        program("kill", "timeouts end process trees", "kill", &["--version"], "procps"),
        program(
            "jq",
            "the action's install tests run its scripts, which read JSON with jq",
            "jq",
            &["--version"],
            "jq",
        ),
        program("zip", "the release workflow test makes its archives", "zip", &["-v"], "zip"),
        program("unzip", "the action's install tests unpack archives", "unzip", &["-v"], "unzip"),
        program("curl", "the action's install script downloads with curl", "curl", &["--version"], "curl"),
        program(
            "python3 jsonschema",
            "the SARIF tests validate with Python's jsonschema as a second checker",
            "python3",
            &["-c", "import jsonschema"],
            "python3-jsonschema",
        ),
    ];
    all.extend(PYTHONS.iter().map(|&version| Requirement {
        name: format!("Python {version}"),
        why: "pip builds with the pyenv Pythons 3.7, 3.9 and 3.11 (gate-wheels/tests/build_deps_pypi.rs, rebuild.rs)",
        kind: Kind::Pyenv { version },
    }));
    all.push(Requirement {
        name: "network".to_owned(),
        why: "the 2022 build-dependency case and two rebuilt packages come from the real PyPI",
        kind: Kind::Network { url: INDEX },
    });
    if lint {
        for (component, cargo_subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
            all.push(Requirement {
                name: component.to_owned(),
                why: "--lint runs it",
                kind: Kind::Component { component, cargo_subcommand },
            });
        }
    }
    all
}

/// Looks for `requirement` on this machine.
pub fn probe(requirement: &Requirement) -> Found {
    match &requirement.kind {
        Kind::Program { program, args, .. } => first_line(Command::new(program).args(*args)),
        Kind::Pyenv { version } => match pyenv_root() {
            None => Found::No("neither PYENV_ROOT nor HOME is set: no pyenv root to look in".to_owned()),
            Some(root) => {
                let versions = root.join("versions");
                match newest_matching(&installed(&versions), version) {
                    Some(name) => Found::Yes(versions.join(name).join("bin/python").display().to_string()),
                    None => Found::No(format!("no {}/{version}.*/bin/python", versions.display())),
                }
            }
        },
        Kind::Component { cargo_subcommand, .. } => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            first_line(Command::new(cargo).args([cargo_subcommand, "--version"]))
        }
        Kind::Network { url } => reach(url),
        Kind::Directory { path } => match path.canonicalize() {
            Ok(found) if found.is_dir() => Found::Yes(found.display().to_string()),
            _ => Found::No(format!("{} is not a directory", path.display())),
        },
    }
}

/// The first line `command` prints when it succeeds.
fn first_line(command: &mut Command) -> Found {
    let described = format!("`{}`", describe(command));
    match command.stdin(Stdio::null()).output() {
        Err(e) => Found::No(format!("{described} cannot run: {e}")),
        Ok(output) if !output.status.success() => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let detail = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
            Found::No(format!("{described} failed ({}): {}", output.status, detail.trim()))
        }
        Ok(output) => {
            let out = if output.stdout.is_empty() { &output.stderr } else { &output.stdout };
            Found::Yes(String::from_utf8_lossy(out).lines().next().unwrap_or_default().trim().to_owned())
        }
    }
}

/// `program args…`, for messages.
fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One HEAD request to `url`, ten seconds at most, trusting the system's
/// certificate store (as the index client does) and the proxy variables.
fn reach(url: &str) -> Found {
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .tls_config(tls)
        .build()
        .into();
    match agent.head(url).call() {
        Ok(response) if response.status().is_success() => {
            Found::Yes(format!("HEAD {url}: {}", response.status()))
        }
        Ok(response) => Found::No(format!("HEAD {url} answered {}", response.status())),
        Err(e) => Found::No(format!("HEAD {url} failed: {e}")),
    }
}

/// `$PYENV_ROOT`, else `~/.pyenv`: where the tests look.
pub fn pyenv_root() -> Option<PathBuf> {
    std::env::var_os("PYENV_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pyenv")))
}

/// The directories under `versions` that hold a `bin/python`.
fn installed(versions: &Path) -> Vec<String> {
    std::fs::read_dir(versions)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("bin/python").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The newest of `names` (directories under `<pyenv root>/versions`) that is
/// `version` or a release of it (`3.9` → `3.9.18`, not `3.90` or `3.9-dev`).
pub fn newest_matching<'a>(names: &'a [String], version: &str) -> Option<&'a str> {
    let numbers = |name: &str| -> Option<Vec<u64>> { name.split('.').map(|p| p.parse().ok()).collect() };
    names
        .iter()
        .filter(|name| {
            *name == version || name.strip_prefix(version).is_some_and(|rest| rest.starts_with('.'))
        })
        .filter_map(|name| Some((numbers(name)?, name.as_str())))
        .max()
        .map(|(_, name)| name)
}

/// What this process may do: `install` unless `--no-install`, apt-get as
/// root or through passwordless sudo, pyenv and rustup when found.
pub fn access(install: bool) -> Access {
    let apt = if find_program("apt-get").is_none() {
        Apt::No("there is no apt-get")
    } else if is_root() {
        Apt::Root
    } else if find_program("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    {
        Apt::Sudo
    } else {
        Apt::No("not root, and no sudo without a password")
    };
    let pyenv = find_program("pyenv").or_else(|| {
        let program = pyenv_root()?.join("bin/pyenv");
        program.is_file().then_some(program)
    });
    Access { install, apt, pyenv, rustup: find_program("rustup").is_some() }
}

/// Whether this process runs as root (`Uid:` of `/proc/self/status`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|l| l.strip_prefix("Uid:").and_then(|ids| ids.split_whitespace().nth(1)) == Some("0"))
    })
}

/// `program` on `PATH`, when it is there.
fn find_program(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|path| path.is_file())
}

/// What to install for the `missing` requirements, given `access`.
pub fn plan<'a>(missing: impl IntoIterator<Item = &'a Requirement>, access: &Access) -> Plan {
    let mut plan = Plan::default();
    if !access.install {
        return plan;
    }
    let apt = !matches!(access.apt, Apt::No(_));
    for requirement in missing {
        match &requirement.kind {
            Kind::Program { package, .. } if apt => {
                plan.apt.insert(package);
            }
            Kind::Pyenv { version } if access.pyenv.is_some() => {
                plan.pyenv.push(version);
                if apt {
                    // A fresh machine cannot compile CPython without these.
                    plan.apt.extend(PYTHON_BUILD_PACKAGES);
                }
            }
            Kind::Component { component, .. } if access.rustup => plan.components.push(component),
            Kind::Network { .. } if apt => {
                // The check trusts the system's store: a fresh image may have none.
                plan.apt.insert("ca-certificates");
            }
            _ => {}
        }
    }
    plan
}

/// How to get `requirement`, which is still missing, given `access`.
pub fn how_to(requirement: &Requirement, access: &Access) -> String {
    match &requirement.kind {
        Kind::Program { package, .. } => {
            let command = format!("apt-get install -y {package}");
            match (&access.apt, access.install) {
                (Apt::Root, true) | (Apt::Sudo, true) => {
                    format!("`{command}` did not provide it; install the Debian package {package} by hand")
                }
                (Apt::Root, false) => format!("`{command}` (or run without --no-install)"),
                (_, _) => format!("`sudo {command}` (Debian's {package}, or your system's equivalent)"),
            }
        }
        Kind::Pyenv { version } => match (&access.pyenv, access.install) {
            (None, _) => format!(
                "install pyenv (https://github.com/pyenv/pyenv#installation), then `pyenv install {version}`"
            ),
            (Some(_), false) => format!("`pyenv install {version}` (or run without --no-install)"),
            (Some(_), true) => format!(
                "`pyenv install --skip-existing {version}` did not provide it: see its output above \
                 (CPython's build needs a C compiler and the -dev packages pyenv's wiki lists)"
            ),
        },
        Kind::Component { component, .. } => match (access.rustup, access.install) {
            (true, false) => format!("`rustup component add {component}` (or run without --no-install)"),
            (true, true) => format!("`rustup component add {component}` did not provide it"),
            (false, _) => format!(
                "install {component} with your Rust toolchain (rustup: `rustup component add {component}`)"
            ),
        },
        Kind::Network { url } => format!(
            "connect this machine to {url} (through HTTPS_PROXY if it needs a proxy), with the system's \
             certificate store (Debian: ca-certificates); the tests are not skipped offline"
        ),
        Kind::Directory { path } => {
            format!("put the shared fixtures at {}, beside the checkout", path.display())
        }
    }
}

/// Runs `plan`: one `apt-get update` and one `apt-get install -y`, then
/// pyenv and rustup. Every step runs even when an earlier one failed; the
/// failures are returned together.
pub fn install(plan: &Plan, access: &Access) -> Result<()> {
    let mut failed = Vec::new();
    if !plan.apt.is_empty() {
        let sudo = access.apt == Apt::Sudo;
        let apt = |args: &[&str]| {
            let mut command = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
            if sudo {
                command.args(["-n", "apt-get"]);
            }
            command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            command
        };
        let mut install = vec!["install", "-y", "--no-install-recommends"];
        install.extend(plan.apt.iter().copied());
        for mut command in [apt(&["update"]), apt(&install)] {
            if let Err(e) = run(&mut command) {
                failed.push(e);
                break;
            }
        }
    }
    if let Some(pyenv) = &access.pyenv {
        for version in &plan.pyenv {
            if let Err(e) = run(Command::new(pyenv).args(["install", "--skip-existing", version])) {
                failed.push(e);
            }
        }
    }
    if !plan.components.is_empty()
        && let Err(e) = run(Command::new("rustup").args(["component", "add"]).args(&plan.components))
    {
        failed.push(e);
    }
    if failed.is_empty() {
        return Ok(());
    }
    bail!("{}", failed.iter().map(|e| format!("{e:#}")).collect::<Vec<_>>().join("; "))
}

/// Runs `command` with its output on ours and no input.
fn run(command: &mut Command) -> Result<()> {
    let described = describe(command);
    eprintln!("$ {described}");
    let status =
        command.stdin(Stdio::null()).status().with_context(|| format!("cannot run `{described}`"))?;
    if !status.success() {
        bail!("`{described}` failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn requirement(kind: Kind) -> Requirement {
        Requirement { name: "x".to_owned(), why: "", kind }
    }

    fn gpg() -> Requirement {
        requirement(Kind::Program { program: "gpg", args: &["--version"], package: "gnupg" })
    }

    fn python(version: &'static str) -> Requirement {
        requirement(Kind::Pyenv { version })
    }

    fn access(install: bool, apt: Apt, pyenv: bool) -> Access {
        Access { install, apt, pyenv: pyenv.then(|| PathBuf::from("pyenv")), rustup: true }
    }

    /// As a pyenv root's `versions/` reads on a machine with many Pythons.
    #[test]
    fn the_newest_release_of_a_version_is_found() {
        let found =
            names(&["2.7.18", "3.7.16", "3.9.2", "3.9.18", "3.10.13", "3.11.7", "3.11-dev", "system"]);
        assert_eq!(newest_matching(&found, "3.7"), Some("3.7.16"));
        assert_eq!(newest_matching(&found, "3.9"), Some("3.9.18"), "numbers, not text, decide");
        assert_eq!(newest_matching(&found, "3.11"), Some("3.11.7"), "3.11-dev is not a release");
        assert_eq!(newest_matching(&found, "3.1"), None, "3.10 and 3.11 are not releases of 3.1");
        assert_eq!(newest_matching(&found, "3.8"), None);
        assert_eq!(newest_matching(&names(&["3.9"]), "3.9"), Some("3.9"));
        assert_eq!(newest_matching(&names(&["pypy3.9-7.3.16", "miniconda3-3.9"]), "3.9"), None);
    }

    #[test]
    fn the_pythons_are_found_under_the_pyenv_root() {
        let root = tempfile::tempdir().unwrap();
        for name in ["3.7.16/bin", "3.9.18/bin", "3.11.7"] {
            std::fs::create_dir_all(root.path().join("versions").join(name)).unwrap();
        }
        std::fs::write(root.path().join("versions/3.7.16/bin/python"), "").unwrap();
        std::fs::write(root.path().join("versions/3.9.18/bin/python"), "").unwrap();
        let probe_in =
            |version| newest_matching(&installed(&root.path().join("versions")), version).map(str::to_owned);
        assert_eq!(probe_in("3.7").as_deref(), Some("3.7.16"));
        assert_eq!(probe_in("3.11"), None, "a version without bin/python is not installed");
    }

    #[test]
    fn root_installs_packages_and_pythons_with_their_build_dependencies() {
        let missing = [gpg(), python("3.7"), python("3.11")];
        let plan = plan(&missing, &access(true, Apt::Root, true));
        assert!(plan.apt.contains("gnupg") && plan.apt.contains("libssl-dev"), "{plan:?}");
        assert_eq!(plan.pyenv, ["3.7", "3.11"]);
        let said = plan.to_string();
        assert!(
            said.starts_with("apt packages build-essential gnupg ")
                && said.ends_with("; pyenv Pythons 3.7 3.11"),
            "{said}"
        );
        let sudo = super::plan(&missing, &access(true, Apt::Sudo, true));
        assert_eq!(sudo, plan, "passwordless sudo does what root does");
    }

    #[test]
    fn nothing_is_installed_with_no_install() {
        let missing = [gpg(), python("3.7")];
        for apt in [Apt::Root, Apt::Sudo, Apt::No("not root")] {
            assert!(plan(&missing, &access(false, apt, true)).is_empty());
        }
    }

    #[test]
    fn without_apt_pythons_are_still_installed_and_packages_are_named() {
        let missing = [gpg(), python("3.9")];
        let access = access(true, Apt::No("not root, and no sudo without a password"), true);
        let plan = plan(&missing, &access);
        assert!(plan.apt.is_empty(), "{plan:?}");
        assert_eq!(plan.pyenv, ["3.9"]);
        assert_eq!(
            how_to(&gpg(), &access),
            "`sudo apt-get install -y gnupg` (Debian's gnupg, or your system's equivalent)"
        );
    }

    #[test]
    fn without_pyenv_the_user_is_told_how_to_get_it() {
        let access = access(true, Apt::Root, false);
        assert!(plan(&[python("3.7")], &access).is_empty());
        let text = how_to(&python("3.7"), &access);
        assert!(text.contains("install pyenv") && text.contains("`pyenv install 3.7`"), "{text}");
    }

    #[test]
    fn what_cannot_be_installed_is_never_planned() {
        let network = requirement(Kind::Network { url: INDEX });
        let fixtures = requirement(Kind::Directory { path: PathBuf::from("../shared/fixtures") });
        let access = access(true, Apt::Root, true);
        assert!(plan([&fixtures], &access).is_empty());
        // Only the certificate store can be installed for the network.
        assert_eq!(plan([&network], &access).apt, BTreeSet::from(["ca-certificates"]));
        assert!(how_to(&network, &access).contains(INDEX));
        assert!(how_to(&fixtures, &access).contains("../shared/fixtures"));
    }

    #[test]
    fn every_requirement_of_the_suite_is_listed() {
        let all = requirements(Path::new("."), false);
        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
        for name in
            ["gpg", "git-lfs", "docker-registry", "Python 3.7", "Python 3.9", "Python 3.11", "network"]
        {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        assert!(!names.contains(&"rustfmt"));
        assert!(requirements(Path::new("."), true).iter().any(|r| r.name == "clippy"));
    }

    #[test]
    fn a_program_is_found_by_its_answer() {
        assert!(
            matches!(first_line(Command::new("sh").args(["-c", "echo 'v 1.2'; echo more"])), Found::Yes(v) if v == "v 1.2")
        );
        let failed = first_line(Command::new("sh").args(["-c", "echo broken >&2; exit 3"]));
        assert!(
            matches!(&failed, Found::No(why) if why.contains("broken") && why.contains("exit status: 3")),
            "{failed:?}"
        );
        let absent = first_line(&mut Command::new("no-such-program-for-xtask"));
        assert!(matches!(&absent, Found::No(why) if why.contains("cannot run")), "{absent:?}");
    }
}
