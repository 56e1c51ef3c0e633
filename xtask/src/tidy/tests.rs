use super::*;

/// The repository itself: `cargo test --workspace` runs tidy.
#[test]
fn tidy() {
    let outcome = check(&crate::workspace()).unwrap();
    // Improvements are news, not failures: shown with --nocapture and by `cargo xtask tidy`.
    eprint!("{outcome}");
    assert!(outcome.failures.is_empty(), "tidy found problems (see docs/development.md):\n{outcome}");
}

#[test]
fn production_code_ends_at_the_test_module() {
    let text =
        "fn a() {}\n#[cfg(test)]\nmod tests;\nfn b() {}\n#[cfg(test)]\nmod tests {\n    fn c() {}\n}\n";
    assert_eq!(production(text), "fn a() {}\n#[cfg(test)]\nmod tests;\nfn b() {}\n");
    assert_eq!(production("fn a() {}\n"), "fn a() {}\n");
    // An indented attribute belongs to an inner item, not the file's test module.
    let inner = "mod m {\n    #[cfg(test)]\n    mod tests {\n    }\n}\n";
    assert_eq!(production(inner), inner);
}

#[test]
fn result_string_is_found_in_any_shape() {
    assert_eq!(result_strings("fn f() -> Result<(), String> {"), 1);
    assert_eq!(result_strings("fn f() -> Result<Vec<(u8, String)>, String>;"), 1);
    assert_eq!(result_strings("type R<T> = std::result::Result<T, std::string::String>;"), 1);
    assert_eq!(result_strings("fn f() -> Result<HashMap<String, Vec<u8>>, String>"), 1);
    assert_eq!(result_strings("fn f() -> Result<String, Error> {}"), 0);
    assert_eq!(result_strings("fn f() -> io::Result<String> {}"), 0);
    assert_eq!(result_strings("fn f() -> MyResult<(), String> {}"), 0);
    assert_eq!(result_strings("Result<(), String>; Result<u8, String>"), 2);
}

#[test]
fn test_helpers_compiled_into_production_are_found() {
    let code = "pub mod model;\npub mod testing;\n#[cfg(test)]\nmod test_support;\n\
                #[cfg(any(test, feature = \"fakes\"))]\npub mod fakes;\nmod mock_server {\n}\nmod tests;\n";
    assert_eq!(test_helper_modules(code), ["testing", "mock_server"]);
    // The attribute is of the next item only.
    assert_eq!(test_helper_modules("#[cfg(test)]\nmod a;\nmod testing;\n"), ["testing"]);
}

#[test]
fn raw_item_constructors_are_counted_outside_comments() {
    let code = "let a = Item::fail(\"pin\", s, r);\nlet b = gate_core::Item::pass(\n    \"pin\", s, r);\n\
                outcome.push(Item::error(\"x\", \"\", e).at(l)); outcome.push(Item::warn(c, s, r));\n\
                Item::skipped(c, s, r)\nlet n = Item::new(Status::Fail, \"pin\", s, r);\n";
    assert_eq!(raw_items(code), 6);
    let clean = "Check::Pin.fail(s, r);\nlet f = Item::severity;\nitems.map(Item::with);\n\
                 // Item::fail(\"pin\", …) in a comment\nMyItem::pass(x);\nItem::newest(x);\n";
    assert_eq!(raw_items(clean), 0);
}

#[test]
fn only_absolute_machine_paths_count() {
    let root = format!("/{}/", "root");
    let work = format!("/{}/", "work");
    assert_eq!(machine_paths(&format!("cd {work}main && ls {root}.pyenv")), 2);
    assert_eq!(machine_paths(&format!("\"{root}.gnupg\"")), 1);
    assert_eq!(
        machine_paths(&format!("cache/rebuild{work}x, ~{work}x, $HOME{work}, https://h.example{work}")),
        0
    );
}

#[test]
fn placeholders_are_found_outside_comments() {
    let text = format!(
        "fn a() {{ {}() }}\n#[{}]\nfn b() {{ {}(true); }}\n// {}() in a comment\nlet my_{}x = 1;\n",
        concat!("to", "do!"),
        concat!("ig", "nore"),
        concat!("as", "sert!"),
        concat!("to", "do!"),
        concat!("to", "do!"),
    );
    let found: Vec<usize> = placeholders(&text).into_iter().map(|(line, _)| line).collect();
    assert_eq!(found, [1, 2, 3]);
}

#[test]
fn the_ratchet_fails_on_growth_and_new_offenders_and_reports_improvement() {
    let allowed = parse_ratchet(
        "# comment\nresult-string 3 a/src/lib.rs\nlong-file 900 b/src/big.rs\ntest-helper 1 c/src/testing.rs\n",
    )
    .unwrap();
    let mut found = Offenders::new();
    found.insert((Rule::ResultString, "a/src/lib.rs".to_owned()), 4); // grew
    found.insert((Rule::LongFile, "b/src/big.rs".to_owned()), 850); // improved
    found.insert((Rule::ResultString, "d/src/new.rs".to_owned()), 1); // new
    let (failures, improved) = compare(&allowed, &found);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains("a/src/lib.rs: 4") && failures[0].contains("more than the 3"),
        "{failures:?}"
    );
    assert!(failures[1].starts_with("d/src/new.rs: 1"), "{failures:?}");
    assert_eq!(improved.len(), 2, "{improved:?}");
    assert!(
        improved[0].contains("b/src/big.rs: 850") && improved[0].contains("down from 900"),
        "{improved:?}"
    );
    assert!(improved[1].starts_with("c/src/testing.rs: no longer offends"), "{improved:?}");

    let tight = tightened(&allowed, &found);
    assert_eq!(tight.get(&(Rule::ResultString, "a/src/lib.rs".to_owned())), Some(&3), "never raised");
    assert_eq!(tight.get(&(Rule::LongFile, "b/src/big.rs".to_owned())), Some(&850));
    assert_eq!(tight.len(), 2, "fixed entries are dropped, new offenders not added");
    assert_eq!(parse_ratchet(&render_ratchet(&tight)).unwrap(), tight);
}

#[test]
fn a_malformed_ratchet_is_refused_with_its_line() {
    for (text, expected) in [
        ("long-file 900\n", "tidy-ratchet.txt:1: expected"),
        ("\nno-such-rule 1 a.rs\n", "tidy-ratchet.txt:2: unknown rule"),
        ("long-file many a.rs\n", "is not a count"),
        ("long-file 1 a.rs\nlong-file 2 a.rs\n", "listed twice"),
    ] {
        let error = parse_ratchet(text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn library_files_are_the_src_of_every_crate_but_xtask() {
    assert!(is_library("gate-core/src/lib.rs"));
    assert!(is_library("crates/wheel-diff/src/zip/read.rs"));
    assert!(!is_library("gate-core/tests/render.rs"));
    assert!(!is_library("xtask/src/tidy.rs"));
    assert!(!is_library("gate-core/src/notes.md"));
}

#[test]
fn test_support_compiled_into_production_code_is_found() {
    let code = "pub mod testing;\nmod test_support {\n    pub fn fixture() {}\n    fn private() {}\n    \
                pub(crate) const fn built() {}\n}\npub fn after() {}\n#[cfg(test)]\npub mod testing;\n\
                #[cfg(test)]\nmod test_support {\n    pub fn gated() {}\n}\n";
    let (found, files) = dev_only::leaks(code);
    let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [1, 3], "{found:?}");
    assert!(found[0].1.contains("`pub mod testing`") && found[1].1.contains("`pub fn`"), "{found:?}");
    assert_eq!(files, ["testing"], "its pub fns are in its own file");
    let clean = "pub mod model;\n#[cfg(test)]\nmod testing;\npub(crate) mod test_data;\n";
    assert_eq!(dev_only::leaks(clean), (vec![], vec![]));
    assert_eq!(dev_only::pub_fns("pub fn a() {}\nfn b() {}\n    pub async fn c() {}\n"), [1, 3]);
    assert!(dev_only::applies_to("gate-core/src/lib.rs"));
    assert!(!dev_only::applies_to("test-support/src/lib.rs") && !dev_only::applies_to("tests/src/lib.rs"));
}

#[test]
fn test_support_is_a_dev_dependency_only() {
    let workspace = "[workspace]\nmembers = [\"a\"]\n\n[workspace.dependencies]\ngate-core = { path = \"gate-core\" }\n\
                     test-support = { path = \"test-support\", package = \"release-check-test-support\" }\n";
    let aliases = dev_only::aliases(workspace);
    assert_eq!(aliases, ["release-check-test-support", "test-support"]);
    assert!(dev_only::listed_outside_dev(workspace, &aliases).is_empty(), "declaring it is fine");
    let manifest = "[package]\nname = \"a\"\n\n[dependencies]\ngate-core.workspace = true\n\
                    test-support.workspace = true\n\n[target.'cfg(unix)'.build-dependencies]\n\
                    helpers = { path = \"../test-support\", package = \"release-check-test-support\" }\n\n\
                    [dependencies.release-check-test-support]\npath = \"../test-support\"\n\n\
                    [dev-dependencies]\ntest-support.workspace = true\n\n[target.'cfg(unix)'.dev-dependencies]\n\
                    test-support.workspace = true\n";
    assert_eq!(
        dev_only::listed_outside_dev(manifest, &aliases),
        [
            (6, "dependencies".to_owned()),
            (9, "target.'cfg(unix)'.build-dependencies".to_owned()),
            (11, "dependencies.release-check-test-support".to_owned()),
        ]
    );
}

#[test]
fn a_crate_that_leaks_test_support_fails_tidy() {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[workspace.dependencies]\ntest-support = { path = \"test-support\", package = \"release-check-test-support\" }\n",
    );
    write("a/Cargo.toml", "[package]\nname = \"a\"\n\n[dependencies]\ntest-support.workspace = true\n");
    write("a/src/lib.rs", "//! A.\n\nmod testing;\n");
    write("a/src/testing.rs", "//! Helpers.\n\npub fn fixture() {}\n");
    write("test-support/src/lib.rs", "pub mod testing;\n");
    let files: Vec<String> =
        ["Cargo.toml", "a/Cargo.toml", "a/src/lib.rs", "a/src/testing.rs", "test-support/src/lib.rs"]
            .map(str::to_owned)
            .into();
    let failures = dev_only::check(root.path(), &files);
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].starts_with("a/Cargo.toml:5: release-check-test-support is listed under [dependencies]")
    );
    assert!(failures[1].starts_with("a/src/testing.rs:3: `pub fn` in module `testing`"), "{failures:#?}");
}
