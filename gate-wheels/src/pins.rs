//! Which requirements files are checked against which sums file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gate_core::{Item, Location};

use crate::Check;
use crate::layout::{PathError, Repo, WheelSet};
use crate::requirements;
use crate::requirements::{Map, Set};
use crate::sums::Entry;

/// Requirements file names looked for at the root and beside each sums file.
const NAMES: [&str; 2] = ["requirements.txt", "build-requirements.txt"];

/// Largest requirements file read: room for a file pinning, with several
/// hashes each, every wheel of a sums file of the default `max-sums-bytes`.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A requirements file read and parsed, or the item saying why it could not
/// be read; shared by every set it is checked against.
pub type Loaded = std::sync::Arc<Result<requirements::RequirementsFile, Box<Item>>>;

/// A requirements file, read and parsed once, and the set it is checked against.
pub struct Association {
    /// The file, relative to the repository.
    pub path: String,
    /// Index of its set.
    pub set: usize,
    /// Why this set, when it was chosen by recognition.
    pub why: Option<String>,
    /// The parsed file, or the item saying why it could not be read.
    file: Loaded,
}

/// The directory of a set's sums file, relative to the repository.
fn sums_dir(set: &WheelSet) -> String {
    Path::new(&set.sums).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The requirements files whose pins are checked, sorted: those the
/// configured sets name, else the [`NAMES`] present at the root and beside
/// each sums file (anything by such a name, a link or a FIFO too: reading
/// it says why it is refused). They depend on the sets alone, not on what
/// the sums files list, so they are read while the sums files are.
pub fn files(repo: &Repo, sets: &[WheelSet], configured: bool) -> Vec<String> {
    let mut found = BTreeSet::new();
    if configured {
        found.extend(sets.iter().flat_map(|set| set.requirements.iter().cloned()));
    } else if !sets.is_empty() {
        for dir in std::iter::once(String::new()).chain(sets.iter().map(sums_dir)) {
            for name in NAMES {
                let path = if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") };
                if repo.has(&path) {
                    found.insert(path);
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Each of `paths` read and parsed, once; `reading` is told each path
/// before it is read.
pub fn load(repo: &Repo, paths: &[String], reading: &dyn Fn(&str)) -> BTreeMap<String, Loaded> {
    paths
        .iter()
        .map(|path| {
            reading(path);
            (path.clone(), Loaded::new(read(repo, path).map(|text| requirements::parse(&text))))
        })
        .collect()
}

/// Picks the set each of the `loaded` requirements files ([`files`],
/// [`load`]) is checked against.
///
/// Configured sets name their files. Otherwise each requirements file found
/// is checked against the set whose sums list most of its hashes (SecureDrop
/// 2022 keeps `build-requirements.txt` beside `sha256sums.txt` but pins the
/// wheels of `bootstrap-sha256sums.txt`), or, sharing none or unreadable,
/// the set in its own directory, so that its problems are reported there.
/// Its hashes are looked up in one index of all the sets' entries.
pub fn associate(
    loaded: &BTreeMap<String, Loaded>,
    sets: &[(&WheelSet, Vec<Entry>)],
    configured: bool,
) -> Vec<Association> {
    let file = |path: &str| match loaded.get(path) {
        Some(file) => Loaded::clone(file),
        None => Loaded::new(Err(Box::new(
            Check::PinSyntax
                .error(path, "not read: not among the requirements files found")
                .at(Location::file(path)),
        ))),
    };
    if configured {
        return sets
            .iter()
            .enumerate()
            .flat_map(|(i, (set, _))| {
                set.requirements.iter().map(move |r| Association {
                    path: r.clone(),
                    set: i,
                    why: None,
                    file: file(r),
                })
            })
            .collect();
    }
    if sets.is_empty() {
        return Vec::new();
    }
    // The first set in each sums file's directory, and, for each listed
    // hash, how many entries of each set list it: one pass over the lists.
    let mut set_of_dir: Map<String, usize> = Map::default();
    let mut sets_of_hash: Map<&str, Map<usize, usize>> = Map::default();
    for (i, (set, entries)) in sets.iter().enumerate() {
        set_of_dir.entry(sums_dir(set)).or_insert(i);
        for entry in entries {
            *sets_of_hash.entry(entry.sha256.as_str()).or_default().entry(i).or_default() += 1;
        }
    }
    loaded
        .iter()
        .map(|(path, file)| {
            let path = path.clone();
            let dir = Path::new(&path).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            let own = set_of_dir.get(&dir).copied().unwrap_or(0);
            let file = Loaded::clone(file);
            let Ok(parsed) = file.as_ref() else {
                return Association { path, set: own, why: None, file };
            };
            let pinned: Set<&str> = parsed.requirements.iter().flat_map(|r| r.sha256_hashes()).collect();
            // Only the sets sharing a hash are counted: a file costs its
            // own size, not the number of sets.
            let mut shared: Map<usize, usize> = Map::default();
            for counts in pinned.iter().filter_map(|hash| sets_of_hash.get(hash)) {
                for (&set, &count) in counts {
                    *shared.entry(set).or_default() += count;
                }
            }
            let (best, count) = shared
                .into_iter()
                .max_by_key(|&(i, count)| (count, std::cmp::Reverse(i)))
                .unwrap_or((own, 0));
            let (set, why) = if count > 0 {
                let verb = if count == 1 { "is" } else { "are" };
                (best, format!("{count} of its hashes {verb} listed there"))
            } else {
                (own, "none of its hashes is listed in any sums file".to_owned())
            };
            Association { path, set, why: Some(why), file }
        })
        .collect()
}

/// A requirements file's text, or the item saying why it cannot be read:
/// an error when it is refused or unreadable (a link, a FIFO, outside the
/// repository, too large), a failure when it is not UTF-8.
fn read(repo: &Repo, path: &str) -> Result<String, Box<Item>> {
    match repo.read(path, MAX_BYTES).map(String::from_utf8) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(_)) => Err(Box::new(Check::PinSyntax.fail(path, "not UTF-8 text").at(Location::file(path)))),
        Err(e) => {
            let reason = match e {
                PathError::Missing { .. } => format!("{e}: a configured requirements file must be committed"),
                e => e.to_string(),
            };
            Err(Box::new(Check::PinSyntax.error(path, reason).at(Location::file(path))))
        }
    }
}

/// The pin items of the requirements files checked against one set, its
/// entries indexed once for all of them. A wheel is `unpinned-wheel` only
/// when none of the files pins it: build tools and the application usually
/// sit in different files. A file that could not be read is its item.
pub fn check(files: &[&Association], set: &WheelSet, entries: &[Entry]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut parsed = Vec::new();
    for association in files {
        match association.file.as_ref() {
            Ok(file) => parsed.push((association.path.as_str(), file)),
            Err(item) => items.push(item.as_ref().clone()),
        }
    }
    gate_core::model::append(
        &mut items,
        requirements::check_files(&parsed, entries, &set.wheels, &set.sums, true),
    );
    items
}
