//! Files that are not what they seem: FIFOs, sockets, symbolic links out of
//! the repository, directories that lead outside, and a repository that
//! names no image at all. Each is an error item naming the path inside the
//! repository; nothing outside is read or listed; nothing blocks the gate.
#![cfg(unix)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use gate_core::runner::NOTHING_CHECKED;
use gate_core::{Context, Gate, GateOutcome, Item, Status};
use gate_images::{Config, ImagesGate};
use test_support::locations;

const HEX: &str = "0ad67db05f06890496247013806ab49fa7431571826cef8399901d1d83950949";

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn mkfifo(root: &Path, path: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn symlink(target: &Path, root: &Path, path: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, path).unwrap();
}

/// Runs the gate on another thread and fails the test if it does not return
/// within ten seconds (a FIFO opened for reading would block forever).
fn run_within_bound(repo: &Path, config: &str) -> GateOutcome {
    let config: Config = toml::from_str(config).unwrap();
    let repo = repo.to_owned();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(ImagesGate::new(config).run(&Context::new(&repo)));
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("the gate did not return within 10 s")
}

fn item<'a>(outcome: &'a GateOutcome, check: &str, subject: &str) -> &'a Item {
    outcome
        .items
        .iter()
        .find(|i| i.check == check && i.subject == subject)
        .unwrap_or_else(|| panic!("no {check} item for {subject}: {:#?}", outcome.items))
}

fn pinned_dockerfile() -> String {
    format!("FROM debian@sha256:{HEX}\n")
}

#[test]
fn fifos_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    mkfifo(repo, "Dockerfile");
    mkfifo(repo, ".github/workflows/ci.yml");
    mkfifo(repo, ".gitlab-ci.yml");
    mkfifo(repo, "dockerfiles/bookworm/image_hash");
    write(repo, "sub/Dockerfile", &pinned_dockerfile());
    write(
        repo,
        ".circleci/config.yml",
        &format!("jobs:\n  a:\n    docker:\n      - image: o/i@sha256:{HEX}\n"),
    );
    mkfifo(repo, &format!("dockerfiles/test-records/{HEX}.intoto.json"));

    let outcome = run_within_bound(repo, "");
    for path in
        ["Dockerfile", ".github/workflows/ci.yml", ".gitlab-ci.yml", "dockerfiles/bookworm/image_hash"]
    {
        let parse = item(&outcome, "parse", path);
        assert_eq!(parse.status, Status::Error, "{path}");
        assert!(parse.reason.contains("a FIFO (named pipe), not a regular file"), "{path}: {}", parse.reason);
        assert_eq!(locations(parse), [path], "{path}");
    }
    // The test record of the digest CI runs in is a FIFO too.
    let tested = item(&outcome, "tested", &format!("docker.io/o/i@sha256:{HEX}"));
    assert_eq!(tested.status, Status::Error);
    assert!(tested.reason.contains("FIFO"), "{}", tested.reason);
    // The other files are still checked.
    assert_eq!(item(&outcome, "pinned", &format!("sub/Dockerfile:debian@sha256:{HEX}")).status, Status::Pass);
}

#[test]
fn sockets_and_dangling_links_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let _listener = std::os::unix::net::UnixListener::bind(repo.join("Dockerfile")).unwrap();
    symlink(&repo.join("missing"), repo, "app.Dockerfile");
    let outcome = run_within_bound(repo, "");
    let socket = item(&outcome, "parse", "Dockerfile");
    assert_eq!(socket.status, Status::Error);
    assert!(socket.reason.contains("a socket, not a regular file"), "{}", socket.reason);
    let dangling = item(&outcome, "parse", "app.Dockerfile");
    assert_eq!((dangling.status, dangling.reason.as_str()), (Status::Error, "a symbolic link to nothing"));
    assert!(!outcome.items.iter().any(|i| i.check == NOTHING_CHECKED), "{:#?}", outcome.items);
}

#[test]
fn nothing_outside_the_repository_is_read_or_listed() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "Dockerfile", "FROM outside-image:1\n");
    write(outside.path(), "workflows/ci.yml", "jobs:\n  a:\n    container: outside-ci:1\n");
    write(outside.path(), "records/image_hash", &format!("{HEX}\n"));
    write(outside.path(), "image_hash", &format!("{HEX}\n"));

    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(repo, "real/Dockerfile", &pinned_dockerfile());
    symlink(&outside.path().join("Dockerfile"), repo, "Dockerfile");
    symlink(Path::new("real/Dockerfile"), repo, "inside.Dockerfile");
    symlink(outside.path(), repo, ".github");
    symlink(&outside.path().join("records"), repo, "dockerfiles/bookworm");
    symlink(outside.path(), repo, "elsewhere");

    let config = r#"
test-records = "elsewhere/records"
[[record]]
image = "ghcr.io/o/i"
file = "elsewhere/image_hash"
"#;
    let outcome = run_within_bound(repo, config);
    let refused = "resolves outside the repository through a symbolic link; refusing to read it";
    for (check, path) in
        [("parse", "Dockerfile"), ("parse", ".github/workflows"), ("parse", "elsewhere/image_hash")]
    {
        let item = item(&outcome, check, path);
        assert_eq!((item.status, item.reason.as_str()), (Status::Error, refused), "{path}");
    }
    // An image record discovered through a link out of the repository: not read either.
    let config_less = run_within_bound(repo, "");
    let record = item(&config_less, "parse", "dockerfiles/bookworm/image_hash");
    assert_eq!((record.status, record.reason.as_str()), (Status::Error, refused));

    // A link that stays inside is followed.
    assert_eq!(
        item(&outcome, "pinned", &format!("inside.Dockerfile:debian@sha256:{HEX}")).status,
        Status::Pass
    );
    // Nothing from outside appears anywhere in the report.
    let outside_path = outside.path().to_string_lossy().into_owned();
    for report in [format!("{outcome:?}"), format!("{config_less:?}")] {
        assert!(!report.contains("outside-image") && !report.contains("outside-ci"), "{report}");
        assert!(!report.contains(&outside_path), "{report}");
    }
}

#[test]
fn a_test_records_directory_outside_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("records")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(repo, ".github/workflows/ci.yml", &format!("jobs:\n  a:\n    container: o/i@sha256:{HEX}\n"));
    symlink(outside.path(), repo, "link");
    let outcome = run_within_bound(repo, "test-records = \"link/records\"");
    let tested = item(&outcome, "tested", "link/records");
    assert_eq!(tested.status, Status::Error);
    assert!(
        tested
            .reason
            .ends_with("resolves outside the repository through a symbolic link; refusing to read it")
    );
}

#[test]
fn a_repository_that_names_no_image_is_an_error_not_a_pass() {
    // No file the gate reads.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", "hello");
    let outcome = run_within_bound(dir.path(), "");
    assert_eq!(outcome.items.len(), 1, "{:#?}", outcome.items);
    let nothing = item(&outcome, NOTHING_CHECKED, "");
    assert_eq!(nothing.status, Status::Error);
    for words in [
        "the gate is enabled but found no image reference to check: none of the files it reads exists",
        "looked for `# syntax`, `FROM`",
        ".github/workflows/*.yml",
        "`[gates.images] enabled = false`",
    ] {
        assert!(nothing.reason.contains(words), "{words}: {}", nothing.reason);
    }

    // Files, but no image in them: a workflow without containers, a Dockerfile FROM scratch.
    write(dir.path(), ".github/workflows/ci.yml", "jobs:\n  a:\n    runs-on: ubuntu-latest\n");
    write(dir.path(), "Dockerfile", "FROM scratch\nCOPY app /app\n");
    let outcome = run_within_bound(dir.path(), "");
    let nothing = item(&outcome, NOTHING_CHECKED, "");
    assert_eq!(nothing.status, Status::Error);
    assert!(
        nothing.reason.contains(".github/workflows/ci.yml, Dockerfile name no image"),
        "{}",
        nothing.reason
    );

    // One image reference is enough.
    write(dir.path(), "Dockerfile", &pinned_dockerfile());
    let outcome = run_within_bound(dir.path(), "");
    assert!(!outcome.items.iter().any(|i| i.check == NOTHING_CHECKED), "{:#?}", outcome.items);
}

#[test]
fn huge_lines_are_located_and_quick() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("FROM debian@sha256:{HEX}\nRUN echo {}\nFROM unpinned\n", "x".repeat(900_000));
    write(dir.path(), "Dockerfile", &text);
    let started = std::time::Instant::now();
    let outcome = run_within_bound(dir.path(), "");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // BuildKit stops reading there: so does the gate, and says what it did not check.
    let parse = item(&outcome, "parse", "Dockerfile:2");
    assert_eq!(parse.status, Status::Error);
    assert!(parse.reason.contains("longer than 65535 bytes"), "{}", parse.reason);
    assert!(parse.reason.ends_with("the rest of the file was not checked"), "{}", parse.reason);
    assert_eq!(locations(parse), ["Dockerfile:2:1"]);
}

#[test]
fn a_megabyte_of_hostile_dockerfile_is_read_in_bounded_time() {
    // Under the 1 MiB limit: one instruction continued over thousands of
    // lines, mounts full of quotes and commas, heredoc openers, flags.
    let mut text = String::from("# syntax=a\n# escape=\\\nFROM a AS s\nRUN \\\n");
    text.push_str(&"--mount=type=bind,from=s \\\n".repeat(12_000));
    text.push_str("true\n");
    let quotes = format!("RUN --mount='\"{}\",from=x' true\n", "\"\"".repeat(2_000));
    text.push_str(&quotes.repeat(40));
    text.push_str(&"ONBUILD COPY --from=img --from=x <<A <<B a b\nA\nB\n".repeat(3_000));
    text.push_str(&format!("RUN {}\n", ",".repeat(60_000)));
    assert!(text.len() < 1024 * 1024, "{}", text.len());
    let started = std::time::Instant::now();
    let findings = gate_images::dockerfile::parse(&text);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(findings.len() > 3_000, "{}", findings.len());
}
