//! `cargo xtask bench build-deps`: the wheels gate's build-dependency
//! analysis of a 90-package requirements set, cold (a fresh cache) and warm
//! (`offline = true` on the cache the cold run filled), against pip
//! resolving the same requirements from source (`pip install --dry-run
//! --no-binary :all: --report`), on the same local index, in one run.
//!
//! The index (PEP 691 JSON pages with upload times, and sdists) is generated
//! once under `target/bench-data/build-deps/` and served from memory on
//! 127.0.0.1 by a small server here, which counts the requests per path.
//! Every package builds with a tiny PEP 517 backend that is itself an sdist
//! on the index (built in tree, through `backend-path`), so pip really runs
//! a build backend for every sdist, offline. The generator knows the
//! closure: every run of every contestant must find exactly it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use build_deps::closure;
use gate_core::{Report, Status, Verdict};
use xshell::{Shell, cmd};

use super::{Contestant, Xorshift, machine, print_load, target_dir, time_rounds, version, workspace};

/// The packages of the requirements set, `rcb-00` … `rcb-89`.
const LIBRARIES: usize = 90;
/// Written last into the data directory; a copy without it, or of another
/// generation, is made again.
const GENERATION: &str = "build-deps benchmark data, generation 2\n";
/// The interpreter the virtual environment, and so pip, runs on.
const PYTHON: &str = "python3";
/// The shared build dependency of every package.
const BACKEND: &str = "rcb-backend>=1.0";
const JANUARY: &str = "2024-01-15T09:00:00Z";
const JUNE: &str = "2024-06-15T09:00:00Z";
const SEPTEMBER: &str = "2024-09-15T09:00:00Z";
const JSON: &str = "application/vnd.pypi.simple.v1+json";

/// The build backend: the sdist's `PKG-INFO` is the wheel's `METADATA`, and
/// its top-level modules are the wheel's contents.
const BACKEND_MODULE: &str = r#""""A PEP 517 build backend for release-check's build-deps benchmark."""

import base64
import hashlib
import os
import zipfile


def _metadata():
    with open("PKG-INFO", encoding="utf-8") as file:
        text = file.read()
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    return text, fields["Name"].replace("-", "_"), fields["Version"]


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    text, name, version = _metadata()
    dist_info = f"{name}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info))
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w", encoding="utf-8") as file:
        file.write(text)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    text, name, version = _metadata()
    dist_info = f"{name}-{version}.dist-info"
    members = {}
    for module in sorted(os.listdir(".")):
        if module.endswith(".py"):
            with open(module, "rb") as file:
                members[module] = file.read()
    members[f"{dist_info}/METADATA"] = text.encode()
    members[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: rcb-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}\n")
    record.append(f"{dist_info}/RECORD,,\n")
    members[f"{dist_info}/RECORD"] = "".join(record).encode()
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return wheel
"#;

/// One sdist of the generated index.
struct Sdist {
    name: String,
    version: &'static str,
    uploaded: &'static str,
    /// `Requires-Dist` lines of its `PKG-INFO`.
    requires: Vec<String>,
    /// `[build-system] requires`; empty for the backend, which builds itself.
    build: Vec<String>,
}

impl Sdist {
    fn new(name: &str, version: &'static str, uploaded: &'static str, requires: Vec<String>) -> Self {
        Self { name: name.to_owned(), version, uploaded, requires, build: vec![BACKEND.to_owned()] }
    }

    /// `rcb_00-1.0`: the archive's stem and top directory (PEP 625).
    fn stem(&self) -> String {
        format!("{}-{}", self.name.replace('-', "_"), self.version)
    }

    fn pkg_info(&self) -> String {
        let mut text = format!("Metadata-Version: 2.2\nName: {}\nVersion: {}\n", self.name, self.version);
        // pip ignores a requested extra the metadata does not declare.
        let extras = self.requires.iter().filter_map(|r| r.split_once("extra == \"")).map(|(_, e)| e);
        for extra in extras {
            text.push_str(&format!("Provides-Extra: {}\n", extra.trim_end_matches('"')));
        }
        for requirement in &self.requires {
            text.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        text
    }

    fn pyproject(&self) -> String {
        if self.build.is_empty() {
            return "[build-system]\nrequires = []\nbuild-backend = \"rcb_backend\"\nbackend-path = [\".\"]\n"
                .to_owned();
        }
        let quoted: Vec<String> = self.build.iter().map(|r| format!("\"{r}\"")).collect();
        format!("[build-system]\nrequires = [{}]\nbuild-backend = \"rcb_backend\"\n", quoted.join(", "))
    }
}

/// What the index holds, the requirements set, and its closure.
struct Spec {
    sdists: Vec<Sdist>,
    /// `requirements.txt`: every library pinned.
    requirements: String,
    /// `build-requirements.txt`: the build tools pinned.
    build_requirements: String,
    /// Name → version of every distribution a build from source needs.
    closure: BTreeMap<String, String>,
}

/// The index: 90 libraries of two releases each, each needing 0–3 later
/// ones at run time (`>=1.0`), pinned to one release; all build with
/// `rcb-backend`, every fifth also with `rcb-scm` (which needs
/// `rcb-packaging`, of two releases). `rcb-40[fast]` brings `rcb-compat<2`
/// (1.1 of 1.0, 1.1, 2.0), which nothing pins; `rcb-legacy` is needed only
/// on Python < 3.8, so not at all.
fn spec() -> Spec {
    let mut sdists = vec![
        Sdist { build: Vec::new(), ..Sdist::new("rcb-backend", "1.0", JANUARY, Vec::new()) },
        Sdist::new("rcb-packaging", "1.0", JANUARY, Vec::new()),
        Sdist::new("rcb-packaging", "1.1", JUNE, Vec::new()),
        Sdist::new("rcb-scm", "1.0", JANUARY, vec!["rcb-packaging>=1.0".to_owned()]),
        Sdist::new("rcb-compat", "1.0", JANUARY, Vec::new()),
        Sdist::new("rcb-compat", "1.1", JUNE, Vec::new()),
        Sdist::new("rcb-compat", "2.0", SEPTEMBER, Vec::new()),
        Sdist::new("rcb-legacy", "1.0", JANUARY, Vec::new()),
    ];
    let build_pins = [("rcb-backend", "1.0"), ("rcb-packaging", "1.1"), ("rcb-scm", "1.0")];
    let build_requirements =
        build_pins.iter().map(|(name, version)| format!("{name}=={version}\n")).collect();
    let mut closure: BTreeMap<String, String> =
        build_pins.iter().map(|(name, version)| (name.to_string(), version.to_string())).collect();
    closure.insert("rcb-compat".into(), "1.1".into());
    let mut requirements = String::new();
    let mut rng = Xorshift::new(691);
    for i in 0..LIBRARIES {
        let name = format!("rcb-{i:02}");
        let later = LIBRARIES - i - 1;
        let needs: BTreeSet<usize> = (0..rng.next_u64() % 4)
            .filter(|_| later > 0)
            .map(|_| i + 1 + (rng.next_u64() % later as u64) as usize)
            .collect();
        let mut requires: Vec<String> = needs.iter().map(|j| format!("rcb-{j:02}>=1.0")).collect();
        if i == 40 {
            requires.push("rcb-compat<2; extra == \"fast\"".into());
        }
        if i < 40 && i % 9 == 3 {
            requires.push("rcb-40[fast]>=1.0".into());
        }
        if i % 7 == 0 {
            requires.push("rcb-legacy>=1.0; python_version < \"3.8\"".into());
        }
        let build = if i % 5 == 0 {
            vec![BACKEND.to_owned(), "rcb-scm>=1.0".to_owned()]
        } else {
            vec![BACKEND.to_owned()]
        };
        let pinned = if rng.next_u64().is_multiple_of(3) { "1.0" } else { "1.1" };
        for (version, uploaded) in [("1.0", JANUARY), ("1.1", JUNE)] {
            sdists.push(Sdist {
                build: build.clone(),
                ..Sdist::new(&name, version, uploaded, requires.clone())
            });
        }
        requirements.push_str(&format!("{name}=={pinned}\n"));
        closure.insert(name, pinned.to_owned());
    }
    Spec { sdists, requirements, build_requirements, closure }
}

/// The generated data.
struct Data {
    /// `target/bench-data/build-deps/`.
    dir: PathBuf,
    /// The checked repository: the requirements files and the configurations.
    repo: PathBuf,
    /// The virtual environment's interpreter.
    python: PathBuf,
    /// The index's answers by path: content type and body.
    routes: HashMap<String, (&'static str, Vec<u8>)>,
}

/// Generates the index, the repository and the virtual environment once;
/// the data, with the index read into memory.
fn prepare(sh: &Shell, spec: &Spec) -> Result<Data> {
    let dir = target_dir().join("bench-data/build-deps");
    let (index, repo, venv) = (dir.join("index"), dir.join("repo"), dir.join("venv"));
    let marker = dir.join("generated");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(GENERATION) {
        eprintln!("bench: generating {} sdists and their index in {}", spec.sdists.len(), dir.display());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        write_index(sh, spec, &dir.join("src"), &index)?;
        std::fs::remove_dir_all(dir.join("src"))?;
        std::fs::create_dir_all(&repo)?;
        std::fs::write(repo.join("requirements.txt"), &spec.requirements)?;
        std::fs::write(repo.join("build-requirements.txt"), &spec.build_requirements)?;
        cmd!(sh, "{PYTHON} -m venv {venv}").quiet().run()?;
        std::fs::write(&marker, GENERATION)?;
    }
    let mut routes = HashMap::new();
    for (folder, prefix, suffix) in [("files", "/files/", ""), ("simple", "/simple/", "/")] {
        for entry in std::fs::read_dir(index.join(folder))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).context("a generated file name")?;
            let (route, content_type) = match name.strip_suffix(".json") {
                Some(project) => (format!("{prefix}{project}{suffix}"), JSON),
                None => (format!("{prefix}{name}{suffix}"), "application/gzip"),
            };
            routes.insert(route, (content_type, std::fs::read(&path)?));
        }
    }
    Ok(Data { python: venv.join("bin/python"), dir, repo, routes })
}

/// Writes each sdist's tree under `src`, archives them all with one run of
/// Python's `tarfile` into `index/files/`, and each project's PEP 691 page
/// as `index/simple/<name>.json`.
fn write_index(sh: &Shell, spec: &Spec, src: &Path, index: &Path) -> Result<()> {
    let files = index.join("files");
    std::fs::create_dir_all(&files)?;
    std::fs::create_dir_all(index.join("simple"))?;
    let mut arguments = Vec::new();
    for sdist in &spec.sdists {
        let top = src.join(sdist.stem());
        std::fs::create_dir_all(&top)?;
        std::fs::write(top.join("PKG-INFO"), sdist.pkg_info())?;
        std::fs::write(top.join("pyproject.toml"), sdist.pyproject())?;
        let module = sdist.name.replace('-', "_");
        let text = if sdist.build.is_empty() {
            BACKEND_MODULE.to_owned()
        } else {
            format!(
                "\"\"\"{} {} of the build-deps benchmark.\"\"\"\n\nVERSION = \"{}\"\n",
                sdist.name, sdist.version, sdist.version
            )
        };
        std::fs::write(top.join(format!("{module}.py")), text)?;
        arguments.extend([files.join(format!("{}.tar.gz", sdist.stem())), top, PathBuf::from(sdist.stem())]);
    }
    let script = "import sys, tarfile\nfor archive, top, name in zip(*[iter(sys.argv[1:])] * 3):\n    \
                  with tarfile.open(archive, 'w:gz') as t: t.add(top, arcname=name)";
    cmd!(sh, "{PYTHON} -c {script} {arguments...}").quiet().run()?;
    let mut pages: BTreeMap<&str, Vec<&Sdist>> = BTreeMap::new();
    for sdist in &spec.sdists {
        pages.entry(&sdist.name).or_default().push(sdist);
    }
    for (name, releases) in pages {
        let mut entries = Vec::new();
        for sdist in &releases {
            let filename = format!("{}.tar.gz", sdist.stem());
            let (sha256, _) = gate_wheels::sha256_file(&files.join(&filename), &|| false)?;
            entries.push(serde_json::json!({
                "filename": filename,
                "url": format!("/files/{filename}"),
                "hashes": {"sha256": sha256},
                "upload-time": sdist.uploaded,
            }));
        }
        let versions: Vec<&str> = releases.iter().map(|s| s.version).collect();
        let page = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": name,
            "versions": versions,
            "files": entries,
        });
        std::fs::write(index.join("simple").join(format!("{name}.json")), page.to_string())?;
    }
    Ok(())
}

/// The requests the server answered since it was last asked.
#[derive(Debug, Default, Clone)]
struct Traffic {
    /// Requests per path.
    paths: BTreeMap<String, usize>,
    /// Connections open now, and the most open at once.
    open: usize,
    most_open: usize,
}

impl Traffic {
    /// Requests for paths starting with `prefix`, and the most for one of them.
    fn under(&self, prefix: &str) -> (usize, usize) {
        let counts = self.paths.iter().filter(|(path, _)| path.starts_with(prefix)).map(|(_, n)| *n);
        counts.fold((0, 0), |(sum, most), n| (sum + n, most.max(n)))
    }

    fn requests(&self) -> usize {
        self.paths.values().sum()
    }
}

/// A contestant's last run: what the server saw, and what the analysis
/// counted itself.
#[derive(Default)]
struct LastRun {
    traffic: Traffic,
    counted: Option<usize>,
}

/// A static package index on 127.0.0.1, answering from memory, one thread
/// per connection, each closed after one answer.
struct Server {
    /// The Simple API root.
    index_url: String,
    traffic: Arc<Mutex<Traffic>>,
}

impl Server {
    fn start(routes: HashMap<String, (&'static str, Vec<u8>)>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let index_url = format!("http://{}/simple/", listener.local_addr()?);
        let traffic = Arc::<Mutex<Traffic>>::default();
        let (routes, shared) = (Arc::new(routes), traffic.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, traffic) = (routes.clone(), shared.clone());
                std::thread::spawn(move || answer(&stream, &routes, &traffic));
            }
        });
        Ok(Self { index_url, traffic })
    }

    /// What was asked since the last call, and forgets it.
    fn take(&self) -> Traffic {
        let mut traffic = self.traffic.lock().unwrap_or_else(PoisonError::into_inner);
        let open = traffic.open;
        let taken = Traffic { paths: std::mem::take(&mut traffic.paths), open, most_open: traffic.most_open };
        traffic.most_open = open;
        taken
    }
}

/// Answers one request on `stream` and waits for the client to close it,
/// so that `open` counts the connections the client holds.
fn answer(stream: &TcpStream, routes: &HashMap<String, (&'static str, Vec<u8>)>, traffic: &Mutex<Traffic>) {
    let lock = || traffic.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream);
    let mut request = String::new();
    if reader.read_line(&mut request).unwrap_or(0) == 0 {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).unwrap_or(0) > 0 && !header.trim().is_empty() {
        header.clear();
    }
    let mut words = request.split(' ');
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or("").to_owned());
    {
        let mut traffic = lock();
        *traffic.paths.entry(path.clone()).or_default() += 1;
        traffic.open += 1;
        traffic.most_open = traffic.most_open.max(traffic.open);
    }
    let (status, content_type, body) = match routes.get(&path) {
        Some((content_type, body)) if method == "GET" => ("200 OK", *content_type, body.as_slice()),
        Some(_) => ("405 Method Not Allowed", "text/plain", &b"GET only\n"[..]),
        None => ("404 Not Found", "text/plain", &b"not on this index\n"[..]),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut writer = stream;
    if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(body)).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
        let _ = reader.read_to_end(&mut Vec::new());
    }
    lock().open -= 1;
}

/// Runs the benchmark.
pub fn run(sh: &Shell, rounds: usize) -> Result<()> {
    let spec = spec();
    let data = prepare(sh, &spec)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = workspace().join("Cargo.toml");
    eprintln!("bench: building release-check (cargo build --release -p release-check)");
    cmd!(
        sh,
        "{cargo} build --release --quiet --manifest-path {manifest} -p release-check --bin release-check"
    )
    .quiet()
    .run()?;
    let binary = target_dir().join("release/release-check");
    let server = Server::start(data.routes)?;
    let repo = &data.repo;
    let (cache, pip_cache, pip_report) =
        (repo.join("cache"), data.dir.join("pip-cache"), data.dir.join("pip-report.json"));
    let python = &data.python;
    let target = python.to_str().context("the virtual environment's path is not UTF-8")?;
    for (file, extra) in [("cold.toml", ""), ("warm.toml", "offline = true\n")] {
        let config = format!(
            "[gates.wheels.build-deps]\ntarget-pythons = [{target:?}]\nindex-url = \"{}\"\ncache-dir = \"cache\"\nconstraints = \"build-requirements.txt\"\n{extra}",
            server.index_url
        );
        std::fs::write(repo.join(file), config)?;
    }
    let projects: BTreeSet<&str> = spec.sdists.iter().map(|s| s.name.as_str()).collect();
    eprintln!(
        "bench: {} projects and {} sdists on {}; the closure has {} distributions",
        projects.len(),
        spec.sdists.len(),
        server.index_url,
        spec.closure.len()
    );

    // The last run's traffic per contestant, and the analysis's own count.
    let seen: [RefCell<LastRun>; 3] = Default::default();
    let analyse = |config: &str, seen: &RefCell<LastRun>| -> Result<Traffic> {
        let (config, output_file) = (repo.join(config), repo.join("report.json"));
        if output_file.exists() {
            std::fs::remove_file(&output_file)?;
        }
        let output = cmd!(
            sh,
            "{binary} --repo {repo} --config {config} --gate wheels --format json --output {output_file}"
        )
        .ignore_status()
        .quiet()
        .output()?;
        let traffic = server.take();
        let report: Report = serde_json::from_slice(&std::fs::read(&output_file).with_context(|| {
            format!(
                "release-check wrote no report ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?)?;
        if report.verdict != Verdict::Go || !output.status.success() {
            let items = report.gates.iter().flat_map(|g| &g.items).filter(|i| i.status != Status::Pass);
            let items: Vec<String> =
                items.map(|i| format!("{} {:?}: {}", i.id, i.status, i.reason)).collect();
            bail!("release-check: {} ({}), not GO: {items:#?}", report.headline, output.status);
        }
        same_closure("release-check", &recorded_closure(&output_file)?, &spec.closure)?;
        let [distributions, _, requests] = analysis_note(&report)?;
        ensure!(
            distributions == spec.closure.len(),
            "release-check analysed {distributions} distributions, not {}",
            spec.closure.len()
        );
        ensure!(
            requests == traffic.requests(),
            "release-check counted {requests} requests, the server {}",
            traffic.requests()
        );
        *seen.borrow_mut() = LastRun { traffic: traffic.clone(), counted: Some(requests) };
        Ok(traffic)
    };
    // The analysis reads the index on twice `run.jobs` (the cores) threads, at most 8.
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_mul(2).clamp(1, 8);
    let contestants = [
        Contestant {
            prepare: Some(Box::new(|| {
                if cache.exists() {
                    std::fs::remove_dir_all(&cache)?;
                }
                Ok(())
            })),
            settle: None,
            name: "release-check, cold cache",
            threads: jobs,
            run: Box::new(|| {
                let traffic = analyse("cold.toml", &seen[0])?;
                // One page per project and one file per (project, version).
                let (pages, most_per_page) = traffic.under("/simple/");
                let (files, most_per_file) = traffic.under("/files/");
                ensure!(
                    most_per_page <= 1 && most_per_file <= 1,
                    "a page or a file was asked for more than once: {:?}",
                    traffic.paths
                );
                ensure!(
                    pages == spec.closure.len() && files == spec.closure.len(),
                    "{pages} pages and {files} files, not one of each per distribution: {:?}",
                    traffic.paths
                );
                Ok(())
            }),
        },
        Contestant {
            prepare: None,
            settle: None,
            name: "release-check, warm cache, offline",
            threads: jobs,
            run: Box::new(|| {
                let traffic = analyse("warm.toml", &seen[1])?;
                ensure!(traffic.requests() == 0, "offline, yet the server answered {:?}", traffic.paths);
                Ok(())
            }),
        },
        Contestant {
            prepare: Some(Box::new(|| {
                if pip_cache.exists() {
                    std::fs::remove_dir_all(&pip_cache)?;
                }
                Ok(())
            })),
            settle: None,
            name: "pip install --dry-run --no-binary :all:",
            threads: 1,
            run: Box::new(|| {
                let _in_repo = sh.push_dir(repo);
                let index_url = &server.index_url;
                let output = cmd!(
                    sh,
                    "{python} -m pip install --quiet --dry-run --ignore-installed --no-binary :all:
                     --index-url {index_url} --report {pip_report} -r requirements.txt -r build-requirements.txt"
                )
                .env("PIP_CACHE_DIR", &pip_cache)
                .env("PIP_CONFIG_FILE", "/dev/null")
                .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
                .env("PIP_NO_INPUT", "1")
                .ignore_status()
                .quiet()
                .output()?;
                let traffic = server.take();
                ensure!(
                    output.status.success(),
                    "pip: {}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                );
                same_closure("pip", &pip_closure(&pip_report)?, &spec.closure)?;
                *seen[2].borrow_mut() = LastRun { traffic, counted: None };
                Ok(())
            }),
        },
    ];

    println!("{}", machine());
    let pip = cmd!(sh, "{python} -m pip --version").quiet().ignore_stderr().read().unwrap_or_default();
    println!(
        "tools: {}; {}; {}",
        version(sh, &binary.to_string_lossy(), "--version"),
        version(sh, &python.to_string_lossy(), "--version"),
        pip.split(" from ").next().unwrap_or_default()
    );
    print_load();
    let times = time_rounds(&contestants, rounds, &data.dir)?;
    let medians: Vec<Duration> = times.iter().map(|t| t[t.len() / 2]).collect();
    println!(
        "\n{LIBRARIES} pinned packages and their build tools: a closure of {} distributions from {} projects \
         and {} sdists on a local PEP 691 index, median of {rounds} round{}:\n",
        spec.closure.len(),
        projects.len(),
        spec.sdists.len(),
        if rounds == 1 { "" } else { "s" }
    );
    println!(
        "| {:<44} | threads | median (s) | min–max (s) | requests: pages + files | most connections at once |",
        "contestant"
    );
    println!(
        "|{:-<46}|--------:|-----------:|------------:|------------------------:|-------------------------:|",
        ""
    );
    for ((contestant, times), (median, seen)) in contestants.iter().zip(&times).zip(medians.iter().zip(&seen))
    {
        let traffic = &seen.borrow().traffic;
        let ((pages, _), (files, _)) = (traffic.under("/simple/"), traffic.under("/files/"));
        println!(
            "| {:<44} | {:>7} | {:>10.3} | {:.3}–{:.3} | {:>23} | {:>24} |",
            format!("`{}`", contestant.name),
            contestant.threads,
            median.as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
            format!("{} + {}", pages, files),
            traffic.most_open,
        );
    }
    let ratio = |a: usize, b: usize| medians[a].as_secs_f64() / medians[b].as_secs_f64();
    let warm = medians[1].as_secs_f64();
    let note = |i: usize| seen[i].borrow().counted.unwrap_or_default();
    println!("\n| figure | value | target | |");
    println!("|---|---:|---|---|");
    println!("| release-check cold / pip (wall time) | {:.4}× | | |", ratio(0, 2));
    println!("| release-check warm / pip (wall time) | {:.4}× | | |", ratio(1, 2));
    println!("| release-check warm, median | {warm:.3} s | < 1 s | {} |", met(warm < 1.0));
    println!("| requests warm (release-check's note) | {} | 0 | {} |", note(1), met(note(1) == 0));
    println!(
        "| requests cold (release-check's note) | {} | ≤ one page per project, one file per version: {} | {} |",
        note(0),
        2 * spec.closure.len(),
        met(note(0) <= 2 * spec.closure.len())
    );
    println!(
        "\nrelease-check and pip found the same {} distributions (the generator's closure) in every round.",
        spec.closure.len()
    );
    Ok(())
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "MISSED" }
}

/// Checks that `found` is exactly the generator's closure.
fn same_closure(
    who: &str,
    found: &BTreeMap<String, String>,
    expected: &BTreeMap<String, String>,
) -> Result<()> {
    if found != expected {
        let missing = |of: &BTreeMap<String, String>, from: &BTreeMap<String, String>| -> Vec<String> {
            of.iter().filter(|(n, v)| from.get(*n) != Some(v)).map(|(n, v)| format!("{n}=={v}")).collect()
        };
        bail!(
            "{who} found another closure: missing {:?}, extra {:?}",
            missing(expected, found),
            missing(found, expected)
        );
    }
    Ok(())
}

/// The closure of the `build-closure` item of release-check's JSON report.
fn recorded_closure(report: &Path) -> Result<BTreeMap<String, String>> {
    let recorded = closure::recorded(report).map_err(anyhow::Error::msg)?;
    let joined = |versions: std::collections::BTreeSet<_>| {
        versions.iter().map(ToString::to_string).collect::<Vec<String>>().join(", ")
    };
    Ok(recorded.closure.into_iter().map(|(name, versions)| (name, joined(versions))).collect())
}

/// The distributions pip's `--report` would install, by normalised name.
fn pip_closure(report: &Path) -> Result<BTreeMap<String, String>> {
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(report)?)?;
    let install = report["install"].as_array().context("pip's report has no `install` list")?;
    install
        .iter()
        .map(|entry| {
            let field = |key: &str| {
                entry["metadata"][key]
                    .as_str()
                    .with_context(|| format!("pip's report: metadata without {key}"))
            };
            Ok((field("name")?.to_lowercase().replace(['_', '.'], "-"), field("version")?.to_owned()))
        })
        .collect()
}

/// The numbers of the analysis's note `build-deps: N distributions, M
/// needs, K requests to the index …`.
fn analysis_note(report: &Report) -> Result<[usize; 3]> {
    let note = report
        .gates
        .iter()
        .flat_map(|gate| &gate.notes)
        .find_map(|note| note.strip_prefix("build-deps: ").filter(|rest| rest.contains(" requests to the ")))
        .context("the report has no `build-deps: … requests to the …` note")?;
    let numbers: Vec<usize> = note.split(' ').step_by(2).take(3).map(str::parse).collect::<Result<_, _>>()?;
    numbers.try_into().map_err(|_| anyhow::anyhow!("the note `{note}` has fewer than three numbers"))
}
