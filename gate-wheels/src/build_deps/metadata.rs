//! What a distribution needs, read statically, in order of trust: the core
//! metadata file the index serves (PEP 658/714), then the sdist's
//! `PKG-INFO` (Metadata 2.2 or later, `Requires-Dist` not dynamic),
//! `pyproject.toml` (`[project] dependencies` and `[build-system] requires`)
//! and static `setup.cfg` (`install_requires`, `setup_requires`).
//!
//! Every dependency says which of these it came from. When no static source
//! gives the run-time dependencies, [`Metadata::run`] of [`read`] is an error
//! with the reason; the last resort is then to ask the build backend itself,
//! in the target Python, through the PEP 517 hooks
//! ([`hooks`](super::hooks)): [`from_hooks`] turns its answer into
//! dependencies whose [`Source`] is [`Source::BuildHook`]
//! (`get_requires_for_build_wheel`: what building a wheel needs beyond the
//! build requirements, `setup_requires` of a `setup.py` included) or
//! [`Source::MetadataHook`] (`Requires-Dist` of the `METADATA` that
//! `prepare_metadata_for_build_wheel` wrote, computed by `setup.py` for that
//! interpreter).

use std::fmt;
use std::io::Read;
use std::str::FromStr as _;

use pep508_rs::MarkerTree;

use super::hooks::HookAnswer;
use crate::requirements::{self, Requirement};

/// Where a dependency was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The index's core metadata file, `Requires-Dist`.
    MetadataFile,
    /// The sdist's `PKG-INFO`, `Requires-Dist`.
    PkgInfo,
    /// `pyproject.toml`, `[project] dependencies`.
    ProjectDependencies,
    /// `pyproject.toml`, `[build-system] requires`.
    BuildSystem,
    /// `setup.cfg`, `[options] install_requires`.
    InstallRequires,
    /// `setup.cfg`, `[options] setup_requires`.
    SetupRequires,
    /// No `[build-system]`: PEP 517's default for a setuptools project.
    DefaultBackend,
    /// The PEP 517 hook `get_requires_for_build_wheel`, asked in the target
    /// Python ([`hooks`](super::hooks)).
    BuildHook,
    /// `Requires-Dist` of the `METADATA` the PEP 517 hook
    /// `prepare_metadata_for_build_wheel` wrote in the target Python.
    MetadataHook,
}

impl Source {
    /// Whether it is a need at build time (else at run time).
    pub fn is_build(self) -> bool {
        matches!(self, Self::BuildSystem | Self::SetupRequires | Self::DefaultBackend | Self::BuildHook)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MetadataFile => "Requires-Dist, index metadata file (PEP 658)",
            Self::PkgInfo => "Requires-Dist, sdist PKG-INFO",
            Self::ProjectDependencies => "pyproject.toml [project] dependencies",
            Self::BuildSystem => "build-system",
            Self::InstallRequires => "setup.cfg install_requires",
            Self::SetupRequires => "setup_requires",
            Self::DefaultBackend => "build-system default, no pyproject.toml",
            Self::BuildHook => "get_requires_for_build_wheel, PEP 517 hook",
            Self::MetadataHook => "Requires-Dist, prepare_metadata_for_build_wheel",
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

/// A distribution's needs.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// At build time.
    pub build: Vec<Dependency>,
    /// At run time; an error saying why when no static source gives them.
    pub run: Result<Vec<Dependency>, String>,
    /// Sources passed over, and why (a dynamic field, an old Metadata-Version).
    pub fallbacks: Vec<String>,
}

/// The files of an sdist that say what it needs, each as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdistFiles {
    /// `<top>/PKG-INFO`.
    pub pkg_info: Option<String>,
    /// `<top>/pyproject.toml`.
    pub pyproject: Option<String>,
    /// `<top>/setup.cfg`.
    pub setup_cfg: Option<String>,
}

/// Largest member of an sdist that is read.
const MAX_MEMBER: u64 = 4 * 1024 * 1024;

/// Most bytes an sdist may unpack to (a gzip bomb is refused).
pub(crate) const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;

/// Largest GNU long name or PAX extended header read.
const MAX_EXTENDED_HEADER: u64 = 64 * 1024;

/// One member of a tar archive, as its headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarMember {
    /// Its path, GNU and PAX long names resolved.
    pub path: String,
    /// The type flag: `b'0'` (or 0) a file, `b'5'` a directory, `b'2'` a
    /// symbolic link, `b'1'` a hard link, others special files.
    pub kind: u8,
    /// The permission bits.
    pub mode: u32,
    /// The declared size of its contents.
    pub size: u64,
    /// The target of a link, long link names resolved.
    pub link: String,
}

/// Walks the members of a `.tar.gz` named `name`, streaming: `visit` gets
/// each member with a reader of at most its declared size (what it leaves
/// unread is skipped) and returns whether to go on. Never allocates from a
/// declared size; refuses an archive that unpacks to more than `limit` bytes.
pub(crate) fn walk_tar(
    name: &str,
    bytes: &[u8],
    limit: u64,
    mut visit: impl FnMut(&TarMember, &mut dyn Read) -> Result<bool, String>,
) -> Result<(), String> {
    let mut reader = flate2::read::GzDecoder::new(bytes).take(limit);
    let mut header = [0u8; 512];
    let (mut long_name, mut long_link): (Option<String>, Option<String>) = (None, None);
    loop {
        if let Err(e) = reader.read_exact(&mut header) {
            if reader.limit() == 0 {
                return Err(format!("{name}: unpacks to more than {limit} bytes"));
            }
            return Err(format!("{name}: not a gzip-compressed tar archive, or truncated: {e}"));
        }
        if header.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let size =
            octal(&header[124..136]).ok_or_else(|| format!("{name}: a tar header's size is not octal"))?;
        let mode = octal(&header[100..108]).unwrap_or(0o644) as u32;
        let path = match long_name.take() {
            Some(path) => path,
            None if &header[257..262] == b"ustar" && header[345] != 0 => {
                format!("{}/{}", field_text(&header[345..500]), field_text(&header[0..100]))
            }
            None => field_text(&header[0..100]),
        };
        let link = long_link.take().unwrap_or_else(|| field_text(&header[157..257]));
        let kind = header[156];
        let mut member = (&mut reader).take(size);
        if matches!(kind, b'L' | b'K' | b'x' | b'g') {
            if size > MAX_EXTENDED_HEADER {
                return Err(format!("{name}: an extended header of {size} bytes before {path}"));
            }
            let mut text = Vec::new();
            member.read_to_end(&mut text).map_err(|e| format!("{name}: {e}"))?;
            match kind {
                b'L' => long_name = Some(field_text(&text)),
                b'K' => long_link = Some(field_text(&text)),
                b'x' => (long_name, long_link) = (pax_record(&text, "path"), pax_record(&text, "linkpath")),
                _ => {}
            }
        } else if !visit(&TarMember { path, kind, mode, size, link }, &mut member)? {
            return Ok(());
        }
        std::io::copy(&mut member, &mut std::io::sink()).map_err(|e| format!("{name}: {e}"))?;
        let padding = size.div_ceil(512) * 512 - size;
        std::io::copy(&mut (&mut reader).take(padding), &mut std::io::sink())
            .map_err(|e| format!("{name}: {e}"))?;
    }
}

/// Reads `PKG-INFO`, `pyproject.toml` and `setup.cfg` from the top
/// directory of a `.tar.gz` or `.zip` sdist, streaming, never trusting a
/// declared size for an allocation, and stopping when all three are read.
pub fn sdist_files(name: &str, bytes: &[u8]) -> Result<SdistFiles, String> {
    if name.ends_with(".zip") {
        return zip_sdist_files(name, bytes);
    }
    if !name.ends_with(".tar.gz") {
        return Err(format!("{name}: only .tar.gz and .zip sdists are read"));
    }
    let mut files = SdistFiles::default();
    walk_tar(name, bytes, MAX_UNPACKED, |member, contents| {
        let wanted = match member.path.split_once('/') {
            Some((_, "PKG-INFO")) => &mut files.pkg_info,
            Some((_, "pyproject.toml")) => &mut files.pyproject,
            Some((_, "setup.cfg")) => &mut files.setup_cfg,
            _ => return Ok(true),
        };
        if matches!(member.kind, b'0' | 0) && wanted.is_none() {
            if member.size > MAX_MEMBER {
                return Err(format!("{name}: {} is larger than {MAX_MEMBER} bytes", member.path));
            }
            let mut text = Vec::new();
            contents.read_to_end(&mut text).map_err(|e| format!("{name}: {e}"))?;
            *wanted = Some(
                String::from_utf8(text).map_err(|_| format!("{name}: {} is not UTF-8 text", member.path))?,
            );
        }
        Ok(files.pkg_info.is_none() || files.pyproject.is_none() || files.setup_cfg.is_none())
    })?;
    Ok(files)
}

/// [`sdist_files`] of a `.zip` sdist (older setuptools made them): each
/// wanted member is read through a limit, whatever size it declares.
fn zip_sdist_files(name: &str, bytes: &[u8]) -> Result<SdistFiles, String> {
    let bad = |e: zip::result::ZipError| format!("{name}: not a usable zip archive: {e}");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    let mut files = SdistFiles::default();
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(bad)?;
        let path = member.name().map_err(bad)?.into_owned();
        let wanted = match path.split_once('/') {
            Some((_, "PKG-INFO")) => &mut files.pkg_info,
            Some((_, "pyproject.toml")) => &mut files.pyproject,
            Some((_, "setup.cfg")) => &mut files.setup_cfg,
            _ => continue,
        };
        if wanted.is_some() || !member.is_file() {
            continue;
        }
        let mut text = Vec::new();
        (&mut member)
            .take(MAX_MEMBER + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("{name}: {path}: {e}"))?;
        if text.len() as u64 > MAX_MEMBER {
            return Err(format!("{name}: {path} is larger than {MAX_MEMBER} bytes"));
        }
        *wanted = Some(String::from_utf8(text).map_err(|_| format!("{name}: {path} is not UTF-8 text"))?);
    }
    Ok(files)
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn field_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]).into_owned()
}

/// The `keyword` record of a PAX extended header.
fn pax_record(bytes: &[u8], keyword: &str) -> Option<String> {
    String::from_utf8_lossy(bytes).lines().find_map(|record| {
        let (_, keyword_value) = record.split_once(' ')?;
        keyword_value.strip_prefix(keyword)?.strip_prefix('=').map(str::to_owned)
    })
}

/// The fields of a core metadata file (RFC 822 style headers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    /// `Metadata-Version`.
    pub version: String,
    /// Each `Requires-Dist` with its 1-based line.
    pub requires_dist: Vec<(String, u32)>,
    /// `Dynamic` fields, lowercase.
    pub dynamic: Vec<String>,
}

/// Reads the headers of a core metadata file, up to the first blank line.
pub fn core_metadata(text: &str) -> CoreMetadata {
    let mut fields = CoreMetadata::default();
    let mut last: Option<(String, String, u32)> = None;
    let take = |field: Option<(String, String, u32)>, fields: &mut CoreMetadata| {
        let Some((name, value, line)) = field else { return };
        match name.to_ascii_lowercase().as_str() {
            "metadata-version" => fields.version = value.trim().to_owned(),
            "requires-dist" => fields.requires_dist.push((value.trim().to_owned(), line)),
            "dynamic" => fields.dynamic.push(value.trim().to_ascii_lowercase()),
            _ => {}
        }
    };
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value, _)) = &mut last {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        take(last.take(), &mut fields);
        last = line.split_once(':').map(|(n, v)| (n.to_owned(), v.to_owned(), index as u32 + 1));
    }
    take(last, &mut fields);
    fields
}

/// Parses requirements given as `(text, line)` into dependencies from `source`.
fn dependencies(
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
        let result = requirements::parse(&one_line);
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

/// The needs of a distribution from its index metadata file (when served)
/// and its sdist's files; `sdist` names the sdist in messages.
pub fn read(
    sdist: &str,
    metadata_file: Option<(&str, &str)>,
    files: &SdistFiles,
) -> Result<Metadata, MetadataError> {
    let mut fallbacks = Vec::new();
    let pyproject = match &files.pyproject {
        Some(text) => Some(text.parse::<toml::Table>().map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |span| line_column(text, span.start));
            MetadataError {
                file: format!("{sdist}!pyproject.toml"),
                line,
                column,
                message: format!("invalid TOML: {}", e.message()),
            }
        })?),
        None => None,
    };
    let setup_cfg = files.setup_cfg.as_deref().map(setup_cfg_options).unwrap_or_default();
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
    let project = pyproject.as_ref().and_then(|p| p.get("project")).and_then(|p| p.as_table());
    if run.is_none()
        && let Some(project) = project
    {
        let dynamic = project
            .get("dynamic")
            .and_then(|d| d.as_array())
            .is_some_and(|d| d.iter().any(|v| v.as_str() == Some("dependencies")));
        if dynamic {
            fallbacks.push("pyproject.toml lists dependencies in [project] dynamic".to_owned());
        } else {
            let file = format!("{sdist}!pyproject.toml");
            run = Some(dependencies(
                &file,
                &toml_strings(files, project.get("dependencies"), "dependencies"),
                Source::ProjectDependencies,
            )?);
        }
    }
    if run.is_none()
        && let Some(install) = &setup_cfg.install_requires
    {
        if install.iter().any(|(text, _)| text.starts_with("file:") || text.starts_with("attr:")) {
            fallbacks.push("setup.cfg install_requires is not static (file: or attr:)".to_owned());
        } else {
            run = Some(dependencies(&format!("{sdist}!setup.cfg"), install, Source::InstallRequires)?);
        }
    }
    let build_system = pyproject.as_ref().and_then(|p| p.get("build-system")).and_then(|b| b.as_table());
    let mut build = match build_system {
        Some(table) => dependencies(
            &format!("{sdist}!pyproject.toml"),
            &toml_strings(files, table.get("requires"), "requires"),
            Source::BuildSystem,
        )?,
        None => dependencies("PEP 517", &[("setuptools>=40.8.0".to_owned(), 1)], Source::DefaultBackend)?,
    };
    if let Some(setup) = &setup_cfg.setup_requires {
        build.extend(dependencies(&format!("{sdist}!setup.cfg"), setup, Source::SetupRequires)?);
    }
    let run = run.ok_or_else(|| {
        let mut why = fallbacks.clone();
        if files.pkg_info.is_none() && metadata_file.is_none() {
            why.push("no PKG-INFO and no index metadata file".to_owned());
        }
        why.push("no static source gives them".to_owned());
        format!("run-time dependencies unknown: {}", why.join("; "))
    });
    Ok(Metadata { build, run, fallbacks })
}

/// The needs a build backend gave ([`ask_backend`](super::hooks::ask_backend))
/// as dependencies: in `build`, what `get_requires_for_build_wheel` adds to
/// the build requirements; in `run`, the `Requires-Dist` of
/// `prepare_metadata_for_build_wheel`, or why the backend could not say.
/// `sdist` names the sdist in messages; a requirement that does not parse is
/// located in the hook's answer (`<sdist>!get_requires_for_build_wheel`,
/// entry number as the line) or in the `METADATA` it wrote.
pub fn from_hooks(sdist: &str, answer: &HookAnswer) -> Result<Metadata, MetadataError> {
    let build: Vec<(String, u32)> =
        answer.build.iter().zip(1..).map(|(requirement, entry)| (requirement.clone(), entry)).collect();
    let build = dependencies(&format!("{sdist}!get_requires_for_build_wheel"), &build, Source::BuildHook)?;
    let run = match &answer.run {
        Ok(requires) => Ok(dependencies(
            &format!("{sdist}!prepare_metadata_for_build_wheel METADATA"),
            requires,
            Source::MetadataHook,
        )?),
        Err(why) => Err(format!("run-time dependencies unknown: {why}")),
    };
    Ok(Metadata { build, run, fallbacks: Vec::new() })
}

/// The strings of a TOML array, each with its line in `pyproject.toml`
/// (found by searching for the string after the key).
fn toml_strings(files: &SdistFiles, value: Option<&toml::Value>, key: &str) -> Vec<(String, u32)> {
    let text = files.pyproject.as_deref().unwrap_or("");
    let key_at = text.find(key).unwrap_or(0);
    value
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str())
                .map(|s| {
                    let at = text[key_at..].find(s).map_or(key_at, |n| key_at + n);
                    (s.to_owned(), line_column(text, at).0)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn line_column(text: &str, at: usize) -> (u32, u32) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let column = (at - before.rfind('\n').map_or(0, |n| n + 1)) as u32 + 1;
    (line, column)
}

/// `install_requires` and `setup_requires` of a `setup.cfg`'s `[options]`.
#[derive(Debug, Default)]
struct SetupCfgOptions {
    install_requires: Option<Vec<(String, u32)>>,
    setup_requires: Option<Vec<(String, u32)>>,
}

/// Reads the two keys of `[options]` (values on the key's line and on the
/// indented lines after it; `;`/`#` comment lines skipped).
fn setup_cfg_options(text: &str) -> SetupCfgOptions {
    let mut options = SetupCfgOptions::default();
    let mut section = String::new();
    let mut current: Option<&mut Vec<(String, u32)>> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let trimmed = line.trim();
        if line.starts_with([' ', '\t']) && !trimmed.is_empty() {
            if let Some(values) = current.as_deref_mut()
                && !trimmed.starts_with(['#', ';'])
            {
                values.push((trimmed.to_owned(), number));
            }
            continue;
        }
        current = None;
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        if section != "options" {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(['=', ':']) else { continue };
        let slot = match key.trim().replace('-', "_").as_str() {
            "install_requires" => &mut options.install_requires,
            "setup_requires" => &mut options.setup_requires,
            _ => continue,
        };
        let values = slot.insert(Vec::new());
        let value = value.trim();
        if !value.is_empty() {
            values.push((value.to_owned(), number));
        }
        current = Some(values);
    }
    options
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
            setup_cfg: None,
        };
        let metadata_file = "Metadata-Version: 2.1\nRequires-Dist: b; python_version < \"3.8\"\n";
        let read_both = read("a-1.tar.gz", Some(("a.metadata", metadata_file)), &files).unwrap();
        assert_eq!(
            names(&read_both.run.unwrap()),
            ["b; python_version < \"3.8\" (Requires-Dist, index metadata file (PEP 658))"]
        );
        assert_eq!(names(&read_both.build), ["setuptools>=45 (build-system)", "wheel (build-system)"]);
        let sdist_only = read("a-1.tar.gz", None, &files).unwrap();
        assert_eq!(names(&sdist_only.run.unwrap()), ["c (Requires-Dist, sdist PKG-INFO)"]);
    }

    #[test]
    fn dynamic_and_old_metadata_fall_back_and_say_why() {
        let files = SdistFiles {
            pkg_info: Some("Metadata-Version: 2.1\nRequires-Dist: c\n".to_owned()),
            pyproject: None,
            setup_cfg: Some(
                "[metadata]\nname = a\n[options]\ninstall_requires =\n    d>=1\n    # comment\n    e; python_version<\"3.8\"\nsetup_requires = setuptools_scm\n".to_owned(),
            ),
        };
        let metadata = read("a-1.tar.gz", None, &files).unwrap();
        assert_eq!(
            names(metadata.run.as_ref().unwrap()),
            ["d>=1 (setup.cfg install_requires)", "e; python_version<\"3.8\" (setup.cfg install_requires)"]
        );
        assert_eq!(
            names(&metadata.build),
            [
                "setuptools>=40.8.0 (build-system default, no pyproject.toml)",
                "setuptools_scm (setup_requires)"
            ]
        );
        assert!(metadata.fallbacks[0].contains("Metadata-Version 2.1"), "{:?}", metadata.fallbacks);
        let dynamic = SdistFiles {
            pkg_info: Some("Metadata-Version: 2.2\nDynamic: Requires-Dist\n".to_owned()),
            pyproject: Some("[project]\nname = \"a\"\ndynamic = [\"dependencies\"]\n".to_owned()),
            setup_cfg: None,
        };
        let why = read("a-1.tar.gz", None, &dynamic).unwrap().run.unwrap_err();
        assert!(
            why.contains("Dynamic")
                && why.contains("[project] dynamic")
                && why.ends_with("no static source gives them"),
            "{why}"
        );
    }

    #[test]
    fn bad_requirements_are_located() {
        let files = SdistFiles {
            pkg_info: None,
            pyproject: Some("[build-system]\nrequires = [\n  \"ok\",\n  \"bad ==\",\n]\n".to_owned()),
            setup_cfg: None,
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

    #[test]
    fn a_tar_larger_than_the_limit_is_refused() {
        use std::io::Write as _;
        let mut header = [0u8; 512];
        header[..7].copy_from_slice(b"a-1/big");
        header[124..136].copy_from_slice(b"00000020000\0");
        header[156] = b'0';
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&header).unwrap();
        gzip.write_all(&[b'x'; 8192]).unwrap();
        gzip.write_all(&[0; 1024]).unwrap();
        let archive = gzip.finish().unwrap();
        let mut seen = Vec::new();
        let mut read = |limit| {
            walk_tar("a-1.tar.gz", &archive, limit, |member, contents| {
                seen.push((
                    member.path.clone(),
                    member.size,
                    std::io::copy(contents, &mut std::io::sink()).unwrap(),
                ));
                Ok(true)
            })
        };
        let error = read(4096).unwrap_err();
        assert_eq!(error, "a-1.tar.gz: unpacks to more than 4096 bytes");
        read(1 << 20).unwrap();
        assert_eq!(seen[1], ("a-1/big".to_owned(), 8192, 8192));
    }

    #[test]
    fn a_zip_sdist_is_read_and_an_oversize_member_refused() {
        let zip = |members: &[(&str, &[u8])]| {
            let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            for (name, bytes) in members {
                writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
                std::io::Write::write_all(&mut writer, bytes).unwrap();
            }
            writer.finish().unwrap().into_inner()
        };
        let sdist = zip(&[
            ("old-1.0/PKG-INFO", b"Metadata-Version: 1.1\nName: old\n"),
            ("old-1.0/setup.cfg", b"[options]\ninstall_requires = six\n"),
            ("old-1.0/docs/setup.cfg", b"not this one"),
        ]);
        let files = sdist_files("old-1.0.zip", &sdist).unwrap();
        assert_eq!(files.setup_cfg.as_deref(), Some("[options]\ninstall_requires = six\n"));
        assert!(files.pkg_info.unwrap().starts_with("Metadata-Version: 1.1"));
        assert_eq!(files.pyproject, None);
        let huge = vec![b'#'; MAX_MEMBER as usize + 1];
        let sdist = zip(&[("old-1.0/pyproject.toml", &huge)]);
        let error = sdist_files("old-1.0.zip", &sdist).unwrap_err();
        assert!(error.contains("pyproject.toml is larger than"), "{error}");
    }

    #[test]
    fn garbage_is_not_an_sdist() {
        assert!(sdist_files("x.tar.gz", b"garbage").unwrap_err().contains("not a gzip"));
        assert!(sdist_files("x.zip", b"garbage").unwrap_err().contains("not a usable zip archive"));
        assert!(sdist_files("x.tar.bz2", b"").unwrap_err().contains("only .tar.gz and .zip"));
    }
}
