//! `cargo xtask bench [hash] [wheel-diff] [rebuild] [build-deps] [scale] [--rounds N]`: release-check side
//! by side with the tools a user would otherwise run, on the same data, in
//! one run. See `docs/benchmarks.md`.
//!
//! - `hash`: SHA-256 hashing against `sha256sum` and `openssl`.
//! - `wheel-diff` ([`wheel_diff`]): explaining why two wheels differ,
//!   against `diffoscope`.
//! - `rebuild` ([`rebuild`]): rebuilding eight small wheels from source,
//!   two jobs against one after another, and a cached re-run against a
//!   cold one. One round unless `--rounds` says otherwise: a round takes
//!   minutes.
//! - `build-deps` ([`build_deps`]): the build-dependency analysis of 90
//!   pinned packages on a local index, cold and warm, against pip
//!   resolving them from source. Three rounds unless `--rounds` says
//!   otherwise.
//! - `scale` ([`scale`]): the wheels gate on sums files of 10,000 and
//!   100,000 entries with a requirements file pinning each, how its time
//!   grows, and against `sha256sum -c` on the same files. Three rounds
//!   unless `--rounds` says otherwise.
//!
//! The hashing data (64 pseudo-random files, 1 GiB in all, and their
//! `sha256sums.txt` written by `sha256sum`) is generated once under
//! `target/bench-data/`, laid out as a release repository (`sha256sums.txt`
//! plus `localwheels/`) so the real wheels gate can check it. Every run of
//! every contestant is verified against that sums file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use gate_core::runner::{self, Context, RunOptions};
use gate_core::{Gate, Status};
use gate_wheels::{Config, WheelSet, WheelsGate};
use xshell::{Shell, cmd};

mod build_deps;
mod rebuild;
mod scale;
mod wheel_diff;

const FILES: usize = 64;
const FILE_SIZE: u64 = 16 << 20; // 64 × 16 MiB = 1 GiB
const TOTAL_MIB: f64 = (FILES as u64 * FILE_SIZE) as f64 / (1 << 20) as f64;
const DEFAULT_ROUNDS: usize = 5;
/// Set on the release build this task re-runs itself as.
const RELEASE_MARK: &str = "XTASK_BENCH_RELEASE";

/// Runs `cargo xtask bench ARGS`.
pub fn main(args: Vec<String>) -> Result<()> {
    let sh = Shell::new()?;
    if cfg!(debug_assertions) && std::env::var_os(RELEASE_MARK).is_none() {
        // Timing an unoptimised build would measure the compiler, not the code.
        eprintln!("bench: re-running in release mode (cargo run --release -p xtask -- bench)");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = workspace().join("Cargo.toml");
        return Ok(cmd!(sh, "{cargo} run --release --manifest-path {manifest} -p xtask -- bench {args...}")
            .env(RELEASE_MARK, "1")
            .quiet()
            .run()?);
    }
    let mut given_rounds = None;
    let mut benches = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => given_rounds = Some(args.next().context("--rounds needs a number")?.parse()?),
            "hash" | "wheel-diff" | "rebuild" | "build-deps" | "scale" => benches.push(arg),
            other => bail!(
                "unknown benchmark `{other}`; usage: cargo xtask bench [hash] [wheel-diff] [rebuild] [build-deps] [scale] [--rounds N]"
            ),
        }
    }
    let rounds = given_rounds.unwrap_or(DEFAULT_ROUNDS);
    ensure!(rounds > 0, "--rounds must be at least 1");
    // No name means all of them.
    let wanted = |name: &str| benches.is_empty() || benches.iter().any(|b| b == name);
    if wanted("hash") {
        hash(&sh, rounds)?;
    }
    if wanted("wheel-diff") {
        wheel_diff::run(&sh, rounds)?;
    }
    if wanted("rebuild") {
        rebuild::run(&sh, given_rounds.unwrap_or(1))?;
    }
    if wanted("build-deps") {
        build_deps::run(&sh, given_rounds.unwrap_or(3))?;
    }
    if wanted("scale") {
        scale::run(&sh, given_rounds.unwrap_or(3))?;
    }
    Ok(())
}

/// The generated files, laid out as a release repository.
struct Data {
    /// The repository root: `sha256sums.txt` and `localwheels/`.
    repo: PathBuf,
    /// `localwheels/`.
    wheels: PathBuf,
    /// File names, sorted.
    names: Vec<String>,
    /// File name → SHA-256, as `sha256sum` wrote them.
    sums: BTreeMap<String, String>,
}

/// One way of doing the benchmark's work once, checking the result.
struct Contestant<'a> {
    /// Untimed setup before each run, such as emptying a cold cache.
    prepare: Option<Box<dyn Fn() -> Result<()> + 'a>>,
    /// Untimed after each run: checks what the run left and frees it, as
    /// when the run's result is checked and dropped by someone else.
    settle: Option<Box<dyn Fn() -> Result<()> + 'a>>,
    name: &'static str,
    threads: usize,
    /// The timed run, which checks its own result.
    run: Box<dyn Fn() -> Result<()> + 'a>,
}

/// Runs every contestant once per round, interleaved so that interference
/// from other work spreads across all of them; each one's times, sorted.
/// `data` is named in the error when a run fails.
fn time_rounds(contestants: &[Contestant], rounds: usize, data: &Path) -> Result<Vec<Vec<Duration>>> {
    eprintln!("timing {} contestants × {rounds} rounds (interleaved)…", contestants.len());
    let mut times = vec![Vec::with_capacity(rounds); contestants.len()];
    for _ in 0..rounds {
        for (contestant, times) in contestants.iter().zip(&mut times) {
            // Untimed: the contestant's own setup (a cold cache emptied),
            // then the dirty data of earlier runs written out, so that one
            // contestant's writes are not another's wait.
            if let Some(prepare) = &contestant.prepare {
                prepare().with_context(|| format!("preparing `{}`", contestant.name))?;
            }
            rustix::fs::sync();
            let started = Instant::now();
            let failed = || {
                format!("`{}` failed (if the data was altered, delete {})", contestant.name, data.display())
            };
            (contestant.run)().with_context(failed)?;
            times.push(started.elapsed());
            if let Some(settle) = &contestant.settle {
                settle().with_context(failed)?;
            }
        }
    }
    times.iter_mut().for_each(|t| t.sort());
    Ok(times)
}

/// A deterministic pseudo-random byte stream (xorshift64*).
struct Xorshift(u64);

impl Xorshift {
    /// The stream for `seed`.
    fn new(seed: u64) -> Self {
        Self((seed + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) // never zero
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fills `buffer` (a multiple of 8 bytes long).
    fn fill(&mut self, buffer: &mut [u8]) {
        for word in buffer.chunks_exact_mut(8) {
            word.copy_from_slice(&self.next_u64().to_le_bytes());
        }
    }
}

fn hash(sh: &Shell, rounds: usize) -> Result<()> {
    let data = prepare(sh)?;
    sh.change_dir(&data.wheels);
    let names = &data.names;
    let per_process = format!("{}", FILES / 2);

    let contestants = [
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check sha256_file, sequential",
            threads: 1,
            run: Box::new(|| {
                let mut found = BTreeMap::new();
                for name in names {
                    let (sha256, _) = gate_wheels::sha256_file(&data.wheels.join(name), &|| false)?;
                    found.insert(name.clone(), sha256);
                }
                ensure!(found == data.sums, "hashes differ from sha256sums.txt");
                Ok(())
            }),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check wheels gate, jobs=1",
            threads: 1,
            run: Box::new(|| gate(&data, 1)),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check wheels gate, jobs=2",
            threads: 2,
            run: Box::new(|| gate(&data, 2)),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "sha256sum -c sha256sums.txt",
            threads: 1,
            run: Box::new(|| Ok(cmd!(sh, "sha256sum --quiet --check ../sha256sums.txt").quiet().run()?)),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "openssl dgst -sha256 FILES",
            threads: 1,
            run: Box::new(|| verify(&data, &cmd!(sh, "openssl dgst -sha256 -r {names...}").quiet().read()?)),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "xargs -P2 sha256sum",
            threads: 2,
            run: Box::new(|| {
                let out = cmd!(sh, "xargs -P2 -n{per_process} sha256sum").stdin(names.join("\n")).quiet();
                verify(&data, &out.read()?)
            }),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "xargs -P2 openssl dgst -sha256",
            threads: 2,
            run: Box::new(|| {
                let out = cmd!(sh, "xargs -P2 -n{per_process} openssl dgst -sha256 -r")
                    .stdin(names.join("\n"))
                    .quiet();
                verify(&data, &out.read()?)
            }),
        },
    ];

    print_environment(sh);
    warm_up(&data)?;
    let times = time_rounds(&contestants, rounds, &data.repo)?;
    let medians: Vec<Duration> = times.iter().map(|t| t[t.len() / 2]).collect();
    let bests: Vec<Duration> = times.iter().map(|t| t[0]).collect();

    println!(
        "\n{FILES} files, {TOTAL_MIB:.0} MiB, warm page cache, median of {rounds} round{}:\n",
        if rounds == 1 { "" } else { "s" }
    );
    println!("| {:<40} | threads | median (s) | MiB/s | min–max (s) |", "contestant");
    println!("|{:-<42}|--------:|-----------:|------:|------------:|", "");
    for ((contestant, times), median) in contestants.iter().zip(&times).zip(&medians) {
        println!(
            "| {:<40} | {:>7} | {:>10.3} | {:>5.0} | {:.2}–{:.2} |",
            format!("`{}`", contestant.name),
            contestant.threads,
            median.as_secs_f64(),
            TOTAL_MIB / median.as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
        );
    }

    // Speed ratios: how many times faster contestant `a` is than `b`, from
    // the medians and from the best rounds (the least disturbed by other load).
    let ratio = |of: &[Duration], a: usize, b: usize| of[b].as_secs_f64() / of[a].as_secs_f64();
    let rows = [
        ("release-check 1 thread vs openssl", 0, 4, "≥ 0.9×", 0.9),
        ("release-check 1 thread vs sha256sum", 0, 3, "≥ 3×", 3.0),
        ("release-check 2 threads (gate) vs 1 thread", 2, 0, "≈ 2× (≥ 1.8×)", 1.8),
        ("gate jobs=2 vs gate jobs=1", 2, 1, "≈ 2×", 1.8),
        ("gate jobs=1 vs sha256_file loop", 1, 0, "≈ 1× (no overhead)", 0.95),
    ];
    println!("\n| ratio (speed, higher is faster) | median | best | target | on medians |");
    println!("|---|---:|---:|---|---|");
    for (what, a, b, target, at_least) in rows {
        let (median, best) = (ratio(&medians, a, b), ratio(&bests, a, b));
        let met = if median >= at_least { "met" } else { "MISSED" };
        println!("| {what} | {median:.2}× | {best:.2}× | {target} | {met} |");
    }
    Ok(())
}

/// Runs the real wheels gate through gate-core's runner with `jobs` threads
/// and checks that it hashed every file and found it matching.
fn gate(data: &Data, jobs: usize) -> Result<()> {
    let config = Config { set: vec![WheelSet::new("sha256sums.txt", "localwheels")], ..Default::default() };
    let gates: [Arc<dyn Gate>; 1] = [Arc::new(WheelsGate::new(config))];
    let mut ctx = Context::new(&data.repo);
    ctx.jobs = jobs;
    let report = runner::run(&gates, &ctx, &RunOptions::default(), "bench-data".into());
    let hashed = report.items().filter(|(_, item)| item.check == "hash").collect::<Vec<_>>();
    let passed = hashed.iter().filter(|(_, item)| item.status == Status::Pass).count();
    ensure!(hashed.len() == FILES && passed == FILES, "the gate passed {passed} hash items, not {FILES}");
    Ok(())
}

/// Checks `sha256sum`-format output against the sums file.
fn verify(data: &Data, output: &str) -> Result<()> {
    let found = parse_sums(output.as_bytes())?;
    ensure!(found == data.sums, "hashes differ from sha256sums.txt");
    Ok(())
}

fn parse_sums(bytes: &[u8]) -> Result<BTreeMap<String, String>> {
    let parsed = gate_wheels::sums::parse(bytes);
    if let Some(error) = parsed.errors.first() {
        bail!("line {}: {}", error.line, error.message);
    }
    Ok(parsed.entries.into_iter().map(|e| (e.name, e.sha256)).collect())
}

/// The cached data, (re)generated when missing or of the wrong size.
fn prepare(sh: &Shell) -> Result<Data> {
    let repo = target_dir().join("bench-data");
    let wheels = repo.join("localwheels");
    let names: Vec<String> = (0..FILES).map(|i| format!("benchdata-{i:02}-1.0-py3-none-any.whl")).collect();
    let sums_path = repo.join("sha256sums.txt");
    let cached = std::fs::read(&sums_path).ok().and_then(|bytes| parse_sums(&bytes).ok()).filter(|sums| {
        sums.keys().eq(names.iter())
            && names.iter().all(|n| std::fs::metadata(wheels.join(n)).is_ok_and(|m| m.len() == FILE_SIZE))
    });
    let sums = match cached {
        Some(sums) => sums,
        None => {
            eprintln!("bench: generating {FILES} files, {TOTAL_MIB:.0} MiB, in {}", repo.display());
            // Built aside and moved into place, so no run sees a half-made set.
            let fresh = repo.with_extension(format!("new-{}", std::process::id()));
            std::fs::create_dir_all(fresh.join("localwheels"))?;
            for (i, name) in names.iter().enumerate() {
                generate(&fresh.join("localwheels").join(name), i as u64)?;
            }
            let files = &names;
            let listing = {
                let _in_wheels = sh.push_dir(fresh.join("localwheels"));
                cmd!(sh, "sha256sum {files...}").quiet().read()?
            };
            std::fs::write(fresh.join("sha256sums.txt"), format!("{listing}\n"))?;
            if repo.exists() {
                std::fs::remove_dir_all(&repo)?;
            }
            std::fs::rename(&fresh, &repo)?;
            parse_sums(listing.as_bytes())?
        }
    };
    Ok(Data { repo, wheels, names, sums })
}

/// Writes `FILE_SIZE` pseudo-random bytes (xorshift64*, seeded by `index`).
fn generate(path: &Path, index: u64) -> Result<()> {
    let mut rng = Xorshift::new(index);
    let mut buffer = vec![0u8; 1 << 20];
    let mut file = std::fs::File::create(path)?;
    for _ in 0..FILE_SIZE / buffer.len() as u64 {
        rng.fill(&mut buffer);
        file.write_all(&buffer)?;
    }
    Ok(())
}

/// One untimed read of every file, so all contestants hash from the page cache.
fn warm_up(data: &Data) -> Result<()> {
    for name in &data.names {
        std::io::copy(&mut std::fs::File::open(data.wheels.join(name))?, &mut std::io::sink())?;
    }
    Ok(())
}

/// The machine, the tools, and which SHA-256 code sha2 runs on it.
fn print_environment(sh: &Shell) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let sha_ni =
        cpuinfo.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "sha_ni"));
    println!("{}, /proc/cpuinfo flag sha_ni: {}", machine(), yes(sha_ni));
    println!("sha2 0.11 SHA-256 backend: {}", sha2_backend());
    println!("tools: {}; {}", version(sh, "sha256sum", "--version"), version(sh, "openssl", "version"));
    print_load();
}

/// The CPU model and the number of cores available.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("CPU: {model}, {cores} cores available")
}

/// The first line of `program arg`, or that it is not found.
fn version(sh: &Shell, program: &str, arg: &str) -> String {
    cmd!(sh, "{program} {arg}")
        .quiet()
        .ignore_stderr()
        .read()
        .map_or_else(|_| format!("{program}: not found"), |v| v.lines().next().unwrap_or_default().to_owned())
}

/// The 1-minute load average, with a warning when the machine is busy.
fn print_load() {
    // Anything else running skews the results, the 2-thread rows most.
    let load = std::fs::read_to_string("/proc/loadavg").ok();
    if let Some(load) = load.as_deref().and_then(|l| l.split_whitespace().next()) {
        let busy = load.parse::<f64>().is_ok_and(|l| l >= 0.5);
        let warning =
            if busy { " (WARNING: the machine is busy; the numbers below are not reliable)" } else { "" };
        println!("load average (1 min) before timing: {load}{warning}");
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The SHA-256 backend sha2 0.11 picks, by its own rules: a backend forced
/// with `--cfg sha2_backend=…`/`sha2_256_backend=…` in RUSTFLAGS (those cfgs
/// reach every crate, this one too), else on x86 SHA-NI when the CPU has
/// `sha`, `sse2`, `ssse3` and `sse4.1` (detected at run time through
/// cpufeatures, which this mirrors), else the portable code.
#[allow(unexpected_cfgs)]
fn sha2_backend() -> &'static str {
    if cfg!(any(sha2_backend = "soft", sha2_256_backend = "soft")) {
        return "soft (portable Rust), forced by --cfg in RUSTFLAGS";
    }
    if cfg!(sha2_256_backend = "x86-sha") {
        return "x86-sha (SHA-NI), forced by --cfg in RUSTFLAGS";
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        let shani = std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1");
        if shani {
            "x86-sha (SHA-NI intrinsics), chosen at run time (cpufeatures)"
        } else {
            "soft (portable Rust): this CPU lacks SHA-NI"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("sha2") {
            "aarch64-sha2 (ARMv8 SHA2 instructions), chosen at run time (cpufeatures)"
        } else {
            "soft (portable Rust): this CPU lacks the sha2 extension"
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    "soft or an architecture-specific backend (see the sha2 README)"
}

/// The workspace root.
fn workspace() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    path.canonicalize().unwrap_or(path)
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"))
}
