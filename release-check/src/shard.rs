//! `plan`, `run --shard` and `aggregate`: one run split across CI jobs.
//!
//! `plan` lists the shards; each CI job runs one with `run --shard ID` and
//! writes a partial report; `aggregate` merges the partial reports into the
//! final one. `run` and `aggregate` recompute the plan from the checkout
//! (the same commit, configuration and `--max-per-shard`) rather than trust
//! one handed to them, so a partial report of another plan is refused by
//! comparing digests.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use gate_core::shard::{self, Plan, UNKNOWN_COMMIT};

use crate::config::Source;
use crate::flags::{AggregateArgs, PlanArgs, PlanFormat, RunArgs, ShardingArgs};
use crate::{EXIT_GO, FormatArg, Session, registry};

/// Largest partial report read, in bytes.
const MAX_PARTIAL_BYTES: u64 = 64 * 1024 * 1024;

/// `release-check plan`: writes the plan.
pub fn plan(args: &PlanArgs, session: &Session) -> anyhow::Result<u8> {
    let (plan, unknown) = make_plan(session, &args.sharding)?;
    let text = match args.format {
        PlanFormat::Text => plan_text(&plan, unknown.as_deref()),
        PlanFormat::Json => plan.to_json(),
        PlanFormat::GithubMatrix => plan.github_matrix(),
    };
    crate::write_output(args.output.as_deref(), text.as_bytes())?;
    Ok(EXIT_GO)
}

/// Refuses the options of a whole run that `run --shard` cannot take:
/// checked before the session is made, which `--gate` would shape.
pub fn refuse_whole_run_flags(args: &RunArgs) -> anyhow::Result<()> {
    if let Some(id) = &args.shard
        && (!args.report.gates.is_empty() || args.report.list_gates || args.report.explain.is_some())
    {
        bail!(
            "--shard {id}: --gate, --list-gates and --explain do not apply to a shard, which runs what the plan gives it"
        );
    }
    Ok(())
}

/// `release-check run`: a whole run, or one shard's partial report. The
/// shard runs the session's own gates, built once for the plan and the run.
pub fn run(args: &RunArgs, mut session: Session) -> anyhow::Result<u8> {
    let Some(id) = &args.shard else {
        return crate::report(&args.report, &session);
    };
    refuse_whole_run_flags(args)?;
    let (plan, _) = make_plan(&session, &args.sharding)?;
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
    let gates: Vec<_> = session.gates.iter().filter(|g| g.name() == planned.gate).cloned().collect();
    if !planned.units.is_empty() {
        session.ctx.units = Some(planned.units.iter().cloned().collect());
    }
    // Waivers are judged once, by `aggregate`, over the items of every shard,
    // and `aggregate` lists the gates that are off.
    session.options.waivers.clear();
    session.options.off.clear();
    let mut report = gate_core::runner::run(&gates, &session.ctx, &session.options, session.repository());
    report.config = session.loaded.source.to_string();
    report.shard = Some(plan.info(planned));
    crate::emit(&report, &args.report.output, FormatArg::Json, &session)
}

/// `release-check aggregate`: merges the partial reports into the final report.
pub fn aggregate(args: &AggregateArgs, session: &Session) -> anyhow::Result<u8> {
    let (plan, _) = make_plan(session, &args.sharding)?;
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
    let ctx = &session.ctx;
    let waivers = &session.options.waivers;
    let mut report = shard::aggregate(&plan, partials, &unread, waivers, ctx.today(), session.repository());
    report.config = session.loaded.source.to_string();
    report.as_of = ctx.now.to_string();
    // `aggregate` takes no `--gate`: the gates off are those the configuration turns off.
    report.gates.extend(session.options.off.iter().map(gate_core::OffGate::report));
    crate::emit(&report, &args.output, FormatArg::Text, session)
}

/// The plan of the session's checkout, and why its commit is unknown if it
/// is: every gate the configuration does not turn off, with its units.
fn make_plan(session: &Session, sharding: &ShardingArgs) -> anyhow::Result<(Plan, Option<String>)> {
    let turned_off = registry::turned_off(&session.gates_config);
    let units: Vec<(&str, Vec<String>)> = session
        .all
        .iter()
        .filter(|g| !turned_off.contains(&g.name()))
        .map(|g| (g.name(), g.units(&session.ctx)))
        .collect();
    let (commit, unknown) = match crate::commit::local_commit(&session.repo) {
        Ok(judged) => (judged.sha, None),
        Err(why) => (UNKNOWN_COMMIT.to_owned(), Some(why.0)),
    };
    let config = match &session.loaded.source {
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
