//! `cargo xtask bench wheel-diff`: explaining why two wheels differ, with
//! release-check's `wheel_diff` and with `diffoscope`, on the
//! same generated pair of ~5 MiB wheels, in one run.
//!
//! The generator knows every difference it made, so each run of each
//! contestant is checked against that list of members: a contestant that
//! misses a difference fails the benchmark rather than coming out fast.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use wheel_diff::zip::write::SimpleFileOptions;
use wheel_diff::zip::{DateTime, ZipWriter};
use wheel_diff::{Limits, compare};
use xshell::{Shell, cmd};

use super::{Contestant, Xorshift, machine, print_load, target_dir, time_rounds, version, workspace};

/// Python modules in each wheel, about 6 KiB of text each.
const MODULES: usize = 300;
/// Native libraries in each wheel: incompressible bytes.
const NATIVES: usize = 8;
const NATIVE_SIZE: usize = 560 << 10;
/// Functions per module.
const FUNCTIONS: usize = 60;

/// One member of a generated wheel.
struct Member {
    name: String,
    content: Vec<u8>,
    time: DateTime,
    mode: u32,
}

/// The generated pair and what differs between them.
struct Pair {
    dir: PathBuf,
    a: PathBuf,
    b: PathBuf,
    /// Every member name of either wheel.
    names: BTreeSet<String>,
    /// The members that differ in any way, or that only one wheel has.
    differing: BTreeSet<String>,
}

/// Runs the benchmark.
pub fn run(sh: &Shell, rounds: usize) -> Result<()> {
    let diffoscope = version(sh, "diffoscope", "--version");
    if diffoscope.ends_with("not found") {
        bail!("this benchmark needs diffoscope: apt-get install diffoscope-minimal (or diffoscope)");
    }
    let pair = generate()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = workspace().join("Cargo.toml");
    eprintln!(
        "bench: building the wheel_diff example (cargo build --release -p wheel-diff --example wheel_diff)"
    );
    cmd!(sh, "{cargo} build --release --quiet --manifest-path {manifest} -p wheel-diff --example wheel_diff")
        .quiet()
        .run()?;
    let example = target_dir().join("release/examples/wheel_diff");
    let (a, b) = (&pair.a, &pair.b);
    let report = pair.dir.join("diffoscope.txt");

    // The explanation, once, untimed: the process contestant must print as
    // many lines.
    let explained = compare(a, b, &Limits::default())?;
    check(
        "wheel_diff::compare",
        &pair,
        explained.differing_members().into_iter().map(str::to_owned).collect(),
    )?;
    let lines = explained.differences.len();

    let contestants = [
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check wheel_diff::compare",
            threads: 1,
            run: Box::new(|| {
                let diff = compare(a, b, &Limits::default())?;
                check(
                    "wheel_diff::compare",
                    &pair,
                    diff.differing_members().into_iter().map(str::to_owned).collect(),
                )
            }),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check wheel_diff, one process",
            threads: 1,
            run: Box::new(|| {
                let output = cmd!(sh, "{example} {a} {b}").ignore_status().quiet().output()?;
                ensure!(output.status.code() == Some(1), "wheel_diff exited with {}", output.status);
                let printed = String::from_utf8(output.stdout)?.lines().count();
                ensure!(
                    printed == lines + 1,
                    "wheel_diff printed {printed} lines, not a summary and {lines}"
                );
                Ok(())
            }),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "diffoscope --text",
            threads: 1,
            run: Box::new(|| {
                let output =
                    cmd!(sh, "diffoscope --text {report} {a} {b}").ignore_status().quiet().output()?;
                ensure!(
                    output.status.code() == Some(1),
                    "diffoscope exited with {}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                );
                check(
                    "diffoscope",
                    &pair,
                    diffoscope_members(&std::fs::read_to_string(&report)?, &pair.names),
                )
            }),
        },
    ];

    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len() as f64 / (1 << 20) as f64);
    println!("{}", machine());
    println!("tools: {diffoscope}; zipinfo: {}", version(sh, "zipinfo", "-v"));
    print_load();
    let times = time_rounds(&contestants, rounds, &pair.dir)?;
    let medians: Vec<Duration> = times.iter().map(|t| t[t.len() / 2]).collect();
    let bests: Vec<Duration> = times.iter().map(|t| t[0]).collect();

    println!(
        "\ntwo wheels of {:.1} and {:.1} MiB, {} members each, {} differing members ({} differences), \
         median of {rounds} round{}:\n",
        size(a)?,
        size(b)?,
        MODULES + NATIVES + 3,
        pair.differing.len(),
        lines,
        if rounds == 1 { "" } else { "s" }
    );
    println!("| {:<40} | threads | median (s) | min–max (s) |", "contestant");
    println!("|{:-<42}|--------:|-----------:|------------:|", "");
    for ((contestant, times), median) in contestants.iter().zip(&times).zip(&medians) {
        println!(
            "| {:<40} | {:>7} | {:>10.3} | {:.3}–{:.3} |",
            format!("`{}`", contestant.name),
            contestant.threads,
            median.as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
        );
    }
    let ratio = |of: &[Duration], a: usize, b: usize| of[b].as_secs_f64() / of[a].as_secs_f64();
    println!("\n| ratio (speed, higher is faster) | median | best | target | on medians |");
    println!("|---|---:|---:|---|---|");
    for (what, a, b) in
        [("release-check process vs diffoscope", 1, 2), ("release-check in process vs diffoscope", 0, 2)]
    {
        let (median, best) = (ratio(&medians, a, b), ratio(&bests, a, b));
        let met = if median >= 10.0 { "met" } else { "MISSED" };
        println!("| {what} | {median:.1}× | {best:.1}× | ≥ 10× | {met} |");
    }
    println!("\nBoth found the same {} differing members.", pair.differing.len());
    Ok(())
}

/// Checks that `found` is exactly the set of members the generator changed.
fn check(who: &str, pair: &Pair, found: BTreeSet<String>) -> Result<()> {
    if found != pair.differing {
        let missed: Vec<&String> = pair.differing.difference(&found).collect();
        let extra: Vec<&String> = found.difference(&pair.differing).collect();
        bail!("{who} found other differing members: missed {missed:?}, extra {extra:?}");
    }
    Ok(())
}

/// The members diffoscope's text report shows as differing: each member
/// with its own section (content), and each member on a changed line of
/// the `zipinfo` listing (added, removed, timestamp, mode, size).
fn diffoscope_members(report: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut in_zipinfo = false;
    for line in report.lines() {
        if let Some(title) = line.strip_prefix("├── ") {
            in_zipinfo = title.starts_with("zipinfo");
            if names.contains(title) {
                found.insert(title.to_owned());
            }
        } else if in_zipinfo
            && (line.starts_with("│ -") || line.starts_with("│ +"))
            && let Some(name) = line.split_whitespace().last().filter(|n| names.contains(*n))
        {
            found.insert(name.to_owned());
        }
    }
    found
}

/// Writes the pair under `target/bench-wheel-diff/` (deterministic, so it
/// is simply written again on every run).
fn generate() -> Result<Pair> {
    let dir = target_dir().join("bench-wheel-diff");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let jan_1 = DateTime::from_date_and_time(2024, 1, 1, 0, 0, 0)?;
    let jan_2 = DateTime::from_date_and_time(2024, 1, 2, 0, 0, 0)?;
    let mut a = Vec::new();
    for i in 0..MODULES {
        a.push(Member {
            name: format!("benchpkg/mod_{i:03}.py"),
            content: module(i, 0),
            time: jan_1,
            mode: 0o644,
        });
    }
    for i in 0..NATIVES {
        let mut content = vec![0u8; NATIVE_SIZE];
        Xorshift::new(1000 + i as u64).fill(&mut content);
        a.push(Member { name: format!("benchpkg/_native_{i}.so"), content, time: jan_1, mode: 0o755 });
    }
    let mut b: Vec<Member> = a
        .iter()
        .map(|m| Member { name: m.name.clone(), content: m.content.clone(), time: m.time, mode: m.mode })
        .collect();
    let mut differing = BTreeSet::new();
    let mut touch = |b: &mut Vec<Member>, name: String, change: &dyn Fn(&mut Member)| {
        let member = b.iter_mut().find(|m| m.name == name).expect("generated member");
        change(member);
        differing.insert(name);
    };
    for i in (10..=120).step_by(10) {
        touch(&mut b, format!("benchpkg/mod_{i:03}.py"), &|m| m.content = module(i, 1));
    }
    for i in [2, 5] {
        touch(&mut b, format!("benchpkg/_native_{i}.so"), &|m| m.content[300_000] ^= 0x5a);
    }
    for i in 200..210 {
        touch(&mut b, format!("benchpkg/mod_{i:03}.py"), &|m| m.time = jan_2);
    }
    for i in 250..255 {
        touch(&mut b, format!("benchpkg/mod_{i:03}.py"), &|m| m.mode = 0o755);
    }
    let removed = b.remove(MODULES - 1);
    differing.insert(removed.name);
    let added =
        Member { name: "benchpkg/extra.py".into(), content: module(MODULES, 0), time: jan_1, mode: 0o644 };
    differing.insert(added.name.clone());
    b.insert(MODULES / 2, added);
    for (members, summary) in [(&mut a, "A benchmark package"), (&mut b, "A benchmark package, rebuilt")] {
        finish_dist_info(members, summary, jan_1);
    }
    differing.extend(["METADATA", "RECORD"].map(|f| format!("benchpkg-1.0.0.dist-info/{f}")));
    let names = a.iter().chain(&b).map(|m| m.name.clone()).collect();
    let (path_a, path_b) =
        (dir.join("a/benchpkg-1.0.0-py3-none-any.whl"), dir.join("b/benchpkg-1.0.0-py3-none-any.whl"));
    write_wheel(&path_a, &a)?;
    write_wheel(&path_b, &b)?;
    Ok(Pair { dir, a: path_a, b: path_b, names, differing })
}

/// Python source for module `i`: `FUNCTIONS` small functions; `variant` 1
/// changes one line in the middle.
fn module(i: usize, variant: u64) -> Vec<u8> {
    let mut rng = Xorshift::new(i as u64);
    let mut text = format!("\"\"\"Generated module {i} of the wheel-diff benchmark.\"\"\"\n\n");
    for j in 0..FUNCTIONS {
        let (scale, offset) = (rng.next_u64() % 1000, rng.next_u64() % 100_000);
        let offset = if j == FUNCTIONS / 2 { offset + variant } else { offset };
        text.push_str(&format!(
            "\ndef function_{i}_{j}(value, *, limit=None):\n    \"\"\"Return value scaled by {scale}, offset by {offset}.\"\"\"\n    \
             result = value * {scale} + {offset}\n    if limit is not None and result > limit:\n        \
             return limit\n    return result\n\n"
        ));
    }
    text.into_bytes()
}

/// Appends `WHEEL`, `METADATA` and a `RECORD` of every member.
fn finish_dist_info(members: &mut Vec<Member>, summary: &str, time: DateTime) {
    let dist_info = |file: &str| format!("benchpkg-1.0.0.dist-info/{file}");
    let text =
        |name: String, content: String| Member { name, content: content.into_bytes(), time, mode: 0o644 };
    members.push(text(
        dist_info("WHEEL"),
        "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\nTag: py3-none-any\n".into(),
    ));
    members.push(text(
        dist_info("METADATA"),
        format!("Metadata-Version: 2.1\nName: benchpkg\nVersion: 1.0.0\nSummary: {summary}\n"),
    ));
    // The hash column stands in for the urlsafe-base64 SHA-256 (FNV-1a here:
    // only whether it changes matters).
    let mut record = String::new();
    for member in members.iter() {
        let fnv = member
            .content
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        record.push_str(&format!("{},fnv64={fnv:016x},{}\n", member.name, member.content.len()));
    }
    record.push_str(&format!("{},,\n", dist_info("RECORD")));
    members.push(text(dist_info("RECORD"), record));
}

fn write_wheel(path: &Path, members: &[Member]) -> Result<()> {
    std::fs::create_dir_all(path.parent().context("a wheel path has a parent")?)?;
    let mut zip = ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(path)?));
    for member in members {
        let options =
            SimpleFileOptions::default().last_modified_time(member.time).unix_permissions(member.mode);
        zip.start_file(member.name.as_str(), options)?;
        zip.write_all(&member.content)?;
    }
    zip.finish()?.flush()?;
    Ok(())
}
