//! The release workflow (`.github/workflows/release.yml`), the action
//! (`action.yml`) and the workflows the docs give (`docs/workflows/`), read
//! with the images gate's YAML reader: the release builds every platform
//! the action installs, with the archive names the action asks for; its own
//! archive and sums scripts, run here, produce assets the install script
//! accepts; only the publishing job can write; the action declares every
//! input and step it uses; every job of the docs' workflows uses the action.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use gate_images::yaml::{Node, parse};
use release_check_e2e::workspace;

fn yaml(relative: &str) -> Node {
    let text = std::fs::read_to_string(workspace().join(relative)).unwrap();
    parse(&text)
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
        .unwrap_or_else(|| panic!("{relative} is empty"))
}

fn text(node: Option<&Node>) -> &str {
    node.and_then(Node::as_str).unwrap_or_default()
}

fn steps(job: &Node) -> &[Node] {
    job.get("steps").and_then(Node::as_seq).expect("a job has steps")
}

/// The step of `job` named `name`.
fn step<'a>(job: &'a Node, name: &str) -> &'a Node {
    steps(job).iter().find(|s| text(s.get("name")) == name).unwrap_or_else(|| panic!("no step {name:?}"))
}

/// The targets `action/install.sh` downloads prebuilt binaries for.
fn install_targets() -> BTreeSet<String> {
    let mut targets = BTreeSet::new();
    for os in ["Linux", "macOS", "Windows", "FreeBSD"] {
        for arch in ["X64", "ARM64", "ARM", "X86"] {
            let output = Command::new("bash")
                .arg(workspace().join("action/install.sh"))
                .arg("target")
                .env("RUNNER_OS", os)
                .env("RUNNER_ARCH", arch)
                .output()
                .unwrap();
            assert!(output.status.success());
            let target = String::from_utf8(output.stdout).unwrap().trim().to_owned();
            if !target.is_empty() {
                targets.insert(target);
            }
        }
    }
    targets
}

/// (target, runner, archive) of the build matrix.
fn matrix() -> Vec<(String, String, String)> {
    let release = yaml(".github/workflows/release.yml");
    let build = release.get("jobs").and_then(|j| j.get("build")).expect("a build job");
    let include = build.get("strategy").and_then(|s| s.get("matrix")).and_then(|m| m.get("include"));
    include
        .and_then(Node::as_seq)
        .expect("matrix.include")
        .iter()
        .map(|e| {
            (
                text(e.get("target")).to_owned(),
                text(e.get("os")).to_owned(),
                text(e.get("archive")).to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_release_builds_every_platform_the_action_installs() {
    let matrix = matrix();
    let targets: BTreeSet<String> = matrix.iter().map(|(t, _, _)| t.clone()).collect();
    assert_eq!(targets.len(), matrix.len(), "each target once");
    assert_eq!(targets, install_targets());
    assert_eq!(
        targets,
        [
            "aarch64-apple-darwin",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc",
            "x86_64-unknown-linux-musl"
        ]
        .map(str::to_owned)
        .into()
    );
    for (target, runner, archive) in &matrix {
        let expected_runner = match target.as_str() {
            t if t.starts_with("aarch64-") && t.contains("-linux-") => "ubuntu-24.04-arm",
            t if t.contains("-linux-") => "ubuntu-",
            t if t.contains("-apple-") => "macos-",
            _ => "windows-",
        };
        assert!(runner.starts_with(expected_runner), "{target} on {runner}");
        let expected_archive = if target.contains("-windows-") { "zip" } else { "tar.gz" };
        assert_eq!(archive, expected_archive, "{target}");
    }
}

#[test]
fn the_release_runs_on_version_tags_that_must_equal_the_workspace_version() {
    let release = yaml(".github/workflows/release.yml");
    let tags: Vec<&str> = release
        .get("on")
        .and_then(|on| on.get("push"))
        .and_then(|push| push.get("tags"))
        .and_then(Node::as_seq)
        .expect("on.push.tags")
        .iter()
        .filter_map(Node::as_str)
        .collect();
    assert_eq!(tags, ["v[0-9]+.[0-9]+.[0-9]+", "v[0-9]+.[0-9]+.[0-9]+-*"]);
    assert!(release.get("on").and_then(|on| on.get("pull_request")).is_none());
    let build = release.get("jobs").and_then(|j| j.get("build")).unwrap();
    let check = text(step(build, "The tag is the workspace version").get("run"));
    let cargo = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .skip_while(|l| *l != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    for (tag, passes) in
        [(format!("v{version}"), true), ("v999.0.0".to_owned(), false), (version.to_owned(), false)]
    {
        let run = Command::new("bash")
            .args(["-eo", "pipefail", "-c", check])
            .current_dir(workspace())
            .env("GITHUB_REF_NAME", &tag)
            .output()
            .unwrap();
        assert_eq!(run.status.success(), passes, "tag {tag}: {}", String::from_utf8_lossy(&run.stdout));
    }
    let compile = text(step(build, "Build").get("run"));
    assert!(compile.contains("--release --locked --package release-check --target \"${{ matrix.target }}\""));
    let statically = step(build, "The Linux binary is static");
    assert!(text(statically.get("run")).contains("statically linked"));
}

#[test]
fn only_the_publishing_job_can_write() {
    let release = yaml(".github/workflows/release.yml");
    let top = release.get("permissions").expect("top-level permissions");
    assert_eq!(top.entries().len(), 1);
    assert_eq!(text(top.get("contents")), "read");
    let jobs = release.get("jobs").unwrap();
    assert!(jobs.get("build").unwrap().get("permissions").is_none(), "build keeps contents: read");
    let publish = jobs.get("publish").unwrap();
    assert_eq!(text(publish.get("needs")), "build");
    let permissions = publish.get("permissions").unwrap();
    assert_eq!(text(permissions.get("contents")), "write");
    let release_step = text(step(publish, "Release").get("run"));
    assert!(
        release_step.contains("gh release create \"$GITHUB_REF_NAME\" dist/* --verify-tag"),
        "{release_step}"
    );
}

/// Runs the `run` script of `step` with bash in `dir`, the matrix values
/// substituted, with `env`; fails the test when it fails.
fn run_step(step: &Node, dir: &Path, matrix: &[(&str, &str)], env: &[(&str, &str)]) {
    let mut script = text(step.get("run")).to_owned();
    for (key, value) in matrix {
        script = script.replace(&format!("${{{{ matrix.{key} }}}}"), value);
    }
    assert!(!script.contains("${{"), "an expression left in {script}");
    let output = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &script])
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{script}\n{}", String::from_utf8_lossy(&output.stderr));
}

/// The workflow's archive and sums steps, run here on stand-in binaries,
/// publish what the action's install script then accepts.
#[test]
fn the_releases_own_scripts_make_assets_the_install_script_accepts() {
    const VERSION: &str = "9.8.7";
    let tag = format!("v{VERSION}");
    let release = yaml(".github/workflows/release.yml");
    let jobs = release.get("jobs").unwrap();
    let (build, publish) = (jobs.get("build").unwrap(), jobs.get("publish").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("checkout");
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(checkout.join("target/man")).unwrap();
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(checkout.join("README.md"), "readme\n").unwrap();
    std::fs::write(checkout.join("target/man/release-check.1"), ".TH release-check 1\n").unwrap();
    // 7-Zip is Windows' archiver on the runners; zip stands in for it here.
    write_executable(
        &tools.join("7z"),
        "#!/bin/sh\n[ \"$1 $2\" = 'a -tzip' ] && exec zip -qr \"$3\" \"$4\"\nexit 2\n",
    );
    let path = format!("{}:{}", tools.display(), std::env::var("PATH").unwrap());
    let published = dir.path().join("published");
    std::fs::create_dir_all(&published).unwrap();
    for (target, _, archive) in matrix() {
        let exe = if target.contains("-windows-") { "release-check.exe" } else { "release-check" };
        let binary = checkout.join(format!("target/{target}/release/{exe}"));
        write_executable(&binary, &format!("#!/bin/sh\necho 'release-check {VERSION}'\n"));
        let output = dir.path().join(format!("output-{target}"));
        let _ = std::fs::remove_dir_all(checkout.join("dist"));
        run_step(
            step(build, "Archive"),
            &checkout,
            &[("target", &target), ("archive", &archive)],
            &[("GITHUB_REF_NAME", &tag), ("GITHUB_OUTPUT", output.to_str().unwrap()), ("PATH", &path)],
        );
        let file = std::fs::read_to_string(&output).unwrap();
        let file = file.trim().strip_prefix("file=").expect("the archive step names its file");
        let name = Path::new(file).file_name().unwrap();
        std::fs::rename(checkout.join(file), published.join(name)).unwrap();
    }
    let sums = step(publish, "sha256sums.txt");
    assert_eq!(text(sums.get("working-directory")), "dist");
    run_step(sums, &published, &[], &[]);
    let listing = std::fs::read_to_string(published.join("sha256sums.txt")).unwrap();
    assert_eq!(listing.lines().count(), 5, "{listing}");

    // Served as GitHub serves a release's assets: <download>/<tag>/<asset>.
    let releases = dir.path().join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    std::fs::rename(&published, releases.join(&tag)).unwrap();
    let source = dir.path().join("action");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("Cargo.toml"), format!("[workspace.package]\nversion = \"{VERSION}\"\n"))
        .unwrap();
    let mut server = Command::new("python3")
        .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory"])
        .arg(&releases)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let port = first.split_whitespace().skip_while(|w| *w != "port").nth(1).unwrap().to_owned();
    for (os, arch) in [("Linux", "X64"), ("Linux", "ARM64"), ("macOS", "ARM64"), ("Windows", "X64")] {
        let root = dir.path().join(format!("root-{os}-{arch}"));
        let output = Command::new("bash")
            .arg(workspace().join("action/install.sh"))
            .env("RC_SOURCE", &source)
            .env("RC_ROOT", &root)
            .env("RC_DOWNLOAD_URL", format!("http://127.0.0.1:{port}"))
            .env("RC_CARGO", "false")
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{os} {arch}: {stderr}");
        assert!(stderr.contains("matches sha256sums.txt"), "{os} {arch}: {stderr}");
    }
    let _ = server.kill();
    let _ = server.wait();
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

/// Every `<prefix>NAME` in `text`, NAME made of letters, digits, `-` and `_`.
fn references<'a>(text: &'a str, prefix: &str) -> BTreeSet<&'a str> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty()) // prose: "the job's later steps."
        .collect()
}

#[test]
fn the_action_declares_every_input_and_step_it_uses() {
    let action = yaml("action.yml");
    let raw = std::fs::read_to_string(workspace().join("action.yml")).unwrap();
    let runs = action.get("runs").unwrap();
    assert_eq!(text(runs.get("using")), "composite");
    let declared: BTreeSet<&str> =
        action.get("inputs").unwrap().entries().iter().filter_map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        declared,
        [
            "args",
            "download-url",
            "format",
            "install-only",
            "output",
            "post",
            "report-json",
            "report-name",
            "token"
        ]
        .into()
    );
    let used = references(&raw, "inputs.");
    assert_eq!(used, declared, "every input is used, and only declared ones");
    let ids: BTreeSet<&str> = steps(runs).iter().filter_map(|s| s.get("id").and_then(Node::as_str)).collect();
    for id in references(&raw, "steps.") {
        assert!(ids.contains(id), "steps.{id} is no step's id");
    }
    for step in steps(runs).iter().filter(|s| s.get("run").is_some()) {
        assert_eq!(text(step.get("shell")), "bash", "a composite step names its shell");
    }
    for script in ["action/install.sh", "action/run.sh"] {
        assert!(raw.contains(script), "{script}");
        let check = Command::new("bash").arg("-n").arg(workspace().join(script)).status().unwrap();
        assert!(check.success(), "{script} is not valid bash");
    }
    let outputs: BTreeSet<&str> =
        action.get("outputs").unwrap().entries().iter().filter_map(|(k, _)| k.as_str()).collect();
    assert_eq!(outputs, ["exit-code", "path", "report-json", "verdict"].into());
}

#[test]
fn every_job_of_the_docs_workflows_uses_the_action() {
    let mut seen = 0;
    for entry in std::fs::read_dir(workspace().join("docs/workflows")).unwrap() {
        let path = entry.unwrap().path();
        let relative = format!("docs/workflows/{}", path.file_name().unwrap().to_str().unwrap());
        let workflow = yaml(&relative);
        for (name, job) in workflow.get("jobs").unwrap().entries() {
            let uses: Vec<&str> =
                steps(job).iter().filter_map(|s| s.get("uses").and_then(Node::as_str)).collect();
            assert!(
                uses.iter().any(|u| u.starts_with("OWNER/release-check@v")),
                "{relative}: job {} does not use the action",
                text(Some(name))
            );
            for action in uses {
                let (_, version) =
                    action.split_once('@').unwrap_or_else(|| panic!("{relative}: {action} unpinned"));
                assert!(version.starts_with('v'), "{relative}: {action}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 4, "the sharded workflow's three jobs and the poster");
}

/// docs/github-actions.md shows each workflow of docs/workflows/ whole, as
/// the file is: what a reader copies is what the tests check.
#[test]
fn the_docs_show_the_workflow_files_as_they_are() {
    let page = std::fs::read_to_string(workspace().join("docs/github-actions.md")).unwrap();
    for file in ["release-check.yml", "release-check-post.yml"] {
        let text = std::fs::read_to_string(workspace().join("docs/workflows").join(file)).unwrap();
        let body = &text[text.find("name: ").expect("a workflow has a name")..];
        assert!(
            page.contains(&format!("```yaml\n{body}```\n")),
            "docs/github-actions.md does not show {file} as it is"
        );
        assert!(page.contains(&format!("(workflows/{file})")), "docs/github-actions.md does not link {file}");
    }
}
