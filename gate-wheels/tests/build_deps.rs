//! The build-dependency analysis against a package index on 127.0.0.1: a
//! wiremock server started by each test, serving PEP 691 JSON (or PEP 503
//! HTML) project pages and sdists that the tests build with Python's
//! `tarfile`, uploaded at chosen times.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use build_deps::bisect::{Bump, bisect};
use gate_core::{Context, GateOutcome, Status};
use gate_wheels::{Config, WheelsGate, hex};
use sha2::Digest as _;
use support::{facts, items, run};
use wiremock::{Request, ResponseTemplate};

mod support;

/// One answer of the server.
#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
    etag: Option<String>,
}

impl Answer {
    fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self { status: 200, content_type: content_type.to_owned(), body: body.into(), etag: None }
    }

    fn status(status: u16) -> Self {
        Self { status, ..Self::ok("text/plain", "no") }
    }
}

/// A package index on 127.0.0.1 (wiremock): answers by path, and a log of
/// every request as `path` or `path If-None-Match: <etag>`.
struct Server {
    http: test_support::http::Server,
    routes: Arc<Mutex<HashMap<String, Answer>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Self {
        let routes: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (shared_routes, shared_log) = (routes.clone(), log.clone());
        let http = test_support::http::Server::answering(move |request: &Request| {
            let path = request.url.path().to_owned();
            let etag = request.headers.get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let answer = shared_routes.lock().unwrap_or_else(PoisonError::into_inner).get(&path).cloned();
            let answer = answer.unwrap_or_else(|| Answer::status(404));
            let entry = match &etag {
                Some(etag) => format!("{path} If-None-Match: {etag}"),
                None => path,
            };
            shared_log.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
            if let Some(current) = &answer.etag
                && etag.as_ref() == Some(current)
            {
                return ResponseTemplate::new(304).insert_header("etag", current.as_str());
            }
            let mut template =
                ResponseTemplate::new(answer.status).set_body_raw(answer.body, answer.content_type.as_str());
            if let Some(etag) = &answer.etag {
                template = template.insert_header("etag", etag.as_str());
            }
            template
        });
        Self { http, routes, log }
    }

    fn serve(&self, path: &str, answer: Answer) {
        self.routes.lock().unwrap().insert(path.to_owned(), answer);
    }

    /// Sets `requires-python` on the files of `name`'s JSON page whose
    /// version is a key of `by_version`.
    fn require_python(&self, name: &str, by_version: &[(&str, &str)]) {
        let path = format!("/simple/{name}/");
        let mut answer = self.routes.lock().unwrap()[&path].clone();
        let mut page: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        for file in page["files"].as_array_mut().unwrap() {
            let filename = file["filename"].as_str().unwrap().to_owned();
            for (version, requires) in by_version {
                if filename == format!("{name}-{version}.tar.gz") {
                    file["requires-python"] = serde_json::json!(requires);
                }
            }
        }
        answer.body = page.to_string().into_bytes();
        self.serve(&path, answer);
    }

    fn index_url(&self) -> String {
        format!("{}/simple/", self.http.url())
    }

    /// Every request so far, and forgets them.
    fn requests(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// A project name, a version and the files (name and text) of an sdist.
type SdistSpec<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

/// Sdists `name-version.tar.gz`, each holding `name-version/<file>` for
/// each of its files, written by one run of Python's `tarfile`.
fn sdists(dir: &Path, specs: &[SdistSpec]) -> Vec<Vec<u8>> {
    let mut python = std::process::Command::new("python3");
    python.args([
        "-c",
        "import sys, tarfile\nfor archive, top, name in zip(*[iter(sys.argv[1:])] * 3):\n    \
         with tarfile.open(archive, 'w:gz') as t: t.add(top, arcname=name)",
    ]);
    let mut archives = Vec::new();
    for (name, version, files) in specs {
        let top = dir.join(format!("{name}-{version}"));
        std::fs::create_dir_all(&top).unwrap();
        for (file, text) in files {
            std::fs::write(top.join(file), text).unwrap();
        }
        let archive = dir.join(format!("{name}-{version}.tar.gz"));
        python.arg(&archive).arg(&top).arg(format!("{name}-{version}"));
        archives.push(archive);
    }
    assert!(python.status().unwrap().success());
    archives.iter().map(|archive| std::fs::read(archive).unwrap()).collect()
}

/// A release on the index: its sdist, upload time and served metadata file.
struct Release<'a> {
    version: &'a str,
    uploaded: &'a str,
    files: Vec<(&'a str, String)>,
    metadata_file: Option<&'a str>,
}

/// Serves `name`'s releases.
fn publish(server: &Server, work: &Path, name: &str, releases: &[Release]) {
    publish_all(server, work, &[(name, releases)]);
}

/// Serves each project's releases: the JSON page at `/simple/<name>/`, each
/// sdist at `/files/<sdist>` and each metadata file at
/// `/files/<sdist>.metadata`.
fn publish_all(server: &Server, work: &Path, projects: &[(&str, &[Release])]) {
    let specs: Vec<SdistSpec> = projects
        .iter()
        .flat_map(|(name, releases)| {
            releases
                .iter()
                .map(|r| (*name, r.version, r.files.iter().map(|(f, t)| (*f, t.as_str())).collect()))
        })
        .collect();
    let mut archives = sdists(work, &specs).into_iter();
    for (name, releases) in projects {
        let mut files = Vec::new();
        for release in *releases {
            let bytes = archives.next().unwrap();
            let filename = format!("{name}-{}.tar.gz", release.version);
            let mut file = serde_json::json!({
                "filename": filename,
                "url": format!("/files/{filename}"),
                "hashes": {"sha256": hex(&sha2::Sha256::digest(&bytes))},
                "upload-time": release.uploaded,
            });
            if let Some(metadata) = release.metadata_file {
                let hash = hex(&sha2::Sha256::digest(metadata.as_bytes()));
                file["core-metadata"] = serde_json::json!({"sha256": hash});
                server.serve(&format!("/files/{filename}.metadata"), Answer::ok("text/plain", metadata));
            }
            server.serve(&format!("/files/{filename}"), Answer::ok("application/gzip", bytes));
            files.push(file);
        }
        let page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": name, "files": files});
        let answer = Answer {
            etag: Some(format!("\"{name}-{}\"", releases.len())),
            ..Answer::ok("application/vnd.pypi.simple.v1+json", page.to_string())
        };
        server.serve(&format!("/simple/{name}/"), answer);
    }
}

fn pkg_info(name: &str, version: &str, metadata_version: &str, requires: &[&str]) -> String {
    let mut text = format!("Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\n");
    for requirement in requires {
        text.push_str(&format!("Requires-Dist: {requirement}\n"));
    }
    text
}

/// A `[build-system]` of `requires`, with a backend that is not
/// setuptools' (whose `get_requires_for_build_wheel` adds `wheel`, which
/// these indexes do not have; the tests of that are in build_deps_pip.rs).
fn build_system(requires: &[&str]) -> String {
    let quoted: Vec<String> = requires.iter().map(|r| format!("\"{r}\"")).collect();
    format!("[build-system]\nrequires = [{}]\nbuild-backend = \"local_backend\"\n", quoted.join(", "))
}

/// The 2022 case in miniature: `scm` (setuptools-scm) 7.0 starts to require
/// `imeta` (importlib-metadata) on Python < 3.8, and `imeta` builds with
/// `scm`. `setuptools` is served as PEP 503 HTML.
fn the_2022_index(server: &Server, work: &Path) {
    let scm_build = build_system(&["setuptools>=45"]);
    publish(
        server,
        work,
        "scm",
        &[
            Release {
                version: "6.4",
                uploaded: "2022-03-01T12:00:00Z",
                files: vec![
                    ("PKG-INFO", pkg_info("scm", "6.4", "2.2", &[])),
                    ("pyproject.toml", scm_build.clone()),
                ],
                metadata_file: None,
            },
            Release {
                version: "7.0",
                uploaded: "2022-06-22T10:00:00.123456Z",
                files: vec![
                    ("PKG-INFO", pkg_info("scm", "7.0", "2.2", &["imeta; python_version < \"3.8\""])),
                    ("pyproject.toml", scm_build),
                ],
                metadata_file: None,
            },
        ],
    );
    // The index's metadata file wins over the sdist's old PKG-INFO.
    publish(
        server,
        work,
        "imeta",
        &[Release {
            version: "4.12",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![
                ("PKG-INFO", pkg_info("imeta", "4.12", "2.1", &["not-this"])),
                ("pyproject.toml", build_system(&["setuptools>=56", "scm>=3.4.1"])),
            ],
            metadata_file: Some(
                "Metadata-Version: 2.1\nName: imeta\nVersion: 4.12\nRequires-Dist: zipp>=0.5\n",
            ),
        }],
    );
    publish(
        server,
        work,
        "zipp",
        &[Release {
            version: "3.8",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![(
                "pyproject.toml",
                format!(
                    "{}\n[project]\nname = \"zipp\"\ndependencies = []\n",
                    build_system(&["setuptools>=56"])
                ),
            )],
            metadata_file: None,
        }],
    );
    // setuptools builds with itself, in tree: no build requirement.
    let in_tree = "[build-system]\nrequires = []\nbuild-backend = \"_in_tree\"\nbackend-path = [\".\"]\n";
    let info = pkg_info("setuptools", "60.0", "2.2", &[]);
    let setuptools =
        sdists(work, &[("setuptools", "60.0", vec![("PKG-INFO", &info), ("pyproject.toml", in_tree)])])
            .remove(0);
    let hash = hex(&sha2::Sha256::digest(&setuptools));
    server.serve("/files/setuptools-60.0.tar.gz", Answer::ok("application/gzip", setuptools));
    server.serve(
        "/simple/setuptools/",
        Answer::ok(
            "text/html",
            format!(
                "<!DOCTYPE html>\n<html><body>\n<a href=\"../../files/setuptools-60.0.tar.gz#sha256={hash}\">setuptools-60.0.tar.gz</a>\n</body></html>\n"
            ),
        ),
    );
}

/// A repository with these requirements files, and its analysis config:
/// pip 24.0's rules, whatever pip the machine's Pythons bundle.
fn repo(
    server: &Server,
    requirements: &str,
    build_requirements: &str,
    extra: &str,
) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
    std::fs::write(dir.path().join("build-requirements.txt"), build_requirements).unwrap();
    let cache = dir.path().join("cache");
    let config: Config = toml::from_str(&format!(
        "[build-deps]\nindex-url = \"{}\"\ntarget-pythons = [\"3.7\", \"3.9\"]\ncache-dir = {:?}\npip = \"24.0\"\n{extra}",
        server.index_url(),
        cache.to_str().unwrap()
    ))
    .unwrap();
    (dir, config)
}

#[test]
fn a_cycle_behind_a_marker_is_found_on_37_only_and_not_before_the_bump() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    let (dir, config) = repo(&server, "imeta==4.12\n", "setuptools==60.0\n", "");

    let after = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    let cycles = items(&after, "build-cycle");
    assert_eq!(cycles.len(), 1, "{:#?}", after);
    let cycle = cycles[0];
    assert_eq!(cycle.status, Status::Fail);
    assert_eq!(cycle.subject, "imeta→scm");
    assert_eq!(
        cycle.reason,
        "build-time cycle on 3.7 (not on 3.9): imeta 4.12 → scm 7.0 (scm>=3.4.1 [build-system]) → imeta 4.12 \
         (imeta; python_version < \"3.8\" [Requires-Dist, sdist PKG-INFO]: active on 3.7, inactive on 3.9)"
    );
    assert!(facts(cycle).contains("imeta 4.12 needs scm 7.0 in its build environment"), "{}", facts(cycle));
    assert!(facts(cycle).contains("scm 7.0 needs imeta 4.12 at run time"), "{}", facts(cycle));
    assert!(
        facts(cycle).contains("\"reached from\",\"value\":\"requirements.txt: imeta 4.12\""),
        "{}",
        facts(cycle)
    );
    // Everything imeta's isolated build environment installs is unpinned:
    // the pin of setuptools in build-requirements.txt does not reach it.
    let unpinned = items(&after, "unpinned-build-dep");
    let subjects: Vec<&str> = unpinned.iter().map(|i| i.subject.as_str()).collect();
    assert_eq!(subjects, ["imeta", "scm", "setuptools", "zipp"], "{unpinned:#?}");
    assert_eq!(
        unpinned[1].reason,
        format!(
            "build isolation installs scm 7.0, the newest the index {} as of 2022-07-01T00:00:00Z allows, to build \
             imeta 4.12 (`scm>=3.4.1`, build-system): no constraints file pins it",
            server.index_url()
        )
    );
    assert!(
        unpinned[0].reason.starts_with("build isolation installs imeta 4.12 on 3.7, "),
        "{}",
        unpinned[0].reason
    );
    assert!(
        unpinned[2].reason.ends_with(
            "build-requirements.txt pins setuptools==60.0, but the repository's requirements files do not reach isolated build environments; a constraints file does"
        ),
        "{}",
        unpinned[2].reason
    );
    assert!(items(&after, "index").is_empty() && items(&after, "build-metadata").is_empty(), "{after:#?}");
    // imeta's needs came from the metadata file (zipp), not from the
    // sdist's PKG-INFO (not-this, which would be a fifth distribution).
    assert!(after.notes.iter().any(|n| n.starts_with("build-deps: 4 distributions")), "{:?}", after.notes);
    assert!(after.notes.iter().any(|n| n.contains("PEP 503 HTML for setuptools")), "{:?}", after.notes);

    // Before setuptools-scm 7.0 was uploaded: no cycle, and 6.4 is what
    // build isolation would take.
    let before = run(dir.path(), &config, "2022-06-01T00:00:00Z");
    let cycles = items(&before, "build-cycle");
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].status, Status::Pass, "{before:#?}");
    assert_eq!(cycles[0].reason, "no build-time cycle among 4 distributions on 3.7, 3.9");
    assert!(items(&before, "unpinned-build-dep")[0].reason.contains("installs scm 6.4"), "{before:#?}");

    // A constraints file that pins them reaches the build environments, as
    // PIP_CONSTRAINT does: nothing is unpinned, and scm 6.4 breaks the cycle.
    std::fs::write(
        dir.path().join("constraints.txt"),
        "scm==6.4\nsetuptools==60.0\nimeta==4.12\nzipp==3.8\n",
    )
    .unwrap();
    let held = Config {
        build_deps: config
            .build_deps
            .clone()
            .map(|b| build_deps::Config { constraints: Some("constraints.txt".into()), ..b }),
        ..config.clone()
    };
    let outcome = run(dir.path(), &held, "2022-07-01T00:00:00Z");
    assert!(items(&outcome, "unpinned-build-dep").is_empty(), "{outcome:#?}");
    assert_eq!(items(&outcome, "build-cycle")[0].status, Status::Pass, "{outcome:#?}");
}

#[test]
fn the_cache_is_revalidated_by_etag_and_offline_sends_nothing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    let (dir, config) = repo(&server, "imeta==4.12\n", "setuptools==60.0\n", "");
    let as_of = "2022-07-01T00:00:00Z";
    let ids = |outcome: &GateOutcome| {
        outcome
            .items
            .iter()
            .map(|i| format!("{} {:?} {}", i.id_in("wheels"), i.status, i.reason))
            .collect::<Vec<_>>()
    };
    let cold = run(dir.path(), &config, as_of);
    let mut first = server.requests();
    first.sort();
    assert_eq!(
        first,
        [
            "/files/imeta-4.12.tar.gz",
            "/files/imeta-4.12.tar.gz.metadata",
            "/files/scm-7.0.tar.gz",
            "/files/setuptools-60.0.tar.gz",
            "/files/zipp-3.8.tar.gz",
            "/simple/imeta/",
            "/simple/scm/",
            "/simple/setuptools/",
            "/simple/zipp/",
        ]
    );
    let warm = run(dir.path(), &config, as_of);
    assert_eq!(ids(&warm), ids(&cold));
    let mut second = server.requests();
    second.sort();
    // Pages with an ETag are revalidated (and answered 304); files are
    // never asked again; the HTML page without an ETag is read again.
    assert_eq!(
        second,
        [
            "/simple/imeta/ If-None-Match: \"imeta-1\"",
            "/simple/scm/ If-None-Match: \"scm-2\"",
            "/simple/setuptools/",
            "/simple/zipp/ If-None-Match: \"zipp-1\"",
        ]
    );
    let offline: Config = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config { offline: true, ..b }),
        ..config.clone()
    };
    let from_cache = run(dir.path(), &offline, as_of);
    assert_eq!(ids(&from_cache), ids(&cold));
    assert!(server.requests().is_empty());
    assert!(from_cache.notes.iter().any(|n| n.contains(" 0 requests")), "{:?}", from_cache.notes);

    // Cache entries are not synced: a page body or file torn by a crash is
    // not cached, and is asked for again in full.
    let mut torn = 0;
    let mut dirs = vec![dir.path().join("cache")];
    while let Some(next) = dirs.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.parent().unwrap().ends_with("files") && path.extension().is_none()
                || path.extension().is_some_and(|e| e == "page")
            {
                std::fs::write(&path, b"").unwrap();
                torn += 1;
            }
        }
    }
    assert!(torn >= 9, "{torn} cache entries found to tear");
    let mended = run(dir.path(), &config, as_of);
    assert_eq!(ids(&mended), ids(&cold));
    let mut third = server.requests();
    third.sort();
    assert_eq!(third, first, "every torn entry is fetched again, without an If-None-Match");

    // An empty cache, offline: an error, not a pass.
    let (empty, offline) = repo(&server, "imeta==4.12\n", "", "offline = true\n");
    let outcome = run(empty.path(), &offline, as_of);
    let errors = items(&outcome, "index");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].status, Status::Error);
    assert!(errors[0].reason.contains("offline, and not in the cache"), "{}", errors[0].reason);
    // Nothing was read: no cycle was seen, but that is not a pass.
    let cycles = items(&outcome, "build-cycle");
    assert_eq!(cycles[0].status, Status::Skipped);
    assert!(
        cycles[0].reason.ends_with(
            "the needs of imeta are unknown (see the errors), so a cycle through them cannot be ruled out"
        ),
        "{}",
        cycles[0].reason
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_self_build_dependency_is_a_cycle_of_length_one() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    publish(
        &server,
        work.path(),
        "selfie",
        &[Release {
            version: "1.0",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![
                ("PKG-INFO", pkg_info("selfie", "1.0", "2.2", &[])),
                ("pyproject.toml", build_system(&["selfie>=1"])),
            ],
            metadata_file: None,
        }],
    );
    let constraints = "constraints = \"build-requirements.txt\"\n";
    let (dir, config) = repo(&server, "selfie==1.0\n", "selfie==1.0\n", constraints);
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    let cycles = items(&outcome, "build-cycle");
    assert_eq!(cycles.len(), 1, "{outcome:#?}");
    assert_eq!(cycles[0].subject, "selfie");
    assert_eq!(
        cycles[0].reason,
        "build-time cycle on 3.7, 3.9: selfie 1.0 → selfie 1.0 (selfie>=1 [build-system])"
    );
    // Held by the constraints (the build requirements, given as
    // PIP_CONSTRAINT): not an unpinned build dependency.
    assert!(items(&outcome, "unpinned-build-dep").is_empty(), "{outcome:#?}");

    // Installed from a wheel (`--only-binary selfie`), it is never built.
    let (dir, binary) = repo(&server, "selfie==1.0\n", "selfie==1.0\n", "only-binary = [\"Selfie\"]\n");
    let outcome = run(dir.path(), &binary, "2023-01-01T00:00:00Z");
    let cycles = items(&outcome, "build-cycle");
    assert_eq!((cycles.len(), cycles[0].status), (1, Status::Pass), "{outcome:#?}");
}

#[test]
fn without_build_isolation_the_pins_must_satisfy_every_build_need() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    let (dir, config) = repo(&server, "zipp==3.8\n", "setuptools==60.0\n", "build-isolation = false\n");
    let outcome = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    assert!(items(&outcome, "unpinned-build-dep").is_empty(), "{outcome:#?}");
    let (dir, config) = repo(&server, "imeta==4.12\n", "setuptools==60.0\n", "build-isolation = false\n");
    let outcome = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    let unpinned = items(&outcome, "unpinned-build-dep");
    assert_eq!(unpinned.len(), 1);
    assert!(
        unpinned[0]
            .reason
            .ends_with("but not in build-requirements.txt: a build without isolation does not have it"),
        "{}",
        unpinned[0].reason
    );
}

#[test]
fn index_failures_are_error_items_after_bounded_retries() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    server.serve("/simple/broken/", Answer::status(500));
    server.serve(
        "/simple/garbage/",
        Answer::ok(
            "application/vnd.pypi.simple.v1+json",
            "{\"meta\": {\"api-version\": \"1.1\"},\n\"files\": [oops]}",
        ),
    );
    server.serve("/simple/plain/", Answer::ok("text/plain", "hello"));
    publish(
        &server,
        work.path(),
        "tampered",
        &[Release {
            version: "1.0",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![("PKG-INFO", pkg_info("tampered", "1.0", "2.2", &[]))],
            metadata_file: None,
        }],
    );
    server.serve("/files/tampered-1.0.tar.gz", Answer::ok("application/gzip", "not the listed bytes"));
    let (dir, config) =
        repo(&server, "broken==1\ngarbage==1\nplain==1\ngone==1\ntampered==1.0\nbad ==\n", "", "");
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    let reasons: HashMap<&str, &str> =
        items(&outcome, "index").iter().map(|i| (i.subject.as_str(), i.reason.as_str())).collect();
    assert!(items(&outcome, "index").iter().all(|i| i.status == Status::Error));
    let url = |name: &str| format!("GET {}{name}/", server.index_url());
    assert_eq!(reasons["broken"], format!("{}: answered 500 Internal Server Error 3 times", url("broken")));
    assert!(reasons["garbage"].contains("PEP 691 JSON expected, at line 2 column"), "{}", reasons["garbage"]);
    assert!(reasons["plain"].contains("Content-Type `text/plain`"), "{}", reasons["plain"]);
    assert_eq!(
        reasons["gone"],
        format!("{}: answered 404 Not Found: the index does not have it", url("gone"))
    );
    assert!(reasons["tampered 1.0"].contains("SHA-256 is"), "{}", reasons["tampered 1.0"]);
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| *r == "/simple/broken/").count(), 3, "{requests:?}");
    // The unparseable line of requirements.txt is located.
    let syntax = items(&outcome, "build-metadata");
    assert_eq!(syntax.len(), 1, "{syntax:#?}");
    assert_eq!(syntax[0].subject, "requirements.txt:6");
    assert_eq!(test_support::locations(syntax[0]), ["requirements.txt:6:5"]);
}

#[test]
fn bad_configuration_is_refused_with_what_was_expected() {
    let error = toml::from_str::<Config>("[build-deps]\ntarget-pythons = [\"3.x\"]\n").unwrap_err();
    assert!(error.to_string().contains("expected a Python version such as \"3.9\""), "{error}");
    let error =
        toml::from_str::<Config>("[build-deps]\ntarget-pythons = [\"3.9\"]\nindex-url = \"ftp://x\"\n")
            .unwrap_err();
    assert!(error.to_string().contains("expected an https:// or http:// URL"), "{error}");
    let error = toml::from_str::<Config>("[build-deps]\ntarget-python = [\"3.9\"]\n").unwrap_err();
    assert!(error.to_string().contains("target-python"), "{error}");
}

#[test]
fn ninety_pinned_packages_cost_one_page_and_one_file_each_cold_and_nothing_warm() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let release = |files: Vec<(&'static str, String)>| Release {
        version: "1.0",
        uploaded: "2022-01-01T00:00:00Z",
        files,
        metadata_file: None,
    };
    let backend =
        vec![("PKG-INFO", pkg_info("backend", "1.0", "2.2", &[])), ("pyproject.toml", build_system(&[]))];
    publish(&server, work.path(), "backend", &[release(backend)]);
    let names: Vec<String> = (0..90).map(|i| format!("p{i:02}")).collect();
    let releases: Vec<[Release; 1]> = (0..90)
        .map(|i| {
            let next = format!("p{:02}>=1", i + 1);
            let requires: Vec<&str> = if i < 89 { vec![next.as_str()] } else { vec![] };
            [release(vec![
                ("PKG-INFO", pkg_info(&names[i], "1.0", "2.2", &requires)),
                ("pyproject.toml", build_system(&["backend"])),
            ])]
        })
        .collect();
    let projects: Vec<(&str, &[Release])> =
        names.iter().zip(&releases).map(|(name, r)| (name.as_str(), &r[..])).collect();
    publish_all(&server, work.path(), &projects);
    let requirements: String = names.iter().map(|name| format!("{name}==1.0\n")).collect();
    let (dir, config) =
        repo(&server, &requirements, "backend==1.0\n", "constraints = \"build-requirements.txt\"\n");
    let as_of = "2023-01-01T00:00:00Z";
    let started = std::time::Instant::now();
    let cold = run(dir.path(), &config, as_of);
    let cold_time = started.elapsed();
    let requests = server.requests();
    assert_eq!(requests.len(), 91 * 2, "{requests:?}");
    assert!(
        cold.notes.iter().any(|n| n.starts_with("build-deps: 91 distributions, 180 needs, 182 requests")),
        "{:?}",
        cold.notes
    );
    assert_eq!(cold.items.len(), 2, "{cold:#?}");
    assert!(cold.items.iter().all(|i| i.status == Status::Pass), "{cold:#?}");
    let offline = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config { offline: true, ..b }),
        ..config
    };
    let started = std::time::Instant::now();
    let warm = run(dir.path(), &offline, as_of);
    let warm_time = started.elapsed();
    assert!(server.requests().is_empty());
    assert_eq!(warm.items, cold.items);
    // Times are printed, not asserted: a loaded machine made a 1 s limit
    // fail. How fast a warm run is, is `cargo xtask bench build-deps`'s to say.
    eprintln!("91 distributions: cold {cold_time:?}, warm offline {warm_time:?}");
}

#[test]
fn an_unusable_metadata_file_falls_back_to_the_sdist_and_says_so() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let release = |files: Vec<(&'static str, String)>, metadata_file| Release {
        version: "1.0",
        uploaded: "2022-01-01T00:00:00Z",
        files,
        metadata_file,
    };
    let top =
        vec![("PKG-INFO", pkg_info("top", "1.0", "2.2", &[])), ("pyproject.toml", build_system(&["helper"]))];
    let helper =
        vec![("PKG-INFO", pkg_info("helper", "1.0", "2.2", &["top"])), ("pyproject.toml", build_system(&[]))];
    let listed = "Metadata-Version: 2.1\nName: helper\nVersion: 1.0\n";
    publish_all(
        &server,
        work.path(),
        &[("top", &[release(top, None)]), ("helper", &[release(helper, Some(listed))])],
    );
    // The metadata file served is not the one the page lists.
    server.serve("/files/helper-1.0.tar.gz.metadata", Answer::ok("text/plain", "Requires-Dist: other\n"));
    let (dir, config) = repo(&server, "top==1.0\n", "helper==1.0\n", "");
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    let cycles = items(&outcome, "build-cycle");
    assert_eq!(cycles.len(), 1, "{outcome:#?}");
    assert_eq!(
        cycles[0].reason,
        "build-time cycle on 3.7, 3.9: top 1.0 → helper 1.0 (helper [build-system]) → top 1.0 (top [Requires-Dist, sdist PKG-INFO])"
    );
    let evidence = facts(cycles[0]);
    assert!(
        evidence.contains("helper 1.0 needs top 1.0 at run time: `top` from Requires-Dist, sdist PKG-INFO (passed over: the index metadata file is unusable: GET "),
        "{evidence}"
    );
    assert!(evidence.contains("SHA-256 is"), "{evidence}");
}

#[test]
fn sdists_with_long_names_are_read_and_hostile_ones_refused() {
    use build_deps::archive::read_sdist;
    let work = tempfile::tempdir().unwrap();
    // A top directory longer than a tar header's 100 bytes: a PAX header.
    let long = "a".repeat(120);
    let huge = "Requires-Dist: x\n".repeat(300_000);
    let built = sdists(
        work.path(),
        &[
            (
                long.as_str(),
                "1.0",
                vec![("PKG-INFO", "Metadata-Version: 2.2\n"), ("setup.cfg", "[options]\n")],
            ),
            ("huge", "1.0", vec![("PKG-INFO", huge.as_str())]),
        ],
    );
    let files = read_sdist("long.tar.gz", &built[0]).unwrap();
    assert_eq!(files.pkg_info.as_deref(), Some("Metadata-Version: 2.2\n"));
    assert_eq!(files.setup_cfg.as_deref(), Some("[options]\n"));
    assert_eq!(files.pyproject, None);
    let error = read_sdist("huge.tar.gz", &built[1]).unwrap_err().to_string();
    assert!(error.contains("PKG-INFO is larger than 4194304 bytes"), "{error}");
    let error = read_sdist("cut.tar.gz", &built[0][..built[0].len() / 2]).unwrap_err().to_string();
    assert!(error.contains("truncated"), "{error}");
}

#[test]
fn an_interpreter_is_asked_for_its_markers_and_one_that_cannot_answer_is_an_error() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let files = vec![
        ("PKG-INFO", pkg_info("selfie", "1.0", "2.2", &["nothing; python_version < \"3\""])),
        ("pyproject.toml", build_system(&["selfie"])),
    ];
    let release = Release { version: "1.0", uploaded: "2022-01-01T00:00:00Z", files, metadata_file: None };
    publish(&server, work.path(), "selfie", &[release]);
    let (dir, _) = repo(&server, "selfie==1.0\n", "selfie==1.0\n", "");
    let config: Config = toml::from_str(&format!(
        "[build-deps]\nindex-url = \"{}\"\ntarget-pythons = [\"python3\", \"bin/no-python\"]\ncache-dir = \"cache\"\n",
        server.index_url()
    ))
    .unwrap();
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    let errors = items(&outcome, "build-metadata");
    assert_eq!(errors.len(), 1, "{outcome:#?}");
    assert_eq!(errors[0].subject, "bin/no-python");
    assert!(errors[0].reason.contains("cannot run"), "{}", errors[0].reason);
    let cycles = items(&outcome, "build-cycle");
    assert_eq!(cycles.len(), 1, "{outcome:#?}");
    assert_eq!(
        cycles[0].reason,
        "build-time cycle on python3: selfie 1.0 → selfie 1.0 (selfie [build-system])"
    );
}

#[test]
fn bisect_names_the_bump_its_upload_time_and_the_need_it_brought() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    let (dir, config) = repo(&server, "imeta==4.12\n", "setuptools==60.0\n", "");
    let analysis = config.build_deps.as_ref().unwrap();
    let ctx = Context::new(dir.path());
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();

    let found = bisect(&ctx, analysis, at("2022-06-01T00:00:00Z"), at("2022-07-01T00:00:00Z")).unwrap();
    // Each project page is asked for once, however many analyses ran.
    let pages: Vec<String> = server.requests().into_iter().filter(|r| r.starts_with("/simple/")).collect();
    assert_eq!(pages.len(), 4, "{pages:?}");
    let change = found.change.as_ref().expect("a change");
    assert_eq!(change.uploaded, at("2022-06-22T10:00:00.123456Z"));
    assert_eq!(change.files, ["scm-7.0.tar.gz"]);
    assert_eq!(
        change.bumps,
        [Bump {
            name: "scm".into(),
            old: Some("6.4".into()),
            new: Some("7.0".into()),
            kept: None,
            file: Some(("scm-7.0.tar.gz".into(), Some(at("2022-06-22T10:00:00.123456Z")))),
        }]
    );
    // imeta 4.12 is now in its own build environment (on 3.7), and so is
    // what it needs.
    assert_eq!(
        change.new_needs,
        [
            "imeta 4.12 → zipp 3.8 (zipp>=0.5 [Requires-Dist, index metadata file (PEP 658)])",
            "scm 7.0 → imeta 4.12 (imeta; python_version < \"3.8\" [Requires-Dist, sdist PKG-INFO]: active on 3.7, inactive on 3.9)"
        ]
    );
    // The cycle, and imeta and zipp installed unpinned in build environments.
    let found_now: Vec<&str> = change.new_findings.iter().map(|f| f.split(':').next().unwrap()).collect();
    assert_eq!(
        found_now,
        ["build-cycle imeta→scm", "unpinned-build-dep imeta", "unpinned-build-dep zipp"],
        "{change:#?}"
    );
    assert!(
        change.new_findings[0].starts_with("build-cycle imeta→scm: build-time cycle on 3.7 (not on 3.9)")
    );
    assert_eq!((found.candidates, found.steps), (1, 3));
    let text = found.to_string();
    assert!(
        text.contains("The analysis changes with the upload of scm-7.0.tar.gz at 2022-06-22T10:00:00.123456Z:\n  bump: scm 6.4 → 7.0, scm-7.0.tar.gz uploaded 2022-06-22T10:00:00.123456Z\n"),
        "{text}"
    );

    // Both moments after the bump: nothing to bisect.
    let same = bisect(&ctx, analysis, at("2022-06-23T00:00:00Z"), at("2022-07-01T00:00:00Z")).unwrap();
    assert!(same.change.is_none() && same.good.1.len() == 5 && same.bad.1.len() == 5, "{same:#?}");
    assert!(same.to_string().contains("nothing to bisect"));
    let backwards = bisect(&ctx, analysis, at("2022-07-01T00:00:00Z"), at("2022-06-01T00:00:00Z"));
    assert!(backwards.unwrap_err().to_string().contains("must be before"));
}

#[test]
fn a_bisection_over_many_uploads_takes_logarithmically_many_analyses() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    // 64 releases of `lib`, one a day; from 1.40 on it needs `late` to build.
    let days: Vec<String> =
        (0..64).map(|d| format!("2022-{:02}-{:02}T00:00:00Z", 1 + d / 28, 1 + d % 28)).collect();
    let versions: Vec<String> = (0..64).map(|v| format!("1.{v}")).collect();
    let releases: Vec<Release> = (0..64)
        .map(|i| {
            let needs: &[&str] = if i >= 40 { &["late"] } else { &[] };
            Release {
                version: &versions[i],
                uploaded: &days[i],
                files: vec![
                    ("PKG-INFO", pkg_info("lib", &versions[i], "2.2", &[])),
                    ("pyproject.toml", build_system(needs)),
                ],
                metadata_file: None,
            }
        })
        .collect();
    let late = [Release {
        version: "1.0",
        uploaded: "2021-01-01T00:00:00Z",
        files: vec![
            ("PKG-INFO", pkg_info("late", "1.0", "2.2", &["lib"])),
            ("pyproject.toml", build_system(&[])),
        ],
        metadata_file: None,
    }];
    publish_all(&server, work.path(), &[("lib", &releases), ("late", &late)]);
    let (dir, config) = repo(&server, "lib\n", "", "");
    let ctx = Context::new(dir.path());
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    let found = bisect(
        &ctx,
        config.build_deps.as_ref().unwrap(),
        at("2022-01-01T12:00:00Z"),
        at("2023-01-01T00:00:00Z"),
    )
    .unwrap();
    let change = found.change.expect("a change");
    assert_eq!(
        change.bumps[0].to_string(),
        format!("lib 1.39 → 1.40, lib-1.40.tar.gz uploaded {}", days[40])
    );
    assert!(change.bumps.iter().any(|b| b.name == "late" && b.old.is_none()), "{:?}", change.bumps);
    assert_eq!(found.candidates, 63);
    // 2 ends and at most ceil(log2(64)) = 6 steps.
    assert!(found.steps <= 8, "{}", found.steps);
}

#[test]
fn requires_python_keeps_to_versions_every_target_python_installs() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let release = |version: &'static str| Release {
        version,
        uploaded: "2022-01-01T00:00:00Z",
        files: vec![
            ("PKG-INFO", pkg_info("modern", version, "2.2", &[])),
            ("pyproject.toml", build_system(&[])),
        ],
        metadata_file: None,
    };
    publish(&server, work.path(), "modern", &[release("1.0"), release("2.0")]);
    server.require_python("modern", &[("1.0", ">=3.6"), ("2.0", ">=3.8")]);
    let (dir, config) = repo(&server, "modern\n", "", "");
    let closure = |outcome: &GateOutcome| facts(items(outcome, "build-closure")[0]);

    // Each target Python resolves on its own: 3.7 takes 1.0, 3.9 takes 2.0.
    let both = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    assert!(closure(&both).contains("modern==1.0, modern==2.0"), "{both:#?}");
    let only_39 = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config {
            target_pythons: vec![build_deps::TargetPython::new("3.9").unwrap()],
            ..b
        }),
        ..config.clone()
    };
    let closure_39 = closure(&run(dir.path(), &only_39, "2023-01-01T00:00:00Z"));
    assert!(closure_39.contains("\"modern==2.0\""), "{closure_39}");
    // When no version supports a target, pip cannot install it there: an
    // error on that target, the others analysed.
    server.require_python("modern", &[("1.0", ">=3.8")]);
    let fresh = Config {
        build_deps: config
            .build_deps
            .clone()
            .map(|b| build_deps::Config { cache_dir: Some(dir.path().join("other-cache")), ..b }),
        ..config
    };
    let none = run(dir.path(), &fresh, "2023-01-01T00:00:00Z");
    assert!(closure(&none).contains("\"modern==2.0\""), "{none:#?}");
    let errors = items(&none, "index");
    assert_eq!(errors.len(), 1, "{none:#?}");
    assert!(
        errors[0].reason.starts_with("no sdist of modern uploaded before 2023-01-01T00:00:00Z on ")
            && errors[0].reason.ends_with("(2 matching ones require another Python than 3.7.16)"),
        "{}",
        errors[0].reason
    );
}

#[test]
fn extras_bring_the_needs_they_mark() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let release = |name: &'static str, requires: &[&str], build: &[&str]| {
        [Release {
            version: "1.0",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![
                ("PKG-INFO", pkg_info(name, "1.0", "2.2", requires)),
                ("pyproject.toml", build_system(build)),
            ],
            metadata_file: None,
        }]
    };
    let scm = release("scm", &["tomlish; extra == \"toml\"", "other; extra == \"unused\""], &[]);
    let tomlish = release("tomlish", &[], &["imeta"]);
    let imeta = release("imeta", &[], &["scm[toml]>=1"]);
    let other = release("other", &[], &[]);
    publish_all(
        &server,
        work.path(),
        &[("scm", &scm), ("tomlish", &tomlish), ("imeta", &imeta), ("other", &other)],
    );
    let (dir, config) = repo(&server, "imeta==1.0\n", "", "");
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    // imeta builds with scm[toml]; scm's toml extra needs tomlish, which
    // builds with imeta: a cycle only the extra closes.
    let cycles = items(&outcome, "build-cycle");
    assert_eq!(cycles.len(), 1, "{outcome:#?}");
    assert_eq!(cycles[0].status, Status::Fail);
    assert_eq!(cycles[0].subject, "imeta→scm→tomlish");
    assert!(!facts(items(&outcome, "build-closure")[0]).contains("other"), "{outcome:#?}");
}

#[test]
fn a_baseline_report_lists_every_version_changed_since() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    let (dir, config) = repo(&server, "imeta==4.12\n", "setuptools==60.0\n", "baseline = \"old.json\"\n");
    let without = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config { baseline: None, ..b }),
        ..config.clone()
    };
    let report = |config: &Config, as_of: &str| {
        let ctx = Context { now: as_of.parse().unwrap(), ..Context::new(dir.path()) };
        let gates: Vec<Arc<dyn gate_core::Gate>> = vec![Arc::new(WheelsGate::new(config.clone()))];
        gate_core::runner::run(&gates, &ctx, &gate_core::RunOptions::default(), "repo".into())
    };
    let old = report(&without, "2022-06-01T00:00:00Z");
    std::fs::write(dir.path().join("old.json"), serde_json::to_vec(&old).unwrap()).unwrap();

    let new = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    let changes: Vec<(&str, &str, Status)> = items(&new, "build-closure")
        .iter()
        .skip(1)
        .map(|i| (i.subject.as_str(), i.reason.as_str(), i.status))
        .collect();
    assert_eq!(
        changes,
        [("scm", "6.4 → 7.0 since the baseline old.json (as of 2022-06-01T00:00:00Z)", Status::Fail)],
        "{new:#?}"
    );
    assert_eq!(items(&new, "build-closure")[1].severity, gate_core::Severity::Warning);
    let same = run(dir.path(), &config, "2022-06-02T00:00:00Z");
    assert_eq!(
        items(&same, "build-closure")[1].reason,
        "the same 4 versions since the baseline old.json (as of 2022-06-01T00:00:00Z)"
    );

    // A baseline that is not a report is an error located in it.
    std::fs::write(dir.path().join("old.json"), "{\n  \"schema_version\": 2,\n  oops\n}").unwrap();
    let broken = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    let error =
        items(&broken, "build-closure").into_iter().find(|i| i.status == Status::Error).expect("an error");
    assert!(error.reason.contains("old.json:3:3: a release-check JSON report expected"), "{}", error.reason);
}

/// An in-tree build backend whose `prepare_metadata_for_build_wheel` is the
/// only source of `dyn`'s run-time needs, which it computes for the Python
/// it runs on: `zipp` from 3.8 on, `legacy` before.
const DYNAMIC_BACKEND: &str = r#"import os, sys
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(directory, config_settings=None):
    need = "zipp" if sys.version_info >= (3, 8) else "legacy"
    os.makedirs(os.path.join(directory, "dyn-1.0.dist-info"))
    with open(os.path.join(directory, "dyn-1.0.dist-info", "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: dyn\nVersion: 1.0\nRequires-Dist: %s\n" % need)
    return "dyn-1.0.dist-info"
"#;

#[test]
fn needs_no_static_source_gives_are_asked_of_the_build_backend_on_each_python() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let in_tree = "[build-system]\nrequires = []\nbuild-backend = \"dynback\"\nbackend-path = [\".\"]\n";
    let dyn_release = [Release {
        version: "1.0",
        uploaded: "2022-01-01T00:00:00Z",
        files: vec![("pyproject.toml", in_tree.to_owned()), ("dynback.py", DYNAMIC_BACKEND.to_owned())],
        metadata_file: None,
    }];
    let plain = |name: &'static str| {
        [Release {
            version: "1.0",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![
                ("PKG-INFO", pkg_info(name, "1.0", "2.2", &[])),
                ("pyproject.toml", build_system(&[])),
            ],
            metadata_file: None,
        }]
    };
    let (zipp, legacy) = (plain("zipp"), plain("legacy"));
    publish_all(&server, work.path(), &[("dyn", &dyn_release), ("zipp", &zipp), ("legacy", &legacy)]);
    let (dir, config) = repo(&server, "dyn==1.0\n", "", "");
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    assert!(items(&outcome, "build-metadata").is_empty(), "{outcome:#?}");
    // Asked in 3.7 and in 3.9, the backend gave each its own answer.
    let closure = facts(items(&outcome, "build-closure")[0]);
    assert!(closure.contains("dyn==1.0, legacy==1.0, zipp==1.0"), "{closure}");

    // Without an interpreter among the targets, the needs stay unknown, and
    // the error says why.
    let nowhere = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config {
            target_pythons: vec![build_deps::TargetPython::new("3.99").unwrap()],
            ..b
        }),
        ..config
    };
    let outcome = run(dir.path(), &nowhere, "2023-01-01T00:00:00Z");
    let errors = items(&outcome, "build-metadata");
    assert_eq!(errors.len(), 1, "{outcome:#?}");
    assert_eq!(errors[0].subject, "dyn 1.0");
    assert!(errors[0].reason.ends_with("no interpreter for the target Python 3.99"), "{}", errors[0].reason);
}

#[test]
fn reordering_the_target_pythons_changes_nothing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    let in_tree = "[build-system]\nrequires = []\nbuild-backend = \"dynback\"\nbackend-path = [\".\"]\n";
    let dyn_release = [Release {
        version: "1.0",
        uploaded: "2022-01-01T00:00:00Z",
        files: vec![("pyproject.toml", in_tree.to_owned()), ("dynback.py", DYNAMIC_BACKEND.to_owned())],
        metadata_file: None,
    }];
    let legacy = [Release {
        version: "1.0",
        uploaded: "2022-01-01T00:00:00Z",
        files: vec![
            ("PKG-INFO", pkg_info("legacy", "1.0", "2.2", &["imeta"])),
            ("pyproject.toml", build_system(&[])),
        ],
        metadata_file: None,
    }];
    publish_all(&server, work.path(), &[("dyn", &dyn_release), ("legacy", &legacy)]);
    // A marker cycle on 3.7, and a backend whose answer differs per Python.
    let (dir, config) = repo(&server, "imeta==4.12\ndyn==1.0\n", "setuptools==60.0\n", "");
    let reordered = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config {
            target_pythons: vec![
                build_deps::TargetPython::new("3.9").unwrap(),
                build_deps::TargetPython::new("3.7").unwrap(),
            ],
            ..b
        }),
        ..config.clone()
    };
    let as_of = "2022-07-01T00:00:00Z";
    let fresh = |config: &Config, cache: &str| Config {
        build_deps: config
            .build_deps
            .clone()
            .map(|b| build_deps::Config { cache_dir: Some(dir.path().join(cache)), ..b }),
        ..config.clone()
    };
    let (first, second) =
        (run(dir.path(), &fresh(&config, "a"), as_of), run(dir.path(), &fresh(&reordered, "b"), as_of));
    assert_eq!(first.items, second.items);
    assert_eq!(first.notes, second.notes);
    let cycles = items(&first, "build-cycle");
    assert!(
        cycles.iter().any(|c| c.reason.starts_with("build-time cycle on 3.7 (not on 3.9): ")),
        "{first:#?}"
    );
    let closure = facts(items(&first, "build-closure")[0]);
    assert!(closure.contains("legacy==1.0") && closure.contains("zipp==3.8"), "{closure}");
}

#[test]
fn offline_the_backend_gets_only_cached_files_and_the_index_nothing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let in_tree = |requires: &str| {
        format!(
            "[build-system]\nrequires = [{requires}]\nbuild-backend = \"dynback\"\nbackend-path = [\".\"]\n"
        )
    };
    let release = |requires: &str| {
        [Release {
            version: "1.0",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![("pyproject.toml", in_tree(requires)), ("dynback.py", DYNAMIC_BACKEND.to_owned())],
            metadata_file: None,
        }]
    };
    let plain = |name: &'static str| {
        [Release {
            version: "1.0",
            uploaded: "2022-01-01T00:00:00Z",
            files: vec![
                ("PKG-INFO", pkg_info(name, "1.0", "2.2", &[])),
                ("pyproject.toml", build_system(&[])),
            ],
            metadata_file: None,
        }]
    };
    let (dyn_release, zipp, legacy) = (release(""), plain("zipp"), plain("legacy"));
    publish_all(&server, work.path(), &[("dyn", &dyn_release), ("zipp", &zipp), ("legacy", &legacy)]);
    let (dir, config) = repo(&server, "dyn==1.0\n", "", "");
    let as_of = "2023-01-01T00:00:00Z";
    let online = run(dir.path(), &config, as_of);
    assert!(items(&online, "build-metadata").is_empty(), "{online:#?}");
    let offline = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config { offline: true, ..b }),
        ..config.clone()
    };
    server.requests();
    // The backend's answers are cached: nothing runs, nothing is asked.
    let cached = run(dir.path(), &offline, as_of);
    assert_eq!(cached.items, online.items);
    // Without them, the backend is asked again, offline: pip gets no index.
    let hooks = dir.path().join("cache/hooks");
    for answer in std::fs::read_dir(&hooks)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
    {
        std::fs::remove_file(answer.path()).unwrap();
    }
    let asked = run(dir.path(), &offline, as_of);
    assert_eq!(asked.items, online.items);
    assert!(asked.notes.iter().any(|n| n.contains(" 0 requests")), "{:?}", asked.notes);

    // A backend that needs what pip never downloaded: its needs are
    // unknown offline, and the index hears nothing of it.
    let needy = release("\"helper\"");
    let helper = plain("helper");
    let work2 = tempfile::tempdir().unwrap();
    publish_all(&server, work2.path(), &[("needy", &needy), ("helper", &helper)]);
    let (dir, config) = repo(&server, "needy==1.0\n", "", "offline = true\n");
    // Its sdist is in the cache (read online before), its build
    // requirement's files are not.
    let online = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config { offline: false, ..b }),
        ..config.clone()
    };
    let _ = run(dir.path(), &online, as_of);
    let _ = std::fs::remove_dir_all(dir.path().join("cache/hooks"));
    server.requests();
    let outcome = run(dir.path(), &config, as_of);
    let errors = items(&outcome, "build-metadata");
    assert_eq!(errors.len(), 1, "{outcome:#?}");
    assert_eq!(errors[0].subject, "needy 1.0");
    assert!(errors[0].reason.contains("cannot install the build requirements"), "{}", errors[0].reason);
    assert!(server.requests().is_empty());
}

#[test]
fn a_wheel_of_the_same_version_stands_in_when_the_sdist_says_nothing_static() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    // An sdist with an old PKG-INFO, no [project], no egg-info: nothing
    // static says what it needs at run time.
    let old = [Release {
        version: "1.0",
        uploaded: "2022-01-01T00:00:00Z",
        files: vec![
            ("PKG-INFO", "Metadata-Version: 1.1\nName: old\nVersion: 1.0\n".to_owned()),
            ("pyproject.toml", build_system(&[])),
        ],
        metadata_file: None,
    }];
    let six = [Release {
        version: "1.16.0",
        uploaded: "2021-05-05T00:00:00Z",
        files: vec![
            ("PKG-INFO", pkg_info("six", "1.16.0", "2.2", &[])),
            ("pyproject.toml", build_system(&[])),
        ],
        metadata_file: None,
    }];
    publish_all(&server, work.path(), &[("old", &old), ("six", &six)]);
    // The index also has a pure-Python wheel of old 1.0, with its metadata.
    let metadata = "Metadata-Version: 2.1\nName: old\nVersion: 1.0\nRequires-Dist: six\n";
    let mut answer = server.routes.lock().unwrap()["/simple/old/"].clone();
    let mut page: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    page["files"].as_array_mut().unwrap().push(serde_json::json!({
        "filename": "old-1.0-py2.py3-none-any.whl",
        "url": "/files/old-1.0-py2.py3-none-any.whl",
        "hashes": {"sha256": hex(&sha2::Sha256::digest(b"not read"))},
        "upload-time": "2022-01-01T00:00:00Z",
        "core-metadata": {"sha256": hex(&sha2::Sha256::digest(metadata.as_bytes()))},
    }));
    answer.body = page.to_string().into_bytes();
    server.serve("/simple/old/", answer);
    server.serve("/files/old-1.0-py2.py3-none-any.whl.metadata", Answer::ok("text/plain", metadata));
    let (dir, config) = repo(&server, "old==1.0\n", "", "");
    // No interpreter: only the stand-in can say.
    let config = Config {
        build_deps: config.build_deps.clone().map(|b| build_deps::Config {
            target_pythons: vec![build_deps::TargetPython::new("3.99").unwrap()],
            ..b
        }),
        ..config
    };
    let outcome = run(dir.path(), &config, "2023-01-01T00:00:00Z");
    assert!(items(&outcome, "build-metadata").is_empty(), "{outcome:#?}");
    assert!(facts(items(&outcome, "build-closure")[0]).contains("old==1.0, six==1.16.0"), "{outcome:#?}");
    let requests = server.requests();
    assert!(requests.iter().any(|r| r == "/files/old-1.0-py2.py3-none-any.whl.metadata"), "{requests:?}");
    assert!(!requests.iter().any(|r| r == "/files/old-1.0-py2.py3-none-any.whl"), "{requests:?}");
}

#[test]
fn bisect_warns_when_the_good_moment_already_has_errors() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    // `gone` is not on the index: an error at every moment.
    let (dir, config) = repo(&server, "imeta==4.12\ngone==1\n", "setuptools==60.0\n", "");
    let ctx = Context::new(dir.path());
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    let found = bisect(
        &ctx,
        config.build_deps.as_ref().unwrap(),
        at("2022-06-01T00:00:00Z"),
        at("2022-07-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(found.warnings.len(), 1, "{found:#?}");
    assert!(
        found.warnings[0].starts_with("the good moment 2022-06-01T00:00:00Z already has 1 error item: ")
            && found.warnings[0].contains("index gone: GET "),
        "{}",
        found.warnings[0]
    );
    assert!(found.to_string().starts_with("warning: the good moment"), "{found}");
    // The change is still named.
    assert_eq!(found.change.expect("a change").files, ["scm-7.0.tar.gz"]);
}

#[test]
fn a_yanked_release_is_left_out_and_a_note_says_so() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    the_2022_index(&server, work.path());
    // scm 7.0 is yanked (as setuptools-scm 7.0.0 was, for missing a need).
    let mut answer = server.routes.lock().unwrap()["/simple/scm/"].clone();
    let mut page: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    for file in page["files"].as_array_mut().unwrap() {
        if file["filename"] == "scm-7.0.tar.gz" {
            file["yanked"] = serde_json::json!("broken on Python < 3.8");
        }
    }
    answer.body = page.to_string().into_bytes();
    server.serve("/simple/scm/", answer);
    let (dir, config) = repo(&server, "imeta==4.12\n", "setuptools==60.0\n", "");
    let outcome = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    assert_eq!(items(&outcome, "build-cycle")[0].status, Status::Pass, "{outcome:#?}");
    assert!(
        outcome.notes.iter().any(|n| n
            == "build-deps: scm 7.0 is yanked on the index (broken on Python < 3.8): as pip does, the resolution leaves it out and takes 6.4"),
        "{:?}",
        outcome.notes
    );
    // Pinned with ==, a yanked release is taken, as PEP 592 says.
    let (dir, config) = repo(&server, "imeta==4.12\nscm==7.0\n", "setuptools==60.0\n", "");
    let outcome = run(dir.path(), &config, "2022-07-01T00:00:00Z");
    assert!(facts(items(&outcome, "build-closure")[0]).contains("scm==7.0"), "{outcome:#?}");
}

#[test]
fn a_pip_that_is_not_a_version_is_refused() {
    let error =
        toml::from_str::<Config>("[build-deps]\ntarget-pythons = [\"3.9\"]\npip = \"latest\"\n").unwrap_err();
    assert!(
        error.to_string().contains("expected a pip version such as \"21.3.1\", found `latest`"),
        "{error}"
    );
    let config = toml::from_str::<Config>(
        "[build-deps]\ntarget-pythons = [\"3.9\"]\npip = \"21.3.1\"\nconstraints = \"constraints.txt\"\n",
    )
    .unwrap();
    let build_deps = config.build_deps.unwrap();
    assert_eq!(build_deps.pip.map(|v| v.to_string()).as_deref(), Some("21.3.1"));
    assert_eq!(build_deps.constraints.as_deref(), Some("constraints.txt"));
}
