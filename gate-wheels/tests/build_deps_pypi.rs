//! The 2022 case against the real public index, https://pypi.org/simple/:
//! on 2022-06-22 a from-source build (`pip wheel --no-binary :all:`, build
//! isolation) began to fail on Python 3.7 but not on 3.9. setuptools-scm
//! 7.0.1 started to require `importlib-metadata; python_version < "3.8"`,
//! and importlib-metadata builds with setuptools-scm: a build-time cycle,
//! which build isolation walked into because nothing pinned setuptools-scm.
//!
//! The requirement set is `tests/data/pypi-2022/`: zipp 3.8.0, which builds
//! with `setuptools_scm[toml]>=3.4.1`, and build requirements that pin
//! setuptools and wheel only. The analysis must find the cycle on 3.7 only
//! as of 2022-07-15, and none as of 2022-06-01. Real pip is the referee:
//! held to what build isolation took on 2022-07-15, the same build fails on
//! the pyenv Python 3.7, on the cycle, and succeeds on 3.9.
//!
//! These tests need the network and the pyenv Pythons 3.7 and 3.9 (CI has
//! them): an unreachable index or a missing Python fails them, saying so;
//! they are never skipped.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gate_core::{GateOutcome, Item, Status};
use gate_wheels::Config;
use gate_wheels::build_deps::TargetPython;
use gate_wheels::build_deps::bisect::bisect;
use support::{facts, items, run};

/// The requirement set, read in place.
fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pypi-2022")
}

/// The analysis of the requirement set for 3.7 and 3.9 against PyPI, with
/// setuptools and wheel installed from wheels as the referee's pip does,
/// caching in `cache`.
fn config(cache: &Path) -> Config {
    toml::from_str(&format!(
        "[build-deps]\nindex-url = \"https://pypi.org/simple/\"\ntarget-pythons = [\"3.7\", \"3.9\"]\nonly-binary = [\"setuptools\", \"wheel\"]\ncache-dir = {:?}\n",
        cache.to_str().unwrap()
    ))
    .unwrap()
}

/// That analysis with a fresh cache, as of `as_of`.
fn analyse(as_of: &str) -> GateOutcome {
    let cache = tempfile::tempdir().unwrap();
    let outcome = run(&data(), &config(cache.path()), as_of);
    let unreachable = items(&outcome, "index");
    assert!(
        unreachable.is_empty(),
        "https://pypi.org/simple/ did not answer as expected; these tests need the real index and the network: \
         {unreachable:#?}"
    );
    outcome
}

/// The version of `name` that build isolation took on 2022-07-15.
fn took(name: &str) -> String {
    let text = std::fs::read_to_string(data().join("isolation-2022-07-15.txt")).unwrap();
    let pin = text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix("=="));
    pin.unwrap_or_else(|| panic!("isolation-2022-07-15.txt does not pin {name}")).to_owned()
}

/// Distributions the analysis could not read the needs of.
fn unread(outcome: &GateOutcome) -> Vec<&Item> {
    items(outcome, "build-metadata")
}

#[test]
fn bisect_names_the_setuptools_scm_bump_and_its_upload_on_pypi() {
    let cache = tempfile::tempdir().unwrap();
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    let ctx = gate_core::Context::new(data());
    let config = config(cache.path());
    let found = bisect(
        &ctx,
        config.build_deps.as_ref().unwrap(),
        at("2022-06-01T00:00:00Z"),
        at("2022-07-15T00:00:00Z"),
    )
    .unwrap_or_else(|e| {
        panic!("the bisection against https://pypi.org/simple/ failed (it needs the network): {e}")
    });
    eprintln!("{found}");
    let change = found.change.as_ref().expect("the findings differ between the two dates");
    let bump = &change.bumps[0];
    // 7.0.0 (2022-06-22) is yanked for lacking the need; 7.0.1 brought it.
    assert_eq!(
        (bump.name.as_str(), bump.old.as_deref(), bump.new.as_deref()),
        ("setuptools-scm", Some("6.4.2"), Some("7.0.1")),
        "{found}"
    );
    let (file, uploaded) = bump.file.clone().unwrap();
    assert_eq!(file, "setuptools_scm-7.0.1.tar.gz");
    assert_eq!(Some(change.uploaded), uploaded);
    assert!(change.uploaded.to_string().starts_with("2022-06-2"), "{}", change.uploaded);
    assert!(
        change.new_needs.iter().any(|need| need.starts_with("setuptools-scm 7.0.1 → importlib-metadata")
            && need.contains("python_version < '3.8' [setup.cfg install_requires]")
            && need.ends_with("active on 3.7, inactive on 3.9)")),
        "{:#?}",
        change.new_needs
    );
    // 7.0.1 also listed importlib_metadata in its own [build-system]
    // requires, without a marker: from that upload the cycle is on 3.9 as
    // well, until a later 7.0.x (the 2022-07-15 analysis has it on 3.7 only).
    assert!(
        change.new_findings.iter().any(|f| f.starts_with(
            "build-cycle importlib-metadata→setuptools-scm: build-time cycle on 3.7, 3.9: importlib-metadata 4.11.4 → setuptools-scm 7.0.1"
        )),
        "{found}"
    );
}

#[test]
fn as_of_2022_07_15_the_cycle_is_on_37_only() {
    let outcome = analyse("2022-07-15T00:00:00Z");
    let (scm, imeta) = (took("setuptools-scm"), took("importlib-metadata"));
    let mut cycles = items(&outcome, "build-cycle");
    cycles.sort_by(|a, b| a.subject.cmp(&b.subject));
    let subjects: Vec<&str> = cycles.iter().map(|c| c.subject.as_str()).collect();
    // importlib-metadata also needs zipp at run time, which builds with
    // setuptools-scm: a second cycle through the same marker. As in the
    // referee, setuptools and wheel come as wheels: no cycle through them.
    assert_eq!(
        subjects,
        ["importlib-metadata→setuptools-scm", "importlib-metadata→zipp→setuptools-scm"],
        "{outcome:#?}"
    );
    assert!(cycles.iter().all(|c| c.status == Status::Fail), "{cycles:#?}");
    let marker = format!(
        "importlib-metadata {imeta} (importlib-metadata;python_version < '3.8' [setup.cfg install_requires]: \
         active on 3.7, inactive on 3.9)"
    );
    let built_by_scm = format!("setuptools-scm {scm} (setuptools_scm[toml]>=3.4.1 [build-system])");
    assert_eq!(
        cycles[0].reason,
        format!(
            "build-time cycle on 3.7 (not on 3.9): importlib-metadata {imeta} → {built_by_scm} → {marker}"
        )
    );
    assert_eq!(
        cycles[1].reason,
        format!(
            "build-time cycle on 3.7 (not on 3.9): importlib-metadata {imeta} → zipp 3.8.0 (zipp>=0.5 \
             [setup.cfg install_requires]) → {built_by_scm} → {marker}"
        )
    );
    let evidence = facts(cycles[0]);
    assert!(
        evidence.contains(&format!("importlib-metadata {imeta} needs setuptools-scm to build")),
        "{evidence}"
    );
    assert!(
        evidence.contains(&format!("setuptools-scm {scm} needs importlib-metadata at run time")),
        "{evidence}"
    );

    // Each build need the build requirements leave open is reported, with
    // the version the index gave that day: what pip took then.
    let unpinned = items(&outcome, "unpinned-build-dep");
    let mut names: Vec<&str> = unpinned.iter().map(|i| i.subject.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["flit-core", "packaging", "setuptools-scm", "typing-extensions"], "{unpinned:#?}");
    for item in &unpinned {
        assert_eq!(item.status, Status::Fail);
        let gives = format!("\"index gives\",\"value\":\"{} {}\"", item.subject, took(&item.subject));
        assert!(facts(item).contains(&gives), "{item:#?}");
    }
    let scm_item = unpinned.iter().find(|i| i.subject == "setuptools-scm").unwrap();
    assert!(
        scm_item.reason.starts_with(&format!(
            "needed to build zipp 3.8.0 (`setuptools_scm[toml]>=3.4.1`, build-system), importlib-metadata {imeta} \
             (`setuptools_scm[toml]>=3.4.1`, build-system) but not pinned in build-requirements.txt: \
             build isolation installs setuptools-scm {scm}"
        )),
        "{}",
        scm_item.reason
    );
    // Every need of the closure is known, though wheel 0.37.1 and packaging
    // 21.3 declare theirs in setup.py only.
    assert!(unread(&outcome).is_empty(), "{:#?}", unread(&outcome));
    // The closure is what the referee holds pip to: the requirement, the
    // build requirements and what isolation took that day.
    let mut pins: Vec<String> = ["requirements.txt", "build-requirements.txt", "isolation-2022-07-15.txt"]
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(data().join(file)).unwrap().lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    pins.sort_by(|a, b| a.split_once("==").cmp(&b.split_once("==")));
    let closure = items(&outcome, "build-closure");
    let recorded = format!("\"label\":\"closure\",\"value\":\"{}\"", pins.join(", "));
    assert!(closure.iter().any(|i| facts(i).contains(&recorded)), "{recorded} in {closure:#?}");
}

#[test]
fn as_of_2022_06_01_there_is_no_cycle() {
    let outcome = analyse("2022-06-01T00:00:00Z");
    // setuptools-scm was as unpinned as later, but the index gave 6.4.2,
    // which did not need importlib-metadata.
    let unpinned = items(&outcome, "unpinned-build-dep");
    let scm = unpinned.iter().find(|i| i.subject == "setuptools-scm").expect("setuptools-scm is unpinned");
    assert!(scm.reason.contains("build isolation installs setuptools-scm 6.4.2"), "{}", scm.reason);
    let cycles = items(&outcome, "build-cycle");
    assert_eq!(cycles.len(), 1, "{outcome:#?}");
    // zipp, setuptools, wheel, setuptools-scm, packaging and what they
    // need: tomli, flit-core and pyparsing (packaging 21.3's, in setup.py).
    assert_eq!(
        (cycles[0].status, cycles[0].reason.as_str()),
        (Status::Pass, "no build-time cycle among 8 distributions on 3.7, 3.9"),
        "{:#?}",
        unread(&outcome)
    );
}

/// How long pip may take for one build before it and its children are killed.
const PIP_TIMEOUT: Duration = Duration::from_secs(240);

/// The pip of the referee, the same on both Pythons: the last to support
/// 3.7, and one that caches the wheels it builds with `--no-binary`, so
/// that each sdist is built once per run.
const PIP: &str = "pip==24.0";

/// What one `pip wheel` run said and left.
struct PipRun {
    /// Its exit code (124 or 137: killed at the timeout).
    code: Option<i32>,
    /// Its standard output and error.
    log: String,
    /// The wheels it wrote.
    wheels: Vec<String>,
    /// Its pip, `pip 24.0 from ... (python 3.7)`.
    pip: String,
    /// How long `pip wheel` took.
    elapsed: Duration,
}

impl PipRun {
    /// How it ended, after how long.
    fn ended(&self) -> String {
        let how = match self.code {
            Some(124 | 137) => format!("killed at the timeout of {PIP_TIMEOUT:?}"),
            code => format!("exit code {code:?}"),
        };
        format!("{}: {how} after {:.0?}", self.pip, self.elapsed)
    }

    /// How it ended and the end of its log, for messages.
    fn tail(&self) -> String {
        let lines: Vec<&str> = self.log.lines().collect();
        format!("{}, last lines:\n{}", self.ended(), lines[lines.len().saturating_sub(40)..].join("\n"))
    }
}

/// The pyenv interpreter of `version`.
fn pyenv_python(version: &str) -> PathBuf {
    let target = TargetPython::new(version).unwrap();
    target.interpreter(&data()).unwrap_or_else(|| {
        panic!(
            "no pyenv Python {version} ($PYENV_ROOT/versions/{version}.*/bin/python, else under ~/.pyenv): \
             the referee runs real pip on it; install it with `pyenv install {version}` ({})",
            target.describe(&data())
        )
    })
}

/// A command in a controlled environment: no pip configuration of the
/// machine, a home and pip cache of the test's own, the network variables
/// passed through.
fn controlled(program: &Path, work: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", work.join("venv/bin").display()))
        .env("HOME", work.join("home"))
        .env("LC_ALL", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_INDEX_URL", "https://pypi.org/simple/")
        .env("PIP_CACHE_DIR", work.join("pip-cache"))
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null());
    let network = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];
    let trust = ["SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE"];
    for var in network.into_iter().chain(trust) {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    cmd
}

/// A fresh virtual environment of one Python, with [`PIP`], and the
/// directory it and its build live in.
struct Venv {
    /// Holds `venv/`, `home/`, the pip cache, the constraints and the build.
    dir: tempfile::TempDir,
    /// `pip --version`, `pip 24.0 from ... (python 3.7)`.
    pip: String,
}

impl Venv {
    /// Makes it with `python -m venv`, then installs [`PIP`] from PyPI.
    fn new(python: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path();
        std::fs::create_dir(work.join("home")).unwrap();
        let venv = Command::new(python).arg("-m").arg("venv").arg(work.join("venv")).output().unwrap();
        assert!(
            venv.status.success(),
            "{} -m venv: {}",
            python.display(),
            String::from_utf8_lossy(&venv.stderr)
        );
        let python = work.join("venv/bin/python");
        let install =
            controlled(&python, work).args(["-m", "pip", "install", "--quiet", PIP]).output().unwrap();
        assert!(
            install.status.success(),
            "cannot install {PIP} from https://pypi.org/simple/ (the referee needs the network): {}",
            String::from_utf8_lossy(&install.stderr)
        );
        let pip = controlled(&python, work).args(["-m", "pip", "--version"]).output().unwrap();
        Self { pip: String::from_utf8_lossy(&pip.stdout).trim().to_owned(), dir }
    }
}

/// In `venv`: `pip wheel --no-binary :all:` of the requirement set,
/// setuptools and wheel excepted, with every build environment held to the
/// build requirements and to what isolation took on 2022-07-15
/// (`PIP_CONSTRAINT`), under `timeout --kill-after`.
fn pip_wheel(venv: &Venv) -> PipRun {
    let work = venv.dir.path();
    let venv_python = work.join("venv/bin/python");
    let constraints: String = ["build-requirements.txt", "isolation-2022-07-15.txt"]
        .iter()
        .map(|file| std::fs::read_to_string(data().join(file)).unwrap())
        .collect();
    std::fs::write(work.join("constraints.txt"), constraints).unwrap();
    let log = work.join("pip.log");
    let out = std::fs::File::create(&log).unwrap();
    let started = Instant::now();
    // `timeout` leads its own process group and kills all of it: the
    // nested pip processes of a recursing build included.
    let status = controlled(Path::new("timeout"), work)
        .args(["--kill-after=10s", &format!("{}s", PIP_TIMEOUT.as_secs())])
        .arg(&venv_python)
        .args([
            "-m",
            "pip",
            "wheel",
            "--verbose",
            "--no-binary",
            ":all:",
            "--only-binary",
            "setuptools,wheel",
            "-r",
        ])
        .arg(data().join("requirements.txt"))
        .arg("-w")
        .arg(work.join("wheels"))
        .env("PIP_CONSTRAINT", work.join("constraints.txt"))
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    let elapsed = started.elapsed();
    let wheels = std::fs::read_dir(work.join("wheels"))
        .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    PipRun {
        code: status.code(),
        log: std::fs::read_to_string(&log).unwrap(),
        wheels,
        pip: venv.pip.clone(),
        elapsed,
    }
}

#[test]
fn real_pip_fails_on_the_cycle_on_37_and_builds_on_39() {
    let (py37, py39) = (pyenv_python("3.7"), pyenv_python("3.9"));
    let (venv37, venv39) = std::thread::scope(|s| {
        let venv37 = s.spawn(|| Venv::new(&py37));
        let venv39 = Venv::new(&py39);
        (venv37.join().unwrap(), venv39)
    });
    // The builds one after the other: on two cores, side by side they take
    // longer than in turn, and the 3.7 one could reach its timeout.
    let (on39, on37) = (pip_wheel(&venv39), pip_wheel(&venv37));
    eprintln!("{}\n{}", on39.ended(), on37.ended());

    // 3.7: setuptools-scm 7.0.5 is built for zipp's build environment; to
    // install it, importlib-metadata is built, whose build environment
    // needs setuptools-scm again. pip stops at the second build of the
    // same sdist (without that check it would recurse until the timeout).
    assert_eq!(on37.code, Some(1), "{}", on37.tail());
    assert!(
        on37.log.contains(&format!("setuptools_scm-{}.tar.gz", took("setuptools-scm"))),
        "{}",
        on37.tail()
    );
    let again =
        on37.log.lines().find(|line| line.contains(" is already being built: ")).unwrap_or_else(|| {
            panic!("pip failed on 3.7, but not on a build of an sdist already being built: {}", on37.tail())
        });
    assert!(again.contains(&format!("importlib_metadata-{}.tar.gz", took("importlib-metadata"))), "{again}");
    assert!(again.contains("(from setuptools_scm"), "{again}");
    assert!(on37.wheels.is_empty(), "{:?}", on37.wheels);

    // 3.9: the same set and the same pins build, setuptools-scm 7.0.5 from
    // source included, without importlib-metadata.
    assert_eq!(on39.code, Some(0), "{}", on39.tail());
    assert_eq!(on39.wheels, ["zipp-3.8.0-py3-none-any.whl"], "{}", on39.tail());
    assert!(
        on39.log.contains(&format!("setuptools_scm-{}.tar.gz", took("setuptools-scm"))),
        "{}",
        on39.tail()
    );
    assert!(!on39.log.contains("importlib_metadata"), "{}", on39.tail());
}
