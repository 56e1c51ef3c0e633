//! The build-dependency analysis against the real public index,
//! https://pypi.org/simple/, with real pip as referee.
//!
//! - **SecureDrop, July 2022** (`../shared/fixtures/securedrop-2022-07`, read
//!   in place): as of 2022-07-05, with the repository's own pip (21.3.1,
//!   pinned in its build requirements), building from source walks into the
//!   cycle importlib-metadata → setuptools-scm 7.0.x → importlib-metadata on
//!   Python 3.7 only (setuptools-scm 7.0.1 started to require
//!   `importlib-metadata; python_version < "3.8"`), and into no other cycle.
//!   Bisecting between 2022-06-01 and 2022-07-15 names the setuptools_scm
//!   7.0.1 upload. The referee is pip 21.3.1 in a fresh virtual environment
//!   of each pyenv Python, running `pip download --no-binary :all:` on the
//!   affected requirement, held by `PIP_CONSTRAINT` to what the index had
//!   at that moment.
//! - **The pip version decides**: `wheel==0.37.1` (a setup.py-only sdist) as
//!   of 2022-07-05, on 3.9 with setuptools 54.0.0 where pip runs, builds the
//!   legacy way with pip 21.3.1, and cannot be built with pip 24.0, which
//!   builds it through PEP 517 when wheel is not installed where it runs:
//!   wheel's build environment needs setuptools, whose backend asks for
//!   wheel. With wheel installed, pip 24.0 builds it the legacy way too. Real
//!   pip 21.3.1 and 24.0 referee each case.
//! - **zipp 3.8.0, July 2022** (`tests/data/pypi-2022/`): the same cycle on
//!   3.7 only as of 2022-07-15, none as of 2022-06-01, and the bisection
//!   between them; pip 24.0 as referee.
//!
//! These tests need the network and the pyenv Pythons 3.7 and 3.9 (CI has
//! them): an unreachable index or a missing Python fails them, saying so;
//! they are never skipped. The SecureDrop analyses share one cache under
//! the target directory, with the end-to-end tests.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use build_deps::TargetPython;
use build_deps::bisect::bisect;
use build_deps::index::{Index, Limits};
use gate_core::{CancelToken, GateOutcome, Item, Status};
use gate_wheels::Config;
use pep508_rs::pep440_rs::Version;
use support::{facts, items, run};

/// The requirement set of the zipp case, read in place.
fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pypi-2022")
}

/// SecureDrop's repository of July 2022, read in place.
fn securedrop() -> PathBuf {
    test_support::shared_fixture("securedrop-2022-07")
}

/// The index cache the SecureDrop analyses share (with the end-to-end
/// tests): the target directory's, so a second analysis asks no backend.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pypi-cache")
}

/// One SecureDrop analysis at a time, so that the second finds the build
/// backends' answers the first cached.
static SECUREDROP: Mutex<()> = Mutex::new(());

/// `[gates.wheels.build-deps]` of the issue, 3.7 and 3.9, and `extra`; with
/// a generous `hook-timeout`, as Cython's `setup.py` is slow to answer on a
/// loaded machine.
fn securedrop_config(extra: &str) -> Config {
    toml::from_str(&format!(
        "[build-deps]\ntarget-pythons = [\"3.7\", \"3.9\"]\ncache-dir = {:?}\nhook-timeout = \"10m\"\n{extra}",
        shared_cache().to_str().unwrap()
    ))
    .unwrap()
}

/// Fails with the problems when the index did not answer as expected.
fn reached(outcome: &GateOutcome) {
    let unreachable = items(outcome, "index");
    assert!(
        unreachable.is_empty(),
        "https://pypi.org/simple/ did not answer as expected; these tests need the real index and the network: \
         {unreachable:#?}"
    );
}

/// SecureDrop's analysis as of 2022-07-05, once per run.
fn securedrop_2022_07_05() -> &'static GateOutcome {
    static OUTCOME: OnceLock<GateOutcome> = OnceLock::new();
    OUTCOME.get_or_init(|| {
        let _one = SECUREDROP.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = run(&securedrop(), &securedrop_config(""), "2022-07-05T00:00:00Z");
        reached(&outcome);
        outcome
    })
}

#[test]
fn securedrop_as_of_2022_07_05_walks_into_the_cycle_on_37_only() {
    let outcome = securedrop_2022_07_05();
    let cycles = items(outcome, "build-cycle");
    // One cycle, on 3.7 only: none through setuptools and wheel, which pip
    // 21.3.1 builds the legacy way (setup.py, where pip runs).
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    let cycle = cycles[0];
    assert_eq!((cycle.status, cycle.subject.as_str()), (Status::Fail, "importlib-metadata→setuptools-scm"));
    assert_eq!(
        cycle.reason,
        "build-time cycle on 3.7 (not on 3.9): importlib-metadata 4.12.0 → setuptools-scm 7.0.4 \
         (setuptools_scm[toml]>=3.4.1 [build-system]) → importlib-metadata 4.12.0 \
         (importlib-metadata;python_version < '3.8' [setup.cfg install_requires]: active on 3.7, inactive on 3.9)"
    );
    let evidence = facts(cycle);
    for fact in [
        "importlib-metadata 4.12.0 needs setuptools-scm 7.0.4 in its build environment",
        "setuptools-scm 7.0.4 needs importlib-metadata 4.12.0 at run time",
        "requirements.txt: importlib-metadata 3.7.0",
        "3.7: pip 21.3.1 (pip==21.3.1 in build-requirements.txt)",
        // zipp needs importlib-metadata's build environment too: one knot.
        "zipp 3.8.0 → setuptools-scm 7.0.4",
    ] {
        assert!(evidence.contains(fact), "{fact} in {evidence}");
    }
    // Every need is known: static sources, and the backends asked where
    // none says (setuptools 54.0.0's setup.py passes setup_requires).
    assert!(items(outcome, "build-metadata").is_empty(), "{:#?}", items(outcome, "build-metadata"));
    let notes = outcome.notes.join("\n");
    assert!(notes.contains("on 3.7, pip 21.3.1 (pip==21.3.1 in build-requirements.txt): "), "{notes}");
    // The repository's pin of setuptools-scm never reached the isolated
    // build environments.
    let unpinned = items(outcome, "unpinned-build-dep");
    let scm = unpinned.iter().find(|i| i.subject == "setuptools-scm").expect("setuptools-scm is unpinned");
    assert!(
        scm.reason.starts_with("build isolation installs setuptools-scm 7.0.4, the newest the index ")
            && scm.reason.contains("importlib-metadata 3.7.0 (`setuptools_scm[toml]>=3.4.1`, build-system)")
            && scm.reason.ends_with(
                "build-requirements.txt pins setuptools-scm==5.0.2, but the repository's requirements files do not \
                 reach isolated build environments; a constraints file does"
            ),
        "{}",
        scm.reason
    );
}

#[test]
fn securedrop_bisect_names_the_setuptools_scm_7_0_1_upload() {
    let _one = SECUREDROP.lock().unwrap_or_else(PoisonError::into_inner);
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    let ctx = gate_core::Context::new(securedrop());
    let config = securedrop_config("");
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
    assert!(found.warnings.is_empty(), "{found}");
    let change = found.change.as_ref().expect("the findings differ between the two dates");
    assert_eq!(change.files, ["setuptools_scm-7.0.1.tar.gz"], "{found}");
    assert_eq!(change.uploaded, at("2022-06-21T20:07:12.673503Z"));
    let bump = &change.bumps[0];
    assert_eq!(
        (bump.name.as_str(), bump.old.as_deref(), bump.new.as_deref()),
        ("setuptools-scm", Some("6.4.2"), Some("7.0.1")),
        "{found}"
    );
    assert!(
        found.to_string().contains(
            "The analysis changes with the upload of setuptools_scm-7.0.1.tar.gz at 2022-06-21T20:07:12.673503Z:\n  \
             bump: setuptools-scm 6.4.2 → 7.0.1, setuptools_scm-7.0.1.tar.gz uploaded 2022-06-21T20:07:12.673503Z"
        ),
        "{found}"
    );
    assert!(
        change.new_needs.iter().any(|need| need.starts_with("setuptools-scm 7.0.1 → importlib-metadata")
            && need.ends_with("(importlib-metadata;python_version < '3.8' [setup.cfg install_requires]: active on 3.7, inactive on 3.9)")),
        "{:#?}",
        change.new_needs
    );
    assert!(
        change.new_findings.iter().any(|f| f.starts_with("build-cycle importlib-metadata→setuptools-scm: ")),
        "{found}"
    );
}

/// The value of `item`'s fact `label`.
fn fact(item: &Item, label: &str) -> String {
    item.evidence
        .iter()
        .find_map(|e| match e {
            gate_core::Evidence::Fact { label: l, value } if l == label => Some(value.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no fact `{label}` in {item:#?}"))
}

/// The pinned version of `name` in `file` of `repo`.
fn pinned(repo: &Path, file: &str, name: &str) -> String {
    let text = std::fs::read_to_string(repo.join(file)).unwrap();
    let pin = text
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{name}=="))?.split_whitespace().next());
    pin.unwrap_or_else(|| panic!("{file} does not pin {name}")).to_owned()
}

/// The constraints that hold pip to the index as it was at `moment`, for
/// each of `names`: at most the newest version uploaded before it, and none
/// of those uploaded since.
fn capped(names: &BTreeSet<String>, moment: jiff::Timestamp) -> String {
    let cache = tempfile::tempdir().unwrap();
    let index = Index::new("https://pypi.org/simple/", cache.path(), false, Limits::default());
    let mut lines = Vec::new();
    for name in names {
        let page = index
            .project(name, &CancelToken::default())
            .unwrap_or_else(|e| panic!("the referee's constraints need https://pypi.org/simple/: {e}"));
        let mut first: BTreeMap<Version, jiff::Timestamp> = BTreeMap::new();
        for file in &page.files {
            let stem = file
                .filename
                .strip_suffix(".tar.gz")
                .or_else(|| file.filename.strip_suffix(".zip"))
                .or_else(|| file.filename.strip_suffix(".whl").and_then(|w| w.rsplitn(4, '-').nth(3)));
            let version = stem.and_then(|s| s.rsplit_once('-')).and_then(|(_, v)| Version::from_str(v).ok());
            if let (Some(version), Some(uploaded)) = (version, file.upload_time) {
                let at = first.entry(version).or_insert(uploaded);
                *at = (*at).min(uploaded);
            }
        }
        let Some(newest) =
            first.iter().filter(|(v, t)| **t < moment && !v.any_prerelease()).map(|(v, _)| v).max().cloned()
        else {
            continue;
        };
        let later: Vec<String> = first
            .iter()
            .filter(|(v, t)| **t >= moment && **v <= newest)
            .map(|(v, _)| format!(",!={v}"))
            .collect();
        lines.push(format!("{name}<={newest}{}", later.concat()));
    }
    lines.join("\n") + "\n"
}

/// How long one referee's pip may run before it and its children are
/// killed: on a quiet machine pip 21.3.1 downloads SecureDrop's affected
/// requirement on 3.9 in under 4 minutes, building every build environment
/// from source.
const PIP_TIMEOUT: Duration = Duration::from_secs(900);

/// What one pip run said and left.
struct PipRun {
    /// Its exit code; `None` when it was stopped once its verdict was in.
    code: Option<i32>,
    /// Its standard output and error.
    log: String,
    /// `pip 21.3.1 from ... (python 3.7)`.
    pip: String,
    /// How long it ran.
    elapsed: Duration,
}

impl PipRun {
    /// How it ended, after how long.
    fn ended(&self) -> String {
        let how = match self.code {
            None => "stopped at the line its verdict is read from".to_owned(),
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

    /// The line where pip stopped a build of an sdist already being built:
    /// the cycle, as pip meets it.
    fn cycle(&self) -> Option<&str> {
        self.log.lines().find(|line| line.contains(" is already being built: "))
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

/// A fresh virtual environment of one Python with `installed` (the pip of
/// the referee first), and the directory it and its runs live in.
struct Venv {
    dir: tempfile::TempDir,
    /// `pip --version`.
    pip: String,
}

impl Venv {
    /// Makes it with `python -m venv`, then installs `installed` from PyPI.
    fn new(python: &Path, installed: &[String]) -> Self {
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
        let install = controlled(&python, work)
            .args(["-m", "pip", "install", "--quiet"])
            .args(installed)
            .output()
            .unwrap();
        assert!(
            install.status.success(),
            "cannot install {installed:?} from https://pypi.org/simple/ (the referee needs the network): {}",
            String::from_utf8_lossy(&install.stderr)
        );
        let pip = controlled(&python, work).args(["-m", "pip", "--version"]).output().unwrap();
        Self { pip: String::from_utf8_lossy(&pip.stdout).trim().to_owned(), dir }
    }

    /// `python -m pip ARGS` held by `constraints` (`PIP_CONSTRAINT`, which
    /// reaches every build environment), under `timeout --kill-after`;
    /// stopped as soon as its log says `stop_at`, when given.
    fn pip(&self, args: &[&str], constraints: &str, stop_at: Option<&str>) -> PipRun {
        let work = self.dir.path();
        std::fs::write(work.join("constraints.txt"), constraints).unwrap();
        let log = work.join(format!("pip-{}.log", std::process::id()));
        let out = std::fs::File::create(&log).unwrap();
        let started = Instant::now();
        // `timeout` leads its own process group: killing the group kills
        // the nested pip processes of a recursing build too.
        let mut child = controlled(Path::new("timeout"), work)
            .args(["--kill-after=10s", &format!("{}s", PIP_TIMEOUT.as_secs())])
            .arg(work.join("venv/bin/python"))
            .args(["-m", "pip"])
            .args(args)
            .env("PIP_CONSTRAINT", work.join("constraints.txt"))
            .current_dir(work)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            let mut text = String::new();
            std::fs::File::open(&log).unwrap().read_to_string(&mut text).unwrap();
            if stop_at.is_some_and(|line| text.contains(line)) {
                let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", child.id())]).status();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        PipRun {
            code,
            log: std::fs::read_to_string(&log).unwrap(),
            pip: self.pip.clone(),
            elapsed: started.elapsed(),
        }
    }
}

/// `pip download --no-binary :all:` (and `options`) of `requirements` in a
/// fresh virtual environment of each of `pythons` with `installed`, side by
/// side, held to `constraints`; each stopped at the first build of an sdist
/// already being built.
fn referee(
    pythons: &[&str],
    installed: &[String],
    options: &[&str],
    requirements: &[String],
    constraints: &str,
) -> Vec<PipRun> {
    let interpreters: Vec<PathBuf> = pythons.iter().map(|p| pyenv_python(p)).collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = interpreters
            .iter()
            .map(|python| {
                scope.spawn(move || {
                    let venv = Venv::new(python, installed);
                    let mut args = vec!["download", "--verbose", "--no-binary", ":all:", "-d", "downloads"];
                    args.extend(options);
                    args.extend(requirements.iter().map(String::as_str));
                    venv.pip(&args, constraints, Some(" is already being built: "))
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

#[test]
fn real_pip_21_3_1_meets_the_cycle_on_37_and_builds_on_39_as_the_analysis_says() {
    let outcome = securedrop_2022_07_05();
    let repo = securedrop();
    // Where the analysis says each target Python meets a cycle.
    let cycles = items(outcome, "build-cycle");
    let on = |python: &str| {
        cycles.iter().any(|c| {
            c.status == Status::Fail
                && c.reason.split(':').next().unwrap().contains(&format!(" on {python}"))
                && !c.reason.split(':').next().unwrap().contains(&format!("not on {python}"))
        })
    };
    let verdicts = [on("3.7"), on("3.9")];
    assert_eq!(verdicts, [true, false], "{cycles:#?}");
    // The affected requirement: the first of requirements.txt whose build
    // reaches the cycle. Its build alone (`--no-deps`): pip 21.3.1 builds
    // every build environment from source, without a wheel cache, and each
    // more sdist costs minutes on 3.9.
    let affected = fact(cycles[0], "reached from")
        .split(", ")
        .find_map(|entry| entry.strip_prefix("requirements.txt: "))
        .map(|release| release.replace(' ', "=="))
        .expect("the cycle is reached from requirements.txt");
    assert_eq!(
        affected,
        format!("importlib-metadata=={}", pinned(&repo, "requirements.txt", "importlib-metadata"))
    );
    let requirements = [affected];
    // Held to the index of 2022-07-05: every distribution the analysis met.
    let names: BTreeSet<String> = fact(items(outcome, "build-closure")[0], "closure")
        .split(", ")
        .map(|entry| entry.split("==").next().unwrap().to_owned())
        .collect();
    let constraints = capped(&names, "2022-07-05T00:00:00Z".parse().unwrap());
    // The repository's pip, and the setuptools and wheel its builds run with.
    let installed: Vec<String> = ["pip", "setuptools", "wheel"]
        .iter()
        .map(|name| format!("{name}=={}", pinned(&repo, "build-requirements.txt", name)))
        .collect();
    let runs = referee(&["3.7", "3.9"], &installed, &["--no-deps"], &requirements, &constraints);
    for run in &runs {
        eprintln!("{}", run.ended());
        assert!(run.pip.starts_with("pip 21.3.1 "), "{}", run.pip);
    }
    let (on37, on39) = (&runs[0], &runs[1]);
    let again = on37.cycle().unwrap_or_else(|| panic!("pip 21.3.1 met no cycle on 3.7: {}", on37.tail()));
    assert!(again.contains("importlib_metadata-4.12.0.tar.gz"), "{again}");
    assert!(again.contains("(from setuptools_scm"), "{again}");
    assert_eq!(on39.code, Some(0), "{}", on39.tail());
    assert!(on39.cycle().is_none() && on39.log.contains("setuptools_scm-7.0.4.tar.gz"), "{}", on39.tail());
    // The referee's verdicts are the analysis's.
    assert_eq!([on37.cycle().is_some(), on39.cycle().is_some()], verdicts);
}

/// A repository that builds `wheel==0.37.1` from source where pip runs with
/// setuptools 54.0.0 and `tools` besides, analysed on 3.9 with pip `pip`.
fn wheel_repo(pip: &str, tools: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "wheel==0.37.1\n").unwrap();
    std::fs::write(dir.path().join("build-requirements.txt"), format!("setuptools==54.0.0\n{tools}"))
        .unwrap();
    let config = toml::from_str(&format!(
        "[build-deps]\ntarget-pythons = [\"3.9\"]\ncache-dir = {:?}\npip = \"{pip}\"\n",
        shared_cache().to_str().unwrap()
    ))
    .unwrap();
    (dir, config)
}

#[test]
fn the_pip_version_decides_whether_wheel_0_37_1_can_be_built_from_source() {
    let as_of = "2022-07-05T00:00:00Z";
    // Each case: pip, what else is installed where it runs, whether it
    // meets a cycle. pip 24.0 (23.1 to 25.2) builds a setup.py-only sdist
    // through PEP 517 when wheel is not installed where it runs, and the
    // legacy way when it is; pip 21.3.1 always the legacy way.
    let cases = [("21.3.1", "", false), ("24.0", "", true), ("24.0", "wheel==0.36.2\n", false)];
    let names: BTreeSet<String> = ["setuptools", "wheel"].iter().map(|n| (*n).to_owned()).collect();
    let constraints = capped(&names, as_of.parse().unwrap());
    for (pip, tools, cycle) in cases {
        let (dir, config) = wheel_repo(pip, tools);
        let outcome = run(dir.path(), &config, as_of);
        reached(&outcome);
        assert!(items(&outcome, "build-metadata").is_empty(), "{outcome:#?}");
        let cycles = items(&outcome, "build-cycle");
        assert_eq!(cycles.len(), 1, "pip {pip} with {tools:?}: {cycles:#?}");
        assert_eq!(cycles[0].status == Status::Fail, cycle, "pip {pip} with {tools:?}: {cycles:#?}");
        if cycle {
            // Its isolated build environment has setuptools 63.1.0, whose
            // backend asks for wheel: wheel 0.37.1 is built for its own build.
            assert_eq!(cycles[0].subject, "wheel");
            assert_eq!(
                cycles[0].reason,
                "build-time cycle on 3.9: wheel 0.37.1 → wheel 0.37.1 (wheel [get_requires_for_build_wheel of the setuptools backend])"
            );
            let evidence = facts(cycles[0]);
            assert!(evidence.contains("setuptools 63.1.0 → wheel 0.37.1"), "{evidence}");
            assert!(
                evidence.contains(
                    "wheel 0.37.1: pip 24.0 builds a setup.py-only sdist through PEP 517 when setuptools or wheel is not installed where it runs (pip 23.1 to 25.2)"
                ),
                "{evidence}"
            );
        }
        let mut installed = vec![format!("pip=={pip}"), "setuptools==54.0.0".to_owned()];
        installed.extend(tools.lines().map(str::to_owned));
        let run = referee(&["3.9"], &installed, &[], &["wheel==0.37.1".to_owned()], &constraints).remove(0);
        eprintln!("{}", run.ended());
        match cycle {
            true => {
                let again = run.cycle().unwrap_or_else(|| panic!("pip {pip} met no cycle: {}", run.tail()));
                assert!(again.contains("wheel-0.37.1.tar.gz") && again.contains("wheel==0.37.1"), "{again}");
            }
            false => assert!(run.code == Some(0) && run.cycle().is_none(), "{}", run.tail()),
        }
    }
}

/// The zipp case's analysis for 3.7 and 3.9 against PyPI, with setuptools
/// and wheel installed from wheels as the referee's pip does, and pip
/// 24.0's rules, caching in `cache`.
fn config(cache: &Path) -> Config {
    toml::from_str(&format!(
        "[build-deps]\nindex-url = \"https://pypi.org/simple/\"\ntarget-pythons = [\"3.7\", \"3.9\"]\nonly-binary = [\"setuptools\", \"wheel\"]\ncache-dir = {:?}\npip = \"24.0\"\n",
        cache.to_str().unwrap()
    ))
    .unwrap()
}

/// That analysis with a fresh cache, as of `as_of`.
fn analyse(as_of: &str) -> GateOutcome {
    let cache = tempfile::tempdir().unwrap();
    let outcome = run(&data(), &config(cache.path()), as_of);
    reached(&outcome);
    outcome
}

/// The version of `name` that build isolation took on 2022-07-15.
fn took(name: &str) -> String {
    pinned(&data(), "isolation-2022-07-15.txt", name)
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
    let cycles = items(&outcome, "build-cycle");
    // importlib-metadata also needs zipp at run time, which builds with
    // setuptools-scm: one knot, its second cycle in the evidence. As in the
    // referee, setuptools and wheel come as wheels: no cycle through them.
    assert_eq!(cycles.len(), 1, "{outcome:#?}");
    assert_eq!(
        (cycles[0].status, cycles[0].subject.as_str()),
        (Status::Fail, "importlib-metadata→setuptools-scm")
    );
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
    let evidence = facts(cycles[0]);
    assert!(
        // Build environments take the newest zipp, 3.8.1 (2022-07-10).
        evidence.contains(&format!(
            "zipp 3.8.1 → {built_by_scm} → {marker} → zipp 3.8.1 (zipp>=0.5 [setup.cfg install_requires])"
        )),
        "{evidence}"
    );
    assert!(evidence.contains("\"reached from\",\"value\":\"requirements.txt: zipp 3.8.0\""), "{evidence}");

    // Everything build isolation installs is unpinned, with the version the
    // index gave that day: what pip took then.
    let unpinned = items(&outcome, "unpinned-build-dep");
    let names: Vec<&str> = unpinned.iter().map(|i| i.subject.as_str()).collect();
    assert_eq!(
        names,
        [
            "flit-core",
            "importlib-metadata",
            "packaging",
            "pyparsing",
            "setuptools",
            "setuptools-scm",
            "tomli",
            "typing-extensions",
            "wheel",
            "zipp"
        ],
        "{unpinned:#?}"
    );
    for item in unpinned.iter().filter(|i| !["setuptools", "wheel", "zipp"].contains(&i.subject.as_str())) {
        assert_eq!(item.status, Status::Fail);
        let gives = format!("\"index gives\",\"value\":\"{} {}\"", item.subject, took(&item.subject));
        assert!(facts(item).contains(&gives), "{item:#?}");
    }
    // Every need of the closure is known, though wheel 0.37.1 and packaging
    // 21.3 declare theirs in setup.py only: their egg-info says.
    assert!(items(&outcome, "build-metadata").is_empty(), "{:#?}", items(&outcome, "build-metadata"));
    // The closure holds what the referee holds pip to.
    let closure = facts(items(&outcome, "build-closure")[0]);
    let text = std::fs::read_to_string(data().join("isolation-2022-07-15.txt")).unwrap();
    for pin in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(closure.contains(pin), "{pin} in {closure}");
    }
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
    assert_eq!(cycles[0].status, Status::Pass, "{cycles:#?}");
    assert!(cycles[0].reason.starts_with("no build-time cycle among "), "{}", cycles[0].reason);
}

#[test]
fn real_pip_24_meets_the_zipp_cycle_on_37_and_builds_on_39_as_the_analysis_says() {
    // The analysis's verdict per Python, as of 2022-07-15.
    let outcome = analyse("2022-07-15T00:00:00Z");
    let cycles = items(&outcome, "build-cycle");
    assert!(cycles[0].reason.starts_with("build-time cycle on 3.7 (not on 3.9): "), "{cycles:#?}");
    // pip 24.0 (the rules the analysis applies here, and the last pip for
    // 3.7), setuptools and wheel as wheels, every build environment held by
    // the build requirements and what isolation took that day.
    let constraints: String = ["build-requirements.txt", "isolation-2022-07-15.txt"]
        .iter()
        .map(|file| std::fs::read_to_string(data().join(file)).unwrap())
        .collect();
    let requirements = [format!("zipp=={}", pinned(&data(), "requirements.txt", "zipp"))];
    let only_binary = ["--only-binary", "setuptools,wheel"];
    let runs = referee(&["3.7", "3.9"], &["pip==24.0".to_owned()], &only_binary, &requirements, &constraints);
    let (on37, on39) = (&runs[0], &runs[1]);
    eprintln!("{}\n{}", on37.ended(), on39.ended());
    // 3.7: setuptools-scm 7.0.5 is built for zipp's build environment; to
    // install it, importlib-metadata is built, whose build environment needs
    // setuptools-scm again: pip stops at the second build of the same sdist.
    let again = on37.cycle().unwrap_or_else(|| panic!("pip met no cycle on 3.7: {}", on37.tail()));
    assert!(again.contains(&format!("importlib_metadata-{}.tar.gz", took("importlib-metadata"))), "{again}");
    assert!(again.contains("(from setuptools_scm"), "{again}");
    // 3.9: the same set and the same pins, setuptools-scm 7.0.5 from source
    // included, without importlib-metadata.
    assert_eq!(on39.code, Some(0), "{}", on39.tail());
    assert!(
        on39.log.contains(&format!("setuptools_scm-{}.tar.gz", took("setuptools-scm"))),
        "{}",
        on39.tail()
    );
    assert!(on39.cycle().is_none() && !on39.log.contains("importlib_metadata-"), "{}", on39.tail());
}
