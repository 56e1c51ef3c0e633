//! release-check's command line: can we ship this commit, and if not,
//! exactly why not?
//!
//! The `release-check` binary and `cargo xtask release-check` both call
//! [`main`]. Exit codes: [`EXIT_GO`], [`EXIT_NO_GO`], [`EXIT_USAGE`].

pub mod bisect_command;
pub mod commit;
pub mod config;
pub mod image_test;
pub mod publish_command;
pub mod registry;
pub mod shard;

use std::ffi::OsString;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use gate_core::render::{self, Format, TextOptions};
use gate_core::{Context, Gate, Report, RunOptions, Verdict};

/// Exit code: every blocker passed.
pub const EXIT_GO: u8 = 0;
/// Exit code: at least one blocker failed or errored.
pub const EXIT_NO_GO: u8 = 1;
/// Exit code: no verdict: bad usage, bad configuration, or the report could not be written.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of `publish`: a step of posting to GitHub failed.
pub const EXIT_PUBLISH_FAILED: u8 = 3;

/// Can we ship this commit? Runs every release gate and prints a GO / NO-GO report.
#[derive(Debug, Parser)]
#[command(name = "release-check", version, about, after_help = EXIT_CODES, disable_help_subcommand = true)]
pub struct Cli {
    /// What to do instead of running the gates.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The repository to check.
    #[arg(long, value_name = "PATH", default_value = ".", global = true)]
    pub repo: PathBuf,
    /// Configuration file [default: release-check.toml or Cargo workspace metadata in the repository].
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The report's options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The options of a report: of a plain run, and of `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Run only this gate (repeatable).
    #[arg(long = "gate", value_name = "NAME")]
    pub gates: Vec<String>,
    /// List every gate and the checks it performs, then exit.
    #[arg(long)]
    pub list_gates: bool,
    /// Explain a check (`gate/check`) or one item of this run (`gate/check/subject`), then exit.
    #[arg(long, value_name = "ITEM")]
    pub explain: Option<String>,
    /// Judge the release as of this moment instead of now: expiry of keys,
    /// signatures and waivers is decided against it. RFC 3339 timestamp
    /// (`2022-07-05T18:42:08Z`) or a date (`2022-07-05`, midnight UTC).
    #[arg(long, value_name = "WHEN", value_parser = parse_as_of)]
    pub as_of: Option<jiff::Timestamp>,
    /// ci gate: the branch, tag, SHA or pull request (`pull/N`) to check,
    /// instead of `[gates.ci] ref`.
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// ci gate: wait up to DURATION (`20m`) for pending checks, polling GitHub.
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<gate_core::HumanDuration>,
    /// ci gate: store every GitHub answer in DIR, an audit trail `--replay` can re-judge.
    #[arg(long, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// ci gate: answer every GitHub request from the recording in DIR, offline.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// wheels gate: rebuild only this wheel (file or project name; repeatable),
    /// instead of `[gates.wheels.rebuild] wheels`.
    #[arg(long = "wheel", value_name = "NAME")]
    pub wheels: Vec<String>,
    /// wheels gate: rebuild without reading or writing the rebuild cache.
    #[arg(long)]
    pub no_cache: bool,
    /// wheels gate: the build-dependency analysis reads only its cache of
    /// index answers and sends no request (`[gates.wheels.build-deps] offline`).
    #[arg(long)]
    pub offline: bool,
    /// How the report is written.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a report is written: by a run and by `aggregate`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Report format [default: text; json for `run --shard`].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the JSON report to FILE (atomically), whatever --format
    /// says: the report `publish` posts, beside a text or SARIF one.
    #[arg(long, value_name = "FILE")]
    pub json_output: Option<PathBuf>,
    /// List passing items too.
    #[arg(long, short)]
    pub verbose: bool,
    /// When to colour text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// Subcommands. Without one, release-check runs the gates and reports; the
/// options above other than `--repo` and `--config` belong to that report.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Test an image digest and record the outcome for the images gate.
    ///
    /// Runs COMMAND and writes `<records>/<hex>.intoto.json`, an in-toto
    /// Statement with the test-result predicate: PASSED when COMMAND exits
    /// with 0, FAILED otherwise. The images gate's `tested` check reads it.
    #[command(after_help = IMAGE_TEST_HELP)]
    ImageTest(image_test::ImageTestArgs),
    /// Post a JSON report to GitHub: a sticky pull-request comment, a commit
    /// status and, inside GitHub Actions, the job summary and annotations.
    ///
    /// Without --post, prints exactly what would be posted and changes nothing.
    #[command(after_help = PUBLISH_HELP)]
    Publish(publish_command::PublishArgs),
    /// List the work of a run as shards, for one CI job each.
    ///
    /// Each gate is one shard, except the wheels gate, whose sets and wheels
    /// are grouped `--max-per-shard` to a shard (at most 256 shards, a GitHub
    /// Actions matrix's limit: groups grow when needed).
    #[command(after_help = shard::PLAN_HELP)]
    Plan(shard::PlanArgs),
    /// Run the gates, like release-check without a subcommand; with
    /// --shard, only that shard of the plan, writing a partial JSON report.
    #[command(after_help = EXIT_CODES)]
    Run(shard::RunArgs),
    /// Merge the partial reports of every shard into the final report.
    ///
    /// A missing or duplicate shard, or one of another commit, configuration
    /// or plan, is an error item of the `aggregate` gate: NO-GO.
    #[command(after_help = EXIT_CODES)]
    Aggregate(shard::AggregateArgs),
    /// Find the upload to the package index that changed the build-dependency
    /// analysis between a good and a bad moment, and name the bump.
    ///
    /// Runs the analysis of [gates.wheels.build-deps] as of upload times
    /// between the two moments (binary search, like git bisect) and prints
    /// the first upload that changes its findings: the distribution, old →
    /// new version, the upload time and the needs it added.
    #[command(after_help = BISECT_HELP)]
    Bisect(bisect_command::BisectArgs),
    /// Print a shell completion script: `release-check completions bash >
    /// ~/.local/share/bash-completion/completions/release-check`.
    Completions(CompletionsArgs),
}

/// `release-check completions`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const BISECT_HELP: &str = "Example: release-check bisect --good 2022-06-01 --bad 2022-07-15\n\nExit codes: 0 the change is named, 1 both moments give the same findings, 2 usage or configuration error, or the analysis could not run.";

const IMAGE_TEST_HELP: &str = "Example: release-check image-test ghcr.io/org/builder@sha256:<hex> -- docker run --rm ghcr.io/org/builder@sha256:<hex> make test\n\nExit codes: 0 the test passed, 1 it failed (both write a record), 2 usage error or COMMAND could not be started (no record).";

const PUBLISH_HELP: &str = "The token comes from GITHUB_TOKEN, else GH_TOKEN; it needs pull-requests: write and statuses: write.\n\nExit codes: the report's (0 GO, 1 NO-GO); 2 the report cannot be read, disagrees with its own items, or is of another commit than the one it would post to (an error status is still posted); 3 could not publish (a step failed; each step's outcome is printed).";

const EXIT_CODES: &str = "Exit codes: 0 GO, 1 NO-GO, 2 usage, configuration or I/O error (no verdict); `publish` adds 3: could not publish.";

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human text.
    Text,
    /// Versioned JSON (docs/report.schema.json).
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// SARIF 2.1.0, for GitHub code scanning (docs/sarif/).
    Sarif,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Parses `args` (program name first), runs, and returns the exit code.
pub fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    gate_core::runner::install_panic_hook();
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_GO });
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", printable_error(&format!("error: {e:#}")));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// An error message as it may be printed: its lines are kept (a located
/// configuration error shows the line it points into), but every control
/// character inside a line is escaped and no line can start a workflow
/// command, since messages quote untrusted text (file names, keys, values).
fn printable_error(message: &str) -> String {
    message
        .split('\n')
        .map(|line| gate_core::render::escape::column_zero(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses the command line. The report's options (all but the global ones)
/// are refused together with a subcommand, which would ignore them.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(args)?;
    if let Some((name, _)) = matches.subcommand() {
        let ignored: Vec<String> = command
            .get_arguments()
            .filter(|a| !a.is_global_set())
            .filter(|a| {
                matches.value_source(a.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine)
            })
            .map(|a| a.get_long().map_or_else(|| a.get_id().to_string(), |l| format!("--{l}")))
            .collect();
        if !ignored.is_empty() {
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "{} {} of the report, not of `{name}`",
                    ignored.join(", "),
                    if ignored.len() == 1 { "is an option" } else { "are options" }
                ),
            ));
        }
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// Runs the command line; `Err` means no verdict (exit 2).
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    if let Some(Command::Completions(args)) = &cli.command {
        write_output(None, completion_script(args.shell).as_bytes())?;
        return Ok(EXIT_GO);
    }
    if !cli.repo.is_dir() {
        bail!("repository {} does not exist or is not a directory", cli.repo.display());
    }
    let loaded = config::load(&cli.repo, cli.config.as_deref())?;
    match &cli.command {
        Some(Command::ImageTest(args)) => image_test::run(args, &cli.repo, &loaded.config),
        Some(Command::Publish(args)) => publish_command::run(args),
        Some(Command::Plan(args)) => shard::plan(args, &cli.repo, &loaded),
        Some(Command::Run(args)) => shard::run(args, &cli.repo, &loaded),
        Some(Command::Aggregate(args)) => shard::aggregate(args, &cli.repo, &loaded),
        Some(Command::Bisect(args)) => bisect_command::run(args, &cli.repo, &loaded),
        Some(Command::Completions(_)) => unreachable!("answered before the configuration is read"),
        None => report(&cli.report, &cli.repo, &loaded),
    }
}

/// Runs the selected gates and writes the report (or lists the gates, or
/// explains an item, as the options ask).
pub fn report(args: &ReportArgs, repo: &Path, loaded: &config::Loaded) -> anyhow::Result<u8> {
    let Prepared { gates, options, ctx } = prepare(args, repo, loaded)?;
    if args.list_gates {
        let listed = match args.output.format {
            None | Some(FormatArg::Text) => list_gates(&gates, &options),
            Some(FormatArg::Json) => list_gates_json(&gates, &options),
            Some(_) => bail!("--list-gates writes text or json (--format text or --format json)"),
        };
        write_output(args.output.output.as_deref(), listed.as_bytes())?;
        return Ok(EXIT_GO);
    }
    if let Some(item) = &args.explain {
        return explain(item, &gates, &ctx, &options);
    }
    let mut report = gate_core::runner::run(&gates, &ctx, &options, repo.display().to_string());
    report.config = loaded.source.to_string();
    if let Ok(judged) = commit::local_commit(repo) {
        report.name_commit(judged);
    }
    emit(&report, &args.output, FormatArg::Text)
}

/// What a run needs, from the options and the configuration.
pub struct Prepared {
    /// The selected gates, configured.
    pub gates: Vec<Arc<dyn Gate>>,
    /// The runner's options.
    pub options: RunOptions,
    /// The context of the run.
    pub ctx: Context,
}

/// The gates a run selects, the runner's options and the context.
pub fn prepare(args: &ReportArgs, repo: &Path, loaded: &config::Loaded) -> anyhow::Result<Prepared> {
    let mut gates_config = loaded.config.gates.clone();
    apply_ci_flags(args, &mut gates_config)?;
    apply_wheel_flags(args, &mut gates_config)?;
    if args.offline {
        offline(&mut gates_config)?;
    }
    let Selected { run: gates, off } =
        select_gates(registry::all_gates(&gates_config), &args.gates, &registry::turned_off(&gates_config))?;
    let mut options = loaded.config.run_options();
    options.off = off;
    if let Some(longest) = gates_config.ci.as_ref().and_then(gate_ci::longest_run) {
        let timeout = options.timeouts.entry("ci".to_owned()).or_insert(options.default_timeout);
        *timeout = (*timeout).max(longest);
    }
    let mut ctx = Context::new(repo);
    if let Some(when) = args.as_of {
        ctx.now = when;
    }
    if let Some(jobs) = loaded.config.run.jobs() {
        ctx.jobs = jobs;
    }
    Ok(Prepared { gates, options, ctx })
}

/// Renders `report` as `args` ask (in `default` without `--format`), writes
/// it, and returns the exit code of its verdict.
pub fn emit(report: &Report, args: &OutputArgs, default: FormatArg) -> anyhow::Result<u8> {
    let format = match args.format.unwrap_or(default) {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Sarif => Format::Sarif,
    };
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let rendered = match format {
        Format::Sarif => render::sarif::sarif(report, &catalogue()),
        _ => render::render(report, format, TextOptions { color, verbose: args.verbose }),
    };
    if let Some(path) = &args.json_output {
        write_atomically(path, render::json(report).as_bytes())?;
    }
    write_output(args.output.as_deref(), rendered.as_bytes())?;
    if let Some(path) = &args.output {
        eprintln!("{}: {} (report written to {})", report.verdict, report.headline, path.display());
    }
    Ok(match report.verdict {
        Verdict::Go => EXIT_GO,
        Verdict::NoGo => EXIT_NO_GO,
    })
}

/// The completion script for `shell`. clap_complete's bash script names the
/// states of a hyphenated binary's subcommands two ways, so that nothing
/// after a subcommand completes (clap-rs/clap#6421): its arms are renamed
/// to the names its loop computes.
fn completion_script(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "release-check", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            script.replace("release__subcmd__check__subcmd__", "release__check__subcmd__")
        }
        _ => script,
    }
}

/// Every gate's documented checks, whatever the configuration: the rules
/// of a SARIF report.
fn catalogue() -> Vec<render::sarif::GateChecks<'static>> {
    registry::all_gates(&registry::GatesConfig::default())
        .iter()
        .map(|gate| render::sarif::GateChecks { gate: gate.name(), checks: gate.checks() })
        .collect()
}

/// `--ref`, `--wait`, `--record`, `--replay` override `[gates.ci]`; their
/// paths are relative to the current directory, like `--config`.
fn apply_ci_flags(args: &ReportArgs, gates: &mut registry::GatesConfig) -> anyhow::Result<()> {
    if args.git_ref.is_none() && args.wait.is_none() && args.record.is_none() && args.replay.is_none() {
        return Ok(());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let ci = gates.ci.get_or_insert_with(Default::default);
    if let Some(git_ref) = &args.git_ref {
        ci.target = Some(git_ref.clone());
    }
    if let Some(wait) = args.wait {
        ci.wait = Some(wait);
    }
    if let Some(dir) = &args.record {
        ci.record = Some(cwd.join(dir));
        ci.replay = None;
    }
    if let Some(dir) = &args.replay {
        if !dir.is_dir() {
            bail!("--replay {}: not a directory", dir.display());
        }
        ci.replay = Some(cwd.join(dir));
        ci.record = None;
    }
    Ok(())
}

/// `--offline`: the build-dependency analysis, which it needs, reads only
/// its cache.
pub(crate) fn offline(gates: &mut registry::GatesConfig) -> anyhow::Result<()> {
    let Some(analysis) = gates.wheels.as_mut().and_then(|wheels| wheels.build_deps.as_mut()) else {
        bail!(
            "--offline keeps the build-dependency analysis to its cache, and it is not configured: add [gates.wheels.build-deps] (docs/config.md)"
        );
    };
    analysis.offline = true;
    Ok(())
}

/// `--wheel` and `--no-cache` override `[gates.wheels.rebuild]`, which
/// they need.
fn apply_wheel_flags(args: &ReportArgs, gates: &mut registry::GatesConfig) -> anyhow::Result<()> {
    if args.wheels.is_empty() && !args.no_cache {
        return Ok(());
    }
    let Some(rebuild) = gates.wheels.as_mut().and_then(|wheels| wheels.rebuild.as_mut()) else {
        bail!(
            "--wheel and --no-cache choose what the wheels gate rebuilds, and rebuilding is not configured: add [gates.wheels.rebuild] (docs/config.md)"
        );
    };
    if !args.wheels.is_empty() {
        rebuild.wheels = args.wheels.clone();
    }
    if args.no_cache {
        rebuild.cache = false;
    }
    Ok(())
}

pub(crate) fn parse_as_of(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map_err(|_| ())
                .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| ()))
        })
        .map_err(|()| format!("expected an RFC 3339 timestamp such as 2022-07-05T18:42:08Z or a date such as 2022-07-05, found `{text}`"))
}

/// The gates that run and those that are off: turned off in the
/// configuration, or left out with `--gate`. A gate named with `--gate`
/// runs even when the configuration turns it off: the command line is the
/// more specific ask.
fn select_gates(all: Vec<Arc<dyn Gate>>, wanted: &[String], turned_off: &[&str]) -> anyhow::Result<Selected> {
    let names: Vec<&str> = all.iter().map(|g| g.name()).collect();
    if let Some(unknown) = wanted.iter().find(|w| !names.contains(&w.as_str())) {
        bail!("unknown gate `{unknown}` (--gate), expected one of: {}", names.join(", "));
    }
    let mut run = Vec::new();
    let mut off = Vec::new();
    for gate in all {
        let name = gate.name();
        let why = if !wanted.is_empty() {
            (!wanted.iter().any(|w| w == name)).then(|| "left out with --gate".to_owned())
        } else {
            turned_off
                .contains(&name)
                .then(|| format!("turned off in the configuration (`[gates.{name}] enabled = false`)"))
        };
        match why {
            Some(why) => off.push(gate_core::OffGate {
                name: name.to_owned(),
                verifies: gate.verifies().to_owned(),
                why,
            }),
            None => run.push(gate),
        }
    }
    Ok(Selected { run, off })
}

/// The gates a run selects: those that run and those that are off.
struct Selected {
    run: Vec<Arc<dyn Gate>>,
    off: Vec<gate_core::OffGate>,
}

fn list_gates(gates: &[Arc<dyn Gate>], options: &gate_core::RunOptions) -> String {
    let mut out = String::new();
    for gate in gates {
        out.push_str(&format!("{}: {}\n", gate.name(), gate.verifies()));
        for check in gate.checks() {
            let id = format!("{}/{}", gate.name(), check.id);
            let severity = options.severity.get(&id).copied().unwrap_or(check.default_severity);
            out.push_str(&format!("  {id:<28} {:<8} {}\n", severity_name(severity), check.summary));
        }
    }
    out
}

/// `--list-gates --format json`: every selected gate and its checks, with
/// the default severity and the one this configuration gives.
fn list_gates_json(gates: &[Arc<dyn Gate>], options: &gate_core::RunOptions) -> String {
    #[derive(serde::Serialize)]
    struct Listed<'a> {
        tool_version: &'a str,
        gates: Vec<ListedGate<'a>>,
    }
    #[derive(serde::Serialize)]
    struct ListedGate<'a> {
        name: &'a str,
        verifies: &'a str,
        checks: Vec<ListedCheck<'a>>,
    }
    #[derive(serde::Serialize)]
    struct ListedCheck<'a> {
        id: String,
        default_severity: &'a str,
        severity: &'a str,
        summary: &'a str,
        remedy: &'a str,
    }
    let gates = gates
        .iter()
        .map(|gate| ListedGate {
            name: gate.name(),
            verifies: gate.verifies(),
            checks: gate
                .checks()
                .iter()
                .map(|check| {
                    let id = format!("{}/{}", gate.name(), check.id);
                    let severity = options.severity.get(&id).copied().unwrap_or(check.default_severity);
                    ListedCheck {
                        id,
                        default_severity: severity_name(check.default_severity),
                        severity: severity_name(severity),
                        summary: check.summary,
                        remedy: check.remedy,
                    }
                })
                .collect(),
        })
        .collect();
    let listed = Listed { tool_version: env!("CARGO_PKG_VERSION"), gates };
    let mut out = serde_json::to_string_pretty(&listed).expect("the gate list always serialises");
    out.push('\n');
    out
}

fn severity_name(severity: gate_core::Severity) -> &'static str {
    match severity {
        gate_core::Severity::Blocker => "blocker",
        gate_core::Severity::Warning => "warning",
    }
}

fn explain(
    item: &str,
    gates: &[Arc<dyn Gate>],
    ctx: &Context,
    options: &gate_core::RunOptions,
) -> anyhow::Result<u8> {
    let mut parts = item.splitn(3, '/');
    let (gate_name, check_id, subject) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let Some(gate) = gates.iter().find(|g| g.name() == gate_name) else {
        let names: Vec<&str> = gates.iter().map(|g| g.name()).collect();
        bail!(
            "--explain {item}: unknown gate `{gate_name}`, expected `gate/check` or `gate/check/subject` with gate one of: {}",
            names.join(", ")
        );
    };
    let Some(check) = check_id.and_then(|id| gate.checks().iter().find(|c| c.id == id)) else {
        let ids: Vec<&str> = gate.checks().iter().map(|c| c.id).collect();
        bail!(
            "--explain {item}: unknown check, expected `{gate_name}/<check>` with check one of: {}",
            ids.join(", ")
        );
    };
    let id = format!("{gate_name}/{}", check.id);
    let severity = options.severity.get(&id).copied().unwrap_or(check.default_severity);
    let mut out = format!(
        "{id} ({}; default {})\n  verifies: {}\n  remedy:   {}\n",
        severity_name(severity),
        severity_name(check.default_severity),
        check.summary,
        check.remedy
    );
    if subject.is_some() {
        let report =
            gate_core::runner::run(std::slice::from_ref(gate), ctx, options, ctx.repo.display().to_string());
        let Some((_, found)) = report.items().find(|(_, i)| i.id == item) else {
            bail!("--explain {item}: this run reported no such item (`--format json` lists every item id)");
        };
        out.push('\n');
        out.push_str(&render::text_item(found));
    }
    print!("{out}");
    Ok(EXIT_GO)
}

/// Writes `bytes` atomically to `path`, or to standard output.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(path) => write_atomically(path, bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes).context("cannot write to standard output")?;
            stdout.flush().context("cannot write to standard output")
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers never see a half-written report. Only a regular
/// file is replaced: a symbolic link, FIFO or device at `path` is refused.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(gate_core::files::write_atomic(path, bytes, false)?)
}
