//! The bundled example's CI evidence: `examples/release-repo/ci-evidence/`
//! is what the ci gate recorded (`record = …`) while checking the example's
//! `main` against the GitHub-shaped test server below, whose answers were
//! written for the example in the shapes GitHub documents. The example
//! replays it offline. This test records again and requires the same files,
//! so a change in what the gate asks shows up here; run it with
//! `RELEASE_CHECK_UPDATE_EXAMPLES=1` to rewrite the evidence.

mod support;

use std::path::Path;

use gate_core::Status;
use serde_json::json;
use support::{GitHub, Recorded, go, listing};

const SHA: &str = "5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea5e";
const REPO: &str = "/repos/example/release-repo";

fn answer(body: serde_json::Value) -> Recorded {
    // A fixed Date, as the recording keeps it (the server would send the current time).
    let headers = vec![
        ("ETag".into(), "W/\"example\"".into()),
        ("Date".into(), "Fri, 20 Nov 2026 10:05:00 GMT".into()),
    ];
    Recorded { body, status: 200, headers }
}

fn check_run(id: u64, name: &str) -> serde_json::Value {
    json!({
        "id": id, "name": name, "head_sha": SHA, "status": "completed", "conclusion": "success",
        "started_at": "2026-11-20T10:00:00Z", "completed_at": "2026-11-20T10:04:00Z",
        "html_url": format!("https://github.com/example/release-repo/actions/runs/7001/job/{id}"),
        "details_url": format!("https://github.com/example/release-repo/actions/runs/7001/job/{id}"),
        "output": {"title": null, "summary": null, "text": null},
        "check_suite": {"id": 9001},
        "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
        "pull_requests": []
    })
}

fn serve_example(gh: &GitHub) {
    gh.serve(
        &format!("{REPO}/commits/main"),
        &answer(json!({
            "sha": SHA, "html_url": format!("https://github.com/example/release-repo/commit/{SHA}"),
            "commit": {"message": "Release 1.0.0", "committer": {"name": "Example", "date": "2026-11-20T09:58:00Z"}},
            "parents": [{"sha": "5e1ea5ec0ffee0ddba11c0de5eed5a1ad5e1ea50"}]
        })),
    );
    gh.serve(&format!("{REPO}/rules/branches/main"), &answer(json!([])));
    gh.serve(
        &format!("{REPO}/branches/main/protection/required_status_checks"),
        &answer(json!({
            "url": "https://api.github.com/repos/example/release-repo/branches/main/protection/required_status_checks",
            "strict": true,
            "contexts": ["verify-wheels", "install"],
            "checks": [{"context": "verify-wheels", "app_id": 15368}, {"context": "install", "app_id": 15368}]
        })),
    );
    gh.serve(
        &format!("{REPO}/commits/{SHA}/check-runs?filter=latest"),
        &answer(json!({"total_count": 2, "check_runs": [check_run(8001, "verify-wheels"), check_run(8002, "install")]})),
    );
    gh.serve(
        &format!("{REPO}/commits/{SHA}/status"),
        &answer(json!({"state": "pending", "sha": SHA, "total_count": 0, "statuses": []})),
    );
    gh.serve(
        &format!("{REPO}/actions/runs?head_sha={SHA}"),
        &answer(json!({"total_count": 1, "workflow_runs": [{
            "id": 7001, "name": "ci", "head_sha": SHA, "run_attempt": 1, "check_suite_id": 9001,
            "status": "completed", "conclusion": "success",
            "html_url": "https://github.com/example/release-repo/actions/runs/7001"
        }]})),
    );
}

#[test]
fn the_bundled_example_evidence_is_what_the_gate_records() {
    let gh = GitHub::start();
    serve_example(&gh);
    let repo = tempfile::tempdir().unwrap();
    let mut config = support::config(&gh, "");
    config.repository = Some(gate_ci::Repo::parse("example/release-repo").unwrap());
    config.record = Some("ci-evidence".into());
    let outcome = support::run_in(repo.path(), config);
    assert!(go(&outcome), "{}", listing(&outcome));
    assert_eq!(outcome.items.iter().filter(|i| i.status == Status::Pass).count(), 3, "{}", listing(&outcome));

    let recorded = repo.path().join("ci-evidence");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/release-repo/ci-evidence");
    if std::env::var_os("RELEASE_CHECK_UPDATE_EXAMPLES").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        for entry in std::fs::read_dir(&recorded).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), committed.join(entry.file_name())).unwrap();
        }
    }
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&recorded), names(&committed), "re-run with RELEASE_CHECK_UPDATE_EXAMPLES=1");
    for name in names(&recorded) {
        assert_eq!(
            std::fs::read_to_string(recorded.join(&name)).unwrap(),
            std::fs::read_to_string(committed.join(&name)).unwrap(),
            "{name} differs: re-run with RELEASE_CHECK_UPDATE_EXAMPLES=1"
        );
    }
}
