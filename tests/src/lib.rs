//! Helpers for the end-to-end tests of the `release-check` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_owned()
}

/// The `release-check` binary that `cargo test` built next to this test.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps");
    let binary = profile_dir.join(format!("release-check{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.is_file(), "{} is missing: run the tests with `cargo test --workspace`", binary.display());
    binary
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the binary with `args` and no colour-affecting environment.
pub fn release_check<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    release_check_with_env(args, &[])
}

/// Environment variables that would change what the ci gate asks GitHub
/// or what is posted (the test's own CI may run inside GitHub Actions):
/// removed for every run.
const GITHUB_ENVIRONMENT: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_API_URL",
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_PATH",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    // What the ci gate reads to choose the commit and the branch whose rules
    // apply, and to find its own job.
    "GITHUB_BASE_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GITHUB_EVENT_NAME",
    "GITHUB_JOB",
    "GITHUB_RUN_ATTEMPT",
    "RUNNER_NAME",
];

/// Runs the binary with `args` and, of the GitHub environment, only `env`.
pub fn release_check_with_env<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(binary());
    command.args(args).env_remove("NO_COLOR");
    for name in GITHUB_ENVIRONMENT {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output: Output = command.output().expect("the binary runs");
    finished(output)
}

fn finished(output: Output) -> Run {
    Run {
        code: output.status.code().expect("the binary exits with a code"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Copies the tree at `from` into `to` (created), following no links: a
/// link is copied as a link.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the copy's directory is made");
    for entry in std::fs::read_dir(from).expect("the tree is readable") {
        let entry = entry.expect("the entry is readable");
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let file_type = entry.file_type().expect("the entry has a type");
        if file_type.is_dir() {
            copy_tree(&source, &target);
        } else if file_type.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&source).expect("the link is readable"), &target)
                .expect("the link is copied");
        } else {
            std::fs::copy(&source, &target).expect("the file is copied");
        }
    }
}

/// A copy of the bundled example `name` in a temporary directory, for a
/// test that changes it.
pub fn example_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_tree(&workspace().join("examples").join(name), dir.path());
    dir
}

/// Runs the binary with `args` in `dir` (standard input closed), and fails
/// the test if it has not exited within `limit`: hostile input must never
/// hang it. The process is killed then.
pub fn release_check_within<I, S>(args: I, limit: std::time::Duration) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for name in GITHUB_ENVIRONMENT {
        command.env_remove(name);
    }
    let child = command.spawn().expect("the binary runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // The output is read on another thread, so a child that writes a lot
    // never blocks on a full pipe while the test waits for it.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => finished(output.expect("its output is read")),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("release-check did not exit within {limit:?}; it was killed");
        }
    }
}
