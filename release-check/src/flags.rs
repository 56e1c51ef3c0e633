//! The command line, declared once: every clap struct and enum of
//! `release-check` and its subcommands (as rust-analyzer's xtask keeps its
//! in one `flags` module). Pieces that several commands take, `--as-of`,
//! `--offline` and the report's output options, are declared once here and
//! flattened where they apply; `--repo` and `--config` are global.
//!
//! What the flags mean is decided elsewhere: the [`crate::session`] builder
//! turns them into gates, run options and a context, and each gate's own
//! flags ([`GateFlags`]) override its configuration in the gate registry
//! ([`crate::registry`]).

use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use gate_images::ImageRef;
use github::Repo;

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
    /// The moment the release is judged at.
    #[command(flatten)]
    pub as_of: AsOfArg,
    /// The gates' own options.
    #[command(flatten)]
    pub gate_flags: GateFlags,
    /// How the report is written.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--as-of`, of a run and of `aggregate` (which words its help for the
/// waivers, all it judges).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AsOfArg {
    /// Judge the release as of this moment instead of now: expiry of keys,
    /// signatures and waivers is decided against it. RFC 3339 timestamp
    /// (`2022-07-05T18:42:08Z`) or a date (`2022-07-05`, midnight UTC).
    #[arg(long, value_name = "WHEN", value_parser = parse_as_of)]
    pub as_of: Option<jiff::Timestamp>,
}

/// The flags that override one gate's configuration section: each gate's
/// own, applied by its overrides in the gate registry
/// ([`crate::registry::GatesConfig::apply_flags`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GateFlags {
    /// The ci gate's.
    #[command(flatten)]
    pub ci: CiFlags,
    /// The wheels gate's.
    #[command(flatten)]
    pub wheels: WheelsFlags,
}

/// The ci gate's flags, overriding `[gates.ci]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CiFlags {
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
}

/// The wheels gate's flags, overriding `[gates.wheels.rebuild]` and
/// `[gates.wheels.build-deps]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WheelsFlags {
    /// wheels gate: rebuild only this wheel (file or project name; repeatable),
    /// instead of `[gates.wheels.rebuild] wheels`.
    #[arg(long = "wheel", value_name = "NAME")]
    pub wheels: Vec<String>,
    /// wheels gate: rebuild without reading or writing the rebuild cache.
    #[arg(long)]
    pub no_cache: bool,
    /// The build-dependency analysis's cache only.
    #[command(flatten)]
    pub offline: OfflineArg,
}

/// `--offline`, of a run and of `bisect` (which words its help for the
/// analysis, all it runs).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OfflineArg {
    /// wheels gate: the build-dependency analysis reads only its cache of
    /// index answers and sends no request (`[gates.wheels.build-deps] offline`).
    #[arg(long)]
    pub offline: bool,
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
    ImageTest(ImageTestArgs),
    /// Post a JSON report to GitHub: a sticky pull-request comment, a commit
    /// status and, inside GitHub Actions, the job summary and annotations.
    ///
    /// Without --post, prints exactly what would be posted and changes nothing.
    #[command(after_help = PUBLISH_HELP)]
    Publish(PublishArgs),
    /// List the work of a run as shards, for one CI job each.
    ///
    /// Each gate is one shard, except the wheels gate, whose sets and wheels
    /// are grouped `--max-per-shard` to a shard (at most 256 shards, a GitHub
    /// Actions matrix's limit: groups grow when needed).
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Run the gates, like release-check without a subcommand; with
    /// --shard, only that shard of the plan, writing a partial JSON report.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Merge the partial reports of every shard into the final report.
    ///
    /// A missing or duplicate shard, or one of another commit, configuration
    /// or plan, is an error item of the `aggregate` gate: NO-GO.
    #[command(after_help = EXIT_CODES)]
    Aggregate(AggregateArgs),
    /// Find the upload to the package index that changed the build-dependency
    /// analysis between a good and a bad moment, and name the bump.
    ///
    /// Runs the analysis of [gates.wheels.build-deps] as of upload times
    /// between the two moments (binary search, like git bisect) and prints
    /// the first upload that changes its findings: the distribution, old →
    /// new version, the upload time and the needs it added.
    #[command(after_help = BISECT_HELP)]
    Bisect(BisectArgs),
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

/// `image-test`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ImageTestArgs {
    /// The image tested, by digest: `IMAGE[:TAG]@sha256:<hex>`.
    #[arg(value_name = "IMAGE@DIGEST", value_parser = parse_pinned)]
    pub image: ImageRef,
    /// Write the record into DIR [default: `[gates.images] test-records`, else
    /// dockerfiles/test-records, in the repository].
    #[arg(long, value_name = "DIR")]
    pub records: Option<PathBuf>,
    /// Link to the test run [default: the GitHub Actions run, from
    /// GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID, when set].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A file inside the repository that configures the test, recorded with
    /// its SHA-256 (repeatable).
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_files: Vec<PathBuf>,
    /// The test command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// `release-check publish`.
#[derive(Debug, Clone, clap::Args)]
pub struct PublishArgs {
    /// A JSON report (`--format json --output report.json`, or `aggregate`'s).
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,
    /// Publish. Without it, print exactly what would be posted and change nothing.
    #[arg(long)]
    pub post: bool,
    /// The repository, `owner/name` [default: GITHUB_REPOSITORY].
    #[arg(long, value_name = "OWNER/NAME", value_parser = Repo::parse)]
    pub repository: Option<Repo>,
    /// The pull request to comment on [default: the pull request of a
    /// pull_request event]; none: no comment.
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// The commit to set the status on [default: a pull request event's head, else GITHUB_SHA].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The report's name: one sticky comment per pull request and name.
    #[arg(long, value_name = "NAME", default_value = "release-check")]
    pub name: String,
    /// The commit status context.
    #[arg(long, value_name = "CONTEXT", default_value = "release-check")]
    pub context: String,
    /// Post the comment as this login (the token's own by default; look-up needs `GET /user`).
    #[arg(long, value_name = "LOGIN")]
    pub author: Option<String>,
    /// The REST API root [default: GITHUB_API_URL, else https://api.github.com].
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
}

/// How many units a shard runs: `plan`, `run --shard` and `aggregate` must agree.
#[derive(Debug, Clone, clap::Args)]
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
#[derive(Debug, Clone, clap::Args)]
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
#[derive(Debug, Clone, clap::Args)]
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
#[derive(Debug, Clone, clap::Args)]
#[command(mut_args(|arg| reword(arg, "as_of", AGGREGATE_AS_OF)))]
pub struct AggregateArgs {
    /// Partial reports: files, or directories searched (recursively) for `*.json` files.
    #[arg(value_name = "DIR|FILE", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Units per shard.
    #[command(flatten)]
    pub sharding: ShardingArgs,
    /// The moment the waivers' expiry is judged at.
    #[command(flatten)]
    pub as_of: AsOfArg,
    /// How the final report is written.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aggregate --as-of`'s help: only the waivers are judged there. (Without
/// a final full stop, which clap drops from a one-line doc comment.)
const AGGREGATE_AS_OF: &str =
    "Judge the waivers' expiry as of this moment instead of now (see the report's `--as-of`)";

/// `arg` with the help `help` if it is `id`: a shared flag's help worded for
/// one command. (`mut_arg` would move the flag to the end of the
/// completions.)
fn reword(arg: clap::Arg, id: &str, help: &'static str) -> clap::Arg {
    if arg.get_id() == id { arg.help(help) } else { arg }
}

/// `bisect`'s arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("good_moment").required(true).args(["good", "good_report"])))]
#[command(mut_args(|arg| reword(arg, "offline", BISECT_OFFLINE)))]
pub struct BisectArgs {
    /// A moment whose analysis is good: an RFC 3339 time or a date (UTC).
    #[arg(long, value_name = "WHEN", value_parser = parse_as_of)]
    pub good: Option<jiff::Timestamp>,
    /// A JSON report of a good run: its `build-closure` item's `as of` moment.
    #[arg(long, value_name = "REPORT")]
    pub good_report: Option<PathBuf>,
    /// A moment whose analysis is bad [default: now].
    #[arg(long, value_name = "WHEN", value_parser = parse_as_of)]
    pub bad: Option<jiff::Timestamp>,
    /// The analysis's cache only.
    #[command(flatten)]
    pub offline: OfflineArg,
}

/// `bisect --offline`'s help: the analysis is all `bisect` runs.
const BISECT_OFFLINE: &str = "Read only the cache of index answers; send no request";

impl BisectArgs {
    /// The gates' flags `bisect` takes: `--offline`, the wheels gate's.
    pub fn gate_flags(&self) -> GateFlags {
        GateFlags {
            wheels: WheelsFlags { offline: self.offline.clone(), ..WheelsFlags::default() },
            ..GateFlags::default()
        }
    }
}

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

const BISECT_HELP: &str = "Example: release-check bisect --good 2022-06-01 --bad 2022-07-15\n\nExit codes: 0 the change is named, 1 both moments give the same findings, 2 usage or configuration error, or the analysis could not run.";

const IMAGE_TEST_HELP: &str = "Example: release-check image-test ghcr.io/org/builder@sha256:<hex> -- docker run --rm ghcr.io/org/builder@sha256:<hex> make test\n\nExit codes: 0 the test passed, 1 it failed (both write a record), 2 usage error or COMMAND could not be started (no record).";

const PUBLISH_HELP: &str = "The token comes from GITHUB_TOKEN, else GH_TOKEN; it needs pull-requests: write and statuses: write.\n\nExit codes: the report's (0 GO, 1 NO-GO); 2 the report cannot be read, disagrees with its own items, or is of another commit than the one it would post to (an error status is still posted); 3 could not publish (a step failed; each step's outcome is printed).";

const PLAN_HELP: &str = "Example: release-check plan --max-per-shard 20 --format github-matrix\n\n`run --shard` and `aggregate` recompute the plan from the checkout: give them the same --max-per-shard (or set RELEASE_CHECK_MAX_PER_SHARD once for all three).\n\nExit codes: 0 the plan was written, 2 usage, configuration or I/O error.";

const EXIT_CODES: &str = "Exit codes: 0 GO, 1 NO-GO, 2 usage, configuration or I/O error (no verdict); `publish` adds 3: could not publish.";

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

/// A moment given on the command line that is neither an RFC 3339
/// timestamp nor a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected an RFC 3339 timestamp such as 2022-07-05T18:42:08Z or a date such as 2022-07-05, found `{0}`"
)]
pub struct BadMoment(pub String);

/// `--as-of`, `--good`, `--bad`: an RFC 3339 timestamp, or a date (midnight UTC).
pub fn parse_as_of(text: &str) -> Result<jiff::Timestamp, BadMoment> {
    text.parse::<jiff::Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>().map_err(|_| ()).and_then(|d| {
                d.to_zoned_datetime(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| ())
            })
        })
        .map_err(|()| BadMoment(text.to_owned()))
}

/// An image given to `image-test` that is not a reference pinned by digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadImage {
    /// Not an image reference at all.
    #[error("invalid image reference: {0}")]
    Invalid(String),
    /// A reference without a digest.
    #[error("`{0}` has no digest: a test record is for one image digest, write IMAGE@sha256:<hex>")]
    NoDigest(String),
}

/// `image-test`'s IMAGE@DIGEST: a reference with a digest.
pub fn parse_pinned(text: &str) -> Result<ImageRef, BadImage> {
    let image = gate_images::reference::parse(text).map_err(|e| BadImage::Invalid(e.to_string()))?;
    if image.digest.is_none() {
        return Err(BadImage::NoDigest(text.to_owned()));
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_references_with_a_digest_are_accepted() {
        let hex = "0".repeat(64);
        assert!(parse_pinned(&format!("ghcr.io/o/i:1@sha256:{hex}")).is_ok());
        assert!(parse_pinned("ghcr.io/o/i:1").unwrap_err().to_string().contains("has no digest"));
        assert!(parse_pinned("Not Valid").unwrap_err().to_string().starts_with("invalid image reference"));
    }

    #[test]
    fn moments_are_timestamps_or_dates() {
        assert_eq!(parse_as_of("2022-07-05").unwrap().to_string(), "2022-07-05T00:00:00Z");
        assert_eq!(parse_as_of("2022-07-05T18:42:08Z").unwrap().to_string(), "2022-07-05T18:42:08Z");
        assert_eq!(parse_as_of("tomorrow"), Err(BadMoment("tomorrow".to_owned())));
    }

    #[test]
    fn shared_flags_keep_each_command_s_help() {
        let cli = Cli::command();
        let help = |command: &clap::Command, id: &str| {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_help().unwrap().to_string()
        };
        let sub = |name: &str| cli.find_subcommand(name).unwrap().clone();
        assert!(help(&cli, "as_of").starts_with("Judge the release as of this moment"));
        assert!(help(&sub("run"), "as_of").starts_with("Judge the release as of this moment"));
        assert_eq!(help(&sub("aggregate"), "as_of"), AGGREGATE_AS_OF);
        assert!(help(&cli, "offline").starts_with("wheels gate: the build-dependency analysis"));
        assert_eq!(help(&sub("bisect"), "offline"), BISECT_OFFLINE);
    }
}
