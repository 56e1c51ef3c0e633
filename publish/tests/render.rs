//! What would be posted, without any request: the commit status for each
//! outcome, workflow-command annotations and their escaping, the job
//! summary, and a comment body that untrusted names cannot turn into markup.

mod support;

use std::collections::HashMap;

use gate_core::{Item, Location, Report, render};
use github::Repo;
use publish::{Actions, CommitStatus, DESCRIPTION_LIMIT, Options, Publication, Target};
use support::{REPO, SHA, report};

fn target() -> Target {
    Target { repo: Repo::parse(REPO).unwrap(), sha: Some(SHA.to_owned()), pr: Some(7) }
}

/// GitHub Actions as `vars` describe it.
fn actions(vars: &[(&str, &str)]) -> Option<Actions> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Actions::detect(|name| vars.get(name).cloned())
}

const RUN: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_SERVER_URL", "https://github.com/"),
    ("GITHUB_REPOSITORY", "octo/app"),
    ("GITHUB_RUN_ID", "4242"),
];

fn status(publication: &Publication) -> &CommitStatus {
    let (sha, status) = publication.status.as_ref().expect("a commit status");
    assert_eq!(sha, SHA);
    status
}

fn go() -> Report {
    report(vec![("wheels", vec![Item::pass("sums", "a.whl", "matches")])])
}

fn no_go() -> Report {
    report(vec![("wheels", vec![Item::fail("sums", "a.whl", "differs")])])
}

#[test]
fn the_status_says_success_or_failure() {
    let options = Options { context: "ci/release".to_owned(), ..Options::default() };
    let run = actions(RUN);
    let go = publish::prepare(Ok(&go()), &target(), &options, run.as_ref());
    assert_eq!(
        status(&go),
        &CommitStatus {
            state: "success",
            description: "GO: every check passed".to_owned(),
            context: "ci/release".to_owned(),
            target_url: Some("https://github.com/octo/app/actions/runs/4242".to_owned()),
        }
    );
    let no_go = publish::prepare(Ok(&no_go()), &target(), &options, None);
    assert_eq!(
        status(&no_go),
        &CommitStatus {
            state: "failure",
            description: "NO-GO: 1 blocker".to_owned(),
            context: "ci/release".to_owned(),
            target_url: None,
        }
    );
}

#[test]
fn the_description_is_cut_to_140_characters() {
    let why = format!("report.json: {}", "é".repeat(300));
    let publication = publish::prepare(Err(&why), &target(), &Options::default(), None);
    let description = &status(&publication).description;
    assert_eq!(description.chars().count(), DESCRIPTION_LIMIT);
    assert!(description.starts_with("no verdict: report.json: éé"), "{description}");
    assert!(description.ends_with('…'), "{description}");
    let short = publish::prepare(Ok(&no_go()), &target(), &Options::default(), None);
    assert!(!status(&short).description.contains('…'));
}

#[test]
fn actions_are_detected_from_the_environment_only() {
    assert_eq!(actions(&[]), None);
    assert_eq!(actions(&[("GITHUB_ACTIONS", "false"), ("GITHUB_RUN_ID", "1")]), None);
    let partial = actions(&[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", "summary.md")]).unwrap();
    assert_eq!(partial.run_url, None, "no run id: no link");
    assert_eq!(partial.step_summary.as_deref(), Some(std::path::Path::new("summary.md")));
    assert_eq!(
        actions(RUN).unwrap().run_url.as_deref(),
        Some("https://github.com/octo/app/actions/runs/4242")
    );
}

fn located_report() -> Report {
    report(vec![(
        "wheels",
        vec![
            Item::fail("sums", "x:y,z%", "100% sure\r\nnext line").at(Location::at("src/a,b:c.py", 3, 5)),
            Item::warn("pins", "req.txt", "unpinned").at(Location::file("requirements.txt")),
            Item::fail("sums", "unlocated.whl", "no location, no annotation"),
            Item::skipped("pins", "skipped.txt", "skipped").at(Location::file("skipped.txt")),
            Item::pass("sums", "ok.whl", "fine").at(Location::file("ok.whl")),
        ],
    )])
}

#[test]
fn annotations_escape_workflow_command_data_and_properties() {
    let publication =
        publish::prepare(Ok(&located_report()), &target(), &Options::default(), actions(RUN).as_ref());
    assert_eq!(
        publication.annotations,
        "::group::release-check annotations\n\
         ::error file=src/a%2Cb%3Ac.py,line=3,col=5,title=wheels/sums/x%3Ay%2Cz%25::100%25 sure%0D%0Anext line\n\
         ::warning file=requirements.txt,title=wheels/pins/req.txt::unpinned\n\
         ::error file=skipped.txt,title=wheels/pins/skipped.txt::skipped\n\
         ::endgroup::\n"
    );
    let elsewhere = publish::prepare(Ok(&located_report()), &target(), &Options::default(), None);
    assert_eq!(elsewhere.annotations, "", "nothing of this outside GitHub Actions");
    let unlocated = publish::prepare(Ok(&no_go()), &target(), &Options::default(), actions(RUN).as_ref());
    assert_eq!(unlocated.annotations, "", "no located item: no empty group");
}

#[test]
fn the_step_summary_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("step_summary.md");
    std::fs::write(&path, "an earlier step's summary\n").unwrap();
    let run = actions(&[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", path.to_str().unwrap())]);
    for report in [no_go(), go()] {
        let publication = publish::prepare(Ok(&report), &target(), &Options::default(), run.as_ref());
        let (to, markdown) = publication.summary.as_ref().expect("a job summary");
        assert_eq!(to, &path);
        assert_eq!(markdown, &render::markdown(&report));
        publish::actions::append_summary(to, markdown).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap();
    let expected =
        format!("an earlier step's summary\n{}\n{}\n", render::markdown(&no_go()), render::markdown(&go()));
    assert_eq!(written, expected);
    assert!(written.contains("❌ NO-GO") && written.contains("✅ GO"));
    let outside = publish::prepare(Ok(&go()), &target(), &Options::default(), None);
    assert!(outside.summary.is_none());
}

#[test]
fn untrusted_names_render_as_text() {
    let hostile = "evil|pkg`x`<!--@someone-->";
    let branch = "main`<!-- -->|@someone<img src=x onerror=alert(1)>";
    let mut report = report(vec![
        ("wheels", vec![Item::fail("sums|`<!--", hostile, format!("built from branch {branch}"))]),
        (
            "ci",
            vec![Item::error(
                "required-->",
                branch,
                "check `build` -->@someone <img src=x onerror=alert(1)>",
            )],
        ),
    ]);
    report.repository = format!("octo/app @someone {branch}");
    report.tool_version = "0.0.0".to_owned();
    let options = Options {
        name: "nightly ---> <img src=x onerror=alert(1)> @someone".to_owned(),
        ..Options::default()
    };
    let publication = publish::prepare(Ok(&report), &target(), &options, None);
    let (_, body) = publication.comment.as_ref().unwrap();
    let marker = publish::comment::marker(&options.name);
    assert_eq!(body.matches(&marker).count(), 1);
    assert!(body.starts_with(&marker));
    assert_eq!(body.matches("<!--").count(), 1, "only the marker opens a comment");
    assert_eq!(body.matches("-->").count(), 1, "only the marker's end closes it");
    assert!(body.ends_with(&format!("{}\n", "</details>")));
    let rendered = &body[marker.len()..];
    assert!(!rendered.contains("@someone"), "no mention");
    assert!(!rendered.contains("<img"), "no HTML");
    assert!(!body.contains("evil|") && !body.contains("`x`"), "no table cell or code span breaks out");
    insta::assert_snapshot!(body);
}

#[test]
fn a_failed_release_check_posts_only_an_error_status() {
    let publication = publish::prepare(
        Err("report.json:1:1: not a release-check JSON report"),
        &target(),
        &Options::default(),
        actions(RUN).as_ref(),
    );
    assert!(publication.comment.is_none());
    assert!(publication.summary.is_none());
    assert_eq!(publication.annotations, "");
    let status = status(&publication);
    assert_eq!(status.state, "error");
    assert!(status.description.starts_with("no verdict: report.json:1:1"), "{}", status.description);
    assert_eq!(status.target_url.as_deref(), Some("https://github.com/octo/app/actions/runs/4242"));
}
