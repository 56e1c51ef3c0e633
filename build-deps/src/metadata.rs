//! What a distribution needs, read statically from its sdist
//! ([`archive`](super::archive)) and the index, in order of trust.
//!
//! Run-time needs: the core metadata file the index serves for the sdist
//! (PEP 658/714), then the sdist's `PKG-INFO` (Metadata 2.2 or later,
//! `Requires-Dist` not dynamic), `pyproject.toml` (`[project]` dependencies
//! and optional-dependencies, or flit's `[tool.flit.metadata]`), a static
//! `setup.cfg` (`install_requires`, when `setup.py` passes none), the
//! `requires.txt` of the `*.egg-info/` setuptools wrote when it made the
//! sdist, and `setup.cfg` again when `setup.py` may add to it. When none of
//! them says, [`Metadata::run`] is an error with the reason; the analysis
//! then looks for the metadata of a wheel of the same version as a
//! documented stand-in ([`from_wheel_metadata`]), and last asks the build
//! backend itself through the PEP 517 hooks ([`from_hooks`]).
//!
//! Build needs: `[build-system]` as written ([`BuildSystem`]) and the
//! `setup_requires` of a static `setup.cfg`. What pip adds to them (a
//! default build system, the backend's `get_requires_for_build_wheel`)
//! depends on the pip version and is modelled in [`pip`](super::pip).
//!
//! Every dependency says which of these it came from ([`Source`]).

use std::fmt;
use std::str::FromStr as _;

use pep508_rs::MarkerTree;

use super::archive::SdistFiles;
use super::hooks::{HookAnswer, PrepareError};
use super::index::IndexError;
pub use super::sources::{CoreMetadata, core_metadata};
use super::sources::{egg_info_requires, line_column, passes_keyword, setup_cfg_options, toml_strings};
use pip_requirements::Requirement;

/// Where a dependency was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The index's core metadata file, `Requires-Dist`.
    MetadataFile,
    /// The sdist's `PKG-INFO`, `Requires-Dist`.
    PkgInfo,
    /// `pyproject.toml`, `[project] dependencies` (or optional-dependencies).
    ProjectDependencies,
    /// `pyproject.toml`, flit's `[tool.flit.metadata] requires` (or requires-extra).
    FlitMetadata,
    /// `pyproject.toml`, `[build-system] requires`.
    BuildSystem,
    /// `setup.cfg`, `[options] install_requires`.
    InstallRequires,
    /// `requires.txt` of the sdist's `*.egg-info/`, written by setuptools
    /// when the sdist was made.
    EggInfo,
    /// `Requires-Dist` of the core metadata file (PEP 658/714) of a wheel of
    /// the same version: a stand-in, when the sdist says nothing static.
    WheelStandIn,
    /// `setup.cfg`, `[options] setup_requires`.
    SetupRequires,
    /// No `[build-system]`: the default build requirements of the pip
    /// version modelled.
    DefaultBackend,
    /// What the setuptools backend's `get_requires_for_build_wheel` returns,
    /// known from its version (`wheel` before setuptools 70.1).
    BackendRequires,
    /// The PEP 517 hook `get_requires_for_build_wheel`, asked in the target
    /// Python ([`hooks`](super::hooks)).
    BuildHook,
    /// `Requires-Dist` of the `METADATA` the PEP 517 hook
    /// `prepare_metadata_for_build_wheel` wrote in the target Python.
    MetadataHook,
    /// A line of one of the repository's requirements files.
    Requirements,
}

impl Source {
    /// Whether it is a need at build time (else at run time).
    pub fn is_build(self) -> bool {
        matches!(
            self,
            Self::BuildSystem
                | Self::SetupRequires
                | Self::DefaultBackend
                | Self::BackendRequires
                | Self::BuildHook
        )
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MetadataFile => "Requires-Dist, index metadata file (PEP 658)",
            Self::PkgInfo => "Requires-Dist, sdist PKG-INFO",
            Self::ProjectDependencies => "pyproject.toml [project] dependencies",
            Self::FlitMetadata => "pyproject.toml [tool.flit.metadata] requires",
            Self::BuildSystem => "build-system",
            Self::InstallRequires => "setup.cfg install_requires",
            Self::EggInfo => "egg-info requires.txt, written when the sdist was made",
            Self::WheelStandIn => "Requires-Dist of a wheel of the same version, a stand-in",
            Self::SetupRequires => "setup_requires",
            Self::DefaultBackend => "pip's default build-system, no [build-system]",
            Self::BackendRequires => "get_requires_for_build_wheel of the setuptools backend",
            Self::BuildHook => "get_requires_for_build_wheel, PEP 517 hook",
            Self::MetadataHook => "Requires-Dist, prepare_metadata_for_build_wheel",
            Self::Requirements => "requirements file",
        })
    }
}

/// One need of a distribution.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The requirement, as parsed.
    pub requirement: Requirement,
    /// The requirement as written (`importlib-metadata; python_version < "3.8"`).
    pub text: String,
    /// Its marker, parsed.
    pub marker: MarkerTree,
    /// Where it was read.
    pub source: Source,
}

/// A bad field of one file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct MetadataError {
    /// `<sdist>!PKG-INFO`, `<url>.metadata`.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
    /// What was expected.
    pub message: String,
}

/// `[build-system]` of an sdist's `pyproject.toml`, as written.
#[derive(Debug, Clone, Default)]
pub struct BuildSystem {
    /// Whether the sdist has a `pyproject.toml` at all.
    pub pyproject: bool,
    /// Whether it has a `[build-system]` table.
    pub table: bool,
    /// Its `requires` (none without the table).
    pub requires: Vec<Dependency>,
    /// Its `build-backend`, when given.
    pub backend: Option<String>,
    /// Its `backend-path` entries. A string is taken as pip takes it: pip
    /// iterates it, so each character is an entry (`"."` is `["."]`).
    pub backend_path: Vec<String>,
}

/// A distribution's needs, read statically.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `[build-system]`.
    pub build_system: BuildSystem,
    /// `setup_requires` of a static `setup.cfg`; `None` when it has none.
    pub setup_requires: Option<Vec<Dependency>>,
    /// Whether the sdist has a `setup.py`.
    pub has_setup_py: bool,
    /// Whether that `setup.py` passes `setup_requires` itself (so only the
    /// backend knows them).
    pub setup_py_setup_requires: bool,
    /// At run time; an error saying why when no static source gives them
    /// (and, once the catalogue has looked, no wheel stands in).
    pub run: Result<Vec<Dependency>, NeedsUnknown>,
    /// Sources passed over, and why (a dynamic field, an old Metadata-Version).
    pub fallbacks: Vec<String>,
}

/// What a build backend said, as dependencies ([`from_hooks`]).
#[derive(Debug, Clone)]
pub struct HookNeeds {
    /// What `get_requires_for_build_wheel` adds to the build requirements.
    pub build: Vec<Dependency>,
    /// The `Requires-Dist` of `prepare_metadata_for_build_wheel`, or why the
    /// backend could not say.
    pub run: Result<Vec<Dependency>, NeedsUnknown>,
}

/// Why what a distribution needs at run time is unknown: each message
/// starts with `run-time dependencies unknown: `.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NeedsUnknown {
    /// No static source of the sdist gives them.
    #[error("run-time dependencies unknown: {}", .reasons.join("; "))]
    NoStaticSource {
        /// Why each source was passed over, what the sdist lacks, and last
        /// `no static source gives them`.
        reasons: Vec<String>,
    },
    /// The build backend could not say ([`from_hooks`]).
    #[error("run-time dependencies unknown: {0}")]
    Backend(PrepareError),
    /// No static source gives them, and the wheel that would stand in
    /// cannot be used.
    #[error("{why}; {stand_in}")]
    StandIn {
        /// Why no static source gives them.
        why: Box<NeedsUnknown>,
        /// Why the wheel cannot stand in.
        stand_in: StandInError,
    },
    /// Neither the sdist nor its build backend says.
    #[error("{why}; {backend}")]
    NorBackend {
        /// Why the sdist does not say.
        why: Box<NeedsUnknown>,
        /// Why the backend does not ([`HookNeeds::run`]).
        backend: Box<NeedsUnknown>,
    },
}

/// Why the wheel standing in for an sdist's run-time needs cannot.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StandInError {
    /// The index did not give its core metadata file.
    #[error("the stand-in {wheel}.metadata is unusable: {source}")]
    Unusable {
        /// The wheel's file name.
        wheel: String,
        /// What went wrong.
        source: IndexError,
    },
    /// The core metadata file is not text.
    #[error("{url} is not UTF-8")]
    NotUtf8 {
        /// The core metadata file's URL.
        url: String,
    },
    /// Its `Requires-Dist` does not parse.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// Parses requirements given as `(text, line)` into dependencies from
/// `source`; `file` names where they are in messages.
pub(crate) fn dependencies(
    file: &str,
    items: &[(String, u32)],
    source: Source,
) -> Result<Vec<Dependency>, MetadataError> {
    let mut parsed = Vec::new();
    for (text, line) in items {
        let fail = |column: u32, message: String| MetadataError {
            file: file.to_owned(),
            line: *line,
            column,
            message,
        };
        let one_line = text.replace(['\n', '\r'], " ");
        let result = pip_requirements::parse(&one_line);
        if let Some(error) = result.errors.first() {
            return Err(fail(error.column, format!("`{one_line}`: {}", error.message)));
        }
        let Some(requirement) = result.requirements.into_iter().next() else {
            return Err(fail(1, format!("`{one_line}`: expected a PEP 508 requirement")));
        };
        let marker = match &requirement.marker {
            Some(marker) => MarkerTree::from_str(marker)
                .map_err(|e| fail(requirement.column, format!("`{one_line}`: invalid marker: {e}")))?,
            None => MarkerTree::default(),
        };
        parsed.push(Dependency { requirement, text: one_line.trim().to_owned(), marker, source });
    }
    Ok(parsed)
}

/// Whether a `Metadata-Version` is 2.2 or later, the first in which a field
/// not listed as `Dynamic` is reliable in an sdist (PEP 643).
fn reliable(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 2)
}

/// `requirement` for `extra` only: `req; extra == "e"`, its own marker kept.
fn for_extra(requirement: &str, extra: &str) -> String {
    match requirement.split_once(';') {
        Some((req, marker)) => format!("{}; ({}) and extra == \"{extra}\"", req.trim(), marker.trim()),
        None => format!("{}; extra == \"{extra}\"", requirement.trim()),
    }
}

/// The needs of a distribution from its index metadata file (when served)
/// and its sdist's files; `sdist` names the sdist in messages.
pub fn read(
    sdist: &str,
    metadata_file: Option<(&str, &str)>,
    files: &SdistFiles,
) -> Result<Metadata, MetadataError> {
    let mut fallbacks = Vec::new();
    let pyproject_file = format!("{sdist}!pyproject.toml");
    let pyproject = match &files.pyproject {
        Some(text) => Some(text.parse::<toml::Table>().map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |span| line_column(text, span.start));
            MetadataError {
                file: pyproject_file.clone(),
                line,
                column,
                message: format!("invalid TOML: {}", e.message()),
            }
        })?),
        None => None,
    };
    let setup_cfg = files.setup_cfg.as_deref().map(setup_cfg_options).unwrap_or_default();
    let setup_py = files.setup_py.as_deref();
    let mut run: Option<Vec<Dependency>> = None;
    if let Some((name, text)) = metadata_file {
        let fields = core_metadata(text);
        run = Some(dependencies(name, &fields.requires_dist, Source::MetadataFile)?);
    }
    if run.is_none()
        && let Some(text) = &files.pkg_info
    {
        let fields = core_metadata(text);
        if !reliable(&fields.version) {
            fallbacks.push(format!(
                "PKG-INFO is Metadata-Version {}: before 2.2 its Requires-Dist may be incomplete",
                fields.version
            ));
        } else if fields.dynamic.iter().any(|d| d == "requires-dist") {
            fallbacks.push("PKG-INFO lists Requires-Dist as Dynamic".to_owned());
        } else {
            run = Some(dependencies(&format!("{sdist}!PKG-INFO"), &fields.requires_dist, Source::PkgInfo)?);
        }
    }
    let table = |value: Option<&toml::Value>| value.and_then(toml::Value::as_table).cloned();
    let project = table(pyproject.as_ref().and_then(|p| p.get("project")));
    if run.is_none()
        && let Some(project) = &project
    {
        let dynamic = project
            .get("dynamic")
            .and_then(|d| d.as_array())
            .is_some_and(|d| d.iter().any(|v| v.as_str() == Some("dependencies")));
        if dynamic {
            fallbacks.push("pyproject.toml lists dependencies in [project] dynamic".to_owned());
        } else {
            let mut items = toml_strings(files, project.get("dependencies"), "dependencies");
            items.extend(extras(files, project.get("optional-dependencies"), "optional-dependencies"));
            run = Some(dependencies(&pyproject_file, &items, Source::ProjectDependencies)?);
        }
    }
    let tool = pyproject.as_ref().and_then(|p| p.get("tool")).and_then(|t| t.get("flit"));
    let flit = table(tool.and_then(|f| f.get("metadata")));
    if run.is_none()
        && project.is_none()
        && let Some(flit) = &flit
    {
        let mut items = toml_strings(files, flit.get("requires"), "requires");
        items.extend(extras(files, flit.get("requires-extra"), "requires-extra"));
        run = Some(dependencies(&pyproject_file, &items, Source::FlitMetadata)?);
    }
    let setup_py_install = setup_py.is_some_and(|text| passes_keyword(text, "install_requires"));
    let static_install = setup_cfg
        .install_requires
        .as_ref()
        .filter(|install| !install.iter().any(|(t, _)| t.starts_with("file:") || t.starts_with("attr:")));
    if setup_cfg.install_requires.is_some() && static_install.is_none() {
        fallbacks.push("setup.cfg install_requires is not static (file: or attr:)".to_owned());
    }
    if run.is_none()
        && !setup_py_install
        && let Some(install) = static_install
    {
        run = Some(dependencies(&format!("{sdist}!setup.cfg"), install, Source::InstallRequires)?);
    }
    if run.is_none()
        && let Some(egg_info) = &files.egg_info
    {
        let file = format!("{sdist}!{}/requires.txt", egg_info.dir);
        let items = egg_info_requires(egg_info.requires.as_deref().unwrap_or(""));
        run = Some(dependencies(&file, &items, Source::EggInfo)?);
    }
    if run.is_none()
        && let Some(install) = static_install
    {
        fallbacks.push("setup.py passes install_requires too, which may add to setup.cfg's".to_owned());
        run = Some(dependencies(&format!("{sdist}!setup.cfg"), install, Source::InstallRequires)?);
    }
    let build_system = build_system(&pyproject_file, pyproject.as_ref(), files)?;
    let setup_requires = match &setup_cfg.setup_requires {
        Some(setup) => Some(dependencies(&format!("{sdist}!setup.cfg"), setup, Source::SetupRequires)?),
        None => None,
    };
    let run = run.ok_or_else(|| {
        let mut why = fallbacks.clone();
        if files.pkg_info.is_none() && metadata_file.is_none() {
            why.push("no PKG-INFO and no index metadata file".to_owned());
        }
        if files.egg_info.is_none() {
            why.push("no egg-info".to_owned());
        }
        why.push("no static source gives them".to_owned());
        NeedsUnknown::NoStaticSource { reasons: why }
    });
    Ok(Metadata {
        build_system,
        setup_requires,
        has_setup_py: setup_py.is_some(),
        setup_py_setup_requires: setup_py.is_some_and(|text| passes_keyword(text, "setup_requires")),
        run,
        fallbacks,
    })
}

/// The requirements of a TOML table of extras (`{extra = [requirements]}`),
/// each for its extra only.
fn extras(files: &SdistFiles, value: Option<&toml::Value>, key: &str) -> Vec<(String, u32)> {
    let Some(table) = value.and_then(toml::Value::as_table) else { return Vec::new() };
    table
        .iter()
        .flat_map(|(extra, requirements)| {
            toml_strings(files, Some(requirements), key)
                .into_iter()
                .map(|(text, line)| (for_extra(&text, extra), line))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `[build-system]` of `pyproject` (the TOML of `file`), checked as pip checks it.
fn build_system(
    file: &str,
    pyproject: Option<&toml::Table>,
    files: &SdistFiles,
) -> Result<BuildSystem, MetadataError> {
    let mut system = BuildSystem { pyproject: pyproject.is_some(), ..BuildSystem::default() };
    let Some(table) = pyproject.and_then(|p| p.get("build-system")).and_then(toml::Value::as_table) else {
        return Ok(system);
    };
    let text = files.pyproject.as_deref().unwrap_or("");
    let at = |key: &str| {
        let (line, column) = line_column(text, text.find(key).unwrap_or(0));
        move |message: String| MetadataError { file: file.to_owned(), line, column, message }
    };
    system.table = true;
    system.requires =
        dependencies(file, &toml_strings(files, table.get("requires"), "requires"), Source::BuildSystem)?;
    system.backend = match table.get("build-backend") {
        None => None,
        Some(toml::Value::String(backend)) => Some(backend.clone()),
        Some(other) => {
            return Err(at("build-backend")(format!(
                "build-backend is a {}, expected a string",
                other.type_str()
            )));
        }
    };
    system.backend_path = match table.get("backend-path") {
        None => Vec::new(),
        // pip iterates what it finds: a string is its characters.
        Some(toml::Value::String(path)) => path.chars().map(String::from).collect(),
        Some(toml::Value::Array(entries)) => entries
            .iter()
            .map(|entry| {
                entry.as_str().map(str::to_owned).ok_or_else(|| {
                    at("backend-path")(format!(
                        "a backend-path entry is a {}, expected a string",
                        entry.type_str()
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(at("backend-path")(format!(
                "backend-path is a {}, expected a list of directories",
                other.type_str()
            )));
        }
    };
    Ok(system)
}

/// The run-time needs in a wheel's core metadata file (PEP 658/714), taken
/// as a stand-in for an sdist that says nothing static; `file` names it.
pub fn from_wheel_metadata(file: &str, text: &str) -> Result<Vec<Dependency>, MetadataError> {
    dependencies(file, &core_metadata(text).requires_dist, Source::WheelStandIn)
}

/// The needs a build backend gave ([`ask_backend`](super::hooks::ask_backend))
/// as dependencies. `sdist` names the sdist in messages; a requirement that
/// does not parse is located in the hook's answer
/// (`<sdist>!get_requires_for_build_wheel`, entry number as the line) or in
/// the `METADATA` it wrote.
pub fn from_hooks(sdist: &str, answer: &HookAnswer) -> Result<HookNeeds, MetadataError> {
    let build: Vec<(String, u32)> =
        answer.build.iter().zip(1..).map(|(requirement, entry)| (requirement.clone(), entry)).collect();
    let build = dependencies(&format!("{sdist}!get_requires_for_build_wheel"), &build, Source::BuildHook)?;
    let run = match &answer.run {
        Ok(requires) => Ok(dependencies(
            &format!("{sdist}!prepare_metadata_for_build_wheel METADATA"),
            requires,
            Source::MetadataHook,
        )?),
        Err(why) => Err(NeedsUnknown::Backend(why.clone())),
    };
    Ok(HookNeeds { build, run })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dependencies: &[Dependency]) -> Vec<String> {
        dependencies.iter().map(|d| format!("{} ({})", d.text, d.source)).collect()
    }

    #[test]
    fn metadata_file_comes_first_then_pkg_info() {
        let files = SdistFiles {
            pkg_info: Some("Metadata-Version: 2.2\nName: a\nRequires-Dist: c\n\nbody".to_owned()),
            pyproject: Some("[build-system]\nrequires = [\"setuptools>=45\", \"wheel\"]\n".to_owned()),
            ..SdistFiles::default()
        };
        let metadata_file = "Metadata-Version: 2.1\nRequires-Dist: b; python_version < \"3.8\"\n";
        let read_both = read("a-1.tar.gz", Some(("a.metadata", metadata_file)), &files).unwrap();
        assert_eq!(
            names(&read_both.run.unwrap()),
            ["b; python_version < \"3.8\" (Requires-Dist, index metadata file (PEP 658))"]
        );
        let system = &read_both.build_system;
        assert!(system.pyproject && system.table && system.backend.is_none());
        assert_eq!(names(&system.requires), ["setuptools>=45 (build-system)", "wheel (build-system)"]);
        let sdist_only = read("a-1.tar.gz", None, &files).unwrap();
        assert_eq!(names(&sdist_only.run.unwrap()), ["c (Requires-Dist, sdist PKG-INFO)"]);
    }

    #[test]
    fn dynamic_and_old_metadata_fall_back_and_say_why() {
        let files = SdistFiles {
            pkg_info: Some("Metadata-Version: 2.1\nRequires-Dist: c\n".to_owned()),
            setup_cfg: Some(
                "[metadata]\nname = a\n[options]\ninstall_requires =\n    d>=1\n    # comment\n    e; python_version<\"3.8\"\nsetup_requires = setuptools_scm\n".to_owned(),
            ),
            ..SdistFiles::default()
        };
        let metadata = read("a-1.tar.gz", None, &files).unwrap();
        assert_eq!(
            names(metadata.run.as_ref().unwrap()),
            ["d>=1 (setup.cfg install_requires)", "e; python_version<\"3.8\" (setup.cfg install_requires)"]
        );
        assert!(!metadata.build_system.pyproject && !metadata.build_system.table);
        assert_eq!(names(metadata.setup_requires.as_ref().unwrap()), ["setuptools_scm (setup_requires)"]);
        assert!(metadata.fallbacks[0].contains("Metadata-Version 2.1"), "{:?}", metadata.fallbacks);
        let dynamic = SdistFiles {
            pkg_info: Some("Metadata-Version: 2.2\nDynamic: Requires-Dist\n".to_owned()),
            pyproject: Some("[project]\nname = \"a\"\ndynamic = [\"dependencies\"]\n".to_owned()),
            ..SdistFiles::default()
        };
        let why = read("a-1.tar.gz", None, &dynamic).unwrap().run.unwrap_err().to_string();
        assert!(
            why.contains("Dynamic")
                && why.contains("[project] dynamic")
                && why.ends_with("no static source gives them"),
            "{why}"
        );
    }

    #[test]
    fn unknown_needs_say_every_reason_in_order() {
        let why = read("a-1.tar.gz", None, &SdistFiles::default()).unwrap().run.unwrap_err();
        assert_eq!(
            why.to_string(),
            "run-time dependencies unknown: no PKG-INFO and no index metadata file; no egg-info; no static source gives them"
        );
        let url = "https://index.example/a-1.0-py3-none-any.whl.metadata";
        let stand_in = NeedsUnknown::StandIn {
            why: Box::new(why.clone()),
            stand_in: StandInError::NotUtf8 { url: url.to_owned() },
        };
        assert_eq!(stand_in.to_string(), format!("{why}; {url} is not UTF-8"));
        let backend =
            NeedsUnknown::Backend(PrepareError::NoHook { backend: "flit_core.buildapi".to_owned() });
        let neither =
            NeedsUnknown::NorBackend { why: Box::new(stand_in.clone()), backend: Box::new(backend) };
        assert_eq!(
            neither.to_string(),
            format!(
                "{stand_in}; run-time dependencies unknown: the backend flit_core.buildapi has no prepare_metadata_for_build_wheel hook"
            )
        );
    }

    #[test]
    fn egg_info_flit_and_extras_are_static_sources() {
        use crate::archive::EggInfo;
        // setup.py passes install_requires: the egg-info setuptools wrote
        // wins over setup.cfg.
        let files = SdistFiles {
            pkg_info: Some("Metadata-Version: 2.1\n".to_owned()),
            setup_cfg: Some("[options]\ninstall_requires = old\n".to_owned()),
            setup_py: Some("setup(install_requires=deps, setup_requires=['scm'])".to_owned()),
            egg_info: Some(EggInfo {
                dir: "src/a.egg-info".into(),
                requires: Some("six\n[:python_version < \"3.8\"]\nimportlib-metadata\n".into()),
            }),
            ..SdistFiles::default()
        };
        let metadata = read("a-1.tar.gz", None, &files).unwrap();
        assert_eq!(
            names(metadata.run.as_ref().unwrap()),
            [
                "six (egg-info requires.txt, written when the sdist was made)",
                "importlib-metadata; python_version < \"3.8\" (egg-info requires.txt, written when the sdist was made)"
            ]
        );
        assert!(metadata.has_setup_py && metadata.setup_py_setup_requires);
        // An egg-info without requires.txt: nothing at run time.
        let bare = SdistFiles {
            egg_info: Some(EggInfo { dir: "c.egg-info".into(), requires: None }),
            ..SdistFiles::default()
        };
        assert!(read("c-1.tar.gz", None, &bare).unwrap().run.unwrap().is_empty());
        let flit = SdistFiles {
            pyproject: Some(
                "[build-system]\nrequires = [\"flit_core >=2,<3\"]\nbuild-backend = \"flit_core.buildapi\"\n\n[tool.flit.metadata]\nmodule = \"pep517\"\nrequires = [\"toml\", \"importlib_metadata;python_version<'3.8'\"]\n\n[tool.flit.metadata.requires-extra]\ntest = [\"pytest\"]\n".to_owned(),
            ),
            ..SdistFiles::default()
        };
        let metadata = read("pep517-0.9.1.tar.gz", None, &flit).unwrap();
        assert_eq!(
            metadata.run.unwrap().iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
            ["toml", "importlib_metadata;python_version<'3.8'", "pytest; extra == \"test\""]
        );
        assert_eq!(metadata.build_system.backend.as_deref(), Some("flit_core.buildapi"));
        let project = SdistFiles {
            pyproject: Some(
                "[project]\nname = \"a\"\ndependencies = [\"b\"]\n[project.optional-dependencies]\nfast = [\"c; os_name == 'posix'\"]\n".to_owned(),
            ),
            ..SdistFiles::default()
        };
        let run = read("a-1.tar.gz", None, &project).unwrap().run.unwrap();
        assert_eq!(
            run.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
            ["b", "c; (os_name == 'posix') and extra == \"fast\""]
        );
    }

    #[test]
    fn backend_path_is_read_as_pip_reads_it() {
        let with = |value: &str| SdistFiles {
            pyproject: Some(format!(
                "[build-system]\nrequires = []\nbuild-backend = \"flit_core.build_thyself\"\nbackend-path = {value}\n"
            )),
            ..SdistFiles::default()
        };
        let string = read("flit_core-2.3.0.tar.gz", None, &with("\".\"")).unwrap();
        assert_eq!(string.build_system.backend_path, ["."]);
        let list = read("a-1.tar.gz", None, &with("[\".\", \"tools\"]")).unwrap();
        assert_eq!(list.build_system.backend_path, [".", "tools"]);
        let error = read("a-1.tar.gz", None, &with("3")).unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("a-1.tar.gz!pyproject.toml", 4), "{error}");
        assert!(error.message.contains("expected a list of directories"), "{error}");
    }

    #[test]
    fn bad_requirements_are_located() {
        let files = SdistFiles {
            pyproject: Some("[build-system]\nrequires = [\n  \"ok\",\n  \"bad ==\",\n]\n".to_owned()),
            ..SdistFiles::default()
        };
        let error = read("a-1.tar.gz", None, &files).unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("a-1.tar.gz!pyproject.toml", 4), "{error}");
        let files = SdistFiles { pyproject: Some("[build-system\n".to_owned()), ..SdistFiles::default() };
        let error = read("a-1.tar.gz", None, &files).unwrap_err();
        assert_eq!(error.line, 1, "{error}");
        let marker = read(
            "a",
            Some(("a.metadata", "Metadata-Version: 2.1\nRequires-Dist: b; python_version <<< \"3\"\n")),
            &SdistFiles::default(),
        )
        .unwrap_err();
        assert_eq!((marker.file.as_str(), marker.line), ("a.metadata", 2), "{marker}");
    }
}
