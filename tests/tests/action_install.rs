//! The action's install script (`action/install.sh`) and run script
//! (`action/run.sh`), run for real with bash, curl and tar against fake
//! release assets served by Python's http.server on 127.0.0.1: a binary
//! that fits is installed only when its archive matches sha256sums.txt; a
//! mismatch or a missing sum is refused, never worked around; a platform
//! without a binary, or a release that cannot be reached, builds from the
//! action's source with `cargo install --locked` (a fake cargo here).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use release_check_e2e::workspace;

const VERSION: &str = "9.8.7";
const LINUX_X64: &str = "x86_64-unknown-linux-musl";

/// Python's http.server on 127.0.0.1, serving `dir`, stopped on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, log: PathBuf) -> Self {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("python3 runs http.server");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        // "Serving HTTP on 127.0.0.1 port 41235 (http://127.0.0.1:41235/) ..."
        let port = first
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        Self { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The paths requested so far.
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split('"').nth(1))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A stand-in release-check that says which version it is.
fn fake_binary(version: &str) -> String {
    format!("#!/bin/sh\n[ \"$1\" = --version ] && echo 'release-check {version}'\n")
}

fn sha256(bytes: &[u8]) -> String {
    gate_core::shard::sha256_hex(bytes).trim_start_matches("sha256:").to_owned()
}

fn run(command: &mut Command) -> (i32, String) {
    let output = command.output().expect("the command runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

/// One test's world: the action's source, the release directory the
/// server serves, the install root, a fake cargo that logs its arguments.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let world = Self { dir: tempfile::tempdir().unwrap() };
        let source = world.source();
        std::fs::create_dir_all(source.join("release-check")).unwrap();
        std::fs::write(
            source.join("Cargo.toml"),
            format!(
                "[workspace]\nmembers = [\"release-check\"]\n\n[workspace.package]\nversion = \"{VERSION}\"\n"
            ),
        )
        .unwrap();
        std::fs::write(source.join("release-check/Cargo.toml"), "[package]\nname = \"release-check\"\n")
            .unwrap();
        // `cargo install --root ROOT` puts the binary in ROOT/bin.
        write_executable(
            &world.path("bin/cargo"),
            &format!(
                "#!/bin/sh\necho \"$@\" >> '{log}'\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\"\ncat > \"$root/bin/release-check\" <<'EOF'\n{binary}EOF\nchmod +x \"$root/bin/release-check\"\n",
                log = world.path("cargo.log").display(),
                binary = fake_binary(VERSION),
            ),
        );
        std::fs::create_dir_all(world.path("releases")).unwrap();
        world
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn source(&self) -> PathBuf {
        self.path("action")
    }

    fn root(&self) -> PathBuf {
        self.path("root")
    }

    /// Publishes the archive of `target` (and a sums file listing `sums`
    /// entries for it) under releases/v<VERSION>/; `tamper` changes the
    /// archive after its sum was taken.
    fn release(&self, target: &str, sums: usize, tamper: bool) {
        let windows = target.contains("-windows-");
        let name = format!("release-check-v{VERSION}-{target}");
        let stage = self.path(&format!("stage/{name}"));
        let exe = if windows { "release-check.exe" } else { "release-check" };
        write_executable(&stage.join(exe), &fake_binary(VERSION));
        std::fs::write(stage.join("README.md"), "readme\n").unwrap();
        let dir = self.path(&format!("releases/v{VERSION}"));
        std::fs::create_dir_all(&dir).unwrap();
        let archive = dir.join(if windows { format!("{name}.zip") } else { format!("{name}.tar.gz") });
        let packed = if windows {
            Command::new("zip").arg("-qr").arg(&archive).arg(&name).current_dir(self.path("stage")).status()
        } else {
            Command::new("tar").arg("-czf").arg(&archive).arg(&name).current_dir(self.path("stage")).status()
        };
        assert!(packed.expect("tar and zip run").success());
        let bytes = std::fs::read(&archive).unwrap();
        let file = archive.file_name().unwrap().to_str().unwrap().to_owned();
        let mut listing = format!("{}  release-check-v{VERSION}-other.tar.gz\n", sha256(b"other"));
        for _ in 0..sums {
            listing.push_str(&format!("{}  {file}\n", sha256(&bytes)));
        }
        std::fs::write(dir.join("sha256sums.txt"), listing).unwrap();
        if tamper {
            let mut bytes = bytes;
            bytes.extend_from_slice(b"appended");
            std::fs::write(&archive, bytes).unwrap();
        }
    }

    fn serve(&self) -> Server {
        Server::start(&self.path("releases"), self.path("server.log"))
    }

    /// Runs `action/install.sh install` as the action does on `os`/`arch`.
    fn install(&self, os: &str, arch: &str, url: &str, extra: &[(&str, &str)]) -> (i32, String) {
        let path = format!("{}:{}", self.path("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new("bash");
        command
            .arg(workspace().join("action/install.sh"))
            .arg("install")
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("RC_SOURCE", self.source())
            .env("RC_ROOT", self.root())
            .env("RC_DOWNLOAD_URL", url)
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("GITHUB_OUTPUT", self.path("github_output"))
            .env("GITHUB_PATH", self.path("github_path"))
            .envs(extra.iter().copied());
        run(&mut command)
    }

    fn cargo_calls(&self) -> String {
        std::fs::read_to_string(self.path("cargo.log")).unwrap_or_default()
    }

    fn outputs(&self) -> String {
        std::fs::read_to_string(self.path("github_output")).unwrap_or_default()
    }

    fn installed(&self, exe: &str) -> bool {
        self.root().join("bin").join(exe).exists()
    }
}

#[test]
fn a_fitting_binary_is_installed_when_it_matches_its_published_sum() {
    let world = World::new();
    world.release(LINUX_X64, 1, false);
    let server = world.serve();
    let (code, stderr) = world.install("Linux", "X64", &server.url(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("matches sha256sums.txt"), "{stderr}");
    let binary = world.root().join("bin/release-check");
    let outputs = world.outputs();
    for line in [
        format!("path={}", binary.display()),
        "method=download".to_owned(),
        format!("version={VERSION}"),
        format!("target={LINUX_X64}"),
    ] {
        assert!(outputs.lines().any(|l| l == line), "{line} in {outputs}");
    }
    let github_path = std::fs::read_to_string(world.path("github_path")).unwrap();
    assert_eq!(github_path.trim_end(), world.root().join("bin").display().to_string());
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("release-check {VERSION}"));
    assert_eq!(world.cargo_calls(), "", "nothing was built");
    assert_eq!(
        server.requests(),
        [
            format!("GET /v{VERSION}/sha256sums.txt HTTP/1.1"),
            format!("GET /v{VERSION}/release-check-v{VERSION}-{LINUX_X64}.tar.gz HTTP/1.1")
        ]
    );
}

#[test]
fn an_archive_that_differs_from_its_sum_is_refused_and_nothing_is_built() {
    let world = World::new();
    world.release(LINUX_X64, 1, true);
    let server = world.serve();
    let (code, stderr) = world.install("Linux", "X64", &server.url(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("::error title=release-check install::"), "{stderr}");
    assert!(stderr.contains("refusing to install it"), "{stderr}");
    assert!(!world.installed("release-check"), "nothing installed");
    assert_eq!(world.cargo_calls(), "", "a mismatch is not worked around by building");
    assert_eq!(world.outputs(), "");
}

#[test]
fn an_archive_listed_not_once_in_the_sums_is_refused() {
    for listed in [0, 2] {
        let world = World::new();
        world.release(LINUX_X64, listed, false);
        let server = world.serve();
        let (code, stderr) = world.install("Linux", "X64", &server.url(), &[]);
        assert_eq!(code, 1, "listed {listed} times: {stderr}");
        assert!(stderr.contains("is not listed exactly once"), "{stderr}");
        assert!(!world.installed("release-check"));
        assert_eq!(world.cargo_calls(), "");
    }
}

#[test]
fn a_platform_without_a_binary_builds_from_the_actions_source() {
    let world = World::new();
    world.release(LINUX_X64, 1, false);
    let server = world.serve();
    for (os, arch) in [("Linux", "ARM"), ("FreeBSD", "X64")] {
        let root = world.path(&format!("root-{os}-{arch}"));
        let (code, stderr) = world.install(os, arch, &server.url(), &[("RC_ROOT", root.to_str().unwrap())]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains(&format!("no prebuilt binary for {os} {arch}")), "{stderr}");
        assert!(root.join("bin/release-check").exists());
    }
    let expected = |os: &str, arch: &str| {
        format!(
            "install --locked --path {}/release-check --root {}\n",
            world.source().display(),
            world.path(&format!("root-{os}-{arch}")).display()
        )
    };
    assert_eq!(world.cargo_calls(), expected("Linux", "ARM") + &expected("FreeBSD", "X64"));
    assert!(world.outputs().lines().any(|l| l == "method=cargo"), "{}", world.outputs());
    assert_eq!(server.requests(), Vec::<String>::new(), "nothing was downloaded");
}

#[test]
fn a_release_that_cannot_be_reached_builds_instead() {
    let world = World::new();
    let server = world.serve();
    let (code, stderr) = world.install("Linux", "X64", &server.url(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cannot be reached: building it instead"), "{stderr}");
    assert!(world.cargo_calls().starts_with("install --locked --path "), "{}", world.cargo_calls());
}

#[test]
fn a_binary_already_installed_at_the_version_is_reused() {
    let world = World::new();
    write_executable(&world.root().join("bin/release-check"), &fake_binary(VERSION));
    let server = world.serve();
    let (code, stderr) = world.install("Linux", "X64", &server.url(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(world.outputs().lines().any(|l| l == "method=cached"), "{}", world.outputs());
    assert_eq!(server.requests(), Vec::<String>::new());
    assert_eq!(world.cargo_calls(), "");

    // Another version there is replaced, not trusted.
    write_executable(&world.root().join("bin/release-check"), &fake_binary("0.0.1"));
    let (code, stderr) = world.install("Linux", "X64", &server.url(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(world.cargo_calls(), "");
}

#[test]
fn windows_gets_the_zip_archive() {
    let world = World::new();
    world.release("x86_64-pc-windows-msvc", 1, false);
    let server = world.serve();
    let (code, stderr) = world.install("Windows", "X64", &server.url(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(world.installed("release-check.exe"));
    assert!(
        server.requests().iter().any(|r| r.contains("-x86_64-pc-windows-msvc.zip")),
        "{:?}",
        server.requests()
    );
}

#[test]
fn only_https_or_a_local_test_server_is_downloaded_from() {
    let world = World::new();
    let (code, stderr) = world.install("Linux", "X64", "http://example.invalid/releases", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("must be an https:// URL"), "{stderr}");
    assert_eq!(world.cargo_calls(), "");
}

/// Without `download-url`, an action checked out by Actions
/// (`_actions/<owner>/<name>/<ref>`) downloads from its own repository's
/// releases on the server Actions names.
#[test]
fn the_default_download_url_is_the_actions_own_repository() {
    let world = World::new();
    let releases = world.path("releases/octo/release-check/releases/download");
    std::fs::create_dir_all(&releases).unwrap();
    world.release(LINUX_X64, 1, false);
    std::fs::rename(world.path(&format!("releases/v{VERSION}")), releases.join(format!("v{VERSION}")))
        .unwrap();
    let checkout = world.path("_actions/octo/release-check/v1");
    std::fs::create_dir_all(checkout.parent().unwrap()).unwrap();
    std::fs::rename(world.source(), &checkout).unwrap();
    let server = world.serve();
    let (code, stderr) = world.install(
        "Linux",
        "X64",
        "",
        &[("RC_SOURCE", checkout.to_str().unwrap()), ("GITHUB_SERVER_URL", &server.url())],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(world.outputs().lines().any(|l| l == "method=download"), "{stderr}");
    assert!(server.requests()[0].starts_with("GET /octo/release-check/releases/download/v9.8.7/"));
}

#[test]
fn the_action_installs_the_workspace_version() {
    let cargo = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .skip_while(|l| *l != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    let world = World::new();
    let (code, stderr) = world.install(
        "Linux",
        "ARM",
        "",
        &[("RC_SOURCE", workspace().to_str().unwrap()), ("RC_VERSION", ""), ("RC_CARGO", "false")],
    );
    // The fake `false` cargo fails: what matters is the version it was to build.
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("building release-check {version}")), "{stderr}");
}

/// `action/run.sh` with a stand-in release-check that logs its arguments
/// and exits with `code` (and `publish` with `published`).
fn run_action(args: &str, format: &str, post: bool, code: i32, published: i32) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let binary = dir.path().join("release-check");
    write_executable(
        &binary,
        &format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nif [ \"$1\" = publish ]; then exit {published}; fi\nexit {code}\n",
            log.display()
        ),
    );
    let output = dir.path().join("output");
    let mut command = Command::new("bash");
    command
        .arg(workspace().join("action/run.sh"))
        .env("RC_BINARY", &binary)
        .env("RC_ARGS", args)
        .env("RC_FORMAT", format)
        .env("RC_OUTPUT", "")
        .env("RC_POST", if post { "true" } else { "false" })
        .env("RC_REPORT_NAME", "nightly")
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_OUTPUT", &output);
    let (exit, stderr) = run(&mut command);
    let calls =
        std::fs::read_to_string(&log).unwrap_or_default().replace(&dir.path().display().to_string(), "TMP");
    let outputs = std::fs::read_to_string(&output).unwrap_or_default();
    assert!(!stderr.contains("unbound variable"), "{stderr}");
    (exit, calls, outputs)
}

#[test]
fn the_run_script_passes_the_arguments_and_posts_whatever_the_verdict() {
    let (code, calls, outputs) = run_action("--gate wheels  -v", "sarif", false, 1, 0);
    assert_eq!(code, 1);
    assert_eq!(calls, "--gate wheels -v --format sarif\n");
    assert!(outputs.contains("exit-code=1\nverdict=NO-GO\n"), "{outputs}");

    let (code, calls, outputs) = run_action("*", "", true, 1, 1);
    assert_eq!(code, 1, "NO-GO stays NO-GO once posted");
    assert_eq!(
        calls,
        "* --json-output TMP/release-check-report-nightly.json\npublish TMP/release-check-report-nightly.json --post --name nightly --context nightly\n",
        "no globbing, and the JSON report is what is posted"
    );
    assert!(outputs.contains("report-json=TMP") || outputs.contains("report-json=/"), "{outputs}");

    let (code, _, outputs) = run_action("", "", true, 0, 3);
    assert_eq!(code, 3, "a GO report that could not be posted fails the step");
    assert!(outputs.contains("exit-code=3\n"), "{outputs}");

    let (code, _, _) = run_action("", "", true, 2, 2);
    assert_eq!(code, 2, "no verdict stays no verdict");
}
