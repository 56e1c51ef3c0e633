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
                Item::skipped(c, s, r)\n";
    assert_eq!(raw_items(code), 5);
    let clean = "Check::Pin.fail(s, r);\nlet f = Item::severity;\nitems.map(Item::with);\n\
                 // Item::fail(\"pin\", …) in a comment\nMyItem::pass(x);\n";
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
