//! release-check's command line: can we ship this commit, and if not,
//! exactly why not?
//!
//! The `release-check` binary and `cargo xtask release-check` both call
//! [`main`]. Exit codes: [`EXIT_GO`], [`EXIT_NO_GO`], [`EXIT_USAGE`].
//!
//! The command line is declared in [`flags`]; [`session`] makes from it and
//! the configuration the gates, run options and context every subcommand
//! works with.

pub mod bisect_command;
pub mod commit;
pub mod config;
pub mod flags;
pub mod image_test;
pub mod publish_command;
pub mod registry;
pub mod session;
pub mod shard;

use std::ffi::OsString;
use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::CommandFactory as _;
pub use flags::{Cli, ColorArg, Command, CompletionsArgs, FormatArg, OutputArgs, ReportArgs, parse};
use gate_core::render::{self, Format, TextOptions};
use gate_core::{Context, Gate, Report, Verdict};
pub use session::Session;

/// Exit code: every blocker passed.
pub const EXIT_GO: u8 = 0;
/// Exit code: at least one blocker failed or errored.
pub const EXIT_NO_GO: u8 = 1;
/// Exit code: no verdict: bad usage, bad configuration, or the report could not be written.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of `publish`: a step of posting to GitHub failed.
pub const EXIT_PUBLISH_FAILED: u8 = 3;

/// Turns transparent huge pages off for this process (and what it starts).
///
/// mimalloc advises huge pages for its memory, so every thread's first
/// allocation had the kernel clear a 2 MiB page: on a cold build-deps run
/// that was a fifth of the gate's time, and a short-lived process gains
/// nothing from huge pages. Called first thing by the binaries; failure
/// (an old kernel) changes nothing else.
pub fn without_huge_pages() {
    let _ = rustix::thread::disable_transparent_huge_pages(true);
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
    if let Some(Command::Run(args)) = &cli.command {
        shard::refuse_whole_run_flags(args)?;
    }
    // What each command takes from the command line into its session.
    let builder = Session::builder(&cli.repo, loaded);
    let session = match &cli.command {
        None => report_session(builder, &cli.report),
        Some(Command::Run(args)) => report_session(builder, &args.report),
        Some(Command::Aggregate(args)) => builder.as_of(args.as_of.as_of),
        Some(Command::Bisect(args)) => builder.gate_flags(args.gate_flags()),
        Some(Command::ImageTest(_) | Command::Publish(_) | Command::Plan(_) | Command::Completions(_)) => {
            builder
        }
    }
    .build()?;
    match &cli.command {
        Some(Command::ImageTest(args)) => image_test::run(args, &session),
        Some(Command::Publish(args)) => publish_command::run(args),
        Some(Command::Plan(args)) => shard::plan(args, &session),
        Some(Command::Run(args)) => shard::run(args, session),
        Some(Command::Aggregate(args)) => shard::aggregate(args, &session),
        Some(Command::Bisect(args)) => bisect_command::run(args, &session),
        Some(Command::Completions(_)) => unreachable!("answered before the configuration is read"),
        None => report(&cli.report, &session),
    }
}

/// A session as a report's options ask: the gates' flags, `--gate`, `--as-of`.
fn report_session(builder: session::Builder, args: &ReportArgs) -> session::Builder {
    builder.gate_flags(args.gate_flags.clone()).only(&args.gates).as_of(args.as_of.as_of)
}

/// Runs the session's gates and writes the report (or lists the gates, or
/// explains an item, as the options ask).
pub fn report(args: &ReportArgs, session: &Session) -> anyhow::Result<u8> {
    let (gates, options) = (&session.gates, &session.options);
    if args.list_gates {
        let listed = match args.output.format {
            None | Some(FormatArg::Text) => list_gates(gates, options),
            Some(FormatArg::Json) => list_gates_json(gates, options),
            Some(_) => bail!("--list-gates writes text or json (--format text or --format json)"),
        };
        write_output(args.output.output.as_deref(), listed.as_bytes())?;
        return Ok(EXIT_GO);
    }
    if let Some(item) = &args.explain {
        return explain(item, gates, &session.ctx, options);
    }
    // The commit is named (a `git rev-parse`, when no gate names one) while
    // the gates run, as of the run's start.
    let (mut report, local) = std::thread::scope(|scope| {
        let naming = scope.spawn(|| commit::local_commit(&session.repo));
        let report = gate_core::runner::run(gates, &session.ctx, options, session.repository());
        (report, naming.join())
    });
    report.config = session.loaded.source.to_string();
    if let Ok(Ok(judged)) = local {
        report.name_commit(judged);
    }
    let code = emit(&report, &args.output, FormatArg::Text, session);
    // The process ends here: freeing every item one by one (a tenth of the
    // user time on a sums file of 100,000 entries) would only delay the exit.
    std::mem::forget(report);
    code
}

/// Renders `report` as `args` ask (in `default` without `--format`), writes
/// it, and returns the exit code of its verdict. A SARIF report's rules are
/// the checks of every gate of `session`.
pub fn emit(report: &Report, args: &OutputArgs, default: FormatArg, session: &Session) -> anyhow::Result<u8> {
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
        Format::Sarif => render::sarif::sarif(report, &session.catalogue()),
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
