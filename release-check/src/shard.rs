//! `plan`, `run --shard` and `aggregate`: one run split across CI jobs.
//!
//! `plan` lists the shards; each CI job runs one with `run --shard ID` and
//! writes a partial report; `aggregate` merges the partial reports into the
//! final one. `run` and `aggregate` recompute the plan from the checkout
//! (the same commit, configuration and `--max-per-shard`) rather than trust
//! one handed to them, so a partial report of another plan is refused by
//! comparing digests.

use std::io::Read as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use gate_core::Context;
use gate_core::shard::{self, Plan, UNKNOWN_COMMIT};

use crate::config::{Loaded, Source};
use crate::{EXIT_GO, FormatArg, OutputArgs, ReportArgs, registry};

pub(crate) const PLAN_HELP: &str = "Example: release-check plan --max-per-shard 20 --format github-matrix\n\n`run --shard` and `aggregate` recompute the plan from the checkout: give them the same --max-per-shard (or set RELEASE_CHECK_MAX_PER_SHARD once for all three).\n\nExit codes: 0 the plan was written, 2 usage, configuration or I/O error.";

/// Largest partial report read, in bytes.
const MAX_PARTIAL_BYTES: u64 = 64 * 1024 * 1024;

/// How many units a shard runs: `plan`, `run --shard` and `aggregate` must agree.
#[derive(Debug, Clone, Args)]
pub struct ShardingArgs {
    /// Group up to N units (a wheel, a set's own checks) per shard; groups
    /// grow when needed to keep the plan within 256 shards.
    #[arg(long, value_name = "N", env = "RELEASE_CHECK_MAX_PER_SHARD", default_value = "1")]
    pub max_per_shard: NonZeroUsize,
}

/// `plan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// One line per shard.
    Text,
    /// The whole plan: digests, commit and each shard's units.
    Json,
    /// One line of JSON for GitHub Actions' `strategy.matrix`.
    GithubMatrix,
}

/// `release-check plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Units per shard.
    #[command(flatten)]
    pub sharding: ShardingArgs,
    /// Plan format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Write the plan to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `release-check run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Run only shard ID of the plan (`release-check plan` lists them) and
    /// write its partial report, for `aggregate`.
    #[arg(long, value_name = "ID")]
    pub shard: Option<String>,
    /// Units per shard.
    #[command(flatten)]
    pub sharding: ShardingArgs,
    /// The report's options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `release-check aggregate`.
#[derive(Debug, Clone, Args)]
pub struct AggregateArgs {
    /// Partial reports: files, or directories searched (recursively) for `*.json` files.
    #[arg(value_name = "DIR|FILE", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Units per shard.
    #[command(flatten)]
    pub sharding: ShardingArgs,
    /// Judge the waivers' expiry as of this moment instead of now (see the
    /// report's `--as-of`).
    #[arg(long, value_name = "WHEN", value_parser = crate::parse_as_of)]
    pub as_of: Option<jiff::Timestamp>,
    /// How the final report is written.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `release-check plan`: writes the plan.
pub fn plan(args: &PlanArgs, repo: &Path, loaded: &Loaded) -> anyhow::Result<u8> {
    let (plan, unknown) = make_plan(repo, loaded, &args.sharding)?;
    let text = match args.format {
        PlanFormat::Text => plan_text(&plan, unknown.as_deref()),
        PlanFormat::Json => plan.to_json(),
        PlanFormat::GithubMatrix => plan.github_matrix(),
    };
    crate::write_output(args.output.as_deref(), text.as_bytes())?;
    Ok(EXIT_GO)
}

/// `release-check run`: a whole run, or one shard's partial report.
pub fn run(args: &RunArgs, repo: &Path, loaded: &Loaded) -> anyhow::Result<u8> {
    let Some(id) = &args.shard else {
        return crate::report(&args.report, repo, loaded);
    };
    if !args.report.gates.is_empty() || args.report.list_gates || args.report.explain.is_some() {
        bail!(
            "--shard {id}: --gate, --list-gates and --explain do not apply to a shard, which runs what the plan gives it"
        );
    }
    let (plan, _) = make_plan(repo, loaded, &args.sharding)?;
    let Some(planned) = plan.shard(id) else {
        let ids: Vec<&str> = plan.shards.iter().map(|s| s.id.as_str()).collect();
        // `wheels-7` where the plan has wheels-1..3: grouped by another plan.
        let regrouped = plan.shards.iter().any(|s| {
            !s.units.is_empty()
                && id
                    .strip_prefix(s.gate.as_str())
                    .and_then(|n| n.strip_prefix('-'))
                    .is_some_and(|n| n.parse::<usize>().is_ok())
        });
        let cause = if regrouped {
            format!(
                "; the plan that named it was probably made with another --max-per-shard than this job's {}: give plan, run --shard and aggregate the same one (or set RELEASE_CHECK_MAX_PER_SHARD once for all three)",
                args.sharding.max_per_shard
            )
        } else {
            String::new()
        };
        bail!(
            "--shard {id}: the plan of this checkout (with --max-per-shard {}) has no such shard, expected one of: {}{cause}",
            args.sharding.max_per_shard,
            ids.join(", ")
        );
    };
    let crate::Prepared { gates, mut options, mut ctx } = crate::prepare(&args.report, repo, loaded)?;
    let gates: Vec<_> = gates.into_iter().filter(|g| g.name() == planned.gate).collect();
    if !planned.units.is_empty() {
        ctx.units = Some(planned.units.iter().cloned().collect());
    }
    // Waivers are judged once, by `aggregate`, over the items of every shard,
    // and `aggregate` lists the gates that are off.
    options.waivers.clear();
    options.off.clear();
    let mut report = gate_core::runner::run(&gates, &ctx, &options, repo.display().to_string());
    report.config = loaded.source.to_string();
    report.shard = Some(plan.info(planned));
    crate::emit(&report, &args.report.output, FormatArg::Json)
}

/// `release-check aggregate`: merges the partial reports into the final report.
pub fn aggregate(args: &AggregateArgs, repo: &Path, loaded: &Loaded) -> anyhow::Result<u8> {
    let (plan, _) = make_plan(repo, loaded, &args.sharding)?;
    let mut files = Vec::new();
    for input in &args.inputs {
        if input.is_dir() {
            json_files(input, &mut files)?;
        } else {
            files.push(input.clone());
        }
    }
    // A file that cannot be read as a partial report is named in the report
    // and the others are still merged; its shard, if it was one, is missing.
    let mut partials = Vec::with_capacity(files.len());
    let mut unread = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        match read_partial_text(file).and_then(|text| shard::read_partial(&name, &text)) {
            Ok(partial) => partials.push(partial),
            Err(error) => unread.push(error),
        }
    }
    let mut ctx = Context::new(repo);
    if let Some(when) = args.as_of {
        ctx.now = when;
    }
    let waivers = loaded.config.run_options().waivers;
    let mut report =
        shard::aggregate(&plan, partials, &unread, &waivers, ctx.today(), repo.display().to_string());
    report.config = loaded.source.to_string();
    report.as_of = ctx.now.to_string();
    let turned_off = registry::turned_off(&loaded.config.gates);
    for gate in registry::all_gates(&loaded.config.gates).iter().filter(|g| turned_off.contains(&g.name())) {
        let name = gate.name();
        report.gates.push(
            gate_core::OffGate {
                name: name.to_owned(),
                verifies: gate.verifies().to_owned(),
                why: format!("turned off in the configuration (`[gates.{name}] enabled = false`)"),
            }
            .report(),
        );
    }
    crate::emit(&report, &args.output, FormatArg::Text)
}

/// The plan of the checkout at `repo`, and why its commit is unknown if it is.
fn make_plan(
    repo: &Path,
    loaded: &Loaded,
    sharding: &ShardingArgs,
) -> anyhow::Result<(Plan, Option<String>)> {
    let turned_off = registry::turned_off(&loaded.config.gates);
    let gates: Vec<_> = registry::all_gates(&loaded.config.gates)
        .into_iter()
        .filter(|g| !turned_off.contains(&g.name()))
        .collect();
    let mut ctx = Context::new(repo);
    if let Some(jobs) = loaded.config.run.jobs() {
        ctx.jobs = jobs;
    }
    let units: Vec<(&str, Vec<String>)> = gates.iter().map(|g| (g.name(), g.units(&ctx))).collect();
    let (commit, unknown) = match crate::commit::local_commit(repo) {
        Ok(judged) => (judged.sha, None),
        Err(why) => (UNKNOWN_COMMIT.to_owned(), Some(why.0)),
    };
    let config = match &loaded.source {
        Source::File(path) | Source::CargoWorkspace(path) => shard::sha256_hex(
            &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        Source::Defaults => shard::sha256_hex(b""),
    };
    Ok((Plan::new(&units, sharding.max_per_shard.get(), &commit, &config), unknown))
}

/// The plan as text: a header, then one line per shard.
fn plan_text(plan: &Plan, unknown: Option<&str>) -> String {
    let count = plan.shards.len();
    let per = plan.units_per_shard;
    let mut out = format!(
        "release-check plan: {count} shard{}, up to {per} unit{} per shard\n",
        gate_core::model::plural(count),
        gate_core::model::plural(per)
    );
    match unknown {
        Some(why) => out.push_str(&format!("  commit  {UNKNOWN_COMMIT} ({why})\n")),
        None => out.push_str(&format!("  commit  {}\n", plan.commit)),
    }
    out.push_str(&format!("  config  {}\n  plan    {}\n\n", plan.config, plan.digest));
    let width = plan.shards.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for shard in &plan.shards {
        let units = if shard.units.is_empty() { "the whole gate".to_owned() } else { shard.units.join(", ") };
        out.push_str(&format!("{:<width$}  {}: {units}\n", shard.id, shard.gate));
    }
    out
}

/// The `*.json` files under `dir`, sorted, without following symlinks.
fn json_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read directory {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
        let kind = entry.file_type().with_context(|| format!("cannot read {}", entry.path().display()))?;
        entries.push((entry.path(), kind));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in entries {
        if kind.is_dir() {
            json_files(&path, files)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// A partial report's text, refusing one larger than [`MAX_PARTIAL_BYTES`].
fn read_partial_text(file: &Path) -> Result<String, shard::ReadError> {
    let io = |message: String| shard::ReadError::Io { file: file.display().to_string(), message };
    let opened = std::fs::File::open(file).map_err(|e| io(format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    opened
        .take(MAX_PARTIAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_PARTIAL_BYTES {
        return Err(io(format!("larger than {MAX_PARTIAL_BYTES} bytes, not a partial report")));
    }
    String::from_utf8(bytes).map_err(|e| io(format!("not UTF-8 text: {e}")))
}
