//! Hostile and broken inputs: each becomes a clear, located item, never a
//! panic, a hang or an unbounded read.

use std::path::Path;
use std::time::{Duration, Instant};

use gate_core::{Context, Evidence, Gate, GateOutcome, Item, Status};
use gate_images::{Config, ImagesGate};
use proptest::prelude::*;

const HEX: &str = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";

fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

fn run_with(repo: &Path, config: Config) -> GateOutcome {
    ImagesGate::new(config).run(&Context::new(repo))
}

fn run(repo: &Path) -> GateOutcome {
    run_with(repo, Config::default())
}

fn only<'a>(outcome: &'a GateOutcome, check: &str) -> Vec<&'a Item> {
    outcome.items.iter().filter(|i| i.check == check).collect()
}

fn location(item: &Item) -> String {
    test_support::locations(item).into_iter().next().unwrap_or_default()
}

#[test]
fn nothing_to_check_is_an_error() {
    let dir = repo(&[("README.md", b"hello")]);
    let outcome = run(dir.path());
    let statuses: Vec<(&str, Status)> = outcome.items.iter().map(|i| (i.check.as_ref(), i.status)).collect();
    assert_eq!(statuses, [(gate_core::runner::NOTHING_CHECKED, Status::Error)]);
    assert!(outcome.items[0].reason.starts_with("the gate is enabled but found no image reference to check"));
}

#[test]
fn malformed_yaml_is_a_located_failure() {
    let dir = repo(&[(".github/workflows/ci.yml", b"jobs:\n  a:\n    container: [debian\n  b: x\n")]);
    let outcome = run(dir.path());
    let parse = only(&outcome, "parse");
    assert_eq!(parse.len(), 1);
    assert_eq!(parse[0].status, Status::Fail);
    assert_eq!(parse[0].subject, ".github/workflows/ci.yml");
    assert!(location(parse[0]).starts_with(".github/workflows/ci.yml:4:"), "{}", location(parse[0]));
}

#[test]
fn invalid_references_are_located_failures() {
    let workflow = format!(
        "jobs:\n  a:\n    container: debian@sha256:{}\n  b:\n    container: debian@md5:{HEX}\n  c:\n    container: Debian:bookworm\n",
        &HEX[..63]
    );
    let dir = repo(&[(".github/workflows/ci.yml", workflow.as_bytes())]);
    let outcome = run(dir.path());
    let bad: Vec<(String, String)> =
        only(&outcome, "reference-syntax").iter().map(|i| (location(i), i.reason.clone())).collect();
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert_eq!(bad[0].0, ".github/workflows/ci.yml:3:16");
    assert!(bad[0].1.contains("63 hex digits"), "{}", bad[0].1);
    assert_eq!(bad[1].0, ".github/workflows/ci.yml:5:16");
    assert!(bad[1].1.contains("unsupported algorithm"), "{}", bad[1].1);
    assert_eq!(bad[2].0, ".github/workflows/ci.yml:7:16");
    assert!(bad[2].1.contains("must be lowercase"), "{}", bad[2].1);
    assert!(only(&outcome, "reference-syntax").iter().all(|i| i.status == Status::Fail));
    assert!(only(&outcome, "pinned").is_empty());
}

#[test]
fn unresolvable_arg_is_its_own_item() {
    let dir = repo(&[("Dockerfile", b"ARG BASE\nFROM ${BASE}\n")]);
    let outcome = run(dir.path());
    let items = only(&outcome, "reference-syntax");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, Status::Fail);
    assert_eq!(items[0].subject, "Dockerfile:${BASE}");
    assert_eq!(location(items[0]), "Dockerfile:2:6");
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut text =
        String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (level, prev) in ('b'..='i').zip('a'..='h') {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{level}: &{level} [{refs}]\n"));
    }
    text.push_str("jobs:\n  x:\n    container: debian\n");
    let dir = repo(&[(".github/workflows/ci.yml", text.as_bytes())]);
    let start = Instant::now();
    let outcome = run(dir.path());
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    let parse = only(&outcome, "parse");
    assert_eq!(parse.len(), 1);
    assert_eq!(parse[0].status, Status::Error);
    assert!(parse[0].reason.contains("aliases expand to more than"), "{}", parse[0].reason);
    assert!(location(parse[0]).starts_with(".github/workflows/ci.yml:"));
}

#[test]
fn a_10_mb_dockerfile_is_refused_quickly() {
    let big = "RUN true\n".repeat(10 * 1024 * 1024 / 9);
    let dir = repo(&[
        ("Dockerfile", big.as_bytes()),
        (
            "sub/Dockerfile",
            b"FROM debian@sha256:0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949\n",
        ),
    ]);
    let start = Instant::now();
    let outcome = run(dir.path());
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    let refused = outcome.items.iter().find(|i| i.subject == "Dockerfile").unwrap();
    assert_eq!((refused.check.as_ref(), refused.status), ("parse", Status::Error));
    assert!(refused.reason.contains("larger than the 1048576-byte limit"), "{}", refused.reason);
    // The other Dockerfile is still checked.
    assert_eq!(only(&outcome, "pinned").len(), 1);
}

#[test]
fn oversize_yaml_and_non_utf8_files() {
    let big = format!("# {}\n", "x".repeat(1024 * 1024));
    let dir = repo(&[(".gitlab-ci.yml", big.as_bytes()), ("app.Dockerfile", b"FROM \xff\n")]);
    let outcome = run(dir.path());
    let parse: Vec<(&str, Status)> =
        only(&outcome, "parse").iter().map(|i| (i.subject.as_str(), i.status)).collect();
    assert_eq!(parse, [(".gitlab-ci.yml", Status::Error), ("app.Dockerfile", Status::Fail)]);
}

#[test]
fn walk_skips_vendored_directories_and_is_bounded_in_depth() {
    let pinned = format!("FROM debian@sha256:{HEX}\n");
    let dir = repo(&[
        ("a/b/c/d/e/Dockerfile", pinned.as_bytes()),
        ("a/b/c/d/e/f/Dockerfile", b"FROM too-deep\n"),
        ("node_modules/x/Dockerfile", b"FROM vendored\n"),
        ("target/Dockerfile", b"FROM built\n"),
        (".git/Dockerfile", b"FROM git\n"),
        ("Dockerfile.dockerignore", b"FROM ignored\n"),
    ]);
    let outcome = run(dir.path());
    let subjects: Vec<&str> = only(&outcome, "pinned").iter().map(|i| i.subject.as_str()).collect();
    assert_eq!(subjects, [format!("a/b/c/d/e/Dockerfile:debian@sha256:{HEX}")]);
}

#[test]
fn tag_only_is_a_blocker_unless_allowed() {
    let dir = repo(&[("Dockerfile", b"FROM debian:bookworm\nFROM python:3.12\n")]);
    let outcome = run(dir.path());
    let pinned = only(&outcome, "pinned");
    assert!(pinned.iter().all(|i| i.status == Status::Fail && i.severity == gate_core::Severity::Blocker));

    let config: Config = toml::from_str(
        r#"allow-tags = [{ image = "debian", reason = "Debian's archive is pinned by snapshot instead" }]"#,
    )
    .unwrap();
    let outcome = run_with(dir.path(), config);
    let statuses: Vec<(&str, Status)> =
        only(&outcome, "pinned").iter().map(|i| (i.subject.as_str(), i.status)).collect();
    assert_eq!(
        statuses,
        [("Dockerfile:debian:bookworm", Status::Pass), ("Dockerfile:python:3.12", Status::Fail)]
    );
    assert!(only(&outcome, "pinned")[0].reason.contains("Debian's archive is pinned by snapshot instead"));
}

#[test]
fn tag_and_digest_passes_with_the_tag_informational() {
    let text = format!("FROM debian:bookworm@sha256:{HEX}\n");
    let dir = repo(&[("Dockerfile", text.as_bytes())]);
    let outcome = run(dir.path());
    let pinned = only(&outcome, "pinned");
    assert_eq!(pinned[0].status, Status::Pass);
    assert!(pinned[0].reason.contains("the tag `bookworm` is informational"), "{}", pinned[0].reason);
}

#[test]
fn configuration_rejects_unknown_keys_and_reports_bad_values() {
    assert!(toml::from_str::<Config>("allow-tag = []").is_err());
    assert!(
        toml::from_str::<Config>(r#"allow-tags = [{ image = "debian", reason = "x", until = "2027" }]"#)
            .is_err()
    );
    assert!(
        toml::from_str::<Config>(
            r#"[[record]]
image = "x"
file = "y"
extra = 1"#
        )
        .is_err()
    );

    // Image names and paths are checked when the configuration is read, with the value's place.
    let message = |text: &str| toml::from_str::<Config>(text).unwrap_err().to_string();
    let err = message(r#"allow-tags = [{ image = "Not Valid", reason = "x" }]"#);
    assert!(err.contains("line 1, column 25"), "{err}");
    assert!(err.contains("invalid image reference `Not Valid`: invalid reference format"), "{err}");
    let err = message(&format!(r#"allow-tags = [{{ image = "debian@sha256:{HEX}", reason = "x" }}]"#));
    assert!(err.contains("has a digest; name the image (and tag) only"), "{err}");
    let err = message("[[record]]\nimage = \"Quay.io/X\"\nfile = \"f\"\n");
    assert!(err.contains("line 2, column 9") && err.contains("invalid image reference `Quay.io/X`"), "{err}");
    let err = message("[[record]]\nimage = \"quay.io/x\"\nfile = \"../f\"\n");
    assert!(err.contains("`../f` is not a path inside the repository"), "{err}");
}

#[test]
fn pushed_digest_by_directory_name_and_by_configuration() {
    let other = "1".repeat(64);
    let workflow = format!("jobs:\n  a:\n    container: quay.io/o/builder-bookworm@sha256:{other}\n");
    let record = format!("sha256:{HEX}\n");
    let dir = repo(&[
        (".github/workflows/ci.yml", workflow.as_bytes()),
        ("dockerfiles/bookworm/image_hash", record.as_bytes()),
    ]);
    let outcome = run(dir.path());
    let items = only(&outcome, "pushed-digest");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, Status::Fail);
    assert_eq!(
        items[0].evidence,
        [
            Evidence::Location(gate_core::Location::at("dockerfiles/bookworm/image_hash", 1, 1)),
            Evidence::hash("sha256", HEX, Some(other.clone())),
            Evidence::Location(gate_core::Location::at(".github/workflows/ci.yml", 3, 16)),
        ]
    );

    // Configured for an image CI does not use: a failure, not a guess.
    let config: Config = toml::from_str(
        r#"[[record]]
image = "quay.io/o/elsewhere"
file = "dockerfiles/bookworm/image_hash""#,
    )
    .unwrap();
    let outcome = run_with(dir.path(), config);
    let items = only(&outcome, "pushed-digest");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, Status::Fail);
    assert!(items[0].reason.contains("no CI reference found"), "{}", items[0].reason);
}

#[test]
fn record_without_a_digest_or_a_ci_user() {
    let dir = repo(&[
        ("dockerfiles/a/image_hash", b"not a digest\n"),
        ("dockerfiles/b/image_hash", format!("{HEX}\n").as_bytes()),
    ]);
    let outcome = run(dir.path());
    let parse = only(&outcome, "parse");
    assert_eq!((parse[0].subject.as_str(), parse[0].status), ("dockerfiles/a/image_hash", Status::Fail));
    let pushed = only(&outcome, "pushed-digest");
    assert_eq!((pushed[0].subject.as_str(), pushed[0].status), ("dockerfiles/b/image_hash", Status::Warn));
}

proptest! {
    #[test]
    fn reference_parser_never_panics(text in "\\PC{0,80}") {
        let _ = gate_images::reference::parse(&text);
    }

    #[test]
    fn reference_parser_never_panics_on_near_misses(
        text in "[a-zA-Z0-9.:/@_-]{0,40}(@sha256:[0-9a-fA-F]{60,66})?"
    ) {
        let _ = gate_images::reference::parse(&text);
    }

    #[test]
    fn dockerfile_parser_never_panics(text in "((FROM|from|ARG|COPY|RUN|#|  |\\\\|\\$|\\{|\\}|:-|<<|EOF|--from=|--platform=| AS |=|\\n|\\r|\\t|`|[a-z0-9é])){0,60}") {
        let _ = gate_images::dockerfile::parse(&text);
    }

    #[test]
    fn dockerfile_parser_never_panics_on_anything(text in "\\PC{0,200}") {
        let _ = gate_images::dockerfile::parse(&text);
    }

    #[test]
    fn yaml_and_ci_never_panic(text in "((jobs|image|container|services|docker|name|uses|docker://|:|- |  |\\n|&a|\\*a|<<|\\[|\\]|\\{|\\}|,|\"|'|[a-z0-9@])){0,80}") {
        if let Ok(Some(root)) = gate_images::yaml::parse(&text) {
            for kind in [gate_images::Kind::CircleCi, gate_images::Kind::GitHubActions, gate_images::Kind::GitLab] {
                let _ = gate_images::ci::find(kind, &root);
            }
        }
    }
}
