//! `cargo xtask bench scale`: how the wheels gate's time grows with the size
//! of a sums file, and what it costs next to `sha256sum -c` on the same
//! files, in one run.
//!
//! Two repositories are generated in a temporary directory, removed
//! afterwards: 10,000 and 100,000 tiny wheel files (about 40 bytes each) in
//! `localwheels/`, a `sha256sums.txt` listing each, and a
//! `requirements.txt` pinning each by `name==version --hash=sha256:…`. On
//! each, the contestants are the whole wheels gate (parsing the sums and the
//! requirements, listing the directory, hashing every wheel, checking every
//! pin, building the report) and `sha256sum --check`. Every run is
//! verified: the gate must pass every hash and every pin item, and
//! `sha256sum` must exit 0. The gate's report is checked and dropped after
//! the clock stops, as the binary writes it and exits without freeing it.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use gate_core::runner::{self, Context, RunOptions};
use gate_core::{Gate, Report, Status};
use gate_wheels::{Config, WheelSet, WheelsGate};
use xshell::{Shell, cmd};

use super::{Contestant, machine, print_load, time_rounds, version};

/// The sizes compared: the growth ratio is the larger's time over the smaller's.
const SIZES: [usize; 2] = [10_000, 100_000];
/// The growth allowed from 10,000 to 100,000 entries: linear, with room for
/// the cache misses of a ten times larger directory.
const GROWTH_TARGET: f64 = 12.0;

/// A generated repository, removed when dropped.
struct Repo {
    root: PathBuf,
    entries: usize,
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs the benchmark.
pub fn run(sh: &Shell, rounds: usize) -> Result<()> {
    let sha256sum = version(sh, "sha256sum", "--version");
    ensure!(!sha256sum.ends_with("not found"), "this benchmark needs sha256sum (GNU coreutils)");
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let repos: Vec<Repo> = SIZES.iter().map(|&entries| generate(entries)).collect::<Result<_>>()?;

    // Each gate run's report, checked and dropped after the clock stops:
    // the binary writes it and exits without freeing it.
    let left = RefCell::new(None);
    let mut contestants = Vec::new();
    for repo in &repos {
        let wheels = repo.root.join("localwheels");
        for jobs in [1, jobs] {
            let left = &left;
            contestants.push(Contestant {
                prepare: None,
                settle: Some(Box::new(move || {
                    let report = left.take().context("the gate left no report")?;
                    check(repo, &report)
                })),
                name: if jobs == 1 {
                    "release-check wheels gate, jobs=1"
                } else {
                    "release-check wheels gate, all cores"
                },
                threads: jobs,
                run: Box::new(move || {
                    *left.borrow_mut() = Some(gate(repo, jobs));
                    Ok(())
                }),
            });
        }
        contestants.push(Contestant {
            prepare: None,
            settle: None,
            name: "sha256sum --check",
            threads: 1,
            run: Box::new(move || {
                let _in_wheels = sh.push_dir(&wheels);
                Ok(cmd!(sh, "sha256sum --quiet --strict --check ../sha256sums.txt").quiet().run()?)
            }),
        });
    }
    println!("{}", machine());
    println!("tools: {sha256sum}");
    print_load();
    // One untimed run of each, so every contestant reads from the page cache.
    for contestant in &contestants {
        let failed = || format!("`{}` failed on the warm-up run", contestant.name);
        (contestant.run)().with_context(failed)?;
        if let Some(settle) = &contestant.settle {
            settle().with_context(failed)?;
        }
    }
    let times = time_rounds(&contestants, rounds, &repos[0].root)?;
    let median = |i: usize| times[i][times[i].len() / 2];
    let per_size = contestants.len() / repos.len();

    println!(
        "\nsums files of {} entries with a requirements file pinning each, tiny wheels, warm page cache, median of {rounds} round{}:\n",
        SIZES.map(|n| n.to_string()).join(" and "),
        if rounds == 1 { "" } else { "s" }
    );
    println!("| {:<40} | entries | threads | median (s) | µs per entry | min–max (s) |", "contestant");
    println!("|{:-<42}|--------:|--------:|-----------:|-------------:|------------:|", "");
    for (i, contestant) in contestants.iter().enumerate() {
        let entries = repos[i / per_size].entries;
        println!(
            "| {:<40} | {entries:>7} | {:>7} | {:>10.3} | {:>12.1} | {:.3}–{:.3} |",
            format!("`{}`", contestant.name),
            contestant.threads,
            median(i).as_secs_f64(),
            median(i).as_secs_f64() * 1e6 / entries as f64,
            times[i][0].as_secs_f64(),
            times[i][times[i].len() - 1].as_secs_f64(),
        );
    }

    let seconds = |size: usize, contestant: usize| median(size * per_size + contestant).as_secs_f64();
    let growth = |contestant: usize| seconds(1, contestant) / seconds(0, contestant);
    let entries = SIZES[1] / SIZES[0];
    println!("\n| ratio | median | target | on medians |");
    println!("|---|---:|---|---|");
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    for (contestant, what) in [(0, "gate jobs=1"), (1, "gate, all cores"), (2, "sha256sum -c")] {
        let value = growth(contestant);
        let (target, ok) = match contestant {
            2 => ("(reference)".to_owned(), true),
            _ => (format!("≤ {GROWTH_TARGET}×"), value <= GROWTH_TARGET),
        };
        println!(
            "| time growth, {} → {} entries ({entries}× more), {what} | {value:.2}× | {target} | {} |",
            SIZES[0],
            SIZES[1],
            if contestant == 2 { "" } else { met(ok) }
        );
    }
    for (size, entries) in SIZES.iter().enumerate() {
        for (contestant, what) in [(0, "gate jobs=1"), (1, "gate, all cores")] {
            let value = seconds(size, 2) / seconds(size, contestant);
            println!(
                "| speed vs sha256sum -c, {entries} entries, {what} (higher is faster) | {value:.2}× | ≥ 1× | {} |",
                met(value >= 1.0)
            );
        }
    }
    Ok(())
}

/// Runs the real wheels gate on `repo` through gate-core's runner with
/// `jobs` threads: what the binary does before it writes the report.
fn gate(repo: &Repo, jobs: usize) -> Report {
    let set = WheelSet {
        requirements: vec!["requirements.txt".into()],
        ..WheelSet::new("sha256sums.txt", "localwheels")
    };
    let config = Config { set: vec![set], ..Config::default() };
    let gates: [Arc<dyn Gate>; 1] = [Arc::new(WheelsGate::new(config))];
    let mut ctx = Context::new(&repo.root);
    ctx.jobs = jobs;
    let options = RunOptions { default_timeout: Duration::from_secs(3600), ..RunOptions::default() };
    runner::run(&gates, &ctx, &options, "bench-scale".into())
}

/// Checks that the gate passed every hash and every pin of `repo`.
fn check(repo: &Repo, report: &Report) -> Result<()> {
    let passed = |check: &str| {
        report.items().filter(|(_, item)| item.check == check && item.status == Status::Pass).count()
    };
    let (hashes, pins) = (passed("hash"), passed("pin"));
    ensure!(
        hashes == repo.entries && pins == repo.entries,
        "the gate passed {hashes} hash and {pins} pin items, not {} of each",
        repo.entries
    );
    let problems: Vec<String> = report
        .items()
        .filter(|(_, item)| matches!(item.status, Status::Fail | Status::Error))
        .map(|(_, item)| format!("{}: {}", item.id, item.reason))
        .take(5)
        .collect();
    ensure!(problems.is_empty(), "the gate found problems: {problems:#?}");
    Ok(())
}

/// A repository of `entries` tiny wheels, listed and pinned.
fn generate(entries: usize) -> Result<Repo> {
    let root =
        std::env::temp_dir().join(format!("release-check-bench-scale-{}-{entries}", std::process::id()));
    let repo = Repo { root, entries };
    eprintln!("bench: generating {entries} wheels, their sums and their pins in {}", repo.root.display());
    let wheels = repo.root.join("localwheels");
    std::fs::create_dir_all(&wheels)?;
    let mut sums = std::io::BufWriter::new(std::fs::File::create(repo.root.join("sha256sums.txt"))?);
    let mut pins = std::io::BufWriter::new(std::fs::File::create(repo.root.join("requirements.txt"))?);
    // Zero-padded names: the sums file is in byte order, as `sha256sum` of
    // a sorted listing writes it.
    for i in 0..entries {
        let project = format!("rcscale{i:06}");
        let name = format!("{project}-1.0-py3-none-any.whl");
        let path = wheels.join(&name);
        std::fs::write(&path, format!("PK\x03\x04 {project} 1.0, benchmark data\n"))?;
        let (sha256, _) = gate_wheels::sha256_file(&path, &|| false)?;
        writeln!(sums, "{sha256}  {name}")?;
        writeln!(pins, "{project}==1.0 \\\n    --hash=sha256:{sha256}")?;
    }
    sums.flush()?;
    pins.flush()?;
    Ok(repo)
}
