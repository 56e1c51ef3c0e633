//! Test support stays dev-only:
//! - no production source (the `src/` of a crate but test-support, xtask
//!   and the end-to-end tests) declares `pub mod testing` (or
//!   `pub mod test_support`), or has a `pub fn` in a module named `testing`
//!   or `test_support` that `#[cfg(test)]` does not gate;
//! - no manifest lists the test-support crate under `[dependencies]` or
//!   `[build-dependencies]` (a target's too): only `[dev-dependencies]`.
//!
//! Unlike the ratchets these have no known offenders: each one fails.

use std::path::Path;

/// The test-support crate's package name.
pub const PACKAGE: &str = "release-check-test-support";

/// The names of test-support modules.
const MODULES: [&str; 2] = ["testing", "test_support"];

/// Whether the rule over sources applies to `path`, a library file (see
/// `is_library`): not in the crates that are test support themselves.
pub fn applies_to(path: &str) -> bool {
    !["test-support/", "tests/", "xtask/"].iter().any(|crate_dir| path.starts_with(crate_dir))
}

/// What the production code `code` leaks, as (line, what): every
/// `pub mod testing` or `pub mod test_support`, and every `pub fn` of such a
/// module written inline, neither gated by `#[cfg(test)]`. Also the names
/// of the ungated modules declared as files (`mod testing;`), whose own
/// `pub fn`s the caller counts with [`pub_fns`].
pub fn leaks(code: &str) -> (Vec<(usize, String)>, Vec<String>) {
    let (mut found, mut files) = (Vec::new(), Vec::new());
    let mut gated = false;
    // The brace depth inside an ungated inline test-support module.
    let mut inside: Option<(String, i64)> = None;
    for (number, line) in code.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
        if let Some((module, depth)) = &mut inside {
            if is_pub_fn(line) {
                found.push((number, format!("`pub fn` in module `{module}` compiled into production code")));
            }
            *depth += braces(line);
            if *depth <= 0 {
                inside = None;
            }
            continue;
        }
        if line.starts_with("#[") {
            gated |= line == "#[cfg(test)]" || line.starts_with("#[cfg(all(test");
            continue;
        }
        let public = line.starts_with("pub ");
        let declaration = strip_visibility(line);
        if let Some(rest) = declaration.strip_prefix("mod ") {
            let name = rest.trim_end_matches([';', '{', ' ']);
            if MODULES.contains(&name) && !gated {
                if public {
                    found.push((number, format!("`pub mod {name}` compiled into production code")));
                }
                if rest.trim_end().ends_with(';') {
                    files.push(name.to_owned());
                } else {
                    let depth = braces(line);
                    if depth > 0 {
                        inside = Some((name.to_owned(), depth));
                    }
                }
            }
        }
        if !line.is_empty() && !line.starts_with("//") {
            gated = false;
        }
    }
    (found, files)
}

/// The lines of `code` that declare a `pub fn` (`pub const fn`, `pub async
/// fn` and `pub unsafe fn` too).
pub fn pub_fns(code: &str) -> Vec<usize> {
    code.lines().enumerate().filter(|(_, l)| is_pub_fn(l.trim())).map(|(n, _)| n + 1).collect()
}

fn is_pub_fn(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("pub ") else { return false };
    let rest = ["const ", "async ", "unsafe "].iter().fold(rest, |r, q| r.strip_prefix(*q).unwrap_or(r));
    rest.starts_with("fn ")
}

fn strip_visibility(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix("pub(")
        && let Some(close) = rest.find(')')
    {
        return rest[close + 1..].trim_start();
    }
    line.strip_prefix("pub ").unwrap_or(line)
}

fn braces(line: &str) -> i64 {
    let code = line.split("//").next().unwrap_or(line);
    code.matches('{').count() as i64 - code.matches('}').count() as i64
}

/// The names under which manifests may refer to the test-support crate:
/// its package name, and every key of the workspace manifest's
/// `[workspace.dependencies]` that names it.
pub fn aliases(workspace_manifest: &str) -> Vec<String> {
    let mut names = vec![PACKAGE.to_owned()];
    let mut section = String::new();
    for line in workspace_manifest.lines().map(str::trim) {
        if let Some(header) = table(line) {
            section = header;
        } else if section == "workspace.dependencies"
            && line.contains(&format!("\"{PACKAGE}\""))
            && let Some((key, _)) = line.split_once('=')
        {
            names.push(unquote(key.split('.').next().unwrap_or(key).trim()).to_owned());
        }
    }
    names
}

/// Where `manifest` lists the test-support crate (one of `aliases`) as
/// anything but a dev-dependency: (line, the table it is listed in).
pub fn listed_outside_dev(manifest: &str, aliases: &[String]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    // The current table, when it lists normal or build dependencies: its
    // name, and the dependency its header names (`[dependencies.name]`).
    let mut listing: Option<(String, Option<String>)> = None;
    for (number, line) in manifest.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
        if let Some(header) = table(line) {
            listing = non_dev_dependencies(&header).map(|named| (header, named));
            if let Some((header, Some(named))) = &listing
                && aliases.contains(named)
            {
                found.push((number, header.clone()));
            }
            continue;
        }
        let Some((header, named)) = &listing else { continue };
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = unquote(key.split('.').next().unwrap_or(key).trim());
        let names_it = value.contains(&format!("\"{PACKAGE}\""));
        let listed = match named {
            None => aliases.iter().any(|a| a == key) || names_it,
            Some(_) => key == "package" && names_it,
        };
        if listed {
            found.push((number, header.clone()));
        }
    }
    found
}

/// The name of the table a `[header]` line opens (`[[array]]` too).
fn table(line: &str) -> Option<String> {
    let line = line.split('#').next().unwrap_or(line).trim();
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(inner);
    Some(inner.trim().to_owned())
}

/// For a table's name: `Some` when it lists normal or build dependencies
/// (a target's too, not the workspace's), with the dependency it names
/// (`dependencies.name`), if any.
fn non_dev_dependencies(table: &str) -> Option<Option<String>> {
    let parts = dotted(table);
    let at = parts.iter().rposition(|p| p.ends_with("dependencies"))?;
    if !matches!(parts[at].as_str(), "dependencies" | "build-dependencies")
        || parts.first().is_some_and(|p| p == "workspace")
    {
        return None;
    }
    match &parts[at + 1..] {
        [] => Some(None),
        [name] => Some(Some(name.clone())),
        _ => None,
    }
}

/// A dotted TOML key split into its parts, quotes removed.
fn dotted(key: &str) -> Vec<String> {
    let (mut parts, mut part, mut quote) = (Vec::new(), String::new(), None);
    for c in key.chars() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            ('.', None) => parts.push(std::mem::take(&mut part).trim().to_owned()),
            (c, _) => part.push(c),
        }
    }
    parts.push(part.trim().to_owned());
    parts
}

fn unquote(key: &str) -> &str {
    key.trim_matches(|c| c == '"' || c == '\'')
}

/// The failures of both rules over the repository's `files`, read from `root`.
pub fn check(root: &Path, files: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
    let aliases = aliases(&read("Cargo.toml"));
    for path in files {
        if path == "Cargo.toml" || path.ends_with("/Cargo.toml") {
            for (line, table) in listed_outside_dev(&read(path), &aliases) {
                failures.push(format!(
                    "{path}:{line}: {PACKAGE} is listed under [{table}]: test support is dev-only, list it under [dev-dependencies]"
                ));
            }
        }
        if !super::is_library(path) || !applies_to(path) {
            continue;
        }
        let text = read(path);
        let (found, file_modules) = leaks(super::production(&text));
        for (line, what) in found {
            failures
                .push(format!("{path}:{line}: {what}: test support is dev-only (the test-support crate)"));
        }
        for module in file_modules {
            let module_path = super::module_path(root, path, &module);
            for line in pub_fns(super::production(&read(&module_path))) {
                failures.push(format!(
                    "{module_path}:{line}: `pub fn` in module `{module}` compiled into production code: test support is dev-only (the test-support crate)"
                ));
            }
        }
    }
    failures
}
