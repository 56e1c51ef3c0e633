//! The PEP 517 hook fallback of the build-dependency analysis, against real
//! interpreters, offline: sdists the tests write with Python's `tarfile` and
//! `zipfile`, pip installing from a find-links directory that holds the
//! setuptools wheel bundled with the interpreter's `ensurepip`, the `wheel`
//! wheel CPython's test suite ships (pip downloads it when no CPython 3.12 or
//! later is under pyenv), and a wheel the test builds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use build_deps::hooks::{DEFAULT_BACKEND, HookAnswer, HookRequest, ask_backend};
use build_deps::metadata::{self, Source};
use gate_core::CancelToken;
use serde_json::json;

/// Generous: a loaded machine makes a virtual environment and runs pip.
const TIMEOUT: Duration = Duration::from_secs(300);

/// `~/.pyenv/versions/<version>*/bin/python`, the newest.
fn pyenv_python(version: &str) -> PathBuf {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".pyenv"));
    let versions = root.join("versions");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&versions)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{version}.")))
        .map(|e| e.path().join("bin/python"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "Python {version} not found: no {}/{version}.*/bin/python; install it with `pyenv install {version}`",
            versions.display()
        )
    })
}

/// The interpreter `python3` runs, as a path.
fn python3() -> PathBuf {
    let output = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// Runs `script` with `python3` and these arguments, which must succeed.
fn python(script: &str, args: &[&str]) {
    let status = Command::new("python3").arg("-c").arg(script).args(args).status().unwrap();
    assert!(status.success(), "python3 failed: {script}");
}

/// Writes a `.tar.gz` of `members`: `{name, kind (file, dir, symlink,
/// hardlink, chr), data, link, mode}`.
fn tar_gz(path: &Path, members: serde_json::Value) -> Vec<u8> {
    python(
        r#"
import io, json, sys, tarfile
kinds = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE}
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as archive:
    for member in json.loads(sys.argv[2]):
        info = tarfile.TarInfo(member["name"])
        info.mode = member.get("mode", 0o644)
        data = member.get("data", "").encode()
        kind = member.get("kind", "file")
        if kind == "file":
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        else:
            info.type = kinds[kind]
            info.linkname = member.get("link", "")
            archive.addfile(info)
"#,
        &[path.to_str().unwrap(), &members.to_string()],
    );
    std::fs::read(path).unwrap()
}

/// Writes a `.zip` of `files` (name, text).
fn zip(path: &Path, files: &[(&str, &str)]) -> Vec<u8> {
    let files = json!(files);
    python(
        "import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
         for name, data in json.loads(sys.argv[2]): z.writestr(name, data)",
        &[path.to_str().unwrap(), &files.to_string()],
    );
    std::fs::read(path).unwrap()
}

/// A find-links directory: the setuptools wheel of Python 3.11's
/// `ensurepip`, the `wheel` wheel of CPython's test suite (3.12 and later;
/// else downloaded with pip), and `buildhelper 1.0`, built here.
fn find_links(dir: &Path) -> PathBuf {
    let links = dir.join("find-links");
    std::fs::create_dir_all(&links).unwrap();
    let python311 = pyenv_python("3.11");
    let lib = python311.parent().unwrap().parent().unwrap().join("lib/python3.11");
    let bundled: Vec<PathBuf> = std::fs::read_dir(lib.join("ensurepip/_bundled"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("setuptools-"))
        .collect();
    assert_eq!(bundled.len(), 1, "one setuptools wheel bundled with {}", python311.display());
    let versions = python311.parent().unwrap().parent().unwrap().parent().unwrap().to_owned();
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(&versions)
        .unwrap()
        .flatten()
        .filter_map(|v| std::fs::read_dir(v.path().join("lib")).ok())
        .flatten()
        .flatten()
        .flat_map(|lib| [lib.path().join("test"), lib.path().join("test/wheeldata")])
        .filter_map(|test| std::fs::read_dir(test).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("wheel-0.4"))
        .collect();
    wheels.sort();
    std::os::unix::fs::symlink(&bundled[0], links.join(bundled[0].file_name().unwrap())).unwrap();
    match wheels.first() {
        Some(wheel) => std::os::unix::fs::symlink(wheel, links.join(wheel.file_name().unwrap())).unwrap(),
        // No CPython 3.12 or later under pyenv: the one download of these tests.
        None => python(
            "import subprocess, sys\nsys.exit(subprocess.call([sys.executable, '-m', 'pip', 'download', \
             '--no-deps', '--only-binary', ':all:', '--dest', sys.argv[1], 'wheel==0.40.0']))",
            &[links.to_str().unwrap()],
        ),
    }
    python(
        "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
         z.writestr('buildhelper/__init__.py', '')\n    \
         z.writestr('buildhelper-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: buildhelper\\nVersion: 1.0\\n')\n    \
         z.writestr('buildhelper-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n    \
         z.writestr('buildhelper-1.0.dist-info/RECORD', 'buildhelper/__init__.py,,\\nbuildhelper-1.0.dist-info/METADATA,,\\nbuildhelper-1.0.dist-info/WHEEL,,\\nbuildhelper-1.0.dist-info/RECORD,,\\n')",
        &[links.join("buildhelper-1.0-py3-none-any.whl").to_str().unwrap()],
    );
    links
}

/// One question, with the setuptools of the find-links directory.
struct Ask<'a> {
    python: &'a Path,
    name: &'a str,
    sdist: &'a [u8],
    build_requires: Vec<String>,
    find_links: Option<&'a Path>,
    keep: Option<&'a Path>,
    index_url: &'a str,
    cache: &'a Path,
    timeout: Duration,
    cancel: CancelToken,
}

impl<'a> Ask<'a> {
    fn new(python: &'a Path, name: &'a str, sdist: &'a [u8], find_links: &'a Path, cache: &'a Path) -> Self {
        let build_requires = vec!["setuptools==65.5.0".to_owned()];
        let cancel = CancelToken::default();
        let (find_links, index_url) = (Some(find_links), "http://127.0.0.1:9/simple/");
        Self {
            python,
            name,
            sdist,
            build_requires,
            find_links,
            keep: None,
            index_url,
            cache,
            timeout: TIMEOUT,
            cancel,
        }
    }

    /// The answer, or the error's message.
    fn run(&self) -> Result<HookAnswer, String> {
        ask_backend(&HookRequest {
            python: self.python,
            sdist_name: self.name,
            sdist: self.sdist,
            build_requires: &self.build_requires,
            index_url: self.index_url,
            find_links: self.find_links,
            keep: self.keep,
            timeout: self.timeout,
            cache_dir: self.cache,
            cancel: &self.cancel,
        })
        .map_err(|e| e.to_string())
    }
}

/// A setup.py-only sdist `name-1.0` (no PKG-INFO, no pyproject.toml).
fn setup_py_sdist(dir: &Path, name: &str, setup_py: &str) -> Vec<u8> {
    tar_gz(
        &dir.join(format!("{name}-1.0.tar.gz")),
        json!([{"name": format!("{name}-1.0/setup.py"), "data": setup_py}]),
    )
}

const COMPUTED: &str = r#"
import sys
from setuptools import setup
if sys.version_info < (3, 10):
    requires = ["importlib-metadata>=4; python_version < '3.10'", "typing-extensions"]
else:
    requires = ["packaging>=21"]
setup(name="computed", version="1.0", install_requires=requires, py_modules=[])
"#;

fn names(dependencies: &[metadata::Dependency]) -> Vec<String> {
    dependencies.iter().map(|d| d.requirement.name.clone()).collect()
}

#[test]
fn install_requires_computed_in_setup_py_are_asked_of_each_python() {
    let work = tempfile::tempdir().unwrap();
    let links = find_links(work.path());
    let sdist = setup_py_sdist(work.path(), "computed", COMPUTED);
    let (python39, python3) = (pyenv_python("3.9"), python3());
    let cache = work.path().join("cache");
    let old = Ask::new(&python39, "computed-1.0.tar.gz", &sdist, &links, &cache).run().unwrap();
    assert!(old.python.starts_with("CPython 3.9.") && old.python.contains(" at "), "{}", old.python);
    assert_eq!(old.backend, DEFAULT_BACKEND);
    // setuptools 65 asks for `wheel` to build a wheel.
    assert_eq!(old.build, ["wheel"]);
    let old_needs = metadata::from_hooks("computed-1.0.tar.gz", &old).unwrap();
    let run = old_needs.run.unwrap();
    // setuptools writes the requirements without a marker first.
    assert_eq!(names(&run), ["typing-extensions", "importlib-metadata"]);
    assert!(run.iter().all(|d| d.source == Source::MetadataHook && !d.source.is_build()));
    // In the form setuptools writes, marker and all.
    assert_eq!(run[1].text, "importlib-metadata (>=4) ; python_version < \"3.10\"");
    assert_eq!(run[1].requirement.specifier, ">=4");
    assert!(old_needs.build.iter().all(|d| d.source == Source::BuildHook && d.source.is_build()));
    assert_eq!(old_needs.build[0].source.to_string(), "get_requires_for_build_wheel, PEP 517 hook");

    let new = Ask::new(&python3, "computed-1.0.tar.gz", &sdist, &links, &cache).run().unwrap();
    assert!(new.python.starts_with("CPython 3.11."), "{}", new.python);
    let new_run = metadata::from_hooks("computed-1.0.tar.gz", &new).unwrap().run.unwrap();
    assert_eq!(names(&new_run), ["packaging"]);
    assert_eq!(new_run[0].requirement.specifier, ">=21");

    // The same project as a .zip sdist.
    let zipped = zip(&work.path().join("computed-1.0.zip"), &[("computed-1.0/setup.py", COMPUTED)]);
    let from_zip = Ask::new(&python3, "computed-1.0.zip", &zipped, &links, &cache).run().unwrap();
    assert_eq!(from_zip.run, new.run);
}

#[test]
fn setup_requires_in_setup_py_are_build_needs() {
    let work = tempfile::tempdir().unwrap();
    let links = find_links(work.path());
    let python3 = python3();
    let cache = work.path().join("cache");
    let helped = setup_py_sdist(
        work.path(),
        "helped",
        "from setuptools import setup\nsetup(name='helped', version='1.0', setup_requires=['buildhelper==1.0'], install_requires=['six'])\n",
    );
    let answer = Ask::new(&python3, "helped-1.0.tar.gz", &helped, &links, &cache).run().unwrap();
    assert!(answer.build.contains(&"buildhelper==1.0".to_owned()), "{:?}", answer.build);
    let needs = metadata::from_hooks("helped-1.0.tar.gz", &answer).unwrap();
    let helper = needs.build.iter().find(|d| d.requirement.name == "buildhelper").unwrap();
    assert!(helper.source.is_build() && helper.text == "buildhelper==1.0");
    assert_eq!(names(&needs.run.unwrap()), ["six"]);

    // A setup_requires pip cannot install: the build needs are still known,
    // the run-time ones are not, and the answer says why.
    let stuck = setup_py_sdist(
        work.path(),
        "stuck",
        "from setuptools import setup\nsetup(name='stuck', version='1.0', setup_requires=['not-on-any-index==1.0'])\n",
    );
    let answer = Ask::new(&python3, "stuck-1.0.tar.gz", &stuck, &links, &cache).run().unwrap();
    assert!(answer.build.contains(&"not-on-any-index==1.0".to_owned()), "{:?}", answer.build);
    let why = answer.run.clone().unwrap_err().to_string();
    assert!(why.contains("cannot install what get_requires_for_build_wheel asked for"), "{why}");
    assert!(why.contains("not-on-any-index"), "pip's output is quoted: {why}");
    let needs = metadata::from_hooks("stuck-1.0.tar.gz", &answer).unwrap();
    assert!(needs.run.unwrap_err().to_string().starts_with("run-time dependencies unknown: "));
}

/// An sdist whose backend is `module` of its own `backend/` directory.
fn in_tree_backend(dir: &Path, name: &str, module: &str, code: &str) -> Vec<u8> {
    let pyproject = format!(
        "[build-system]\nrequires = []\nbuild-backend = \"{module}\"\nbackend-path = [\"backend\"]\n"
    );
    tar_gz(
        &dir.join(format!("{name}-1.0.tar.gz")),
        json!([
            {"name": format!("{name}-1.0/pyproject.toml"), "data": pyproject},
            {"name": format!("{name}-1.0/backend/{module}.py"), "data": code},
        ]),
    )
}

#[test]
fn a_backend_that_raises_or_lacks_a_hook_says_so() {
    let work = tempfile::tempdir().unwrap();
    let links = find_links(work.path());
    let python3 = python3();
    let cache = work.path().join("cache");
    let ask = |name: &str, module: &str, code: &str| {
        let (sdist, file) = (in_tree_backend(work.path(), name, module, code), format!("{name}-1.0.tar.gz"));
        let mut ask = Ask::new(&python3, &file, &sdist, &links, &cache);
        ask.build_requires = Vec::new();
        ask.run()
    };
    let raising = "def get_requires_for_build_wheel(config_settings=None):\n    \
                   raise RuntimeError('no compiler for the frobnicator')\n";
    let error = ask("raising", "boom", raising).unwrap_err();
    assert!(error.contains("the backend boom failed in get_requires_for_build_wheel"), "{error}");
    assert!(error.contains("RuntimeError: no compiler for the frobnicator"), "{error}");

    let bare = "def get_requires_for_build_wheel(config_settings=None):\n    return ['buildhelper==1.0']\n";
    let answer = ask("bare", "bare_backend", bare).unwrap();
    assert_eq!(answer.build, ["buildhelper==1.0"]);
    assert_eq!(answer.backend, "bare_backend");
    let why = answer.run.unwrap_err().to_string();
    assert!(why.contains("has no prepare_metadata_for_build_wheel hook"), "{why}");

    let failing_metadata = "def get_requires_for_build_wheel(config_settings=None):\n    return []\n\
                            def prepare_metadata_for_build_wheel(directory, config_settings=None):\n    \
                            raise ValueError('version unknown outside a git checkout')\n";
    let answer = ask("nogit", "nogit", failing_metadata).unwrap();
    let why = answer.run.unwrap_err().to_string();
    assert!(why.contains("failed in prepare_metadata_for_build_wheel"), "{why}");
    assert!(why.contains("outside a git checkout"), "{why}");

    let bad = "def get_requires_for_build_wheel(config_settings=None):\n    return ['ok', 'bad ==']\n";
    let answer = ask("bad", "bad_requirement", bad).unwrap();
    let error = metadata::from_hooks("bad-1.0.tar.gz", &answer).unwrap_err();
    assert_eq!(
        (error.file.as_str(), error.line),
        ("bad-1.0.tar.gz!get_requires_for_build_wheel", 2),
        "{error}"
    );

    let not_a_list = "def get_requires_for_build_wheel(config_settings=None):\n    return [1]\n";
    let error = ask("odd", "odd", not_a_list).unwrap_err();
    assert!(error.contains("its answer is not understood"), "{error}");
}

#[test]
fn a_hanging_hook_is_killed_at_the_timeout_with_every_process_it_started() {
    let work = tempfile::tempdir().unwrap();
    let links = find_links(work.path());
    let pid_file = work.path().join("grandchild.pid");
    let hanging = format!(
        "import subprocess, sys, time\n\
         def get_requires_for_build_wheel(config_settings=None):\n    \
         child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n    \
         open({:?}, 'w').write(str(child.pid))\n    \
         time.sleep(600)\n",
        pid_file.to_str().unwrap()
    );
    let sdist = in_tree_backend(work.path(), "hangs", "hangs", &hanging);
    let python3 = python3();
    let cache = work.path().join("cache");
    let mut ask = Ask::new(&python3, "hangs-1.0.tar.gz", &sdist, &links, &cache);
    ask.build_requires = Vec::new();
    ask.timeout = Duration::from_secs(20);
    let started = Instant::now();
    let error = ask.run().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    assert!(error.contains("asked for get_requires_for_build_wheel: timed out after 20s"), "{error}");
    assert!(error.contains("every process it started were killed"), "{error}");
    let pid = std::fs::read_to_string(&pid_file).expect("the hook started its child before hanging");
    let stat = Path::new("/proc").join(pid.trim()).join("stat");
    let gone = (0..100).any(|_| {
        // Gone, or a zombie waiting to be reaped by whoever inherited it.
        let alive = std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z "));
        if alive {
            std::thread::sleep(Duration::from_millis(100));
        }
        !alive
    });
    assert!(gone, "the hook's child {pid} outlived the timeout");

    // A cancelled run stops waiting at once, and kills the tree too.
    std::fs::remove_file(&pid_file).unwrap();
    ask.timeout = TIMEOUT;
    let cancel = ask.cancel.clone();
    let started = Instant::now();
    let canceller = std::thread::spawn(move || {
        while !pid_file.exists() {
            std::thread::sleep(Duration::from_millis(50));
        }
        cancel.cancel();
    });
    let error = ask.run().unwrap_err();
    canceller.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    assert!(error.contains("asked for get_requires_for_build_wheel: cancelled"), "{error}");
}

#[test]
fn hostile_sdists_are_refused_without_writing_outside_the_work_directory() {
    let work = tempfile::tempdir().unwrap();
    let links = find_links(work.path());
    let python3 = python3();
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let outside = scratch.path().join("outside");
    let setup = json!({"name": "h-1.0/setup.py", "data": "from setuptools import setup\nsetup()\n"});
    let cases = [
        (json!([setup, {"name": "h-1.0/../../../../../outside", "data": "x"}]), "a `..` in its name"),
        (json!([setup, {"name": outside.to_str().unwrap(), "data": "x"}]), "an absolute name"),
        (
            json!([setup, {"name": "h-1.0/up", "kind": "symlink", "link": "../../../../.."},
                   {"name": "h-1.0/up/outside", "data": "x"}]),
            "written through the link `up`",
        ),
        (
            json!([setup, {"name": "h-1.0/up", "kind": "symlink", "link": "../../.."}]),
            "a link outside the sdist",
        ),
        (
            json!([setup, {"name": "h-1.0/etc", "kind": "symlink", "link": "/etc/passwd"}]),
            "outside the sdist",
        ),
        (json!([setup, {"name": "h-1.0/null", "kind": "chr"}]), "a special file"),
        (json!([setup, {"name": "other-1.0/setup.py", "data": ""}]), "outside the top directory `h-1.0/`"),
        (
            json!([setup, {"name": "h-1.0/copy", "kind": "hardlink", "link": "../outside"}]),
            "a `..` in its name",
        ),
    ];
    for (number, (members, why)) in cases.into_iter().enumerate() {
        let sdist = tar_gz(&work.path().join(format!("hostile-{number}.tar.gz")), members);
        let error = Ask::new(&python3, "h-1.0.tar.gz", &sdist, &links, &cache).run().unwrap_err();
        assert!(error.starts_with("h-1.0.tar.gz: the member `"), "case {number}: {error}");
        assert!(error.contains(why), "case {number}: {error}");
        // Nothing is left but empty directories: not outside, not in the cache.
        let mut left = Vec::new();
        let mut dirs = vec![scratch.path().to_owned()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                match entry.file_type().unwrap().is_dir() {
                    true => dirs.push(entry.path()),
                    false => left.push(entry.path()),
                }
            }
        }
        assert_eq!(left, Vec::<PathBuf>::new(), "case {number}");
    }
}

#[test]
fn a_cached_answer_runs_no_python() {
    let work = tempfile::tempdir().unwrap();
    let links = find_links(work.path());
    let (count, runs) = (work.path().join("interpreter-count"), work.path().join("setup-count"));
    // An interpreter that counts its runs, and a setup.py that counts its own.
    let python = work.path().join("counting-python");
    std::fs::write(&python, format!("#!/bin/sh\necho run >> {:?}\nexec {:?} \"$@\"\n", count, python3()))
        .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let setup_py = format!(
        "open({:?}, 'a').write('run\\n')\nfrom setuptools import setup\nsetup(name='counted', version='1.0', install_requires=['six'])\n",
        runs.to_str().unwrap()
    );
    let sdist = setup_py_sdist(work.path(), "counted", &setup_py);
    let cache = work.path().join("cache");
    let ask = Ask::new(&python, "counted-1.0.tar.gz", &sdist, &links, &cache);
    let first = ask.run().unwrap();
    let lines = |path: &Path| std::fs::read_to_string(path).unwrap_or_default().lines().count();
    let (interpreter_runs, setup_runs) = (lines(&count), lines(&runs));
    assert!(interpreter_runs >= 1 && setup_runs >= 1, "{interpreter_runs} {setup_runs}");
    let second = ask.run().unwrap();
    assert_eq!(second, first);
    assert_eq!((lines(&count), lines(&runs)), (interpreter_runs, setup_runs), "the second ask ran Python");
    // Other build requirements are another question.
    let mut other = Ask::new(&python, "counted-1.0.tar.gz", &sdist, &links, &cache);
    other.build_requires = vec!["setuptools>=60".to_owned()];
    assert_eq!(other.run().unwrap().run, first.run);
    assert!(lines(&runs) > setup_runs);
}

#[test]
fn a_token_in_the_index_url_is_in_no_message() {
    let work = tempfile::tempdir().unwrap();
    let python3 = python3();
    let sdist = setup_py_sdist(work.path(), "private", "from setuptools import setup\nsetup()\n");
    let cache = work.path().join("cache");
    let mut ask = Ask::new(&python3, "private-1.0.tar.gz", &sdist, work.path(), &cache);
    // Nothing listens on port 9: pip fails, and says where it looked.
    (ask.find_links, ask.index_url) = (None, "http://reader:s3cret-token@127.0.0.1:9/simple/");
    let error = ask.run().unwrap_err();
    assert!(error.starts_with("cannot install the build requirements: "), "{error}");
    assert!(error.contains("127.0.0.1:9") && !error.contains("s3cret-token"), "{error}");
}
