//! The `in-registry` check against a real registry: Debian's `docker-registry`
//! (the reference Distribution registry) started on 127.0.0.1 with its own
//! storage directory, filled by this test's own blob and manifest uploads.
//!
//! The bearer-token flow runs through a small token-auth proxy this test
//! serves on 127.0.0.1 in front of the registry: it answers 401 with a
//! `Bearer` challenge naming its own `/token` endpoint until a request
//! carries the token it hands out, then forwards the request to the
//! registry. The proxy and the faulty registries (500s, redirects, wrong
//! digests) are wiremock servers (`test_support::http`) on 127.0.0.1 too;
//! the stalled one is a raw listener that accepts and never answers, a
//! fault below HTTP that wiremock cannot play.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use gate_core::{CancelToken, Context, Evidence, Gate, GateOutcome, Item, Severity, Status};
use gate_images::registry::{
    self, Client, Credentials, DOCKER_LIST, DOCKER_MANIFEST, Limits, OCI_INDEX, OCI_MANIFEST, Options,
    Presence, Problem, RegistryHost, Target,
};
use gate_images::{Config, ImagesGate};
use sha2::{Digest as _, Sha256};
use test_support::http::{Server, closed_port};
use test_support::locations;
use wiremock::matchers::any;
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// Test limits: a one-second timeout, fast retries.
fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        retries: 2,
        backoff: Duration::from_millis(10),
        max_redirects: 3,
        max_body: 64 * 1024,
        ..Limits::default()
    }
}

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// `docker-registry serve` on a free 127.0.0.1 port, storing in a temporary
/// directory; killed on drop.
struct Registry {
    child: Child,
    port: u16,
    storage: tempfile::TempDir,
}

impl Registry {
    fn start() -> Self {
        assert!(
            Path::new(REGISTRY_BINARY).is_file(),
            "{REGISTRY_BINARY} is missing: install the Debian package docker-registry \
             (`apt-get install -y docker-registry`; .ci/run does)"
        );
        for _ in 0..5 {
            let storage = tempfile::tempdir().unwrap();
            let port = closed_port(); // free: nothing listens on it yet
            let config = storage.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                    storage.path().join("data").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(storage.path().join("registry.log")).unwrap();
            let child = Command::new(REGISTRY_BINARY)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut registry = Registry { child, port, storage };
            if registry.wait_ready() {
                return registry;
            }
            let log = std::fs::read_to_string(registry.storage.path().join("registry.log")).unwrap();
            eprintln!("docker-registry did not start on port {port}, retrying: {log}");
        }
        panic!("docker-registry did not start in five attempts");
    }

    /// Polls `GET /v2/` until it answers 200; false if the registry exits or 15 s pass.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        let agent = agent();
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(response) = agent.get(format!("{}/v2/", self.base())).call()
                && response.status() == 200
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn base(&self) -> String {
        format!("http://{}", self.host())
    }

    /// Uploads `bytes` as a blob of `name` (POST, then PUT with the digest).
    fn push_blob(&self, name: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let agent = agent();
        let started = agent.post(format!("{}/v2/{name}/blobs/uploads/", self.base())).send_empty().unwrap();
        assert_eq!(started.status(), 202, "starting a blob upload");
        let location = started.headers().get("location").unwrap().to_str().unwrap();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base())
        } else {
            location.to_owned()
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let done = agent
            .put(format!("{location}{separator}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .unwrap();
        assert_eq!(done.status(), 201, "finishing the upload of {digest}");
        digest
    }

    /// Uploads a manifest under `reference` (a tag) and returns its digest.
    fn push_manifest(&self, name: &str, reference: &str, media_type: &str, bytes: &[u8]) -> String {
        let response = agent()
            .put(format!("{}/v2/{name}/manifests/{reference}", self.base()))
            .header("Content-Type", media_type)
            .send(bytes)
            .unwrap();
        let status = response.status();
        let body = response.into_body().read_to_string().unwrap_or_default();
        assert_eq!(status, 201, "pushing manifest {reference}: {body}");
        sha256(bytes)
    }

    /// Pushes a one-layer image for `architecture`, in OCI or Docker v2
    /// form; returns the manifest's digest and size.
    fn push_image(&self, name: &str, architecture: &str, docker: bool) -> (String, usize) {
        // The registry stores layers as opaque blobs; a few bytes stand for the tarball.
        let layer = format!("layer of {name} for {architecture}").into_bytes();
        let layer_digest = self.push_blob(name, &layer);
        let config = serde_json::json!({
            "architecture": architecture,
            "os": "linux",
            "rootfs": { "type": "layers", "diff_ids": [layer_digest] },
        })
        .to_string()
        .into_bytes();
        let config_digest = self.push_blob(name, &config);
        let (manifest_type, config_type, layer_type) = if docker {
            (
                DOCKER_MANIFEST,
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            )
        } else {
            (
                OCI_MANIFEST,
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar",
            )
        };
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": { "mediaType": config_type, "digest": config_digest, "size": config.len() },
            "layers": [{ "mediaType": layer_type, "digest": layer_digest, "size": layer.len() }],
        })
        .to_string()
        .into_bytes();
        let tag = format!("{}-{architecture}", if docker { "docker" } else { "oci" });
        (self.push_manifest(name, &tag, manifest_type, &manifest), manifest.len())
    }

    /// Pushes images for linux/amd64 and linux/arm64/v8 and an index (OCI,
    /// or a Docker manifest list) of both; returns (amd64, index) digests.
    fn push_multi_platform(&self, name: &str, docker: bool) -> (String, String) {
        let (amd64, amd64_size) = self.push_image(name, "amd64", docker);
        let (arm64, arm64_size) = self.push_image(name, "arm64", docker);
        let (index_type, manifest_type) =
            if docker { (DOCKER_LIST, DOCKER_MANIFEST) } else { (OCI_INDEX, OCI_MANIFEST) };
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": index_type,
            "manifests": [
                { "mediaType": manifest_type, "digest": amd64, "size": amd64_size,
                  "platform": { "architecture": "amd64", "os": "linux" } },
                { "mediaType": manifest_type, "digest": arm64, "size": arm64_size,
                  "platform": { "architecture": "arm64", "os": "linux", "variant": "v8" } },
            ],
        })
        .to_string()
        .into_bytes();
        let tag = if docker { "docker-multi" } else { "oci-multi" };
        (amd64, self.push_manifest(name, tag, index_type, &index))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A wiremock server on 127.0.0.1 that answers every request with the
/// responder `make` builds from the server's own host (`127.0.0.1:PORT`).
fn serve<R: Respond + 'static>(make: impl FnOnce(&str) -> R) -> Server {
    let server = Server::start();
    server.mount(Mock::given(any()).respond_with(make(&server.host())));
    server
}

/// A request header's value.
fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A query parameter, percent-decoded.
fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
}

/// The request's path and query, as it was sent.
fn target(request: &Request) -> String {
    match request.url.query() {
        Some(query) => format!("{}?{query}", request.url.path()),
        None => request.url.path().to_owned(),
    }
}

/// Forwards `request` to `upstream` and relays the answer's status, the
/// headers a registry client reads, and the body.
fn forward(upstream: &str, request: &Request) -> ResponseTemplate {
    let agent = agent();
    let url = format!("{upstream}{}", target(request));
    let builder = if request.method == "HEAD" { agent.head(&url) } else { agent.get(&url) };
    let builder = match header(request, "accept") {
        Some(accept) => builder.header("Accept", accept),
        None => builder,
    };
    let mut response = builder.call().unwrap();
    let mut reply = ResponseTemplate::new(response.status().as_u16());
    for name in ["content-type", "docker-content-digest", "location"] {
        if let Some(value) = response.headers().get(name) {
            reply = reply.insert_header(name, value.to_str().unwrap());
        }
    }
    if request.method != "HEAD" {
        reply = reply.set_body_bytes(response.body_mut().read_to_vec().unwrap());
    }
    reply
}

const TOKEN: &str = "pull-token-3f9a";

/// The token-auth proxy in front of `registry`. With `user`, its token
/// endpoint requires those Basic credentials.
fn token_proxy(registry: &Registry, user: Option<(&'static str, &'static str)>) -> Server {
    let upstream = registry.base();
    serve(|host| {
        let host = host.to_owned();
        move |request: &Request| {
            if request.url.path() == "/token" {
                if let Some((name, password)) = user {
                    let expected =
                        base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
                    if header(request, "authorization") != Some(&format!("Basic {expected}")) {
                        return ResponseTemplate::new(401);
                    }
                }
                return ResponseTemplate::new(200)
                    .set_body_raw(format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#), "application/json");
            }
            if header(request, "authorization") == Some(&format!("Bearer {TOKEN}")) {
                return forward(&upstream, request);
            }
            ResponseTemplate::new(401).insert_header(
                "WWW-Authenticate",
                format!(
                    r#"Bearer realm="http://{host}/token",service="test registry, proxied",scope="repository:app:pull""#
                ),
            )
        }
    })
}

fn repo(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn config(hosts: &[&str]) -> Config {
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    toml::from_str(&format!("check-registry = true\ninsecure-registries = [{}]\n", hosts.join(", "))).unwrap()
}

fn run_with(repo: &Path, config: Config, credentials: Option<Credentials>) -> GateOutcome {
    ImagesGate::new(config)
        .with_registry_options(Options { limits: limits(), credentials })
        .run(&Context::new(repo))
}

fn run(repo: &Path, hosts: &[&str]) -> GateOutcome {
    run_with(repo, config(hosts), None)
}

fn registry_items(outcome: &GateOutcome) -> Vec<&Item> {
    outcome.items.iter().filter(|i| i.check == registry::CHECK).collect()
}

fn item<'a>(outcome: &'a GateOutcome, subject: &str) -> &'a Item {
    registry_items(outcome)
        .into_iter()
        .find(|i| i.subject == subject)
        .unwrap_or_else(|| panic!("no in-registry item for {subject}: {:#?}", outcome.items))
}

/// The one in-registry item of `outcome`.
fn single(outcome: &GateOutcome) -> &Item {
    let items = registry_items(outcome);
    assert_eq!(items.len(), 1, "{:#?}", outcome.items);
    items[0]
}

fn fact<'a>(item: &'a Item, label: &str) -> Option<&'a str> {
    item.evidence.iter().find_map(|e| match e {
        Evidence::Fact { label: l, value } if l == label => Some(value.as_str()),
        _ => None,
    })
}

const ABSENT: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn present_absent_and_multi_platform_digests() {
    let registry = Registry::start();
    let host = registry.host();
    let (amd64, index) = registry.push_multi_platform("team/app", false);
    let (_, list) = registry.push_multi_platform("team/app", true);
    let dockerfile = format!(
        "FROM {host}/team/app@{amd64} AS one\n\
         FROM {host}/team/app:1.0@{index} AS two\n\
         FROM {host}/team/app@{list} AS three\n\
         FROM {host}/team/app@{ABSENT}\n\
         COPY --from={host}/team/app@{amd64} /a /a\n"
    );
    let dir = repo(&dockerfile);
    let outcome = run(dir.path(), &[&host]);
    assert_eq!(registry_items(&outcome).len(), 4, "{:#?}", outcome.items);

    let manifest = item(&outcome, &format!("{host}/team/app@{amd64}"));
    assert_eq!(manifest.status, Status::Pass);
    assert_eq!(manifest.reason, "in the registry: an OCI image manifest");
    assert_eq!(fact(manifest, "media type"), Some(OCI_MANIFEST));
    assert_eq!(fact(manifest, "platforms"), None);
    assert_eq!(locations(manifest), ["Dockerfile:1:6", "Dockerfile:5:13"], "one item for both places");
    assert!(
        manifest
            .evidence
            .contains(&Evidence::Url { url: format!("http://{host}/v2/team/app/manifests/{amd64}") })
    );

    let oci_index = item(&outcome, &format!("{host}/team/app@{index}"));
    assert_eq!(oci_index.status, Status::Pass);
    assert_eq!(oci_index.reason, "in the registry: an OCI image index for linux/amd64, linux/arm64/v8");
    assert_eq!(fact(oci_index, "platforms"), Some("linux/amd64, linux/arm64/v8"));
    assert_eq!(fact(oci_index, "media type"), Some(OCI_INDEX));

    let docker_list = item(&outcome, &format!("{host}/team/app@{list}"));
    assert_eq!(docker_list.status, Status::Pass, "{docker_list:#?}");
    assert_eq!(docker_list.reason, "in the registry: a Docker manifest list for linux/amd64, linux/arm64/v8");

    let absent = item(&outcome, &format!("{host}/team/app@{ABSENT}"));
    assert_eq!((absent.status, absent.severity), (Status::Fail, Severity::Blocker));
    assert_eq!(
        absent.reason,
        format!(
            "not in the registry: HEAD http://{host}/v2/team/app/manifests/{ABSENT} answered 404 Not Found"
        )
    );
    assert_eq!(locations(absent), ["Dockerfile:4:6"]);
}

#[test]
fn bearer_token_flow_through_a_token_proxy() {
    let registry = Registry::start();
    let (amd64, index) = registry.push_multi_platform("app", false);
    let proxy = token_proxy(&registry, None);
    let host = proxy.host();
    let dir = repo(&format!("FROM {host}/app@{amd64}\nFROM {host}/app@{index}\n"));
    let outcome = run(dir.path(), &[&host]);
    for digest in [&amd64, &index] {
        let item = item(&outcome, &format!("{host}/app@{digest}"));
        assert_eq!(item.status, Status::Pass, "{item:#?}");
    }
    let requests = proxy.received();
    let token_requests: Vec<&Request> = requests.iter().filter(|r| r.url.path() == "/token").collect();
    assert!(!token_requests.is_empty() && token_requests.len() <= 2, "{requests:#?}");
    for request in &token_requests {
        assert_eq!(query(request, "scope").as_deref(), Some("repository:app:pull"));
        assert_eq!(query(request, "service").as_deref(), Some("test registry, proxied"));
        assert_eq!(header(request, "authorization"), None, "anonymous by default");
    }
    let with_token =
        requests.iter().filter(|r| header(r, "authorization") == Some(&format!("Bearer {TOKEN}"))).count();
    // HEAD for both, and GET for the index.
    assert_eq!(with_token, 3, "{requests:#?}");
    assert!(!format!("{:?}", outcome.items).contains(TOKEN), "the token never shows in the report");
}

#[test]
fn credentials_are_sent_to_the_token_endpoint_and_never_shown() {
    let registry = Registry::start();
    let (amd64, _) = registry.push_multi_platform("app", false);
    let proxy = token_proxy(&registry, Some(("robot", "s3cret-Pa55")));
    let host = proxy.host();
    let dir = repo(&format!("FROM {host}/app@{amd64}\n"));

    let anonymous = run(dir.path(), &[&host]);
    let refused = single(&anonymous);
    assert_eq!(refused.status, Status::Error);
    assert!(
        refused.reason.contains(&format!("GET http://{host}/token?service=test registry, proxied&scope=repository:app:pull: the registry asks for credentials (the token endpoint answered 401 Unauthorized); set RELEASE_CHECK_REGISTRY_HOST")),
        "{}",
        refused.reason
    );

    let for_host = RegistryHost::try_from(host.clone()).unwrap();
    let outcome =
        run_with(dir.path(), config(&[&host]), Some(Credentials::new(&for_host, "robot", "s3cret-Pa55")));
    assert_eq!(single(&outcome).status, Status::Pass, "{outcome:#?}");
    let shown = format!("{outcome:?}");
    assert!(!shown.contains("s3cret") && !shown.contains(TOKEN), "{shown}");

    let wrong = run_with(dir.path(), config(&[&host]), Some(Credentials::new(&for_host, "robot", "wrong")));
    let wrong = single(&wrong);
    assert_eq!(wrong.status, Status::Error);
    assert!(
        wrong.reason.ends_with(
            "/token?service=test registry, proxied&scope=repository:app:pull: answered 401 Unauthorized"
        ),
        "{}",
        wrong.reason
    );
    assert!(!wrong.reason.contains("wrong"), "{}", wrong.reason);

    // Credentials for another registry are never sent here.
    let elsewhere = RegistryHost::try_from("quay.io".to_owned()).unwrap();
    let outcome =
        run_with(dir.path(), config(&[&host]), Some(Credentials::new(&elsewhere, "robot", "s3cret-Pa55")));
    assert_eq!(single(&outcome).status, Status::Error);
    let basic = proxy
        .received()
        .iter()
        .filter(|r| header(r, "authorization").is_some_and(|a| a.starts_with("Basic")))
        .count();
    assert_eq!(basic, 2, "only the runs with credentials for this registry sent them");
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let failing = Server::answering(ResponseTemplate::new(500));
    let host = failing.host();
    let dir = repo(&format!("FROM {host}/app@{ABSENT}\n"));
    let outcome = run(dir.path(), &[&host]);
    let item = single(&outcome);
    assert_eq!(item.status, Status::Error);
    assert_eq!(
        item.reason,
        format!(
            "cannot tell whether the registry has it: HEAD http://{host}/v2/app/manifests/{ABSENT}: answered 500 Internal Server Error 3 times"
        )
    );
    let requests = failing.received();
    assert_eq!(requests.len(), 3, "one request and two retries");
    assert_eq!(requests[0].method, "HEAD");
    assert_eq!(header(&requests[0], "accept"), Some(registry::MEDIA_TYPES.join(", ").as_str()));
    assert_eq!(header(&requests[0], "authorization"), None);

    // A registry that recovers after one 503 is asked again and answers.
    let registry = Registry::start();
    let (amd64, _) = registry.push_multi_platform("app", false);
    let upstream = registry.base();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let flaky = Server::answering(move |request: &Request| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            ResponseTemplate::new(503)
        } else {
            forward(&upstream, request)
        }
    });
    let dir = repo(&format!("FROM {}/app@{amd64}\n", flaky.host()));
    let outcome = run(dir.path(), &[&flaky.host()]);
    assert_eq!(single(&outcome).status, Status::Pass, "{outcome:#?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_stalled_registry_times_out_quickly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    // Accepts connections and never answers.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let dir = repo(&format!("FROM {host}/app@{ABSENT}\n"));
    let started = Instant::now();
    let outcome = run(dir.path(), &[&host]);
    let elapsed = started.elapsed();
    let item = single(&outcome);
    assert_eq!(item.status, Status::Error);
    assert_eq!(
        item.reason,
        format!(
            "cannot tell whether the registry has it: HEAD http://{host}/v2/app/manifests/{ABSENT}: no answer within 1s"
        )
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn redirects_are_followed_within_limits() {
    let registry = Registry::start();
    let (_, index) = registry.push_multi_platform("app", false);
    // A front that sends every request to the registry, as to a blob store.
    let upstream = registry.base();
    let front = Server::answering(move |request: &Request| {
        ResponseTemplate::new(307).insert_header("Location", format!("{upstream}{}", target(request)))
    });
    let host = front.host();
    let dir = repo(&format!("FROM {host}/app@{index}\n"));
    let outcome = run(dir.path(), &[&host, &registry.host()]);
    let item = single(&outcome);
    assert_eq!(item.status, Status::Pass, "{item:#?}");
    assert_eq!(fact(item, "platforms"), Some("linux/amd64, linux/arm64/v8"));
    assert_eq!(
        fact(item, "answered from"),
        Some(format!("{}/v2/app/manifests/{index}", registry.base()).as_str())
    );

    // A redirect loop ends after max_redirects.
    let looping = Server::answering(|request: &Request| {
        ResponseTemplate::new(302).insert_header("Location", target(request))
    });
    let dir = repo(&format!("FROM {}/app@{ABSENT}\n", looping.host()));
    let outcome = run(dir.path(), &[&looping.host()]);
    let item = single(&outcome);
    assert_eq!(item.status, Status::Error);
    assert!(item.reason.ends_with(": more than 3 redirects"), "{}", item.reason);
    assert_eq!(looping.requests().len(), 4);
}

#[test]
fn wrong_answers_are_errors() {
    // Each digest gets its own wrong answer, by the path it is asked at.
    let garbled = r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","size":1,"digest":"sha256:short"}]}"#;
    let answers: Vec<(String, ResponseTemplate)> = vec![
        // Claims an index and serves other bytes.
        (sha256(b"the index"), ResponseTemplate::new(200).set_body_raw(&b"other bytes"[..], OCI_INDEX)),
        // Names another digest.
        (
            sha256(b"a manifest"),
            ResponseTemplate::new(200)
                .insert_header("Docker-Content-Digest", ABSENT)
                .insert_header("Content-Type", OCI_MANIFEST),
        ),
        // An index larger than the limit.
        (sha256(b"big"), ResponseTemplate::new(200).set_body_raw(vec![b' '; 100_000], OCI_INDEX)),
        // Bytes that match the digest but are no index.
        (sha256(garbled.as_bytes()), ResponseTemplate::new(200).set_body_raw(garbled, OCI_INDEX)),
        // A status a registry should not give.
        (sha256(b"forbidden"), ResponseTemplate::new(403)),
    ];
    let digests: Vec<String> = answers.iter().map(|(d, _)| d.clone()).collect();
    let answers = Arc::new(answers);
    let liar = Server::answering(move |request: &Request| {
        let (_, reply) = answers.iter().find(|(d, _)| request.url.path().ends_with(d.as_str())).unwrap();
        reply.clone()
    });
    let host = liar.host();
    let dockerfile: String = digests.iter().map(|d| format!("FROM {host}/app@{d}\n")).collect();
    let outcome = run(repo(&dockerfile).path(), &[&host]);
    let reason = |d: &str| item(&outcome, &format!("{host}/app@{d}")).reason.clone();
    let url = |d: &str| format!("http://{host}/v2/app/manifests/{d}");
    let expected = [
        format!(
            "GET {}: the manifest's SHA-256 is {}, not the digest asked for",
            url(&digests[0]),
            sha256(b"other bytes")
        ),
        format!(
            "HEAD {}: answered with Docker-Content-Digest {ABSENT}, not the digest asked for",
            url(&digests[1])
        ),
        format!("GET {}: the answer is larger than 65536 bytes", url(&digests[2])),
        format!("GET {}: not a valid image index: ", url(&digests[3])),
        format!("HEAD {}: answered 403 Forbidden", url(&digests[4])),
    ];
    for (digest, expected) in digests.iter().zip(expected) {
        let reason = reason(digest);
        assert!(
            reason.starts_with(&format!("cannot tell whether the registry has it: {expected}")),
            "{reason}\nexpected {expected}"
        );
    }
    assert!(registry_items(&outcome).iter().all(|i| i.status == Status::Error));
}

#[test]
fn unreachable_registries_are_errors() {
    let closed = closed_port();
    let host = format!("127.0.0.1:{closed}");
    let dir = repo(&format!("FROM {host}/app@{ABSENT}\n"));
    let outcome = run(dir.path(), &[&host]);
    let item = single(&outcome);
    assert_eq!(item.status, Status::Error);
    assert!(
        item.reason.starts_with(&format!(
            "cannot tell whether the registry has it: HEAD http://{host}/v2/app/manifests/{ABSENT}: "
        )),
        "{}",
        item.reason
    );

    // A plain-HTTP registry not listed in insecure-registries is asked over HTTPS, and that fails.
    let plain = Server::answering(ResponseTemplate::new(200));
    let dir = repo(&format!("FROM {}/app@{ABSENT}\n", plain.host()));
    let outcome = run(dir.path(), &[]);
    let item = single(&outcome);
    assert_eq!(item.status, Status::Error);
    assert!(item.reason.contains(&format!("HEAD https://{}/v2/app/", plain.host())), "{}", item.reason);
}

#[test]
fn invalid_digests_never_reach_a_registry() {
    let server = Server::answering(ResponseTemplate::new(200));
    let host = server.host();
    let short = &ABSENT[..ABSENT.len() - 1];
    let dir = repo(&format!("FROM {host}/app@{short}\nFROM {host}/app@md5:{}\n", &ABSENT[7..39]));
    let outcome = run(dir.path(), &[&host]);
    assert!(registry_items(&outcome).is_empty(), "{:#?}", outcome.items);
    let syntax: Vec<(String, String)> = outcome
        .items
        .iter()
        .filter(|i| i.check == "reference-syntax")
        .map(|i| (locations(i).join(","), i.reason.clone()))
        .collect();
    assert_eq!(syntax.len(), 2, "{syntax:#?}");
    assert_eq!(syntax[0].0, "Dockerfile:1:6");
    assert!(syntax[0].1.contains("63 hex digits"), "{syntax:#?}");
    assert_eq!(syntax[1].0, "Dockerfile:2:6");
    assert!(syntax[1].1.contains("unsupported algorithm"), "{syntax:#?}");
    assert!(server.requests().is_empty());

    // The client refuses a digest it cannot verify, before any request.
    let target = Target {
        registry: host.clone(),
        repository: "app".to_owned(),
        digest: format!("sha512:{}", "a".repeat(128)),
    };
    let insecure = [RegistryHost::try_from(host.clone()).unwrap()];
    let error = Client::new(Options { limits: limits(), credentials: None }, &insecure)
        .check(&target, &CancelToken::default())
        .unwrap_err();
    assert_eq!(error.problem, Problem::Digest(target.digest.clone()));
    assert!(server.requests().is_empty());
}

#[test]
fn off_by_default_and_cancellable() {
    let server = Server::answering(ResponseTemplate::new(200));
    let host = server.host();
    let dir = repo(&format!("FROM {host}/app@{ABSENT}\nFROM debian:12\n"));
    let outcome = ImagesGate::new(Config::default()).run(&Context::new(dir.path()));
    assert!(registry_items(&outcome).is_empty());
    assert!(
        outcome.notes.contains(&"not asked whether the 1 pinned image(s) exist in their registries (set check-registry = true under [gates.images] to ask)".to_owned()),
        "{:#?}",
        outcome.notes
    );
    assert!(server.requests().is_empty());

    let target = Target { registry: host.clone(), repository: "app".to_owned(), digest: ABSENT.to_owned() };
    let insecure = [RegistryHost::try_from(host.clone()).unwrap()];
    let client = Client::new(Options { limits: limits(), credentials: None }, &insecure);
    let cancelled = CancelToken::default();
    cancelled.cancel();
    let error = client.check(&target, &cancelled).unwrap_err();
    assert_eq!(error.to_string(), format!("HEAD http://{host}/v2/app/manifests/{ABSENT}: cancelled"));
    assert!(server.requests().is_empty());
    let found = client.check(&target, &CancelToken::default()).unwrap();
    assert!(matches!(found, Presence::Found(_)));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn insecure_registries_are_checked_when_the_configuration_is_read() {
    let error = toml::from_str::<Config>(
        "check-registry = true\ninsecure-registries = [\"127.0.0.1:5000\", \"http://x\"]\n",
    )
    .unwrap_err();
    assert!(
        error.message().contains("`http://x` is not a registry: expected `host` or `host:port`"),
        "{error}"
    );
    // The error points into the list, on its line: release-check adds the file, line and column.
    let span = error.span().unwrap();
    let text = "check-registry = true\ninsecure-registries = [\"127.0.0.1:5000\", \"http://x\"]\n";
    assert_eq!(text[..span.start].matches('\n').count(), 1);
    assert!(text[span].contains("http://x"));
    let error = toml::from_str::<Config>("check-registry = \"yes\"\n").unwrap_err();
    assert!(error.message().contains("expected a boolean"), "{error}");
}
