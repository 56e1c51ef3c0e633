//! The wheels gate on SecureDrop's real release files (read in place from
//! the shared fixtures), asserting the facts their READMEs list.

use release_check_e2e::{release_check, shared_fixture};
use serde_json::Value;

fn json_report(repo: &std::path::Path) -> (i32, Value) {
    let run = release_check(["--repo".as_ref(), repo.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    (
        run.code,
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr)),
    )
}

fn items<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["gates"][0]["items"].as_array().unwrap().iter().filter(|i| i["check"] == check).collect()
}

#[test]
fn flat_2022_layout_pointers_match_and_the_list_is_unsorted() {
    let (code, report) = json_report(&shared_fixture("securedrop-2022-07"));
    assert_eq!(code, 0, "GO: the unsorted list is only a warning by default");
    let notes = report["gates"][0]["notes"][0].as_str().unwrap();
    assert!(notes.contains("recognised the flat layout"), "{notes}");
    assert!(
        notes.contains("sha256sums.txt → localwheels/")
            && notes.contains("bootstrap-sha256sums.txt → bootstrap/")
    );

    let hashes = items(&report, "hash");
    let localwheels =
        hashes.iter().filter(|i| i["subject"].as_str().unwrap().starts_with("localwheels/")).count();
    let bootstrap =
        hashes.iter().filter(|i| i["subject"].as_str().unwrap().starts_with("bootstrap/")).count();
    assert_eq!((localwheels, bootstrap), (86, 39), "86 + 39 pointers, one item each");
    assert!(hashes.iter().all(|i| i["status"] == "pass"), "0 mismatches");
    assert!(items(&report, "missing").is_empty() && items(&report, "unlisted").is_empty());

    let order = items(&report, "sums-order");
    assert_eq!(order.len(), 1, "only sha256sums.txt is unsorted; bootstrap-sha256sums.txt is sorted");
    let order = order[0];
    assert_eq!(order["subject"], "sha256sums.txt");
    assert_eq!(order["severity"], "warning");
    let reason = order["reason"].as_str().unwrap();
    assert!(reason.contains("16 adjacent pairs"), "{reason}");
    assert!(
        reason
            .contains("`charset_normalizer-2.0.4-py3-none-any.whl` before `charset-normalizer-2.0.4.tar.gz`")
    );
    assert_eq!(order["evidence"][0]["line"], 12);
}

#[test]
fn unsorted_list_blocks_when_configured_to() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[severity]\n\"wheels/sums-order\" = \"blocker\"\n").unwrap();
    let repo = shared_fixture("securedrop-2022-07");
    let run =
        release_check(["--repo".as_ref(), repo.as_os_str(), "--config".as_ref(), config.path().as_os_str()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("✗ blocker wheels/sums-order/sha256sums.txt"), "{}", run.stdout);
}

#[test]
fn per_project_layout_has_forty_matching_pointers() {
    let (code, report) = json_report(&shared_fixture("securedrop-head"));
    assert_eq!(code, 0);
    let notes = report["gates"][0]["notes"][0].as_str().unwrap();
    assert!(notes.contains("recognised the per-project layout"), "{notes}");
    let per_project = |p: &str| {
        items(&report, "hash").iter().filter(|i| i["subject"].as_str().unwrap().starts_with(p)).count()
    };
    assert_eq!(
        (
            per_project("securedrop-export/"),
            per_project("securedrop-log/"),
            per_project("workstation-bootstrap/")
        ),
        (4, 2, 34)
    );
    assert_eq!(report["summary"]["clear"], 40);
    assert_eq!(
        report["summary"]["warnings"], 0,
        "sorted lists, and wheels/.empty is a dot file, not unlisted"
    );
}
