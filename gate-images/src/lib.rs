//! The `images` gate: every build image is pinned by digest, and the digest
//! CI uses is the one that was pushed.
//!
//! With no configuration it finds the image references of a repository:
//! every image BuildKit would pull for a Dockerfile (`Dockerfile`,
//! `*.Dockerfile`, `Dockerfile.*`, at most six levels deep): `# syntax`,
//! `FROM`, `COPY --from`, `RUN --mount=…,from=` and their `ONBUILD` forms
//! ([`dockerfile`]); and the images of CircleCI, GitHub Actions and GitLab CI
//! jobs. Each is parsed by the distribution reference grammar and must carry
//! a digest. A gate that finds none reports the error item `nothing-checked`.
//! Every file is read only when it is a regular file inside the repository
//! ([`scan::read_file`]). Beside that, each
//! `dockerfiles/<name>/image_hash` (SecureDrop's record of the digest it
//! pushed) must agree with the digest CI pins for that image. With
//! `check-registry = true`, each pinned digest must also exist in its
//! registry ([`registry`]).

pub mod ci;
pub mod dockerfile;
pub mod pushed;
pub mod reference;
pub mod registry;
pub mod scan;
pub mod tested;
pub mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use gate_core::{CancelToken, CheckInfo, Context, Evidence, Gate, GateOutcome, Item, Location, Status};
use serde::Deserialize;

pub use pushed::RecordConfig;
pub use reference::{ConfiguredImage, ImageRef, ReferenceError, TagOnly};
pub use scan::{Finding, Found, Kind, RepoPath};

/// `[gates.images]` in the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `enabled = false` turns the gate off: it does not run and the report
    /// lists it as off. Absent or `true`: the gate runs.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Images allowed to be referenced by tag only, each with the reason shown.
    #[serde(default)]
    pub allow_tags: Vec<AllowTag>,
    /// Which image each digest record file belongs to. Empty: every
    /// `dockerfiles/<name>/image_hash`, matched to CI references by the image
    /// it names or by `<name>`.
    #[serde(default)]
    pub record: Vec<RecordConfig>,
    /// The directory of the test records of the images CI runs in. None:
    /// [`tested::DEFAULT_DIR`], checked when it exists.
    #[serde(default)]
    pub test_records: Option<RepoPath>,
    /// Ask each pinned image's registry whether it has the digest (networked).
    #[serde(default)]
    pub check_registry: bool,
    /// Registries asked over plain HTTP instead of HTTPS (`host` or `host:port`).
    #[serde(default)]
    pub insecure_registries: Vec<registry::RegistryHost>,
}

/// `allow-tags = [{ image = "debian", reason = "…" }]`: a tag-only reference allowed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowTag {
    /// The image (`debian`, every tag) or image and tag (`debian:bookworm`).
    pub image: TagOnly,
    /// Why it need not be pinned; shown in the report.
    pub reason: String,
}

/// The gate.
#[derive(Debug, Clone, Default)]
pub struct ImagesGate {
    config: Config,
    registry: Option<registry::Options>,
}

impl ImagesGate {
    /// A gate with the given configuration.
    pub fn new(config: Config) -> Self {
        Self { config, registry: None }
    }

    /// Registry limits and credentials to use instead of the defaults and
    /// the environment's.
    pub fn with_registry_options(self, options: registry::Options) -> Self {
        Self { registry: Some(options), ..self }
    }
}

/// Where the gate looks for image references, and what to do when it finds none.
const NOTHING_TO_CHECK: &str = "looked for `# syntax`, `FROM`, `COPY --from`, `RUN --mount=…,from=` and `ONBUILD` \
     in Dockerfiles (`Dockerfile`, `*.Dockerfile`, `Dockerfile.*`, up to five directories below the root), and for \
     job images in `.github/workflows/*.yml`, `.circleci/config.yml` and `.gitlab-ci.yml`; if the repository \
     builds and runs no container images, turn the gate off with `[gates.images] enabled = false`";

gate_core::check_catalogue! {
    /// The checks of the `images` gate, in `--list-gates` order; the only way the gate builds an item.
    pub enum Check {
        Parse = "parse" {
            severity: Blocker,
            summary: "Every Dockerfile, CI configuration and image_hash file is readable, at most 1 MiB, and well-formed (YAML alias expansion is bounded).",
            remedy: "Fix the file at the reported line and column, or shrink it.",
        },
        ReferenceSyntax = "reference-syntax" {
            severity: Blocker,
            summary: "Every image reference follows the distribution reference grammar and names a known image (no variable without a value).",
            remedy: "Write the reference as `[registry/]path[:tag]@sha256:<64 lowercase hex>`; give an ARG used in FROM a default.",
        },
        Pinned = "pinned" {
            severity: Blocker,
            summary: "Every image reference carries a digest; a tag alone can be moved to another image.",
            remedy: "Append `@sha256:<digest>` of the image you tested, or allow the image under [gates.images] allow-tags with a reason.",
        },
        PushedDigest = "pushed-digest" {
            severity: Blocker,
            summary: "The digest CI pins for a build image is the one recorded as pushed (dockerfiles/<name>/image_hash).",
            remedy: "Update the CI pin or the record to the digest that was actually pushed; map records to images with [[gates.images.record]].",
        },
        InRegistry = "in-registry" {
            severity: Blocker,
            summary: "Each image pinned by digest exists in its registry, asked over the OCI distribution API (only with check-registry = true); an index's platforms are listed.",
            remedy: "Push the image or pin a digest that was pushed; when the registry could not be asked, check the network, the registry's status and RELEASE_CHECK_REGISTRY_* credentials.",
        },
        Tested = "tested" {
            severity: Blocker,
            summary: "Every digest CI runs in has a test record (an in-toto test-result Statement, <records>/<hex>.intoto.json) for that digest, and its result is PASSED.",
            remedy: "Test the image and record the outcome with `release-check image-test IMAGE@DIGEST -- COMMAND`, then commit the record; if it FAILED, fix the image or its tests first.",
        },
        TestedWarned = "tested-warned" {
            severity: Warning,
            summary: "The test record of a digest CI runs in says WARNED: the tests passed with warnings.",
            remedy: "Read the warned tests in the record; set `\"images/tested-warned\" = \"blocker\"` under [severity] to require PASSED.",
        },
    }
}

impl Gate for ImagesGate {
    fn name(&self) -> &'static str {
        "images"
    }

    fn verifies(&self) -> &'static str {
        "build images are pinned by digest, and CI uses the digest that was pushed"
    }

    fn checks(&self) -> &'static [CheckInfo] {
        Check::ALL
    }

    fn nothing_to_check(&self) -> String {
        NOTHING_TO_CHECK.to_owned()
    }

    fn run(&self, ctx: &Context) -> GateOutcome {
        let mut outcome = GateOutcome::new();
        ctx.working_on("looking for Dockerfiles and CI configuration files");
        let collected = collect(&ctx.repo, &ctx.cancel);
        outcome.notes.extend(collected.notes.iter().cloned());
        outcome.items.extend(collected.items.iter().cloned());
        outcome.items.extend(nothing_found(&collected));
        self.check_pins(&collected, &mut outcome);
        if ctx.cancel.is_cancelled() {
            outcome.push(Check::PushedDigest.error("", "cancelled"));
            return outcome;
        }
        ctx.working_on("reading image_hash files and test records");
        self.check_records(&ctx.repo, &collected, &mut outcome);
        self.check_tested(&ctx.repo, &collected, &ctx.cancel, &mut outcome);
        if self.config.check_registry {
            ctx.working_on(format!(
                "asking registries whether {} pinned image reference(s) exist",
                collected.references.len()
            ));
        }
        registry::check_references(
            &collected.references,
            &self.config,
            self.registry.as_ref(),
            ctx,
            &mut outcome,
        );
        outcome
    }
}

/// One image reference and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The file, relative to the repository.
    pub path: String,
    /// What kind of file it is.
    pub kind: Kind,
    /// The text and its position.
    pub found: Found,
    /// The parsed reference, or why it is invalid.
    pub image: Result<ImageRef, ReferenceError>,
}

impl Reference {
    /// Where the reference is written.
    pub fn location(&self) -> Location {
        Location::at(&self.path, self.found.line, self.found.column)
    }
}

/// Everything the gate read from a repository.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// Files that name images, by kind.
    pub files: Vec<(Kind, String)>,
    /// Every image reference, in file order.
    pub references: Vec<Reference>,
    /// Discovered `dockerfiles/<name>/image_hash` files.
    pub records: Vec<String>,
    /// `parse` items (one per file) and `reference-syntax` items for unresolvable references.
    pub items: Vec<Item>,
    /// What was recognised.
    pub notes: Vec<String>,
}

/// Finds and parses every file that names images in `repo`.
pub fn collect(repo: &Path, cancel: &CancelToken) -> Collected {
    let sources = scan::discover(repo, cancel);
    let mut collected = Collected { records: sources.records, ..Collected::default() };
    for (path, why) in &sources.refused {
        collected.items.push(Check::Parse.error(path, why).at(Location::file(path)));
    }
    if let Some(why) = &sources.truncated {
        collected
            .items
            .push(Check::Parse.error("", format!("the search for Dockerfiles stopped early: {why}")));
    }
    for (kind, path) in &sources.files {
        if cancel.is_cancelled() {
            collected.items.push(Check::Parse.error("", "cancelled"));
            break;
        }
        let text = match scan::read_file(repo, path) {
            Ok(text) => text,
            Err(e @ scan::ReadError::NotUtf8(_)) => {
                collected.items.push(Check::Parse.fail(path, e.to_string()).at(Location::file(path)));
                continue;
            }
            Err(e) => {
                collected.items.push(Check::Parse.error(path, e.to_string()).at(Location::file(path)));
                continue;
            }
        };
        let findings = match kind {
            Kind::Dockerfile => dockerfile::parse(&text),
            _ => match yaml::parse(&text) {
                Ok(Some(root)) => ci::find(*kind, &root),
                Ok(None) => Vec::new(),
                Err(e @ yaml::YamlError::Syntax { line, column, .. }) => {
                    collected
                        .items
                        .push(Check::Parse.fail(path, e.to_string()).at(Location::at(path, line, column)));
                    continue;
                }
                Err(e @ yaml::YamlError::Limit { line, column, .. }) => {
                    collected
                        .items
                        .push(Check::Parse.error(path, e.to_string()).at(Location::at(path, line, column)));
                    continue;
                }
            },
        };
        let mut images = 0usize;
        let mut problems = 0usize;
        for finding in findings {
            match finding {
                Finding::Image(found) => {
                    images += 1;
                    let image = reference::parse(&found.text);
                    collected.references.push(Reference { path: path.clone(), kind: *kind, found, image });
                }
                Finding::Unresolved { found, variable } => {
                    problems += 1;
                    collected.items.push(
                        Check::ReferenceSyntax
                            .fail(
                                subject(path, &found.text),
                                format!(
                                    "cannot tell which image `{}` is: `{variable}` has no value here",
                                    found.text
                                ),
                            )
                            .at(Location::at(path, found.line, found.column))
                            .with(Evidence::fact("written in", found.context)),
                    );
                }
                Finding::Malformed { line, column, message } => {
                    problems += 1;
                    collected.items.push(
                        Check::Parse
                            .fail(format!("{path}:{line}"), message)
                            .at(Location::at(path, line, column)),
                    );
                }
                Finding::Unreadable { line, column, message } => {
                    problems += 1;
                    collected.items.push(
                        Check::Parse
                            .error(
                                format!("{path}:{line}"),
                                format!("{message}; the rest of the file was not checked"),
                            )
                            .at(Location::at(path, line, column)),
                    );
                }
            }
        }
        if problems == 0 {
            collected.items.push(
                Check::Parse
                    .pass(path, format!("{} parsed: {images} image reference(s)", kind.label()))
                    .at(Location::file(path)),
            );
        }
        collected.files.push((*kind, path.clone()));
    }
    if !collected.files.is_empty() {
        let mut by_kind: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (kind, path) in &collected.files {
            by_kind.entry(kind.label()).or_default().push(path);
        }
        let described: Vec<String> =
            by_kind.iter().map(|(kind, paths)| format!("{kind}: {}", paths.join(", "))).collect();
        collected.notes.push(format!(
            "recognised {} image reference(s) in {}",
            collected.references.len(),
            described.join("; ")
        ));
    }
    collected
}

/// The `nothing-checked` error item of a gate that found no image reference
/// at all, unless an item already says why (a file that could not be read
/// or parsed).
fn nothing_found(collected: &Collected) -> Option<Item> {
    let explained =
        !collected.references.is_empty() || collected.items.iter().any(|i| i.status != Status::Pass);
    if explained {
        return None;
    }
    let found = if collected.files.is_empty() {
        "none of the files it reads exists".to_owned()
    } else {
        let paths: Vec<&str> = collected.files.iter().map(|(_, p)| p.as_str()).collect();
        format!("{} name no image", bounded_list(&paths))
    };
    Some(gate_core::runner::nothing_checked(format!(
        "the gate is enabled but found no image reference to check: {found}; {NOTHING_TO_CHECK}"
    )))
}

/// `path:text`, the text bounded so that hostile input cannot make huge ids.
fn subject(path: &str, text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{path}:{}…", &text[..cut]),
        None => format!("{path}:{text}"),
    }
}

/// `sha256:<hex>` as a hash piece of evidence.
fn hash_evidence(expected: &str, actual: Option<&str>) -> Evidence {
    let (algorithm, hex) = expected.split_once(':').unwrap_or(("sha256", expected));
    let actual = actual.map(|a| a.split_once(':').map_or(a, |(_, h)| h).to_owned());
    Evidence::hash(algorithm.to_owned(), hex, actual)
}

impl ImagesGate {
    /// The `pinned` and `reference-syntax` items: one per distinct text per file.
    fn check_pins(&self, collected: &Collected, outcome: &mut GateOutcome) {
        let mut groups: Vec<(&str, &str, Vec<&Reference>)> = Vec::new();
        let mut index: HashMap<(&str, &str), usize> = HashMap::new();
        for reference in &collected.references {
            let key = (reference.path.as_str(), reference.found.text.as_str());
            match index.get(&key) {
                Some(&i) => groups[i].2.push(reference),
                None => {
                    index.insert(key, groups.len());
                    groups.push((key.0, key.1, vec![reference]));
                }
            }
        }
        for (path, text, members) in groups {
            let Some(first) = members.first() else { continue };
            let subject = subject(path, text);
            let count = members.len();
            let places = if count == 1 { String::new() } else { format!(" ({count} places)") };
            let item = match &first.image {
                Err(e) => {
                    Check::ReferenceSyntax.fail(subject, format!("invalid image reference `{text}`: {e}"))
                }
                Ok(image) => match (&image.digest, &image.tag) {
                    (Some(_), Some(tag)) => Check::Pinned
                        .pass(subject, format!("pinned by digest{places}; the tag `{tag}` is informational")),
                    (Some(_), None) => Check::Pinned.pass(subject, format!("pinned by digest{places}")),
                    (None, tag) => {
                        let allow = self.config.allow_tags.iter().find(|a| {
                            let allowed = &a.image.0.image;
                            allowed.name() == image.name() && (allowed.tag.is_none() || allowed.tag == *tag)
                        });
                        match allow {
                            Some(allow) => Check::Pinned.pass(
                                subject,
                                format!("tag only{places}, allowed by allow-tags: {}", allow.reason),
                            ),
                            None => Check::Pinned.fail(
                                subject,
                                format!(
                                    "`{text}` is not pinned by digest{places}: the image behind a tag can change"
                                ),
                            ),
                        }
                    }
                },
            };
            let contexts: Vec<&str> = members.iter().map(|m| m.found.context.as_str()).collect();
            let mut item = item.with(Evidence::fact("written in", bounded_list(&contexts)));
            for member in members {
                item = item.at(member.location());
            }
            outcome.push(item);
        }
    }

    /// The `pushed-digest` items: one per record file.
    fn check_records(&self, repo: &Path, collected: &Collected, outcome: &mut GateOutcome) {
        let ci = ci_images(collected);
        let records: Vec<(String, Option<&RecordConfig>)> = if self.config.record.is_empty() {
            collected.records.iter().map(|p| (p.clone(), None)).collect()
        } else {
            self.config.record.iter().map(|r| (r.file.as_str().to_owned(), Some(r))).collect()
        };
        for (path, configured) in records {
            let text = match scan::read_file(repo, &path) {
                Ok(text) => text,
                Err(e) => {
                    outcome.push(Check::Parse.error(&path, e.to_string()).at(Location::file(&path)));
                    continue;
                }
            };
            let record = match pushed::parse(&text) {
                Ok(record) => record,
                Err(e) => {
                    outcome.push(Check::Parse.fail(&path, e.to_string()).at(Location::file(&path)));
                    continue;
                }
            };
            let recorded_at = Location::at(&path, record.line, record.column);
            let (candidates, how): (Vec<(&Reference, &ImageRef)>, String) = match configured {
                Some(config) => {
                    let wanted = &config.image.image;
                    let found = ci.iter().filter(|(_, i)| i.name() == wanted.name()).copied().collect();
                    (found, format!("configured as {}", wanted.name()))
                }
                None => {
                    let dir = path.split('/').nth(1).unwrap_or_default();
                    let by_name: Vec<_> = ci
                        .iter()
                        .filter(|(_, i)| pushed::matches_by_name(&record, dir, i))
                        .copied()
                        .collect();
                    if !by_name.is_empty() {
                        let how = match &record.named {
                            Some(named) => format!("{} (named in the file)", named.name()),
                            None => format!("repositories named `{dir}` or `…-{dir}`"),
                        };
                        (by_name, how)
                    } else {
                        let by_digest = ci
                            .iter()
                            .filter(|(_, i)| i.digest.as_deref() == Some(record.digest.as_str()))
                            .copied()
                            .collect();
                        (by_digest, "references pinned to the recorded digest".to_owned())
                    }
                }
            };
            if candidates.is_empty() {
                let reason = format!(
                    "no CI reference found for the image recorded in {path} ({how}); map it with [[gates.images.record]]"
                );
                let item = match configured {
                    Some(_) => Check::PushedDigest.fail(&path, reason),
                    None => Check::PushedDigest.warn(&path, reason),
                };
                outcome.push(item.with(hash_evidence(&record.digest, None)).at(recorded_at));
                continue;
            }
            outcome.note(format!("{path} ↔ {how}"));
            let wrong: Vec<&(&Reference, &ImageRef)> = candidates
                .iter()
                .filter(|(_, i)| i.digest.as_deref() != Some(record.digest.as_str()))
                .collect();
            let item = if wrong.is_empty() {
                let mut item = Check::PushedDigest
                    .pass(&path, format!("CI uses the recorded digest ({} place(s))", candidates.len()))
                    .with(hash_evidence(&record.digest, Some(&record.digest)))
                    .at(recorded_at);
                for (reference, _) in &candidates {
                    item = item.at(reference.location());
                }
                item
            } else {
                let described: Vec<String> = wrong
                    .iter()
                    .map(|(r, i)| {
                        format!("{} at {}", i.digest.as_deref().unwrap_or("no digest"), r.location())
                    })
                    .collect();
                let mut item = Check::PushedDigest
                    .fail(
                        &path,
                        format!("CI uses {}, but {path} records {}", described.join(", "), record.digest),
                    )
                    .at(recorded_at);
                for (reference, image) in wrong {
                    item = item
                        .with(hash_evidence(&record.digest, image.digest.as_deref()))
                        .at(reference.location());
                }
                item
            };
            outcome.push(item);
        }
    }
}

/// The valid image references of CI configurations (not Dockerfiles): the images CI runs in.
fn ci_images(collected: &Collected) -> Vec<(&Reference, &ImageRef)> {
    collected
        .references
        .iter()
        .filter(|r| r.kind != Kind::Dockerfile)
        .filter_map(|r| Some((r, r.image.as_ref().ok()?)))
        .collect()
}

/// Joins distinct values, at most ten of them.
fn bounded_list(values: &[&str]) -> String {
    const MAX: usize = 10;
    let mut distinct: Vec<&str> = Vec::new();
    for value in values {
        if !distinct.contains(value) {
            distinct.push(value);
        }
    }
    let shown = distinct.iter().take(MAX).copied().collect::<Vec<_>>().join(", ");
    match distinct.len().checked_sub(MAX) {
        Some(more) if more > 0 => format!("{shown} and {more} more"),
        _ => shown,
    }
}
