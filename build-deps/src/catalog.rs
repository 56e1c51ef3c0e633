//! Releases read from the index, each once per run: a project's page (by
//! the index client, which keeps it), then one release's sdist and what it
//! needs ([`metadata`](super::metadata)), memoised and read in parallel.
//!
//! When the sdist says nothing static about its run-time needs, the
//! `Requires-Dist` of a wheel of the same version that the index serves a
//! core metadata file for (PEP 658/714) stands in, preferring a pure-Python
//! wheel; the evidence says so.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use gate_core::{CancelToken, Item};
use pep508_rs::pep440_rs::Version;
use rayon::prelude::*;

use super::archive;
use super::index::{DistFile, Index, IndexError, ProjectPage};
use super::metadata::{self, Metadata, NeedsUnknown, StandInError};
use pip_requirements::normalise_name;

use crate::checks::Check;

/// One version of one distribution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Release {
    /// Normalised name.
    pub name: String,
    /// The version.
    pub version: Version,
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// What is read of one release.
#[derive(Debug)]
pub(crate) struct ReleaseInfo {
    /// The sdist analysed.
    pub sdist: DistFile,
    /// Its needs, or why they cannot be read (a `build-metadata` error).
    pub metadata: Result<Metadata, SdistError>,
}

/// Why an sdist's needs cannot be read; shared, as the needs are.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum SdistError {
    /// The sdist cannot be read.
    #[error(transparent)]
    Archive(Arc<archive::ArchiveError>),
    /// What it says does not parse.
    #[error(transparent)]
    Metadata(#[from] metadata::MetadataError),
}

impl From<archive::ArchiveError> for SdistError {
    fn from(error: archive::ArchiveError) -> Self {
        Self::Archive(Arc::new(error))
    }
}

/// A read release, shared; an error item when it cannot be read at all.
pub(crate) type Read = Arc<Result<ReleaseInfo, Box<Item>>>;

/// A page as read, or why it could not be.
type Page = Result<Arc<ProjectPage>, Box<Item>>;

/// What several threads may ask for at once: the first reads it, the others
/// wait for that answer.
type Once<T> = Mutex<HashMap<String, Arc<OnceLock<T>>>>;

/// The slot of `key` in `map`, made when missing.
fn slot<T>(map: &Once<T>, key: &str) -> Arc<OnceLock<T>> {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(map.entry(key.to_owned()).or_default())
}

/// The releases read so far, and how to read more. Each page and each
/// release is read once per run, however many target Pythons ask for it
/// at the same time; a page that could not be read is not asked again.
pub(crate) struct Catalog {
    pub index: Index,
    pool: rayon::ThreadPool,
    pages: Once<Page>,
    releases: Once<Read>,
    /// Projects whose page was PEP 503 HTML (no upload times).
    html: Mutex<BTreeSet<String>>,
}

/// The version of an sdist of project `name` from its file name
/// (`{name}-{version}.tar.gz` or `.zip`, the name in any spelling).
pub(crate) fn sdist_version(name: &str, filename: &str) -> Option<Version> {
    let stem = filename.strip_suffix(".tar.gz").or_else(|| filename.strip_suffix(".zip"))?;
    stem.match_indices('-')
        .find(|(at, _)| normalise_name(&stem[..*at]) == name)
        .and_then(|(at, _)| Version::from_str(&stem[at + 1..]).ok())
}

/// The version of a wheel of project `name` from its file name.
fn wheel_version(name: &str, filename: &str) -> Option<Version> {
    let stem = filename.strip_suffix(".whl")?;
    let mut parts = stem.split('-');
    let (project, version) = (parts.next()?, parts.next()?);
    (normalise_name(project) == name).then(|| Version::from_str(version).ok()).flatten()
}

impl Catalog {
    pub fn new(index: Index, pool: rayon::ThreadPool) -> Self {
        Self { index, pool, pages: Mutex::default(), releases: Mutex::default(), html: Mutex::default() }
    }

    /// The projects whose page was PEP 503 HTML, so without upload times.
    pub fn html_pages(&self) -> Vec<String> {
        self.html.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// The project pages of `names`, read in parallel.
    pub fn pages(&self, names: &[String], cancel: &CancelToken) -> Vec<Page> {
        self.pool.install(|| {
            names
                .par_iter()
                .map(|name| {
                    slot(&self.pages, name)
                        .get_or_init(|| {
                            let page = self.index.project(name, cancel);
                            if let Ok(page) = &page
                                && !page.json
                            {
                                self.html.lock().unwrap_or_else(PoisonError::into_inner).insert(name.clone());
                            }
                            page.map_err(|e| Box::new(Check::Index.error(name, e.to_string())))
                        })
                        .clone()
                })
                .collect()
        })
    }

    /// Each release of `wanted` (with the sdist chosen for it), read in
    /// parallel, once per run.
    pub fn read(&self, wanted: &[(Release, DistFile, Arc<ProjectPage>)], cancel: &CancelToken) -> Vec<Read> {
        self.pool.install(|| {
            wanted
                .par_iter()
                .map(|(release, sdist, page)| {
                    let key = format!("{release} {}", sdist.url);
                    slot(&self.releases, &key)
                        .get_or_init(|| Arc::new(self.read_one(release, sdist, page, cancel)))
                        .clone()
                })
                .collect()
        })
    }

    /// The bytes of `sdist`, from the index (its cache first).
    pub fn sdist_bytes(&self, sdist: &DistFile, cancel: &CancelToken) -> Result<Vec<u8>, IndexError> {
        self.index.file(&sdist.url, sdist.sha256.as_deref(), cancel)
    }

    fn read_one(
        &self,
        release: &Release,
        sdist: &DistFile,
        page: &ProjectPage,
        cancel: &CancelToken,
    ) -> Result<ReleaseInfo, Box<Item>> {
        let subject = release.to_string();
        let (metadata_file, unread) = match &sdist.core_metadata {
            Some(hash) => {
                let url = format!("{}.metadata", sdist.url);
                match self.index.file(&url, hash.as_deref(), cancel).map(String::from_utf8) {
                    Ok(Ok(text)) => (Some((format!("{}.metadata", sdist.filename), text)), None),
                    Ok(Err(_)) => (None, Some(format!("the index metadata file {url} is not UTF-8"))),
                    Err(e) => (None, Some(format!("the index metadata file is unusable: {e}"))),
                }
            }
            None => (None, None),
        };
        let bytes = self
            .sdist_bytes(sdist, cancel)
            .map_err(|e| Box::new(Check::Index.error(&subject, e.to_string())))?;
        let metadata =
            archive::read_sdist(&sdist.filename, &bytes).map_err(SdistError::from).and_then(|files| {
                let metadata_file = metadata_file.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
                Ok(metadata::read(&sdist.filename, metadata_file, &files)?)
            });
        let metadata = metadata.map(|mut metadata| {
            metadata.fallbacks.splice(0..0, unread);
            if let Err(why) = &metadata.run {
                match self.wheel_stand_in(release, page, cancel) {
                    Ok(Some((wheel, run))) => {
                        metadata.fallbacks.push(format!(
                            "{why}: the Requires-Dist of {wheel}.metadata (PEP 658), a wheel of the same version, stands in"
                        ));
                        metadata.run = Ok(run);
                    }
                    Ok(None) => {}
                    Err(stand_in) => {
                        metadata.run = Err(NeedsUnknown::StandIn { why: Box::new(why.clone()), stand_in })
                    }
                }
            }
            metadata
        });
        Ok(ReleaseInfo { sdist: sdist.clone(), metadata })
    }

    /// The run-time needs of a wheel of `release` whose core metadata file
    /// the index serves: a pure-Python wheel first.
    fn wheel_stand_in(
        &self,
        release: &Release,
        page: &ProjectPage,
        cancel: &CancelToken,
    ) -> Result<Option<(String, Vec<metadata::Dependency>)>, StandInError> {
        let mut wheels: Vec<&DistFile> = page
            .files
            .iter()
            .filter(|f| {
                f.core_metadata.is_some()
                    && wheel_version(&release.name, &f.filename).as_ref() == Some(&release.version)
            })
            .collect();
        wheels.sort_by_key(|f| !f.filename.ends_with("-none-any.whl"));
        let Some(wheel) = wheels.first() else { return Ok(None) };
        let url = format!("{}.metadata", wheel.url);
        let hash = wheel.core_metadata.as_ref().and_then(Option::as_deref);
        let text = self
            .index
            .file(&url, hash, cancel)
            .map_err(|source| StandInError::Unusable { wheel: wheel.filename.clone(), source })?;
        let text = String::from_utf8(text).map_err(|_| StandInError::NotUtf8 { url })?;
        let run = metadata::from_wheel_metadata(&format!("{}.metadata", wheel.filename), &text)?;
        Ok(Some((wheel.filename.clone(), run)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_file_names_in_any_spelling() {
        let v = |s: &str| Version::from_str(s).ok();
        assert_eq!(sdist_version("setuptools-scm", "setuptools_scm-7.0.4.tar.gz"), v("7.0.4"));
        assert_eq!(sdist_version("setuptools-scm", "setuptools-scm-6.4.2.tar.gz"), v("6.4.2"));
        assert_eq!(sdist_version("a", "a-1.0-py3-none-any.whl"), None);
        assert_eq!(sdist_version("a", "ab-1.0.tar.gz"), None);
        assert_eq!(wheel_version("cython", "Cython-0.29.22-cp39-cp39-manylinux1_x86_64.whl"), v("0.29.22"));
        assert_eq!(wheel_version("a", "a-1.0.tar.gz"), None);
    }
}
