//! The rebuild's own PEP 517 frontend, its shared environments and its
//! variations, for real:
//!
//! - pip is the referee: every example package, and flit_core and tomli
//!   from PyPI, built by the rebuild must be byte-identical to `pip wheel
//!   --no-deps --no-build-isolation` of the same sdist under the same
//!   `SOURCE_DATE_EPOCH`;
//! - a build that writes into its shared environment fails, or is caught;
//! - each variation is named, and a package whose bytes depend on one
//!   condition is explained by exactly that variation.
//!
//! Needs `python3`, the pyenv Pythons 3.9 and 3.11, and for every
//! variation to apply, `faketime`, `taskset`, `disorderfs` with FUSE, and
//! the et_EE.UTF-8 locale (a variation this machine cannot apply must be
//! named under "not varied", which the tests check instead).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use gate_core::{Context, Evidence, Gate, HumanDuration, Item, Status};
use gate_wheels::{Config, WheelsGate, hex, rebuild};
use sha2::Digest as _;
use test_support::example;

const EPOCH: i64 = 1_700_000_000;
const FLIT_CORE: &str = "flit_core-3.9.0-py3-none-any.whl";
const EXAMPLES: [&str; 4] = ["rc-greeting", "rc-units", "rc-stamp", "rc-extra"];

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

/// The newest pyenv Python `version`.
fn pyenv(version: &str) -> PathBuf {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".pyenv"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{version}.")))
        .collect();
    found.sort_by_key(|p| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .split('.')
            .map(|n| n.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    found.pop().unwrap_or_else(|| panic!("no pyenv Python {version}")).join("bin/python")
}

/// A PEP 517 backend (in the tree, `backend-path = ["."]`) whose wheel holds
/// one value read from the build's conditions, named in `which.txt`; it
/// has no `prepare_metadata_for_build_wheel`, so the frontend asks only for
/// the wheel. `write-env` writes into the environment it runs in.
const PROBE_BACKEND: &str = r#"
import hashlib, base64, locale, os, sys, sysconfig, time, zipfile

def _value(which):
    if which == "time zone": return time.strftime("%z", time.localtime(0))
    if which == "locale":
        locale.setlocale(locale.LC_ALL, "")
        return repr(locale.getlocale())
    if which == "HOME": return os.environ["HOME"]
    if which == "build path": return os.getcwd()
    if which == "umask":
        mask = os.umask(0)
        os.umask(mask)
        return oct(mask)
    if which == "environment": return os.environ.get("CAPTURE_ENVIRONMENT", "")
    if which == "CPUs": return str(len(os.sched_getaffinity(0)))
    if which == "clock": return time.strftime("%Y", time.gmtime())
    if which == "file order": return " ".join(os.listdir("data"))
    if which == "write-env":
        with open(os.path.join(sysconfig.get_paths()["purelib"], "rc_written_by_a_build.pth"), "w") as f:
            f.write("import sys\n")
    return "same"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("which.txt") as f:
        which = f.read().strip()
    name = open("name.txt").read().strip()
    files = {
        name + "/__init__.py": ("VALUE = %r\n" % _value(which)).encode(),
        name + "-1.0.dist-info/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name).encode(),
        name + "-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: probe\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    files[name + "-1.0.dist-info/RECORD"] = (record + name + "-1.0.dist-info/RECORD,,\n").encode()
    wheel = name + "-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return wheel
"#;

/// What the probe packages measure: every variation, plus two that are
/// not one.
const PROBES: [&str; 11] = [
    "build path",
    "HOME",
    "time zone",
    "locale",
    "umask",
    "environment",
    "CPUs",
    "clock",
    "file order",
    "same",
    "write-env",
];

fn probe_name(which: &str) -> String {
    format!("rc_probe_{}", which.to_lowercase().replace([' ', '-'], "_"))
}

struct Fixture {
    _dir: tempfile::TempDir,
    /// `--find-links`: the sdists and flit_core's wheel.
    dist: PathBuf,
    /// The probe package `same`'s wheel, as its backend builds it.
    probe_same: PathBuf,
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
        for package in EXAMPLES {
            run(Command::new(&python)
                .args(["-c", "import sys, flit_core.buildapi as b; b.build_sdist(sys.argv[1])"])
                .arg(&dist)
                .current_dir(example("packages").join(package))
                .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
                .env("PYTHONDONTWRITEBYTECODE", "1"));
        }
        let mut probe_same = PathBuf::new();
        for which in PROBES {
            let name = probe_name(which);
            let top = dir.path().join("probes").join(format!("{name}-1.0"));
            std::fs::create_dir_all(top.join("data")).unwrap();
            for n in 0..16 {
                std::fs::write(top.join("data").join(format!("file-{n:02}")), "").unwrap();
            }
            std::fs::write(
                top.join("pyproject.toml"),
                "[build-system]\nrequires = []\nbuild-backend = \"probe_backend\"\nbackend-path = [\".\"]\n",
            )
            .unwrap();
            std::fs::write(top.join("probe_backend.py"), PROBE_BACKEND).unwrap();
            std::fs::write(top.join("which.txt"), which).unwrap();
            std::fs::write(top.join("name.txt"), &name).unwrap();
            run(Command::new("tar")
                .arg("-czf")
                .arg(dist.join(format!("{name}-1.0.tar.gz")))
                .arg("-C")
                .arg(top.parent().unwrap())
                .arg(top.file_name().unwrap()));
            if which == "same" {
                let out = dir.path().join("probe-same");
                std::fs::create_dir_all(&out).unwrap();
                run(Command::new("python3")
                    .args(["-c", "import sys, probe_backend as b; b.build_wheel(sys.argv[1])"])
                    .arg(&out)
                    .current_dir(&top)
                    .env("PYTHONDONTWRITEBYTECODE", "1"));
                probe_same = out.join(format!("{name}-1.0-py3-none-any.whl"));
            }
        }
        Fixture { _dir: dir, dist, probe_same }
    })
}

/// A repository listing `wheels` (committed file or not a wheel), pinning
/// `pins` by hash, with the example's build requirements.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(wheels: &[(String, Option<PathBuf>)], pins: &[(String, String)]) -> Self {
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
            cache_dir: Some(self.dir.path().join("cache")),
            cache: true,
            allow_root: true,
            wheels: Vec::new(),
        }
    }

    fn rebuild(&self, config: rebuild::Config, jobs: usize) -> Vec<Item> {
        let gate = WheelsGate::new(Config { rebuild: Some(config), ..Config::default() });
        let mut ctx = Context::new(self.dir.path());
        ctx.jobs = jobs;
        let mut items: Vec<Item> =
            gate.run(&ctx).items.into_iter().filter(|i| i.check.starts_with("rebuild")).collect();
        items.sort_by(|a, b| a.subject.cmp(&b.subject));
        items
    }
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

/// The first build's wheel, as the item's `built wheels` fact names it.
fn built_wheel(item: &Item) -> PathBuf {
    let fact =
        fact(item, "built wheels").unwrap_or_else(|| panic!("{}", describe(std::slice::from_ref(item))));
    PathBuf::from(fact.rsplit_once(" (").unwrap().0)
}

/// `pip wheel --no-deps --no-build-isolation` of `sdist` in a fresh venv of
/// `python` holding the build requirements `install` names, under
/// `SOURCE_DATE_EPOCH`; the wheel.
fn pip_wheel(python: &Path, install: &[&str], sdist: &Path, out: &Path) -> PathBuf {
    let venv = out.join("venv");
    run(Command::new(python).args(["-m", "venv"]).arg(&venv));
    let pip = |args: &[&str]| {
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.args(["-m", "pip"])
            .args(args)
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .env("PYTHONHASHSEED", "0")
            .env("TZ", "UTC")
            .env("LC_ALL", "C.UTF-8")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        run(&mut cmd)
    };
    pip(&[&["install", "--quiet", "--no-deps", "--require-hashes"][..], install].concat());
    let wheels = out.join("wheels");
    let (wheels_text, sdist_text) = (wheels.display().to_string(), sdist.display().to_string());
    pip(&["wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", &wheels_text, &sdist_text]);
    let found: Vec<PathBuf> = std::fs::read_dir(&wheels).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// Every example package, on 3.11 and 3.9: the rebuild's wheel is the
/// bytes pip builds from the same sdist.
#[test]
fn example_wheels_are_the_bytes_pip_builds() {
    let dist = &fixture().dist;
    let sdists: Vec<(String, PathBuf)> = EXAMPLES
        .iter()
        .map(|p| {
            let prefix = p.replace('-', "_") + "-";
            let sdist = std::fs::read_dir(dist)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|f| {
                    f.file_name().unwrap().to_string_lossy().starts_with(&prefix)
                        && f.extension().unwrap() == "gz"
                })
                .unwrap();
            (p.to_string(), sdist)
        })
        .collect();
    let name_version = |sdist: &Path| {
        let stem = sdist.file_name().unwrap().to_string_lossy().trim_end_matches(".tar.gz").to_owned();
        let (name, version) = stem.rsplit_once('-').unwrap();
        (name.to_owned(), version.to_owned())
    };
    let wheels: Vec<(String, Option<PathBuf>)> = sdists
        .iter()
        .map(|(_, s)| {
            let (name, version) = name_version(s);
            (format!("{name}-{version}-py3-none-any.whl"), None)
        })
        .collect();
    let pins: Vec<(String, String)> = sdists
        .iter()
        .map(|(_, s)| {
            let (name, version) = name_version(s);
            (format!("{name}=={version}"), sha256(s))
        })
        .collect();
    let repo = Repo::new(&wheels, &pins);
    let items = repo.rebuild(repo.config(&["3.11", "3.9"]), 2);
    assert_eq!(items.len(), 2 * EXAMPLES.len(), "{}", describe(&items));
    let referee = tempfile::tempdir().unwrap();
    let flit = example("release-repo/localwheels").join(FLIT_CORE);
    let flit_pin = format!("flit_core @ file://{}", flit.display());
    let hash = format!("--hash=sha256:{}", sha256(&flit));
    for (version, python) in [("3.11", pyenv("3.11")), ("3.9", pyenv("3.9"))] {
        for (package, sdist) in &sdists {
            let item = items
                .iter()
                .find(|i| {
                    i.subject.ends_with(&format!("@{version}"))
                        && i.subject.contains(&package.replace('-', "_"))
                })
                .unwrap();
            // Committed as "not a wheel": the item says the rebuild differs
            // from it, and names its own wheel.
            assert_eq!(item.check, "rebuild", "{}", describe(std::slice::from_ref(item)));
            let out = referee.path().join(format!("{package}-{version}"));
            std::fs::create_dir_all(&out).unwrap();
            let requirement = format!("{flit_pin} {hash}");
            let pip = pip_wheel(&python, &["-r", &write(&out.join("req.txt"), &requirement)], sdist, &out);
            assert_eq!(
                std::fs::read(built_wheel(item)).unwrap(),
                std::fs::read(&pip).unwrap(),
                "{package} on {version}: the rebuild's wheel is not the bytes pip built ({})",
                pip.display()
            );
        }
    }
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, format!("{text}\n")).unwrap();
    path.display().to_string()
}

/// flit_core 3.9.0 (its own backend, from `backend-path`) and tomli 2.0.1
/// from PyPI, rebuilt on 3.11: the bytes pip builds from the same sdists.
#[test]
fn real_packages_from_pypi_are_the_bytes_pip_builds() {
    let sdists = [
        (
            "flit-core",
            "3.9.0",
            "flit_core-3.9.0.tar.gz",
            "72ad266176c4a3fcfab5f2930d76896059851240570ce9a98733b658cb786eba",
        ),
        (
            "tomli",
            "2.0.1",
            "tomli-2.0.1.tar.gz",
            "de526c12914f0c550d15924c62d72abc48d6fe7364aa87328337a31007fe8a4f",
        ),
    ];
    let wheels: Vec<(String, Option<PathBuf>)> =
        ["flit_core-3.9.0-py3-none-any.whl", "tomli-2.0.1-py3-none-any.whl"]
            .map(|w| (w.to_owned(), None))
            .to_vec();
    let pins: Vec<(String, String)> =
        sdists.iter().map(|(n, v, _, h)| (format!("{n}=={v}"), (*h).to_owned())).collect();
    let repo = Repo::new(&wheels, &pins);
    let config = rebuild::Config { find_links: Vec::new(), ..repo.config(&["3.11"]) };
    let items = repo.rebuild(config, 2);
    assert_eq!(items.len(), 2, "{}", describe(&items));
    let referee = tempfile::tempdir().unwrap();
    let python = pyenv("3.11");
    for ((name, version, file, hash), item) in sdists.iter().zip(&items) {
        assert_eq!(item.check, "rebuild", "{}", describe(&items));
        let out = referee.path().join(name);
        std::fs::create_dir_all(out.join("sdist")).unwrap();
        let sdist_dir = out.join("sdist").display().to_string();
        let pin = write(&out.join("sdist.txt"), &format!("{name}=={version} --hash=sha256:{hash}"));
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--require-hashes",
                "-r",
                &pin,
                "-d",
                &sdist_dir,
            ])
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"));
        let build = write(
            &out.join("build.txt"),
            &std::fs::read_to_string(repo.dir.path().join("build-requirements.txt")).unwrap(),
        );
        let pip = pip_wheel(&python, &["-r", &build], &out.join("sdist").join(file), &out);
        assert_eq!(std::fs::read(built_wheel(item)).unwrap(), std::fs::read(&pip).unwrap(), "{name}");
    }
}

/// A build that writes a `.pth` file into the shared environment: refused
/// by the missing write bits, or (as root, who ignores them) seen, failing
/// that build and every later one of the environment; the next run makes
/// the environment anew.
#[test]
fn a_build_that_writes_into_its_environment_fails_or_is_caught() {
    let (evil, good) = (probe_name("write-env"), probe_name("same"));
    let sdist = |name: &str| sha256(&fixture().dist.join(format!("{name}-1.0.tar.gz")));
    let wheel = |name: &str| format!("{name}-1.0-py3-none-any.whl");
    let repo = Repo::new(
        &[(wheel(&evil), None), (wheel(&good), Some(fixture().probe_same.clone()))],
        &[(format!("{evil}==1.0"), sdist(&evil)), (format!("{good}==1.0"), sdist(&good))],
    );
    // One job at a time, the writer first (by name: rc_probe_same sorts after).
    let items = repo.rebuild(rebuild::Config { cache: false, ..repo.config(&["3.11"]) }, 1);
    let all = describe(&items);
    let (good_item, evil_item) = (&items[0], &items[1]);
    assert_eq!(evil_item.status, Status::Error, "{all}");
    let refused = all.contains("Permission denied");
    let caught = evil_item.reason.contains("the shared build environment")
        && evil_item.reason.contains("rc_written_by_a_build.pth added");
    assert!(refused || caught, "{all}");
    if caught {
        assert_eq!(good_item.status, Status::Error, "a later build of a changed environment ran: {all}");
        assert!(good_item.reason.contains("rc_written_by_a_build.pth added"), "{all}");
    }
    // The environment is sealed: no write bit anywhere.
    let envs = repo.dir.path().join("cache/rebuild/envs");
    let env = std::fs::read_dir(&envs).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let site =
        std::fs::read_dir(env.join("lib")).unwrap().flatten().next().unwrap().path().join("site-packages");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(std::fs::metadata(&site).unwrap().mode() & 0o222, 0, "{}", site.display());

    // The next run does not trust the changed environment: it makes it anew.
    let config = rebuild::Config { wheels: vec![good.clone()], ..repo.config(&["3.11"]) };
    let again = repo.rebuild(config, 1);
    assert_eq!((again[0].check.as_ref(), again[0].status), ("rebuild", Status::Pass), "{}", describe(&again));
    assert!(!site.join("rc_written_by_a_build.pth").exists());
}

/// Each probe package's bytes depend on one condition: the item names
/// exactly that variation as what changed them; the package that depends
/// on none is reproducible, and its item names every variation tried.
#[test]
fn each_variation_is_named_and_the_one_that_changes_the_bytes_is_found() {
    let probes: Vec<&str> = PROBES.iter().copied().filter(|w| *w != "write-env").collect();
    let wheels: Vec<(String, Option<PathBuf>)> = probes
        .iter()
        .map(|w| {
            let committed = (*w == "same").then(|| fixture().probe_same.clone());
            (format!("{}-1.0-py3-none-any.whl", probe_name(w)), committed)
        })
        .collect();
    let pins: Vec<(String, String)> = probes
        .iter()
        .map(|w| {
            (
                format!("{}==1.0", probe_name(w)),
                sha256(&fixture().dist.join(format!("{}-1.0.tar.gz", probe_name(w)))),
            )
        })
        .collect();
    let repo = Repo::new(&wheels, &pins);
    let items = repo.rebuild(repo.config(&["3.11"]), 2);
    let all = describe(&items);
    assert_eq!(items.len(), probes.len(), "{all}");
    let same = items.iter().find(|i| i.subject.contains("rc_probe_same")).unwrap();
    assert_eq!((same.check.as_ref(), same.status), ("rebuild", Status::Pass), "{all}");
    let varied = fact(same, "build 2").unwrap();
    let skipped = fact(same, "not varied").unwrap_or_default();
    for which in probes.iter().filter(|w| **w != "same") {
        let item = items.iter().find(|i| i.subject.contains(&probe_name(which))).unwrap();
        let shown = describe(std::slice::from_ref(item));
        if skipped.contains(&format!("{which}: ")) {
            assert_eq!(item.status, Status::Fail, "{shown}"); // not a wheel committed
            assert_eq!(item.check, "rebuild", "{which} is not varied here, so both builds agree: {shown}");
            continue;
        }
        assert!(
            varied.contains(&format!("{which} (")),
            "{which} is neither varied nor said not to be: {varied}"
        );
        assert_eq!((item.check.as_ref(), item.status), ("rebuild-unstable", Status::Fail), "{shown}");
        let explained = fact(item, "explained").unwrap();
        assert!(explained.starts_with(&format!("changed by {which} (")), "{which}: {explained}");
        assert!(!explained.contains(';'), "{which} alone changes the bytes: {explained}");
        assert!(item.reason.contains(&format!("changed by {which}")), "{shown}");
    }
}
