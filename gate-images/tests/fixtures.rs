//! The gate on real repositories, read in place from `shared/fixtures`, and
//! on the bundled example release repository.

use std::path::{Path, PathBuf};

use gate_core::{CancelToken, Context, Evidence, Gate, GateOutcome, Item, Location, Status};
use gate_images::{Config, ImagesGate, Kind, collect};
use test_support::locations;

fn fixture(name: &str) -> PathBuf {
    test_support::shared_fixture(name)
}

fn run(repo: &Path) -> GateOutcome {
    ImagesGate::new(Config::default()).run(&Context::new(repo))
}

fn item<'a>(outcome: &'a GateOutcome, check: &str, subject: &str) -> &'a Item {
    outcome
        .items
        .iter()
        .find(|i| i.check == check && i.subject == subject)
        .unwrap_or_else(|| panic!("no {check} item for {subject}: {:#?}", outcome.items))
}

const BULLSEYE_CI: &str = "quay.io/freedomofpress/packaging-debian-bullseye@sha256:b23206cff095aa5f0764d03c18ff1212a386386b9026441cc36ea836b19b0919";
const BUSTER_CI: &str = "quay.io/freedomofpress/packaging-debian-buster@sha256:16d2df1935807c6a751d0536e3cb36970c4c22d7324915d25ee84c90b032c307";

#[test]
fn securedrop_2022_07_references() {
    let collected = collect(&fixture("securedrop-2022-07"), &CancelToken::default());
    // 36 in .circleci/config.yml, one FROM in each of the two Dockerfiles.
    assert_eq!(collected.references.len(), 38);
    let ci: Vec<_> = collected.references.iter().filter(|r| r.kind == Kind::CircleCi).collect();
    assert_eq!(ci.len(), 36);
    let count = |text: &str| ci.iter().filter(|r| r.found.text == text).count();
    assert_eq!(count("circleci/python:3.7-buster"), 16);
    assert_eq!(count("circleci/python:3.9-bullseye"), 16);
    assert_eq!(count("debian:bullseye"), 2);
    assert_eq!(count(BULLSEYE_CI), 1);
    assert_eq!(count(BUSTER_CI), 1);
    let dockerfiles: Vec<(String, String)> = collected
        .references
        .iter()
        .filter(|r| r.kind == Kind::Dockerfile)
        .map(|r| (r.location().to_string(), r.found.text.clone()))
        .collect();
    assert_eq!(
        dockerfiles,
        [
            ("dockerfiles/bullseye/Dockerfile:2:6".to_owned(), "debian:bullseye".to_owned()),
            ("dockerfiles/buster/Dockerfile:2:6".to_owned(), "debian:buster".to_owned()),
        ]
    );
}

#[test]
fn securedrop_2022_07_pins() {
    let outcome = run(&fixture("securedrop-2022-07"));
    let mut pinned: Vec<(&str, Status, usize)> = outcome
        .items
        .iter()
        .filter(|i| i.check == "pinned")
        .map(|i| (i.subject.as_str(), i.status, locations(i).len()))
        .collect();
    let bullseye = format!(".circleci/config.yml:{BULLSEYE_CI}");
    let buster = format!(".circleci/config.yml:{BUSTER_CI}");
    pinned.sort();
    let mut want = vec![
        (".circleci/config.yml:circleci/python:3.7-buster", Status::Fail, 16),
        (".circleci/config.yml:circleci/python:3.9-bullseye", Status::Fail, 16),
        (".circleci/config.yml:debian:bullseye", Status::Fail, 2),
        (&bullseye, Status::Pass, 1),
        (&buster, Status::Pass, 1),
        ("dockerfiles/bullseye/Dockerfile:debian:bullseye", Status::Fail, 1),
        ("dockerfiles/buster/Dockerfile:debian:buster", Status::Fail, 1),
    ];
    want.sort();
    assert_eq!(pinned, want);
    assert_eq!(
        locations(item(&outcome, "pinned", ".circleci/config.yml:debian:bullseye")),
        [".circleci/config.yml:298:16", ".circleci/config.yml:330:16"]
    );
    assert_eq!(locations(item(&outcome, "pinned", &bullseye)), [".circleci/config.yml:266:16"]);
    assert_eq!(locations(item(&outcome, "pinned", &buster)), [".circleci/config.yml:281:16"]);
    assert!(outcome.items.iter().all(|i| i.check != "reference-syntax"));
    assert!(outcome.items.iter().filter(|i| i.check == "parse").all(|i| i.status == Status::Pass));
}

#[test]
fn securedrop_2022_07_bullseye_digest_disagrees_with_ci() {
    let outcome = run(&fixture("securedrop-2022-07"));
    let bullseye = item(&outcome, "pushed-digest", "dockerfiles/bullseye/image_hash");
    assert_eq!(bullseye.status, Status::Fail);
    assert_eq!(
        bullseye.evidence,
        [
            Evidence::Location(Location::at("dockerfiles/bullseye/image_hash", 2, 1)),
            Evidence::hash(
                "sha256",
                "197a4b1de4d4b94fc69d242a140684edae70b6760287b066afe3dd6427d4eddb",
                Some("b23206cff095aa5f0764d03c18ff1212a386386b9026441cc36ea836b19b0919".to_owned()),
            ),
            Evidence::Location(Location::at(".circleci/config.yml", 266, 16)),
        ]
    );
    assert!(
        bullseye.reason.contains("sha256:b23206cff095aa5f0764d03c18ff1212a386386b9026441cc36ea836b19b0919")
    );
    assert!(
        bullseye.reason.contains("sha256:197a4b1de4d4b94fc69d242a140684edae70b6760287b066afe3dd6427d4eddb")
    );

    let buster = item(&outcome, "pushed-digest", "dockerfiles/buster/image_hash");
    assert_eq!(buster.status, Status::Pass);
    assert_eq!(locations(buster), ["dockerfiles/buster/image_hash:2:1", ".circleci/config.yml:281:16"]);
    assert_eq!(outcome.items.iter().filter(|i| i.check == "pushed-digest").count(), 2);
    assert!(
        outcome.notes.iter().any(|n| n
            == "dockerfiles/bullseye/image_hash ↔ quay.io/freedomofpress/packaging-debian-bullseye (named in the file)"),
        "{:?}",
        outcome.notes
    );
}

#[test]
fn securedrop_2022_07_explicit_record_mapping_finds_the_same_disagreement() {
    let config: Config = toml::from_str(
        r#"
        [[record]]
        image = "quay.io/freedomofpress/packaging-debian-bullseye"
        file = "dockerfiles/bullseye/image_hash"
        "#,
    )
    .unwrap();
    let outcome = ImagesGate::new(config).run(&Context::new(fixture("securedrop-2022-07")));
    let records: Vec<_> = outcome.items.iter().filter(|i| i.check == "pushed-digest").collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, Status::Fail);
    assert_eq!(records[0].subject, "dockerfiles/bullseye/image_hash");
    assert!(locations(records[0]).contains(&".circleci/config.yml:266:16".to_owned()));
}

#[test]
fn securedrop_head_tag_only_containers() {
    let repo = fixture("securedrop-head");
    let collected = collect(&repo, &CancelToken::default());
    // No Dockerfile; four job containers; `actions/checkout@v7` is an action, not an image.
    assert!(collected.references.iter().all(|r| r.kind == Kind::GitHubActions));
    let mut refs: Vec<(String, String, String)> = collected
        .references
        .iter()
        .map(|r| (r.location().to_string(), r.found.text.clone(), r.found.context.clone()))
        .collect();
    refs.sort();
    let expect = |l: &str, t: &str, c: &str| (l.to_owned(), t.to_owned(), c.to_owned());
    assert_eq!(
        refs,
        [
            expect(".github/workflows/ci.yml:12:16", "debian:bookworm", "jobs.checks.container"),
            expect(".github/workflows/ci.yml:37:16", "debian:bookworm", "jobs.checksums.container"),
            expect(".github/workflows/reprotest.yml:17:16", "debian:trixie", "jobs.keys.container"),
            expect(".github/workflows/reprotest.yml:36:16", "debian:bookworm", "jobs.reprotest.container"),
        ]
    );
    assert!(collected.records.is_empty());

    let outcome = run(&repo);
    let failed: Vec<&str> =
        outcome.items.iter().filter(|i| i.status == Status::Fail).map(|i| i.subject.as_str()).collect();
    assert_eq!(
        failed,
        [
            ".github/workflows/ci.yml:debian:bookworm",
            ".github/workflows/reprotest.yml:debian:trixie",
            ".github/workflows/reprotest.yml:debian:bookworm",
        ]
    );
    assert!(outcome.items.iter().filter(|i| i.status == Status::Fail).all(|i| i.check == "pinned"));
    assert!(outcome.items.iter().all(|i| i.check != "pushed-digest"));
}

#[test]
fn securedrop_head_bookworm_is_allowed_by_configuration() {
    let config: Config = toml::from_str(
        r#"allow-tags = [{ image = "debian:bookworm", reason = "rebuilt daily from Debian's own image" }]"#,
    )
    .unwrap();
    let outcome = ImagesGate::new(config).run(&Context::new(fixture("securedrop-head")));
    let ci = item(&outcome, "pinned", ".github/workflows/ci.yml:debian:bookworm");
    assert_eq!(ci.status, Status::Pass);
    assert!(ci.reason.contains("rebuilt daily from Debian's own image"), "{}", ci.reason);
    assert_eq!(
        item(&outcome, "pinned", ".github/workflows/reprotest.yml:debian:trixie").status,
        Status::Fail
    );
}

#[test]
fn example_release_repo_passes_every_check() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/release-repo");
    let outcome = run(&repo);
    assert!(outcome.items.iter().all(|i| i.status == Status::Pass), "{:#?}", outcome.items);
    let mut checks: Vec<&str> = outcome.items.iter().map(|i| i.check.as_ref()).collect();
    checks.sort();
    checks.dedup();
    assert_eq!(checks, ["parse", "pinned", "pushed-digest", "tested"]);
    let hex = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";
    let tested = item(&outcome, "tested", &format!("ghcr.io/example/release-build@sha256:{hex}"));
    assert_eq!(
        locations(tested),
        [
            format!("dockerfiles/test-records/{hex}.intoto.json").as_str(),
            ".github/workflows/ci.yml:17:14",
            ".github/workflows/ci.yml:33:14"
        ]
    );
    let record = item(&outcome, "pushed-digest", "dockerfiles/bookworm/image_hash");
    assert_eq!(
        locations(record),
        [
            "dockerfiles/bookworm/image_hash:2:1",
            ".github/workflows/ci.yml:17:14",
            ".github/workflows/ci.yml:33:14"
        ]
    );
}
