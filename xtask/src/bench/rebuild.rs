//! `cargo xtask bench rebuild`: rebuilding eight small generated packages
//! from their sdists, side by side in one run, offline:
//!
//! - the plain loop a packager writes (SecureDrop's `build-sync-wheels`
//!   style): one prepared virtual environment, `pip wheel --no-deps
//!   --no-build-isolation` of each sdist once, one after another;
//! - `reprotest` on one of the packages, varying what the rebuild varies
//!   (`--vary=-all,+build_path,+home,+timezone,+locales,+umask,+environment,
//!   +exec_path,+num_cpus,+time,+fileordering`), with pip as its build command;
//! - the wheels gate's rebuild check: two builds per wheel and their
//!   comparison, 2 jobs, cold (no cache: environment, sdists, builds);
//! - the same, re-run unchanged (every result from the cache).
//!
//! Beside wall time, each row has the CPU time of its processes (user +
//! system, of this process and the children it waited for; a FUSE daemon
//! that detached itself is not counted, for reprotest or the rebuild), and
//! the per-build overhead: wall time per build, minus the build backend's
//! own time for one build (`flit_core.buildapi.build_wheel` called in one
//! warm process, measured here too).
//!
//! The packages, their sdists (made with flit_core from the bundled
//! example's committed wheel) and their committed wheels are generated once
//! under `target/bench-data/rebuild/`. Every run of every contestant must
//! report all eight wheels reproducible (reprotest: its one package).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use gate_core::{Context, Gate, HumanDuration, Status};
use gate_wheels::{Config, WheelsGate, rebuild, sha256_file};
use xshell::{Shell, cmd};

use super::{Contestant, machine, print_load, target_dir, time_rounds, version, workspace};

const PACKAGES: usize = 8;
const EPOCH: i64 = 1_700_000_000;
const FLIT_CORE: &str = "flit_core-3.9.0-py3-none-any.whl";
/// The interpreter the wheels are built with.
const PYTHON: &str = "python3";

/// Runs the benchmark.
pub fn run(sh: &Shell, rounds: usize) -> Result<()> {
    let repo = prepare(sh)?;
    let data = repo.parent().context("bench data")?.to_owned();
    let cache = repo.join("cache");
    let config = |cache_on: bool| rebuild::Config {
        pythons: vec![PYTHON.to_owned()],
        index_url: None,
        find_links: vec!["dist".to_owned()],
        build_requirements: "build-requirements.txt".to_owned(),
        requirements: "sdist-requirements.txt".to_owned(),
        source_date_epoch: Some(EPOCH),
        jobs: std::num::NonZeroUsize::new(2),
        timeout: HumanDuration(Duration::from_secs(600)),
        cache_dir: Some(cache.clone()),
        cache: cache_on,
        allow_root: true,
        wheels: Vec::new(),
    };
    let tick: f64 = cmd!(sh, "getconf CLK_TCK").quiet().read()?.trim().parse()?;
    // Seconds of CPU (user + system) of each contestant, per run.
    let cpu: [RefCell<Vec<f64>>; 4] = Default::default();
    let measured = |cpu: &RefCell<Vec<f64>>, work: &dyn Fn() -> Result<()>| -> Result<()> {
        let before = cpu_ticks()?;
        work()?;
        cpu.borrow_mut().push((cpu_ticks()? - before) as f64 / tick);
        Ok(())
    };
    let check = |config: rebuild::Config| -> Result<()> {
        let gate = WheelsGate::new(Config { rebuild: Some(config), ..Config::default() });
        let outcome = gate.run(&Context::new(&repo));
        let rebuilt: Vec<_> = outcome.items.iter().filter(|i| i.check.starts_with("rebuild")).collect();
        let reproducible = rebuilt.iter().filter(|i| i.status == Status::Pass).count();
        ensure!(
            rebuilt.len() == PACKAGES && reproducible == PACKAGES,
            "expected {PACKAGES} reproducible wheels, got: {:#?}",
            rebuilt.iter().map(|i| format!("{} {:?} {}", i.subject, i.status, i.reason)).collect::<Vec<_>>()
        );
        Ok(())
    };
    let python = data.join("venv/bin/python");
    let plain_loop = || -> Result<()> {
        let out = data.join("plain-loop");
        if out.exists() {
            std::fs::remove_dir_all(&out)?;
        }
        let _epoch = sh.push_env("SOURCE_DATE_EPOCH", EPOCH.to_string());
        for n in 1..=PACKAGES {
            let sdist = repo.join("dist").join(format!("rc_bench_{n}-1.0.{n}.tar.gz"));
            cmd!(
                sh,
                "{python} -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w {out} {sdist}"
            )
            .quiet()
            .run()?;
            let wheel = format!("rc_bench_{n}-1.0.{n}-py3-none-any.whl");
            let (built, committed) = (out.join(&wheel), repo.join("localwheels").join(&wheel));
            ensure!(
                std::fs::read(&built)? == std::fs::read(&committed)?,
                "pip's {wheel} is not the committed one"
            );
        }
        Ok(())
    };
    let reprotest = || -> Result<()> {
        let package = data.join("packages/rc-bench-1");
        let dist = package.join("dist");
        if dist.exists() {
            std::fs::remove_dir_all(&dist)?;
        }
        let build = format!(
            "{} -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w dist .",
            python.display()
        );
        let _dir = sh.push_dir(&package);
        let _epoch = sh.push_env("SOURCE_DATE_EPOCH", EPOCH.to_string());
        let said = cmd!(sh, "reprotest --vary={REPROTEST_VARY} --min-cpus=1 {build} dist/*.whl")
            .quiet()
            .ignore_stderr()
            .read()?;
        ensure!(said.contains("Reproduction successful"), "reprotest did not reproduce rc-bench-1:\n{said}");
        Ok(())
    };
    let contestants = [
        Contestant {
            prepare: None,
            settle: None,
            name: "plain loop: pip wheel of each sdist once",
            threads: 1,
            run: Box::new(|| measured(&cpu[0], &plain_loop)),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "reprotest, rc-bench-1 only, same variations",
            threads: 1,
            run: Box::new(|| measured(&cpu[1], &reprotest)),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check rebuild, 2 builds each, cold",
            threads: 2,
            run: Box::new(|| {
                if cache.exists() {
                    remove_tree(&cache)?;
                }
                measured(&cpu[2], &|| check(config(true)))
            }),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check rebuild, unchanged re-run",
            threads: 2,
            run: Box::new(|| measured(&cpu[3], &|| check(config(true)))),
        },
    ];
    println!("{}", machine());
    let pip = cmd!(sh, "{python} -m pip --version").quiet().ignore_stderr().read().unwrap_or_default();
    let debian = cmd!(sh, "dpkg-query -W reprotest disorderfs faketime")
        .quiet()
        .ignore_stderr()
        .read()
        .unwrap_or_else(|_| "reprotest, disorderfs, faketime: not found".to_owned());
    println!(
        "tools: {}; {}; {}",
        version(sh, PYTHON, "--version"),
        pip.split(" from ").next().unwrap_or_default(),
        debian.lines().map(|l| l.replace('\t', " ")).collect::<Vec<_>>().join(", "),
    );
    let backend = backend_seconds(sh, &data, &repo)?;
    println!(
        "flit_core build_wheel alone, in one warm process: {:.3} s per build (median of {PACKAGES})",
        backend
    );
    print_load();
    let times = time_rounds(&contestants, rounds, &repo)?;
    print_load();
    let medians: Vec<f64> = times.iter().map(|t| t[t.len() / 2].as_secs_f64()).collect();
    let builds = [PACKAGES, 2, 2 * PACKAGES, 2 * PACKAGES];
    println!(
        "\n{PACKAGES} small flit wheels (reprotest: one), median of {rounds} round{}:\n",
        if rounds == 1 { "" } else { "s" }
    );
    println!(
        "| {:<46} | jobs | builds | wall (s) | min–max (s) | CPU (s) | wall per build (s) | overhead per build (s) |",
        "contestant"
    );
    println!(
        "|{:-<48}|-----:|-------:|---------:|------------:|--------:|-------------------:|-----------------------:|",
        ""
    );
    for (i, contestant) in contestants.iter().enumerate() {
        let mut cpu = cpu[i].borrow().clone();
        cpu.sort_by(f64::total_cmp);
        // A build's share of the wall time, with `threads` building at once.
        let per_build = medians[i] * contestant.threads as f64 / builds[i] as f64;
        let overhead = if i == 3 { "—".to_owned() } else { format!("{:.3}", per_build - backend) };
        println!(
            "| {:<46} | {:>4} | {:>6} | {:>8.2} | {:.2}–{:.2} | {:>7.2} | {:>18.3} | {:>22} |",
            format!("`{}`", contestant.name),
            contestant.threads,
            builds[i],
            medians[i],
            times[i][0].as_secs_f64(),
            times[i][times[i].len() - 1].as_secs_f64(),
            cpu[cpu.len() / 2],
            per_build,
            overhead,
        );
    }
    let per_package = |i: usize| medians[i] / if i == 1 { 1.0 } else { PACKAGES as f64 };
    println!("\n| ratio (of wall time) | median | target | on medians |");
    println!("|---|---:|---|---|");
    for (what, value, target, lower) in [
        (
            "release-check (2 builds each, 2 jobs, cold) vs the plain loop (1 build each)",
            medians[2] / medians[0],
            0.5,
            true,
        ),
        ("reprotest vs release-check, per package", per_package(1) / per_package(2), 5.0, false),
        ("unchanged re-run vs cold", medians[3] / medians[2], 0.01, true),
    ] {
        let met = if (value <= target) == lower { "met" } else { "MISSED" };
        let sign = if lower { "≤" } else { "≥" };
        println!("| {what} | {value:.3}× | {sign} {target}× | {met} |");
    }
    Ok(())
}

/// reprotest's variations that the rebuild varies too (its `exec_path` is
/// part of the rebuild's `environment`); not `user_group`, `domain_host`,
/// `kernel` or `aslr`, which the rebuild does not vary.
const REPROTEST_VARY: &str =
    "-all,+build_path,+home,+timezone,+locales,+umask,+environment,+exec_path,+num_cpus,+time,+fileordering";

/// The build backend's own time for one build: `build_wheel` of each
/// package's unpacked sdist, called in one process with flit_core already
/// imported; the median, in seconds.
fn backend_seconds(sh: &Shell, data: &Path, repo: &Path) -> Result<f64> {
    let python = data.join("venv/bin/python");
    let dist = repo.join("dist");
    let script = r#"
import glob, os, statistics, sys, tarfile, tempfile, time
import flit_core.buildapi as backend
times = []
for sdist in sorted(glob.glob(os.path.join(sys.argv[1], "rc_bench_*.tar.gz"))):
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(sdist) as archive:
            archive.extractall(tmp)
        (top,) = os.listdir(tmp)
        os.chdir(os.path.join(tmp, top))
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        started = time.perf_counter()
        backend.build_wheel(out)
        times.append(time.perf_counter() - started)
        os.chdir("/")
print(statistics.median(times))
"#;
    let _epoch = sh.push_env("SOURCE_DATE_EPOCH", EPOCH.to_string());
    let said = cmd!(sh, "{python} -c {script} {dist}").quiet().read()?;
    Ok(said.trim().parse()?)
}

/// Removes a directory tree whose directories may have lost their write
/// bits (the rebuild seals its build environments).
fn remove_tree(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in walk(dir)? {
        let meta = std::fs::symlink_metadata(&entry)?;
        if meta.is_dir() {
            std::fs::set_permissions(
                &entry,
                std::fs::Permissions::from_mode(meta.permissions().mode() | 0o700),
            )?;
        }
    }
    Ok(std::fs::remove_dir_all(dir)?)
}

/// `dir` and every directory under it.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut all = vec![dir.to_owned()];
    let mut i = 0;
    while i < all.len() {
        if std::fs::symlink_metadata(&all[i])?.is_dir() {
            for entry in std::fs::read_dir(&all[i])? {
                let path = entry?.path();
                if std::fs::symlink_metadata(&path)?.is_dir() {
                    all.push(path);
                }
            }
        }
        i += 1;
    }
    Ok(all)
}

/// The CPU time, in clock ticks, of this process and of its finished (and
/// waited for) descendants: `utime + stime + cutime + cstime` of
/// `/proc/self/stat`.
fn cpu_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields from the third (state) on follow the command name's `)`.
    let fields: Vec<&str> = stat.rsplit_once(')').context("/proc/self/stat")?.1.split_whitespace().collect();
    let field = |number: usize| -> Result<u64> {
        Ok(fields.get(number - 3).context("/proc/self/stat is too short")?.parse()?)
    };
    Ok(field(14)? + field(15)? + field(16)? + field(17)?)
}

/// Generates the packages, sdists and committed wheels once; the repository.
fn prepare(sh: &Shell) -> Result<PathBuf> {
    let data = target_dir().join("bench-data/rebuild");
    let repo = data.join("repo");
    if repo.join("sha256sums.txt").exists() {
        return Ok(repo);
    }
    eprintln!("bench: generating {PACKAGES} packages, their sdists and wheels in {}", data.display());
    if data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    let (dist, wheels) = (repo.join("dist"), repo.join("localwheels"));
    std::fs::create_dir_all(&dist)?;
    std::fs::create_dir_all(&wheels)?;
    let example = workspace().join("examples/release-repo");
    std::fs::copy(example.join("localwheels").join(FLIT_CORE), dist.join(FLIT_CORE))?;
    let build_requirements = repo.join("build-requirements.txt");
    std::fs::copy(example.join("build-requirements.txt"), &build_requirements)?;
    let venv = data.join("venv");
    cmd!(sh, "{PYTHON} -m venv {venv}").quiet().run()?;
    let python = venv.join("bin/python");
    cmd!(sh, "{python} -m pip install --quiet --no-index --find-links {dist} --require-hashes -r {build_requirements}")
        .quiet()
        .run()?;
    let _env = sh.push_env("SOURCE_DATE_EPOCH", EPOCH.to_string());
    let mut sums = String::new();
    let mut pins = String::new();
    for n in 1..=PACKAGES {
        let package = data.join(format!("packages/rc-bench-{n}"));
        write_package(&package, n)?;
        let _dir = sh.push_dir(&package);
        cmd!(sh, "{python} -c 'import sys, flit_core.buildapi as b; b.build_sdist(sys.argv[1])' {dist}")
            .quiet()
            .run()?;
        cmd!(sh, "{python} -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w {wheels} .")
            .quiet()
            .run()?;
        let wheel = format!("rc_bench_{n}-1.0.{n}-py3-none-any.whl");
        let sdist = dist.join(format!("rc_bench_{n}-1.0.{n}.tar.gz"));
        let hash = |path: &Path| sha256_file(path, &|| false).map(|(h, _)| h).context("hashing");
        sums.push_str(&format!("{}  {wheel}\n", hash(&wheels.join(&wheel))?));
        pins.push_str(&format!("rc-bench-{n}==1.0.{n} --hash=sha256:{}\n", hash(&sdist)?));
    }
    std::fs::write(repo.join("sdist-requirements.txt"), pins)?;
    std::fs::write(repo.join("sha256sums.txt"), sums)?;
    Ok(repo)
}

/// A small flit package: a module of a few dozen functions.
fn write_package(dir: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"flit_core >=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n\
             [project]\nname = \"rc-bench-{n}\"\nauthors = [{{name = \"release-check benchmarks\"}}]\n\
             requires-python = \">=3.7\"\ndynamic = [\"version\", \"description\"]\n"
        ),
    )?;
    let mut module = format!(
        "\"\"\"Benchmark package {n} of release-check's rebuild benchmark.\"\"\"\n\n__version__ = \"1.0.{n}\"\n"
    );
    for f in 0..40 {
        module.push_str(&format!(
            "\n\ndef function_{f}(x):\n    \"\"\"Return x times {f}.\"\"\"\n    return x * {f}\n"
        ));
    }
    std::fs::write(dir.join(format!("rc_bench_{n}.py")), module)?;
    Ok(())
}
