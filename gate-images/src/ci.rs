//! Image references in CI configurations.
//!
//! - CircleCI: `jobs.*.docker[].image` and `executors.*.docker[].image`.
//! - GitHub Actions: `jobs.*.container` (a string or `{image:}`),
//!   `jobs.*.services.*` (a string or `{image:}`) and `jobs.*.steps[].uses: docker://…`.
//! - GitLab CI: `image` and `services` (strings or `{name:}`), at the top
//!   level and in every job or template (including `default`).
//!
//! A reference containing `$` (a CI variable or `${{ expression }}`) cannot
//! be resolved here and is reported as such.

use crate::scan::{Finding, Found, Kind};
use crate::yaml::Node;

/// Finds the image references of a parsed CI configuration.
pub fn find(kind: Kind, root: &Node) -> Vec<Finding> {
    let mut out = Vec::new();
    match kind {
        Kind::CircleCi => circleci(root, &mut out),
        Kind::GitHubActions => github(root, &mut out),
        Kind::GitLab => gitlab(root, &mut out),
        Kind::Dockerfile => {}
    }
    out
}

/// Records a scalar image reference; `skip` characters of prefix (`docker://`) are not part of it.
fn image(node: &Node, context: String, skip: usize, out: &mut Vec<Finding>) {
    let Some(text) = node.as_str() else {
        out.push(Finding::Malformed {
            line: node.line,
            column: node.column,
            message: format!("{context}: expected an image reference string"),
        });
        return;
    };
    let text = text.get(skip..).unwrap_or_default();
    let found = Found {
        text: text.to_owned(),
        line: node.line,
        column: node.column.saturating_add(u32::try_from(skip).unwrap_or(u32::MAX)),
        context,
    };
    if text.contains('$') {
        let variable = text.to_owned();
        out.push(Finding::Unresolved { found, variable });
    } else {
        out.push(Finding::Image(found));
    }
}

/// A string, or a mapping whose `key` is the string.
fn image_or_map(node: &Node, key: &str, context: String, out: &mut Vec<Finding>) {
    if node.as_str().is_some() {
        image(node, context, 0, out);
    } else if let Some(inner) = node.get(key) {
        image(inner, format!("{context}.{key}"), 0, out);
    } else if node.as_seq().is_some() || !node.entries().is_empty() {
        out.push(Finding::Malformed {
            line: node.line,
            column: node.column,
            message: format!("{context}: expected an image reference or a mapping with `{key}`"),
        });
    }
}

/// `(name, value)` for each string key of a mapping.
fn named(node: &Node) -> impl Iterator<Item = (&str, &Node)> {
    node.entries().into_iter().filter_map(|(k, v)| Some((k.as_str()?, v)))
}

fn circleci(root: &Node, out: &mut Vec<Finding>) {
    for section in ["jobs", "executors"] {
        let Some(jobs) = root.get(section) else { continue };
        for (job, body) in named(jobs) {
            let Some(docker) = body.get("docker") else { continue };
            for (i, entry) in docker.as_seq().unwrap_or_default().iter().enumerate() {
                if let Some(node) = entry.get("image") {
                    image(node, format!("{section}.{job}.docker[{i}].image"), 0, out);
                }
            }
        }
    }
}

fn github(root: &Node, out: &mut Vec<Finding>) {
    let Some(jobs) = root.get("jobs") else { return };
    for (job, body) in named(jobs) {
        if let Some(container) = body.get("container") {
            image_or_map(container, "image", format!("jobs.{job}.container"), out);
        }
        if let Some(services) = body.get("services") {
            for (service, spec) in named(services) {
                image_or_map(spec, "image", format!("jobs.{job}.services.{service}"), out);
            }
        }
        let steps = body.get("steps").and_then(Node::as_seq).unwrap_or_default();
        for (i, step) in steps.iter().enumerate() {
            let Some(uses) = step.get("uses") else { continue };
            if uses.as_str().is_some_and(|u| u.starts_with("docker://")) {
                image(uses, format!("jobs.{job}.steps[{i}].uses"), "docker://".len(), out);
            }
        }
    }
}

fn gitlab(root: &Node, out: &mut Vec<Finding>) {
    let mut scopes: Vec<(String, &Node)> = vec![(String::new(), root)];
    scopes.extend(
        named(root).filter(|(name, _)| *name != "variables").map(|(name, body)| (format!("{name}."), body)),
    );
    for (prefix, scope) in scopes {
        if let Some(node) = scope.get("image") {
            image_or_map(node, "name", format!("{prefix}image"), out);
        }
        if let Some(services) = scope.get("services") {
            for (i, service) in services.as_seq().unwrap_or_default().iter().enumerate() {
                image_or_map(service, "name", format!("{prefix}services[{i}]"), out);
            }
        }
    }
}
