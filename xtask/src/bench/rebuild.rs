//! `cargo xtask bench rebuild`: the wheels gate's rebuild check on eight
//! small generated packages, offline: two jobs against one after another,
//! and an unchanged re-run answered from the cache against a cold run.
//!
//! The packages, their sdists (made with flit_core from the bundled
//! example's committed wheel) and their committed wheels are generated once
//! under `target/bench-data/rebuild/`. Every run of every contestant must
//! report all eight wheels reproducible.

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
    let cache = repo.join("cache");
    let config = |jobs: usize, cache_on: bool| rebuild::Config {
        pythons: vec![PYTHON.to_owned()],
        index_url: None,
        find_links: vec!["dist".to_owned()],
        build_requirements: "build-requirements.txt".to_owned(),
        requirements: "sdist-requirements.txt".to_owned(),
        source_date_epoch: Some(EPOCH),
        jobs: std::num::NonZeroUsize::new(jobs),
        timeout: HumanDuration(Duration::from_secs(600)),
        cache_dir: Some(cache.clone()),
        cache: cache_on,
        allow_root: true,
        wheels: Vec::new(),
    };
    let tick: f64 = cmd!(sh, "getconf CLK_TCK").quiet().read()?.trim().parse()?;
    // Seconds of CPU (user + system) each contestant's child processes used, per run.
    let cpu: [RefCell<Vec<f64>>; 4] = Default::default();
    let check = |config: rebuild::Config, cpu: &RefCell<Vec<f64>>| -> Result<()> {
        let before = children_cpu_ticks()?;
        let gate = WheelsGate::new(Config { rebuild: Some(config), ..Config::default() });
        let outcome = gate.run(&Context::new(&repo));
        let rebuilt: Vec<_> = outcome.items.iter().filter(|i| i.check.starts_with("rebuild")).collect();
        let reproducible = rebuilt.iter().filter(|i| i.status == Status::Pass).count();
        ensure!(
            rebuilt.len() == PACKAGES && reproducible == PACKAGES,
            "expected {PACKAGES} reproducible wheels, got: {:#?}",
            rebuilt.iter().map(|i| format!("{} {:?} {}", i.subject, i.status, i.reason)).collect::<Vec<_>>()
        );
        cpu.borrow_mut().push((children_cpu_ticks()? - before) as f64 / tick);
        Ok(())
    };
    let contestants = [
        Contestant {
            name: "rebuild, 2 jobs, no cache",
            threads: 2,
            run: Box::new(|| check(config(2, false), &cpu[0])),
        },
        Contestant {
            name: "rebuild, one after another, no cache",
            threads: 1,
            run: Box::new(|| check(config(1, false), &cpu[1])),
        },
        Contestant {
            name: "rebuild, 2 jobs, cold cache",
            threads: 2,
            run: Box::new(|| {
                if cache.exists() {
                    std::fs::remove_dir_all(&cache)?;
                }
                check(config(2, true), &cpu[2])
            }),
        },
        Contestant {
            name: "rebuild, 2 jobs, unchanged re-run",
            threads: 2,
            run: Box::new(|| check(config(2, true), &cpu[3])),
        },
    ];
    println!("{}", machine());
    let pip = cmd!(sh, "{PYTHON} -m pip --version").quiet().ignore_stderr().read().unwrap_or_default();
    println!(
        "tools: {}; {}",
        version(sh, PYTHON, "--version"),
        pip.split(" from ").next().unwrap_or_default()
    );
    print_load();
    let times = time_rounds(&contestants, rounds, &repo)?;
    let medians: Vec<Duration> = times.iter().map(|t| t[t.len() / 2]).collect();
    println!(
        "\n{PACKAGES} small wheels, each built twice from its sdist in a fresh virtual environment, median of {rounds} round{}:\n",
        if rounds == 1 { "" } else { "s" }
    );
    println!("| {:<42} | jobs | median (s) | min–max (s) | CPU of builds (s) |", "contestant");
    println!("|{:-<44}|-----:|-----------:|------------:|------------------:|", "");
    for (((contestant, times), median), cpu) in contestants.iter().zip(&times).zip(&medians).zip(&cpu) {
        let mut cpu = cpu.borrow().clone();
        cpu.sort_by(f64::total_cmp);
        println!(
            "| {:<42} | {:>4} | {:>10.2} | {:.2}–{:.2} | {:>17.2} |",
            format!("`{}`", contestant.name),
            contestant.threads,
            median.as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
            cpu[cpu.len() / 2],
        );
    }
    let ratio = |a: usize, b: usize| medians[a].as_secs_f64() / medians[b].as_secs_f64();
    println!("\n| ratio (of wall time) | median | target | on medians |");
    println!("|---|---:|---|---|");
    for (what, value, target) in [
        ("2 jobs vs one after another", ratio(0, 1), 0.6),
        ("unchanged re-run vs cold cache", ratio(3, 2), 0.05),
    ] {
        let met = if value <= target { "met" } else { "MISSED" };
        println!("| {what} | {value:.3}× | ≤ {target}× | {met} |");
    }
    Ok(())
}

/// The CPU time, in clock ticks, that this process's finished (and waited
/// for) descendants used: `cutime + cstime` of `/proc/self/stat`.
fn children_cpu_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields from the third (state) on follow the command name's `)`.
    let fields: Vec<&str> = stat.rsplit_once(')').context("/proc/self/stat")?.1.split_whitespace().collect();
    let field = |number: usize| -> Result<u64> {
        Ok(fields.get(number - 3).context("/proc/self/stat is too short")?.parse()?)
    };
    Ok(field(16)? + field(17)?)
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
