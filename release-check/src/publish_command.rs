//! `release-check publish REPORT.json`: post a report to GitHub.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use gate_core::{REPORT_SCHEMA_VERSION, Report, Verdict};
use github::Repo;
use publish::{Actions, Options, Step, Target};

use crate::flags::PublishArgs;
use crate::{EXIT_GO, EXIT_NO_GO, EXIT_PUBLISH_FAILED, EXIT_USAGE};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The pull request number and head commit of a `pull_request` event, read
/// by the same function as the ci gate's ([`github::event::Event::from_env`]).
/// An event file that cannot be read is an error unless `--pr` and `--sha`
/// make it unneeded.
fn pull_request_event(args: &PublishArgs) -> anyhow::Result<(Option<u64>, Option<String>)> {
    if args.pr.is_some() && args.sha.is_some() {
        return Ok((None, None));
    }
    let event = github::event::Event::from_env(env)?;
    let pull = event.as_ref().and_then(github::event::Event::pull_request);
    Ok((pull.map(|p| p.number), pull.map(|p| p.head_sha.clone())))
}

fn read_report(path: &PathBuf) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: not a release-check JSON report: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if report.schema_version != REPORT_SCHEMA_VERSION {
        bail!(
            "{}: report schema version {}, this release-check reads version {REPORT_SCHEMA_VERSION}",
            path.display(),
            report.schema_version
        );
    }
    // Its verdict, headline and counts must be what its items make it.
    publish::verify(&report).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(report)
}

/// Whether two commit names are the same commit: equal, ignoring case.
/// (Both are full SHAs when they come from GitHub or git.)
fn same_commit(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Runs `publish`; the exit code is the report's verdict unless posting failed.
pub fn run(args: &PublishArgs) -> anyhow::Result<u8> {
    let report = read_report(&args.report);
    let (event_pr, event_sha) = pull_request_event(args)?;
    let repo = match (&args.repository, env("GITHUB_REPOSITORY")) {
        (Some(repo), _) => repo.clone(),
        (None, Some(text)) => Repo::parse(&text).map_err(|e| anyhow::anyhow!("GITHUB_REPOSITORY: {e}"))?,
        (None, None) => bail!("no repository: pass --repository OWNER/NAME (GITHUB_REPOSITORY is not set)"),
    };
    let target = Target {
        repo,
        sha: args.sha.clone().or(event_sha).or_else(|| env("GITHUB_SHA")),
        pr: args.pr.or(event_pr),
    };
    // A report of another commit is stale: its verdict says nothing of this one.
    let report = report.and_then(|report| match (&report.commit, &target.sha) {
        (Some(judged), Some(posted)) if !same_commit(judged, posted) => Err(anyhow::anyhow!(
            "{}: a stale report: it judged commit {judged}, but the status would be posted to {posted}; run release-check on {posted}, or pass --sha {judged} to post to the commit it judged",
            args.report.display()
        )),
        (None, Some(posted)) => Err(anyhow::anyhow!(
            "{}: the report does not name the commit it judged, so it cannot be shown to be about {posted}; write it with this release-check",
            args.report.display()
        )),
        _ => Ok(report),
    });
    let options =
        Options { name: args.name.clone(), context: args.context.clone(), author: args.author.clone() };
    let actions = Actions::detect(env);
    let why = report.as_ref().err().map(|e| format!("{e:#}"));
    let verdict = match (&report, &why) {
        (Ok(report), _) => Ok(report),
        (Err(_), why) => Err(why.as_deref().unwrap_or_default()),
    };
    let publication = publish::prepare(verdict, &target, &options, actions.as_ref());
    if !args.post {
        print!("{publication}");
    } else {
        let config = github::Config {
            api_url: args
                .api_url
                .clone()
                .or_else(|| env("GITHUB_API_URL"))
                .unwrap_or(github::DEFAULT_API_URL.into()),
            token: github::Token::from_env(),
            ..github::Config::default()
        };
        print!("{}", publication.annotations);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the HTTP runtime")?;
        let steps = runtime.block_on(async {
            let client = github::Client::new(config)?;
            Ok::<_, github::Error>(publish::post(&client, &target, &options, &publication).await)
        });
        let steps = steps.map_err(|e| anyhow::anyhow!("could not publish: {e}"))?;
        for step in &steps {
            eprintln!("{step}");
        }
        if steps.iter().any(Step::failed) {
            eprintln!("error: could not publish everything (exit code {EXIT_PUBLISH_FAILED})");
            return Ok(EXIT_PUBLISH_FAILED);
        }
    }
    match report {
        Ok(report) => Ok(if report.verdict == Verdict::Go { EXIT_GO } else { EXIT_NO_GO }),
        Err(e) => {
            // The report's own text may be quoted: escaped as the text report is.
            eprintln!("error: {}", gate_core::render::escape::text(&format!("{e:#}")));
            Ok(EXIT_USAGE)
        }
    }
}
