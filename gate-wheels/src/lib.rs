//! The `wheels` gate: the Python wheels committed for a release are exactly
//! the ones their `sha256sums.txt` lists, byte for byte.
//!
//! With no configuration it recognises the two layouts of Debian-packaged
//! Python projects such as SecureDrop's: the flat one (`sha256sums.txt` with
//! `localwheels/`, `bootstrap-sha256sums.txt` with `bootstrap/`) and the
//! per-project one (`<project>/sha256sums.txt` with `<project>/wheels/`).
//! Wheels kept in Git LFS and not fetched are checked through their pointer
//! files, without downloading anything.

mod digest;
mod hashing;
mod layout;
pub mod lfs;
mod listing;
mod pins;
pub mod rebuild;
pub mod requirements;
pub mod signature;
pub mod sums;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use gate_core::{CheckInfo, Context, Evidence, Gate, GateOutcome, Item, Location, Severity, Status};
use hashing::Hashing;
use layout::{Repo, wheel_subject};
use listing::{Listing, Prelisting};
use serde::{Deserialize, Deserializer};

pub use digest::sha256_file;
pub use gate_core::digest::hex;
pub use layout::{PathError, WheelSet};

/// `[gates.wheels]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `enabled = false` turns the gate off: it does not run and the report
    /// lists it as off. Absent or `true`: the gate runs.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Sums files and the directories their names refer to. Empty: recognise
    /// the layout.
    #[serde(default)]
    pub set: Vec<WheelSet>,
    /// Largest sums file read, in bytes: from 1 to [`MAX_SUMS_BYTES_LIMIT`].
    #[serde(default = "default_max_sums_bytes", deserialize_with = "max_sums_bytes")]
    pub max_sums_bytes: u64,
    /// `[gates.wheels.rebuild]`: rebuild the wheels from source (opt-in).
    #[serde(default)]
    pub rebuild: Option<rebuild::Config>,
    /// `[gates.wheels.build-deps]`: build-dependency analysis (opt-in).
    #[serde(default)]
    pub build_deps: Option<build_deps::Config>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: None,
            set: Vec::new(),
            max_sums_bytes: default_max_sums_bytes(),
            rebuild: None,
            build_deps: None,
        }
    }
}

fn default_max_sums_bytes() -> u64 {
    16 * 1024 * 1024
}

/// The largest `max-sums-bytes` accepted: 1 GiB, far beyond any list of
/// wheels, and far from any overflow.
pub const MAX_SUMS_BYTES_LIMIT: u64 = 1 << 30;

/// `max-sums-bytes`, range-checked whatever integer is written.
fn max_sums_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct Bytes;
    fn out_of_range<E: serde::de::Error>(value: impl std::fmt::Display) -> E {
        E::custom(format!(
            "max-sums-bytes is {value}, expected a number of bytes from 1 to {MAX_SUMS_BYTES_LIMIT} (1 GiB)"
        ))
    }
    impl serde::de::Visitor<'_> for Bytes {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a number of bytes from 1 to {MAX_SUMS_BYTES_LIMIT} (1 GiB)")
        }
        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
            self.visit_i128(value.into())
        }
        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
            self.visit_u128(value.into())
        }
        fn visit_i128<E: serde::de::Error>(self, value: i128) -> Result<u64, E> {
            u128::try_from(value).map_err(|_| out_of_range(value)).and_then(|value| self.visit_u128(value))
        }
        fn visit_u128<E: serde::de::Error>(self, value: u128) -> Result<u64, E> {
            match u64::try_from(value) {
                Ok(bytes @ 1..=MAX_SUMS_BYTES_LIMIT) => Ok(bytes),
                _ => Err(out_of_range(value)),
            }
        }
    }
    deserializer.deserialize_u64(Bytes)
}

/// The gate.
#[derive(Debug, Clone, Default)]
pub struct WheelsGate {
    config: Config,
}

impl WheelsGate {
    /// A gate with the given configuration.
    pub fn new(config: Config) -> Self {
        Self { config }
    }
}

gate_core::check_catalogue! {
    /// The checks of the `wheels` gate but those of the rebuild and the build dependencies, in `--list-gates` order; the only way the gate builds their items.
    pub enum Check {
        SumsFile = "sums-file" {
            severity: Blocker,
            summary: "A configured sums file exists inside the repository, is a regular file (not a link, FIFO or device) and is not larger than `max-sums-bytes`; a wheel directory (`localwheels/`, `wheels/`, `<project>/wheels/`) holding wheels has a sums file listing them.",
            remedy: "Fix the path in [[gates.wheels.set]] or commit the sums file (and its signature).",
        },
        SumsSyntax = "sums-syntax" {
            severity: Blocker,
            summary: "Every line of the sums file is `<64 hex> <space or *><name>` with LF line endings.",
            remedy: "Regenerate the file with `sha256sum` and sign it again.",
        },
        SumsDuplicate = "sums-duplicate" {
            severity: Blocker,
            summary: "No file name is listed twice; a name listed with two different hashes is named with both lines.",
            remedy: "Keep one line per file; when the hashes differ, find out which wheel is the real one.",
        },
        SumsOrder = "sums-order" {
            severity: Warning,
            summary: "Entries are sorted in byte order by file name, so diffs of the signed file stay readable.",
            remedy: "Sort with `LC_ALL=C sort -k2` and sign again; set `\"wheels/sums-order\" = \"blocker\"` under [severity] to enforce.",
        },
        Signature = "signature" {
            severity: Blocker,
            summary: "The sums file's detached OpenPGP signature (`<sums>.asc`) verifies against a committed public key (`pubkeys/`), and the key was neither revoked nor expired when it signed.",
            remedy: "Re-sign the sums file with a current release key whose public key is committed under pubkeys/.",
        },
        SignatureExpiredKey = "signature-expired-key" {
            severity: Blocker,
            summary: "A good signature whose signing key has expired since: valid when made, no longer valid now.",
            remedy: "Renew the key (extend its expiry and commit the updated public key) or re-sign; or waive this item until a date.",
        },
        Pubkey = "pubkey" {
            severity: Blocker,
            summary: "Every file in the key directory is an OpenPGP public key (a private key is refused).",
            remedy: "Commit only public keys (`gpg --export --armor`); if a private key was committed, revoke it.",
        },
        Pin = "pin" {
            severity: Blocker,
            summary: "A requirement's `--hash` pins include the listed hash of its wheel (or, for a file that fetches sources, its sdist).",
            remedy: "Regenerate the requirements with hashes of the committed wheels (pip-compile --generate-hashes), or fix the wheel.",
        },
        PinSyntax = "pin-syntax" {
            severity: Blocker,
            summary: "Every line of a requirements file parses (PEP 508 requirement, markers, `--hash=sha256:<64 hex>`).",
            remedy: "Fix the line at the reported line and column.",
        },
        PinUnpinned = "pin-unpinned" {
            severity: Blocker,
            summary: "Every requirement is pinned to an exact `==` version with at least one `--hash`.",
            remedy: "Pin the version and add its hashes (pip-compile --generate-hashes).",
        },
        PinNoWheel = "pin-no-wheel" {
            severity: Blocker,
            summary: "Every pinned `name==version` has a wheel (or sdist) of that version in the sums file.",
            remedy: "Build and commit the wheel, list it in the sums file and sign again; or change the pin.",
        },
        PinHash = "pin-hash" {
            severity: Blocker,
            summary: "A pinned release is listed, but none of its pinned hashes is the listed one.",
            remedy: "Regenerate the hashes from the committed wheels, or find out which wheel is the real one.",
        },
        UnpinnedWheel = "unpinned-wheel" {
            severity: Warning,
            summary: "A listed wheel that no requirement pins.",
            remedy: "Pin it, or remove it from the sums file and the repository.",
        },
        Missing = "missing" {
            severity: Blocker,
            summary: "Every listed file exists in the wheels directory.",
            remedy: "Commit the wheel, or remove its line from the sums file and sign again.",
        },
        Unlisted = "unlisted" {
            severity: Blocker,
            summary: "Every file in the wheels directory is listed in the sums file (dot files are ignored).",
            remedy: "List the file in the sums file and sign again, or delete it.",
        },
        UnsafePath = "unsafe-path" {
            severity: Blocker,
            summary: "Listed names stay inside the wheels directory, the wheels directory stays inside the repository, and every listed wheel is a regular file: never a symbolic link, FIFO, socket or device.",
            remedy: "Commit the real file instead of a link; list plain file names only.",
        },
        Hash = "hash" {
            severity: Blocker,
            summary: "The file's SHA-256 (or its Git LFS pointer's oid) equals the listed hash.",
            remedy: "Find out which side changed: rebuild the wheel, or regenerate and re-sign the sums file.",
        },
    }
}

/// Every check of the gate: its own, the rebuild's and the build
/// dependencies', in `--list-gates` order.
const CHECKS: [CheckInfo; Check::ALL.len() + rebuild::Check::ALL.len() + build_deps::Check::ALL.len()] =
    gate_core::catalogue::concat(&[Check::ALL, rebuild::Check::ALL, build_deps::Check::ALL]);

/// The gate's name, the first part of its items' ids.
pub(crate) const NAME: &str = "wheels";

impl Gate for WheelsGate {
    fn name(&self) -> &'static str {
        NAME
    }

    fn verifies(&self) -> &'static str {
        "committed wheels match their signed sha256sums files"
    }

    fn checks(&self) -> &'static [CheckInfo] {
        &CHECKS
    }

    fn run(&self, ctx: &Context) -> GateOutcome {
        let mut outcome = GateOutcome::new();
        let repo = match Repo::new(&ctx.repo) {
            Ok(repo) => repo,
            Err(e) => {
                outcome.push(Check::SumsFile.error("", format!("cannot resolve the repository: {e}")));
                return outcome;
            }
        };
        ctx.working_on("looking for sums files and wheel directories");
        let (sets, note) = self.sets(&ctx.repo);
        outcome.note(note);
        if self.config.set.is_empty() {
            outcome.items.extend(uncovered_items(ctx, &repo, &sets));
        }
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(ctx.jobs.max(1)).build() {
            Ok(pool) => pool,
            Err(e) => {
                outcome.push(Check::SumsFile.error("", format!("could not start hashing threads: {e}")));
                return outcome;
            }
        };
        // A key directory's problems belong to the first set using it, so
        // that a sharded run reports them once.
        let mut first_user: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, set) in sets.iter().enumerate() {
            first_user.entry(set.pubkeys_dir()).or_insert(index);
        }
        // The requirements files depend on the sets alone: they are read and
        // parsed while the sums files are.
        let configured = !self.config.set.is_empty();
        let requirement_paths = match sets.iter().any(|set| ctx.wants(&set.sums)) {
            true => pins::files(&repo, &sets, configured),
            false => Vec::new(),
        };
        let reading = |path: &str| ctx.working_on(format!("reading {path}"));
        let prelistings: Vec<Prelisting> = sets.iter().map(|_| Prelisting::default()).collect();
        let check_sets = || {
            let mut keyrings: BTreeMap<&str, Option<Keyring>> = BTreeMap::new();
            let mut key_problems = Vec::new();
            let mut checked_sets: CheckedSets = Vec::new();
            let mut set_items: SetItems = Vec::new();
            for (index, set) in sets.iter().enumerate() {
                let dir = set.pubkeys_dir();
                if ctx.wants(&set.sums) && !keyrings.contains_key(dir) {
                    ctx.working_on(format!("reading the public keys in {dir}/"));
                    let (keys, problems) = keyring(&repo, ctx, dir);
                    if first_user.get(dir) == Some(&index) {
                        key_problems.extend(problems);
                    }
                    keyrings.insert(dir, keys);
                }
                let keys = keyrings.get(dir).and_then(Option::as_ref);
                let (items, entries, hashing) = self.check_set(ctx, &repo, set, keys, &prelistings[index]);
                set_items.push((items, hashing));
                checked_sets.push((set, entries));
            }
            (key_problems, set_items, checked_sets)
        };
        // The wheels are hashed as soon as the sums files are read, and the
        // pins are checked as soon as the sums and the requirements files
        // are both read (whichever reading ends last starts them): neither
        // waits for the other, and on more than one core they overlap.
        let start = PinStart {
            gate: self,
            ctx,
            sets: &sets,
            checked: OnceLock::new(),
            loaded: OnceLock::new(),
            readings_left: AtomicUsize::new(2),
            pinned: OnceLock::new(),
        };
        let mut items = std::mem::take(&mut outcome.items);
        pool.install(|| {
            rayon::scope(|scope| {
                // Spawned first, so taken first by a free thread: each wanted
                // wheels directory's listing, while this thread reads the
                // sums file that comes before it.
                for (set, prelisting) in sets.iter().zip(&prelistings) {
                    if ctx.wants(&set.sums) && set.outside_path().is_none() {
                        let repo = &repo;
                        scope.spawn(move |_| prelisting.make(repo, &set.wheels));
                    }
                }
                scope.spawn(|scope| {
                    let _ = start.loaded.set(pins::load(&repo, &requirement_paths, &reading));
                    start.one_read(scope);
                });
                let (key_problems, set_items, checked_sets) = check_sets();
                let checked_sets = start.checked.get_or_init(|| checked_sets);
                start.one_read(scope);
                // The gate's items are made in one list, in report order,
                // each wheel's written in place as it is hashed: a list of
                // 200,000 items grown, or copied from one list to another,
                // writes them to fresh memory each time. The room for the
                // pins that end it assumes a pin per entry, the usual case,
                // when there is a requirements file.
                let own: usize = set_items.iter().map(|(own, _)| own.len()).sum();
                let entries: usize = checked_sets.iter().map(|(_, entries)| entries.len()).sum();
                let pins = if requirement_paths.is_empty() { 0 } else { entries };
                items.reserve(key_problems.len() + own + entries + pins);
                items.extend(key_problems);
                for ((own, hashing), (set, entries)) in set_items.into_iter().zip(checked_sets) {
                    items.extend(own);
                    if let Some(hashing) = hashing {
                        hashing.extend_items(ctx, set, entries, &mut items);
                    }
                }
            })
        });
        outcome.items = items;
        let pinned = start.pinned.into_inner().unwrap_or_default();
        let checked_sets = start.checked.into_inner().unwrap_or_default();
        // Each wheel's rebuild belongs to the wheel's unit.
        if let Some(config) = &self.config.rebuild {
            ctx.working_on("preparing to rebuild the listed wheels from source");
            outcome.items.extend(rebuild::run(ctx, config, &checked_sets));
        }
        // The build-dependency analysis belongs to the unit of the first set,
        // or to a whole run when there is no set.
        let analyses = sets.first().map_or(ctx.units.is_none(), |first| ctx.wants(&first.sums));
        if let (Some(config), true) = (&self.config.build_deps, analyses) {
            ctx.working_on(format!(
                "analysing the build dependencies of {} and {}",
                config.requirements, config.build_requirements
            ));
            build_deps::run(ctx, config, &mut outcome);
        }
        let (notes, items) = pinned;
        for note in notes {
            outcome.note(note);
        }
        outcome.items.extend(items);
        outcome
    }

    /// One unit per set (its sums file: the set's own checks, signature,
    /// unlisted files and requirements pins) and one per listed wheel (its
    /// subject, `<wheels>/<name>`: whether it is present, its hash and, with
    /// `[gates.wheels.rebuild]`, its rebuilds).
    fn units(&self, ctx: &Context) -> Vec<String> {
        let (sets, _) = self.sets(&ctx.repo);
        let Ok(repo) = Repo::new(&ctx.repo) else { return Vec::new() };
        let mut units: Vec<String> = Vec::new();
        for set in &sets {
            units.push(set.sums.clone());
            if set.outside_path().is_some() {
                continue; // refused whole, by its sums file's unit
            }
            if let Ok(bytes) = repo.read(&set.sums, self.config.max_sums_bytes) {
                let names: BTreeSet<String> =
                    sums::parse(&bytes).entries.into_iter().map(|e| e.name).collect();
                units.extend(names.iter().map(|name| wheel_subject(set, name)));
            }
        }
        if self.config.set.is_empty() {
            // Wheels no sums file covers: their item belongs to the sums
            // file they need.
            units.extend(layout::uncovered(&repo, &sets).into_iter().map(|u| u.sums));
        }
        let mut seen = BTreeSet::new();
        units.retain(|unit| seen.insert(unit.clone()));
        units
    }
}

/// What one set's checks leave: its items and the wheels to hash.
type SetItems = Vec<(Vec<Item>, Option<Hashing>)>;

/// Each set with its parsed entries.
type CheckedSets<'a> = Vec<(&'a WheelSet, Vec<sums::Entry>)>;

/// What checking the pins waits for: the sums files' entries and the
/// requirements files, read on two threads; the last of the two readings
/// done starts the check, on the gate's pool.
struct PinStart<'a> {
    gate: &'a WheelsGate,
    ctx: &'a Context,
    sets: &'a [WheelSet],
    /// Each set's entries.
    checked: OnceLock<CheckedSets<'a>>,
    loaded: OnceLock<BTreeMap<String, pins::Loaded>>,
    readings_left: AtomicUsize,
    /// The notes and items of the pins.
    pinned: OnceLock<(Vec<String>, Vec<Item>)>,
}

impl<'a> PinStart<'a> {
    /// Called when one of the two readings is done: the second call starts
    /// checking the pins on `scope`.
    fn one_read<'s>(&'s self, scope: &rayon::Scope<'s>)
    where
        'a: 's,
    {
        if self.readings_left.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        scope.spawn(move |_| {
            if let (Some(checked_sets), Some(loaded)) = (self.checked.get(), self.loaded.get()) {
                let _ = self.pinned.set(self.gate.pin_items(self.ctx, loaded, self.sets, checked_sets));
            }
        });
    }
}

/// A key directory's keys, or why the directory was refused.
type Keyring = Result<Vec<signature::PublicKey>, PathError>;

/// Largest signature file read.
const MAX_SIGNATURE_BYTES: u64 = 1024 * 1024;

/// The keys of the key directory `dir` (`None` when it does not exist) and
/// its problems. A directory leading outside the repository is refused, and
/// a key file that is not a regular file (never opened: `read_bounded`
/// checks first) is an error, not a mere bad key.
fn keyring(repo: &Repo, ctx: &Context, dir: &str) -> (Option<Keyring>, Vec<Item>) {
    match repo.dir(dir) {
        Err(PathError::Missing { .. }) => (None, Vec::new()),
        Err(e) => {
            let item = Check::Pubkey.error(dir, e.to_string()).at(Location::file(dir));
            (Some(Err(e)), vec![item])
        }
        Ok(_) => {
            let (keys, mut problems) = signature::load_keys(&ctx.repo, dir);
            for item in &mut problems {
                let metadata = std::fs::symlink_metadata(ctx.repo.join(&item.subject));
                if metadata.is_ok_and(|m| !m.file_type().is_file()) {
                    item.status = Status::Error;
                }
            }
            (Some(Ok(keys)), problems)
        }
    }
}

/// The signature item of a set: verified when a signature exists; missing
/// is a failure when there are keys to verify against, else a skip. A
/// signature file that cannot be read (a link, a FIFO, …) is an error
/// whether or not there are keys.
fn check_signature(repo: &Repo, ctx: &Context, set: &WheelSet, sums: &[u8], keys: Option<&Keyring>) -> Item {
    let signature_path = set.signature_path();
    let configured = set.signature.is_some() || set.pubkeys.is_some();
    let at = Location::file(&signature_path);
    let found = repo.has(&signature_path).then(|| repo.read(&signature_path, MAX_SIGNATURE_BYTES));
    let (keys, bytes) = match (keys, found) {
        (_, Some(Err(e))) => {
            return Check::Signature.error(&signature_path, format!("no usable signature: {e}")).at(at);
        }
        (Some(Err(refused)), _) => {
            return Check::Signature.error(&signature_path, format!("not verified: {refused}")).at(at);
        }
        (None, found) => {
            return match found.is_some() || configured {
                true => Check::Signature.fail(
                    &signature_path,
                    format!(
                        "no public keys to verify the signature with ({}/ is missing)",
                        set.pubkeys_dir()
                    ),
                ),
                false => Check::Signature.skipped(
                    &signature_path,
                    format!("not signed: no {signature_path} and no {}/ directory", set.pubkeys_dir()),
                ),
            }
            .at(at);
        }
        (Some(Ok(_)), None) => {
            return Check::Signature
                .fail(&signature_path, format!("no usable signature: {signature_path} does not exist"))
                .at(at);
        }
        (Some(Ok(keys)), Some(Ok(bytes))) => (keys, bytes),
    };
    signature::verify(
        signature::Signed {
            data_path: &set.sums,
            data: sums,
            signature_path: &signature_path,
            signature: &bytes,
        },
        keys,
        ctx.now,
    )
}

/// The error items of wheel directories that no sums file covers (see
/// [`layout::uncovered`]): wheels nobody lists are wheels nobody checks.
fn uncovered_items(ctx: &Context, repo: &Repo, sets: &[WheelSet]) -> Vec<Item> {
    layout::uncovered(repo, sets)
        .into_iter()
        .filter(|u| ctx.wants(&u.sums))
        .map(|u| {
            let reason = match &u.wheel_count {
                Ok(count) => format!(
                    "{}/ holds {count} wheel{} but no sums file lists {}: add {} (`sha256sum *.whl` in {}/), \
                     sign it as {}.asc with a key under pubkeys/ and commit both, or name the files in \
                     [[gates.wheels.set]]",
                    u.wheels,
                    if *count == 1 { "" } else { "s" },
                    if *count == 1 { "it" } else { "them" },
                    u.sums,
                    u.wheels,
                    u.sums,
                ),
                Err(e) => format!("{e}, and no sums file lists its wheels: add {}", u.sums),
            };
            Check::SumsFile.error(&u.sums, reason).at(Location::file(&u.wheels))
        })
        .collect()
}

impl WheelsGate {
    /// The configured sets, or the recognised ones, and a note saying which.
    fn sets(&self, repo: &Path) -> (Vec<WheelSet>, String) {
        let describe = |sets: &[WheelSet]| sets.iter().map(WheelSet::describe).collect::<Vec<_>>().join(", ");
        if !self.config.set.is_empty() {
            return (self.config.set.clone(), format!("configured sets: {}", describe(&self.config.set)));
        }
        match layout::recognise(repo) {
            Some((name, sets)) => {
                let note = format!("recognised the {name} layout: {}", describe(&sets));
                (sets, note)
            }
            None => (
                Vec::new(),
                "no sums file recognised (looked for sha256sums.txt, *-sha256sums.txt and <project>/sha256sums.txt with <project>/wheels/)".to_owned(),
            ),
        }
    }

    /// The notes and items of the requirements files' pins, for the sets
    /// this run wants.
    fn pin_items(
        &self,
        ctx: &Context,
        loaded: &BTreeMap<String, pins::Loaded>,
        sets: &[WheelSet],
        checked_sets: &[(&WheelSet, Vec<sums::Entry>)],
    ) -> (Vec<String>, Vec<Item>) {
        let (mut notes, mut items) = (Vec::new(), Vec::new());
        if !sets.iter().any(|set| ctx.wants(&set.sums)) {
            return (notes, items);
        }
        let associations = pins::associate(loaded, checked_sets, !self.config.set.is_empty());
        let mut files_by_set: BTreeMap<usize, Vec<&pins::Association>> = BTreeMap::new();
        for association in &associations {
            let sums = &checked_sets[association.set].0.sums;
            if !ctx.wants(sums) {
                continue;
            }
            if let Some(why) = &association.why {
                notes.push(format!("{} checked against {sums} ({why})", association.path));
            }
            files_by_set.entry(association.set).or_default().push(association);
        }
        for (set_index, files) in files_by_set {
            let (set, entries) = &checked_sets[set_index];
            let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
            ctx.working_on(format!("checking the pins of {} against {}", paths.join(", "), set.sums));
            gate_core::model::append(&mut items, pins::check(&files, set, entries));
        }
        (notes, items)
    }

    /// The items of `set` that this run wants ([`Context::wants`]): the
    /// set's own when its sums file is a wanted unit, and those of each
    /// wanted wheel; and the set's parsed entries.
    fn check_set(
        &self,
        ctx: &Context,
        repo: &Repo,
        set: &WheelSet,
        keys: Option<&Keyring>,
        prelisting: &Prelisting,
    ) -> (Vec<Item>, Vec<sums::Entry>, Option<Hashing>) {
        let sums_name = set.sums.clone();
        let whole = ctx.wants(&set.sums);
        let some_wheel = || ctx.units.iter().flatten().any(|u| u.starts_with(&wheel_subject(set, "")));
        if let Some((key, e)) = set.outside_path() {
            let item = Check::SumsFile.error(&sums_name, format!("[[gates.wheels.set]] {key}: {e}"));
            return (if whole { vec![item] } else { vec![] }, vec![], None);
        }
        ctx.working_on(format!("reading {sums_name}"));
        let (bytes, parsed) = match repo.read(&set.sums, self.config.max_sums_bytes) {
            Ok(bytes) => {
                let parsed = sums::parse(&bytes);
                (bytes, parsed)
            }
            Err(_) if !whole && !some_wheel() => return (vec![], vec![], None),
            Err(e) => {
                let reason = match e {
                    PathError::TooLarge { .. } => {
                        format!("{e} (max-sums-bytes): a sums file of that size is not a list of wheels")
                    }
                    e => e.to_string(),
                };
                return (
                    vec![Check::SumsFile.error(&sums_name, reason).at(Location::file(&sums_name))],
                    vec![],
                    None,
                );
            }
        };
        let mut items = Vec::new();
        if whole {
            ctx.working_on(format!("verifying {}", set.signature_path()));
            items.push(check_signature(repo, ctx, set, &bytes, keys));
        }
        // Hashed, not ordered: the first entries of each name are put in name
        // order once, below, from file order, which a sums file usually
        // already is and the sort then sees in one pass.
        let mut first_by_name: requirements::Map<&str, usize> =
            requirements::Map::with_capacity_and_hasher(parsed.entries.len(), Default::default());
        let mut duplicates = Vec::new();
        let mut firsts: Vec<&sums::Entry> = Vec::with_capacity(parsed.entries.len());
        for entry in &parsed.entries {
            let Some(&first) = first_by_name.get(entry.name.as_str()) else {
                first_by_name.insert(&entry.name, firsts.len());
                firsts.push(entry);
                continue;
            };
            let first = firsts[first];
            let reason = if first.sha256 == entry.sha256 {
                format!("listed twice (lines {} and {})", first.line, entry.line)
            } else {
                format!("listed twice with different hashes (lines {} and {})", first.line, entry.line)
            };
            duplicates.push(
                Check::SumsDuplicate
                    .fail(wheel_subject(set, &entry.name), reason)
                    .at(Location::at(&sums_name, first.line, 1))
                    .at(Location::at(&sums_name, entry.line, 1))
                    .with(Evidence::hash("sha256", first.sha256.clone(), Some(entry.sha256.clone()))),
            );
        }
        // Whether the directory holds a regular file by each first entry's name.
        let mut regular = Vec::new();
        if whole {
            items.extend(parsed.errors.iter().map(|e| {
                Check::SumsSyntax
                    .fail(format!("{sums_name}:{}", e.line), e.message.clone())
                    .at(Location::at(&sums_name, e.line, e.column))
            }));
            items.extend(duplicates);
            items.extend(order_item(&parsed.entries, &sums_name));
            ctx.working_on(format!("listing {}/", set.wheels));
            let (unlisted, present) = unlisted_items(set, prelisting.get(repo, &set.wheels), &first_by_name);
            items.extend(unlisted);
            regular = present;
        }

        let mut entries: Vec<(usize, &sums::Entry)> = firsts
            .into_iter()
            .enumerate()
            .filter(|(_, e)| ctx.units.is_none() || ctx.wants(&wheel_subject(set, &e.name)))
            .collect();
        entries.sort_by(|(_, a), (_, b)| a.name.cmp(&b.name));
        // The directory is resolved once, inside the repository; each
        // wheel is then a plain name in it.
        let wheels_dir = match repo.dir(&set.wheels) {
            Ok(dir) => dir,
            Err(PathError::Missing { .. }) => ctx.repo.join(&set.wheels),
            Err(e) => {
                let reason = format!("not checked: {e}");
                items.extend(entries.iter().map(|(_, entry)| {
                    Check::Hash
                        .error(wheel_subject(set, &entry.name), reason.clone())
                        .with(Evidence::hash("sha256", entry.sha256.clone(), None))
                        .at(Location::at(&sums_name, entry.line, 1))
                }));
                return (items, parsed.entries, None);
            }
        };
        let listed =
            entries.iter().map(|&(i, e)| (e.line, regular.get(i).copied().unwrap_or(false))).collect();
        (items, parsed.entries, Some(Hashing { wheels_dir, listed }))
    }
}

/// The warning of a sums file not sorted in byte order, if it is not.
fn order_item(entries: &[sums::Entry], sums_name: &str) -> Option<Item> {
    let (before, after, count) = sums::order_inversions(entries)?;
    Some(
        Check::SumsOrder.fail(
            sums_name,
            format!(
                "not sorted in byte order by file name: {count} adjacent pair{} out of order, first `{}` before `{}`",
                if count == 1 { "" } else { "s" },
                before.name,
                after.name
            ),
        )
        .severity(Severity::Warning)
        .at(Location::at(sums_name, after.line, 1)),
    )
}

/// The files of the wheels directory that the sums file does not list, in
/// name order, and for each first entry of the sums file (by its number in
/// `listed`) whether the directory entry of its name says it is a regular
/// file (all `false` when the directory cannot be listed).
fn unlisted_items(
    set: &WheelSet,
    listing: Option<&Result<Listing, PathError>>,
    listed: &requirements::Map<&str, usize>,
) -> (Vec<Item>, Vec<bool>) {
    let at = Location::file(&set.wheels);
    let mut regular = vec![false; listed.len()];
    let Some(listing) = listing else {
        let reason = "the listing of the wheels directory did not finish";
        return (vec![Check::Missing.error(&set.wheels, reason).at(at)], regular);
    };
    match listing {
        Ok(listing) => {
            let mut unlisted: Vec<&str> = Vec::new();
            for (name, is_regular) in listing.files() {
                match listed.get(name) {
                    Some(&i) => regular[i] = is_regular,
                    None => unlisted.push(name),
                }
            }
            unlisted.sort_unstable();
            let items = unlisted
                .iter()
                .map(|name| {
                    Check::Unlisted
                        .fail(wheel_subject(set, name), format!("present but not listed in {}", set.sums))
                        .at(Location::file(wheel_subject(set, name)))
                })
                .collect();
            (items, regular)
        }
        Err(e @ PathError::Escapes { .. }) => {
            (vec![Check::UnsafePath.error(&set.wheels, e.to_string()).at(at)], vec![false; listed.len()])
        }
        Err(e) => (
            vec![Check::Missing.error(&set.wheels, format!("cannot list the wheels directory: {e}")).at(at)],
            vec![false; listed.len()],
        ),
    }
}

#[cfg(test)]
mod tests {
    use test_support::example;

    use super::*;

    /// Every item of a run, as `id status reason`, sorted.
    fn items(outcome: &GateOutcome) -> Vec<String> {
        let mut items: Vec<String> = outcome
            .items
            .iter()
            .map(|i| format!("{} {:?} {}", i.id_in("wheels"), i.status, i.reason))
            .collect();
        items.sort();
        items
    }

    /// The items of a whole run, and those of one run per unit put together.
    fn whole_and_by_unit(repo: &Path) -> (Vec<String>, Vec<String>) {
        let gate = WheelsGate::default();
        let ctx = Context::new(repo);
        let mut by_unit = Vec::new();
        for unit in gate.units(&ctx) {
            let ctx = Context { units: Some(BTreeSet::from([unit])), ..ctx.clone() };
            by_unit.extend(items(&gate.run(&ctx)));
        }
        by_unit.sort();
        (items(&gate.run(&ctx)), by_unit)
    }

    #[test]
    fn units_are_each_set_and_each_listed_wheel() {
        let units = WheelsGate::default().units(&Context::new(example("release-repo")));
        assert_eq!(
            units,
            [
                "sha256sums.txt",
                "localwheels/flit_core-3.9.0-py3-none-any.whl",
                "localwheels/rc_greeting-1.0.0-py3-none-any.whl",
                "localwheels/rc_stamp-2.1.0-py3-none-any.whl",
                "localwheels/rc_units-0.3.1-py3-none-any.whl",
            ]
        );
        let (whole, by_unit) = whole_and_by_unit(&example("release-repo"));
        assert_eq!(whole.len(), 9, "{whole:#?}");
        assert_eq!(by_unit, whole);
    }

    #[test]
    fn every_problem_is_reported_by_exactly_one_unit() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &[u8]| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let good = hex(&<sha2::Sha256 as sha2::Digest>::digest(b"b"));
        write("localwheels/b-1.0-py3-none-any.whl", b"b");
        write("localwheels/c-1.0-py3-none-any.whl", b"unlisted");
        write("bootstrap/d-1.0-py3-none-any.whl", b"changed");
        write("pubkeys/notes.txt", b"not a key");
        write(
            "sha256sums.txt",
            format!(
                "{good}  b-1.0-py3-none-any.whl\n{good}  a-1.0-py3-none-any.whl\n{good}  b-1.0-py3-none-any.whl\nnot a line\n"
            )
            .as_bytes(),
        );
        write("bootstrap-sha256sums.txt", format!("{good}  d-1.0-py3-none-any.whl\n").as_bytes());
        write("requirements.txt", format!("b==1.0 --hash=sha256:{good}\nunpinned\n").as_bytes());
        let (whole, by_unit) = whole_and_by_unit(dir.path());
        for expected in [
            "wheels/pubkey/pubkeys/notes.txt",
            "wheels/missing/localwheels/a-1.0-py3-none-any.whl",
            "wheels/unlisted/localwheels/c-1.0-py3-none-any.whl",
            "wheels/sums-duplicate/localwheels/b-1.0-py3-none-any.whl",
            "wheels/sums-syntax/sha256sums.txt:4",
            "wheels/sums-order/sha256sums.txt",
            "wheels/hash/bootstrap/d-1.0-py3-none-any.whl",
            "wheels/pin-unpinned/requirements.txt/unpinned",
            "wheels/unpinned-wheel/requirements.txt/a-1.0-py3-none-any.whl",
        ] {
            assert_eq!(
                whole.iter().filter(|i| i.starts_with(&format!("{expected} "))).count(),
                1,
                "{expected} in {whole:#?}"
            );
        }
        assert_eq!(by_unit, whole);
    }
}
