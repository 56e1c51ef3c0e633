//! The Actions event file as every command reads it: bounded, located
//! errors naming the file, and the head of a pull request.

use github::event::{Event, EventError, MAX_EVENT_BYTES};

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
}

#[test]
fn a_pull_request_event_file_names_its_head_and_base() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    let head = "07374fe73aff1c2024a8d4114b32406c7a8e89b7";
    std::fs::write(
        &path,
        format!(
            r#"{{"action": "opened", "number": 486, "pull_request": {{"number": 486, "state": "open",
                "head": {{"sha": "{head}", "ref": "test/stable"}},
                "base": {{"sha": "c4b41922197a1d595bff30e89bb8540013ee4fd3", "ref": "main"}}}}}}"#
        ),
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let event = Event::from_env(env(&[("GITHUB_EVENT_PATH", file), ("GITHUB_EVENT_NAME", "pull_request")]))
        .unwrap()
        .unwrap();
    let pull = event.pull_request().unwrap();
    assert_eq!((pull.number, pull.head_sha.as_str(), pull.base_ref.as_str()), (486, head, "main"));
    // Another event that happens to carry a pull request is not about one.
    let event =
        Event::from_env(env(&[("GITHUB_EVENT_PATH", file), ("GITHUB_EVENT_NAME", "push")])).unwrap().unwrap();
    assert!(event.pull_request().is_none());
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.json");
    let error = Event::from_env(env(&[("GITHUB_EVENT_PATH", path.to_str().unwrap())])).unwrap_err();
    assert!(matches!(error, EventError::Read { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!("GITHUB_EVENT_PATH {}: cannot read it: ", path.display()))
    );
}

#[test]
fn a_file_larger_than_any_event_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_EVENT_BYTES + 1).unwrap();
    let error = github::event::read(&path).unwrap_err();
    assert!(matches!(error, EventError::TooLarge { .. }), "{error:?}");
}
