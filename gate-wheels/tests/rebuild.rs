//! The rebuild check, for real: pip, flit_core and pyenv Pythons build the
//! example packages offline (`--no-index --find-links` to sdists these tests
//! make), and broken inputs become error items while the others finish.
//!
//! Needs `python3` (to make the sdists) and the pyenv Pythons 3.9 and 3.11
//! (`$PYENV_ROOT/versions/3.9.*`, `3.11.*`). A missing Python is not
//! skipped: the test fails with the item that says which one is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gate_core::{Context, Evidence, Gate, HumanDuration, Item, Status};
use gate_wheels::{Config, WheelsGate, hex, rebuild};
use sha2::Digest as _;
use test_support::example;

const EPOCH: i64 = 1_700_000_000;
const FLIT_CORE: &str = "flit_core-3.9.0-py3-none-any.whl";

/// Runs a command, panicking with its output when it fails.
fn run(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn sha256(path: &Path) -> String {
    hex(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Sdists of the example packages, made once per test run with flit_core
/// from the committed wheel, and a wheel of rc-greeting built with another
/// `SOURCE_DATE_EPOCH`.
struct Fixture {
    _dir: tempfile::TempDir,
    /// `--find-links`: the sdists and flit_core's wheel.
    dist: PathBuf,
    /// rc-greeting's wheel built in 2020 instead of 2023.
    greeting_2020: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        let localwheels = example("release-repo/localwheels");
        std::fs::copy(localwheels.join(FLIT_CORE), dist.join(FLIT_CORE)).unwrap();
        let venv = dir.path().join("venv");
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        let python = venv.join("bin/python");
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--no-index", "--require-hashes", "-r"])
            .arg(example("release-repo/build-requirements.txt"))
            .arg("--find-links")
            .arg(&localwheels));
        for package in ["rc-greeting", "rc-units", "rc-stamp", "rc-clock"] {
            let copy = dir.path().join("packages").join(package);
            copy_tree(&example("packages").join(package), &copy);
            run(Command::new(&python)
                .args(["-c", "import sys, flit_core.buildapi as b; b.build_sdist(sys.argv[1])"])
                .arg(&dist)
                .current_dir(&copy)
                .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
                .env("PYTHONDONTWRITEBYTECODE", "1"));
        }
        let out = dir.path().join("greeting-2020");
        run(Command::new(&python)
            .args(["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w"])
            .arg(&out)
            .arg(dir.path().join("packages/rc-greeting"))
            .env("SOURCE_DATE_EPOCH", "1600000000"));
        let greeting_2020 = out.join("rc_greeting-1.0.0-py3-none-any.whl");
        write_sdist(&dist, "rc_nobackend-1.0", &[("rc_nobackend.py", "VALUE = 1\n")]);
        write_sdist(
            &dist,
            "rc_hang-1.0",
            &[
                (
                    "pyproject.toml",
                    "[build-system]\nrequires = []\nbuild-backend = \"hang\"\nbackend-path = [\".\"]\n",
                ),
                ("hang.py", HANGING_BACKEND),
            ],
        );
        Fixture { _dir: dir, dist, greeting_2020 }
    })
}

/// A build backend that never finishes, and starts a child that would
/// outlive it if only the backend were killed.
const HANGING_BACKEND: &str = r#"
import subprocess, sys, time
def _hang(*args, **kwargs):
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "rc-hang-child-marker"])
    time.sleep(3600)
prepare_metadata_for_build_wheel = build_wheel = _hang
"#;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Writes `<dist>/<top>.tar.gz` with `files` under `<top>/`.
fn write_sdist(dist: &Path, top: &str, files: &[(&str, &str)]) {
    let staging = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = staging.path().join(top).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    run(Command::new("tar")
        .arg("-czf")
        .arg(dist.join(format!("{top}.tar.gz")))
        .arg("-C")
        .arg(staging.path())
        .arg(top));
}

/// A repository with `localwheels/`, a sums file listing `wheels` (name,
/// committed file or none), the build requirements, and sdist pins.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(wheels: &[(&str, Option<PathBuf>)], pins: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("localwheels")).unwrap();
        let mut sums = String::new();
        for (name, committed) in wheels {
            let path = root.join("localwheels").join(name);
            match committed {
                Some(from) => std::fs::copy(from, &path).map(drop).unwrap(),
                None => std::fs::write(&path, "not a wheel").unwrap(),
            }
            sums.push_str(&format!("{}  {name}\n", sha256(&path)));
        }
        std::fs::write(root.join("sha256sums.txt"), sums).unwrap();
        std::fs::copy(example("release-repo/build-requirements.txt"), root.join("build-requirements.txt"))
            .unwrap();
        let pins: String = pins.iter().map(|(pin, hash)| format!("{pin} --hash=sha256:{hash}\n")).collect();
        std::fs::write(root.join("sdist-requirements.txt"), pins).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self, pythons: &[&str]) -> rebuild::Config {
        rebuild::Config {
            pythons: pythons.iter().map(ToString::to_string).collect(),
            index_url: None,
            find_links: vec![fixture().dist.display().to_string()],
            build_requirements: "build-requirements.txt".to_owned(),
            requirements: "sdist-requirements.txt".to_owned(),
            source_date_epoch: Some(EPOCH),
            jobs: None,
            timeout: HumanDuration(Duration::from_secs(300)),
            cache_dir: Some(self.path().join("cache")),
            cache: true,
            allow_root: true,
            wheels: Vec::new(),
        }
    }

    /// The rebuild items of a run, sorted by subject.
    fn rebuild(&self, config: rebuild::Config, jobs: usize) -> Vec<Item> {
        let gate = WheelsGate::new(Config { rebuild: Some(config), ..Config::default() });
        let mut ctx = Context::new(self.path());
        ctx.jobs = jobs;
        let mut items: Vec<Item> =
            gate.run(&ctx).items.into_iter().filter(|i| i.check.starts_with("rebuild")).collect();
        items.sort_by(|a, b| a.subject.cmp(&b.subject));
        items
    }
}

fn sdist(name: &str) -> String {
    sha256(&fixture().dist.join(name))
}

fn fact<'a>(item: &'a Item, label: &str) -> Option<&'a str> {
    item.evidence.iter().find_map(|e| match e {
        Evidence::Fact { label: l, value } if l == label => Some(value.as_str()),
        _ => None,
    })
}

fn describe(items: &[Item]) -> String {
    items.iter().map(|i| format!("{} {:?} {}\n  {:?}\n", i.subject, i.status, i.reason, i.evidence)).collect()
}

fn committed(name: &str) -> PathBuf {
    example("release-repo/localwheels").join(name)
}

#[test]
fn example_wheels_rebuild_reproducibly_and_a_rerun_uses_the_cache() {
    let wheels = ["rc_greeting-1.0.0-py3-none-any.whl", "rc_units-0.3.1-py3-none-any.whl"];
    let repo = Repo::new(
        &wheels.map(|w| (w, Some(committed(w)))),
        &[
            ("rc-greeting==1.0.0", sdist("rc_greeting-1.0.0.tar.gz")),
            ("rc_units==0.3.1", sdist("rc_units-0.3.1.tar.gz")),
        ],
    );
    let started = Instant::now();
    let first = repo.rebuild(repo.config(&["3.11", "3.9"]), 2);
    let first_took = started.elapsed();
    assert_eq!(first.len(), 4, "{}", describe(&first));
    for item in &first {
        assert_eq!(
            (item.status, item.reason.as_str()),
            (Status::Pass, "reproducible: both builds and the committed wheel are identical"),
            "{}",
            describe(&first)
        );
        let python = if item.subject.ends_with("@3.9") { "cpython 3.9." } else { "cpython 3.11." };
        assert!(fact(item, "python").unwrap().starts_with(python), "{}", describe(&first));
        assert!(fact(item, "abi tag").unwrap().starts_with("cp3"), "{}", describe(&first));
        assert!(!fact(item, "platform tag").unwrap().is_empty());
        assert!(fact(item, "built wheels").unwrap().ends_with("(built and stored in the cache)"));
    }
    assert_eq!(first[0].subject, "localwheels/rc_greeting-1.0.0-py3-none-any.whl@3.11");

    let started = Instant::now();
    let again = repo.rebuild(repo.config(&["3.11", "3.9"]), 2);
    let again_took = started.elapsed();
    assert!(again.iter().all(|i| i.status == Status::Pass), "{}", describe(&again));
    assert!(again.iter().all(|i| fact(i, "built wheels").unwrap().ends_with("(reused from the cache)")));
    assert!(again_took < first_took / 4, "cached run {again_took:?}, first {first_took:?}");

    // --wheel rc-units --no-cache: only that wheel, built again.
    let config =
        rebuild::Config { wheels: vec!["rc-units".to_owned()], cache: false, ..repo.config(&["3.11"]) };
    let one = repo.rebuild(config, 2);
    assert_eq!(one.len(), 1, "{}", describe(&one));
    assert_eq!(one[0].subject, "localwheels/rc_units-0.3.1-py3-none-any.whl@3.11");
    assert!(
        fact(&one[0], "built wheels").unwrap().ends_with("(built (cache disabled))"),
        "{}",
        describe(&one)
    );
}

#[test]
fn a_wheel_that_differs_and_one_that_is_unstable_are_explained() {
    let greeting = "rc_greeting-1.0.0-py3-none-any.whl";
    let clock = "rc_clock-0.1.0-py3-none-any.whl";
    let repo = Repo::new(
        &[(greeting, Some(fixture().greeting_2020.clone())), (clock, None)],
        &[
            ("rc-greeting==1.0.0", sdist("rc_greeting-1.0.0.tar.gz")),
            ("rc-clock==0.1.0", sdist("rc_clock-0.1.0.tar.gz")),
        ],
    );
    let items = repo.rebuild(repo.config(&["3.11"]), 2);
    assert_eq!(items.len(), 2, "{}", describe(&items));
    let (clock, greeting) = (&items[0], &items[1]);

    assert_eq!(
        (clock.check.as_ref(), clock.status),
        ("rebuild-unstable", Status::Fail),
        "{}",
        describe(&items)
    );
    assert!(clock.reason.starts_with("unstable between builds: "), "{}", clock.reason);
    let explained = describe(std::slice::from_ref(clock));
    assert!(explained.contains("rc_clock/_built.py") && explained.contains("BUILT_AT_NS"), "{explained}");

    assert_eq!((greeting.check.as_ref(), greeting.status), ("rebuild", Status::Fail), "{}", describe(&items));
    assert!(greeting.reason.starts_with("differs from the committed wheel: "), "{}", greeting.reason);
    // Built in 2020 and in 2023: the zip timestamps say so, member by member.
    let explained = describe(std::slice::from_ref(greeting));
    assert!(
        explained.contains("timestamp") && explained.contains("2020") && explained.contains("2023"),
        "{explained}"
    );
}

/// Whether a process whose command line contains `marker` is running.
fn running(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(marker))
    })
}

#[test]
fn bad_inputs_are_error_items_and_the_other_wheels_still_finish() {
    let names = [
        "rc_greeting-1.0.0-py3-none-any.whl",
        "rc_hang-1.0-py3-none-any.whl",
        "rc_nobackend-1.0-py3-none-any.whl",
        "rc_units-0.3.1-py3-none-any.whl",
    ];
    let repo = Repo::new(
        &[
            (names[0], Some(committed(names[0]))),
            (names[1], None),
            (names[2], None),
            (names[3], Some(committed(names[3]))),
        ],
        &[
            // Not the sdist's hash: pip must refuse it, and say so.
            ("rc-greeting==1.0.0", "0".repeat(64)),
            ("rc-hang==1.0", sdist("rc_hang-1.0.tar.gz")),
            ("rc-nobackend==1.0", sdist("rc_nobackend-1.0.tar.gz")),
            ("rc-units==0.3.1", sdist("rc_units-0.3.1.tar.gz")),
        ],
    );
    let config = rebuild::Config {
        timeout: HumanDuration(Duration::from_secs(120)),
        ..repo.config(&["3.11", "2.99", "bin/no-such-python"])
    };
    let started = Instant::now();
    let items = repo.rebuild(config, 2);
    let took = started.elapsed();
    let all = describe(&items);
    assert_eq!(items.len(), 12, "{all}");
    let item = |wheel: &str, python: &str| {
        items.iter().find(|i| i.subject == format!("localwheels/{wheel}@{python}")).unwrap()
    };
    let log = |item: &Item| describe(std::slice::from_ref(item));

    for wheel in names {
        let missing = item(wheel, "2.99");
        assert_eq!(missing.status, Status::Error);
        assert!(
            missing.reason.starts_with("Python 2.99 not found: no ")
                && missing.reason.contains("pyenv install 2.99"),
            "{}",
            missing.reason
        );
        let missing = item(wheel, "bin/no-such-python");
        assert_eq!(missing.status, Status::Error);
        assert!(
            missing.reason.starts_with("cannot run the interpreter ")
                && missing.reason.contains("no-such-python"),
            "{}",
            missing.reason
        );
    }

    let mismatch = item(names[0], "3.11");
    assert_eq!((mismatch.check.as_ref(), mismatch.status), ("rebuild-failed", Status::Error), "{all}");
    assert!(log(mismatch).contains("DO NOT MATCH THE HASHES"), "{}", log(mismatch));
    assert!(fact(mismatch, "full log").unwrap().ends_with("download.log"), "{}", log(mismatch));

    let hang = item(names[1], "3.11");
    assert_eq!(hang.status, Status::Error, "{all}");
    assert!(hang.reason.starts_with("timed out after 120s"), "{}", hang.reason);
    assert!(took < Duration::from_secs(400), "the hanging build held the run for {took:?}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(!running("rc-hang-child-marker"), "a process the hanging build started is still running");

    let nobackend = item(names[2], "3.11");
    assert_eq!(nobackend.status, Status::Error, "{all}");
    assert!(log(nobackend).contains("neither 'setup.py' nor 'pyproject.toml' found"), "{}", log(nobackend));

    let good = item(names[3], "3.11");
    assert_eq!((good.status, good.check.as_ref()), (Status::Pass, "rebuild"), "{all}");
}

#[test]
fn what_the_jobs_share_is_checked_before_anything_is_built() {
    let wheel = "rc_units-0.3.1-py3-none-any.whl";
    let repo = Repo::new(&[(wheel, Some(committed(wheel)))], &[]);
    let is_root =
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap();

    let items = repo.rebuild(rebuild::Config { allow_root: false, ..repo.config(&["3.11"]) }, 1);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].reason.starts_with("refusing to build as root"), is_root, "{}", describe(&items));

    let items = repo.rebuild(rebuild::Config { source_date_epoch: None, ..repo.config(&["3.11"]) }, 1);
    assert_eq!(items[0].status, Status::Error);
    assert!(items[0].reason.contains("the last commit's time is unknown"), "{}", describe(&items));

    let items = repo.rebuild(repo.config(&["3.11"]), 1);
    assert_eq!(items[0].status, Status::Error);
    assert!(items[0].reason.starts_with("no pin `rc-units==0.3.1` with --hash"), "{}", describe(&items));

    // A cache directory that cannot be written (here: below a file), as a
    // full disk would: an error item naming it, before pip runs.
    let pin = format!("rc-units==0.3.1 --hash=sha256:{}\n", sdist("rc_units-0.3.1.tar.gz"));
    std::fs::write(repo.path().join("sdist-requirements.txt"), pin).unwrap();
    let unwritable = repo.path().join("sha256sums.txt/cache");
    let items = repo.rebuild(rebuild::Config { cache_dir: Some(unwritable), ..repo.config(&["3.11"]) }, 1);
    assert_eq!(items[0].status, Status::Error);
    assert!(items[0].reason.contains("sha256sums.txt/cache/rebuild/"), "{}", describe(&items));

    let items =
        repo.rebuild(rebuild::Config { wheels: vec!["rc-unit".to_owned()], ..repo.config(&["3.11"]) }, 1);
    assert_eq!(items.len(), 1, "{}", describe(&items));
    assert_eq!((items[0].subject.as_str(), items[0].status), ("rc-unit", Status::Error));
}

/// Two real pure-Python packages, their sdists and build backend fetched
/// from PyPI (CI can reach it) by hash: their wheels, rebuilt with
/// `SOURCE_DATE_EPOCH=1700000000` by CPython 3.11, must be these. (PyPI's
/// own wheels were built at another time, so they differ in timestamps.)
#[test]
fn real_packages_from_pypi_rebuild_reproducibly() {
    let wheels = [
        (
            "flit_core-3.9.0-py3-none-any.whl",
            "6e1737dfb9bcb469ea9a8d88385a5d201146d3ee76c62502ed88a99872a55076",
        ),
        ("tomli-2.0.1-py3-none-any.whl", "fb9a6957ccfad3faf6ffe8cd114748408b8b8a2792ca33116f813751ebc65dcc"),
    ];
    let repo = Repo::new(
        &[],
        &[
            (
                "flit-core==3.9.0",
                "72ad266176c4a3fcfab5f2930d76896059851240570ce9a98733b658cb786eba".to_owned(),
            ),
            ("tomli==2.0.1", "de526c12914f0c550d15924c62d72abc48d6fe7364aa87328337a31007fe8a4f".to_owned()),
        ],
    );
    let sums: String = wheels.iter().map(|(name, hash)| format!("{hash}  {name}\n")).collect();
    std::fs::write(repo.path().join("sha256sums.txt"), sums).unwrap();
    let config = rebuild::Config { find_links: Vec::new(), ..repo.config(&["3.11"]) };
    let items = repo.rebuild(config, 2);
    assert_eq!(items.len(), 2, "{}", describe(&items));
    for item in &items {
        assert_eq!((item.check.as_ref(), item.status), ("rebuild", Status::Pass), "{}", describe(&items));
    }
}

#[test]
fn a_sharded_run_rebuilds_each_wheel_once() {
    let names = ["rc_greeting-1.0.0-py3-none-any.whl", "rc_units-0.3.1-py3-none-any.whl"];
    let repo = Repo::new(&names.map(|w| (w, Some(committed(w)))), &[]);
    // No sdist pins: every job stops before building, with an error item.
    let config = rebuild::Config {
        wheels: vec!["rc-units".to_owned(), "rc-nope".to_owned()],
        ..repo.config(&["3.11", "3.9"])
    };
    let gate = WheelsGate::new(Config { rebuild: Some(config), ..Config::default() });
    let ctx = Context::new(repo.path());
    let ids = |ctx: &Context| -> Vec<String> {
        gate.run(ctx)
            .items
            .iter()
            .filter(|i| i.check.starts_with("rebuild"))
            .map(|i| i.id_in("wheels"))
            .collect()
    };
    let mut whole = ids(&ctx);
    whole.sort();
    assert_eq!(
        whole,
        [
            "wheels/rebuild-failed/localwheels/rc_units-0.3.1-py3-none-any.whl@3.11",
            "wheels/rebuild-failed/localwheels/rc_units-0.3.1-py3-none-any.whl@3.9",
            "wheels/rebuild-failed/rc-nope",
        ]
    );
    let mut by_unit: Vec<String> = gate
        .units(&ctx)
        .into_iter()
        .flat_map(|unit| {
            ids(&Context { units: Some(std::collections::BTreeSet::from([unit])), ..ctx.clone() })
        })
        .collect();
    by_unit.sort();
    assert_eq!(by_unit, whole);
}
