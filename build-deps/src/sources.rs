//! Parsers of the files that hold a distribution's needs: core metadata
//! headers, `setup.cfg`'s `[options]`, the `requires.txt` of an egg-info
//! directory, TOML arrays of requirements, and whether a `setup.py` passes a
//! keyword to `setup()`.

use super::archive::SdistFiles;

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

/// The strings of a TOML array, each with its line in `pyproject.toml`
/// (found by searching for the string after the key).
pub(crate) fn toml_strings(files: &SdistFiles, value: Option<&toml::Value>, key: &str) -> Vec<(String, u32)> {
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

/// The 1-based line and column of byte `at` of `text`.
pub(crate) fn line_column(text: &str, at: usize) -> (u32, u32) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let column = (at - before.rfind('\n').map_or(0, |n| n + 1)) as u32 + 1;
    (line, column)
}

/// `install_requires` and `setup_requires` of a `setup.cfg`'s `[options]`.
#[derive(Debug, Default)]
pub(crate) struct SetupCfgOptions {
    /// `install_requires`, each value with its line.
    pub install_requires: Option<Vec<(String, u32)>>,
    /// `setup_requires`, each value with its line.
    pub setup_requires: Option<Vec<(String, u32)>>,
}

/// Reads the two keys of `[options]` (values on the key's line and on the
/// indented lines after it; `;`/`#` comment lines skipped).
pub(crate) fn setup_cfg_options(text: &str) -> SetupCfgOptions {
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

/// The requirements of an egg-info `requires.txt`, each with its line:
/// the lines before any section, and those of the sections `[extra]`,
/// `[:marker]` and `[extra:marker]`, which setuptools writes for
/// `extras_require` and for markers, turned back into PEP 508 markers.
pub(crate) fn egg_info_requires(text: &str) -> Vec<(String, u32)> {
    let mut items = Vec::new();
    let (mut extra, mut marker) = (String::new(), String::new());
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let (e, m) = section.split_once(':').unwrap_or((section, ""));
            (extra, marker) = (e.trim().to_owned(), m.trim().to_owned());
            continue;
        }
        let condition = match (extra.is_empty(), marker.is_empty()) {
            (true, true) => String::new(),
            (true, false) => marker.clone(),
            (false, true) => format!("extra == \"{extra}\""),
            (false, false) => format!("({marker}) and extra == \"{extra}\""),
        };
        let requirement = match condition.is_empty() {
            true => line.to_owned(),
            false => format!("{line}; {condition}"),
        };
        items.push((requirement, index as u32 + 1));
    }
    items
}

/// Whether `setup_py` passes `keyword` to `setup()`: as a keyword argument
/// (`keyword=`) or a dictionary key (`"keyword":`), outside a line that
/// registers it as a setup keyword (setuptools' own `setup.py` lists
/// `keyword = setuptools.dist:…` entry points). A heuristic: `setup.py` is
/// code, and is never run.
pub(crate) fn passes_keyword(setup_py: &str, keyword: &str) -> bool {
    setup_py.lines().filter(|line| !line.contains("setuptools.dist:")).any(|line| {
        line.match_indices(keyword).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                return false;
            }
            let rest = line[at + keyword.len()..].trim_start_matches(['"', '\'']).trim_start();
            (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egg_info_sections_become_markers() {
        let text = "zipp>=0.5\n\n[:python_version < \"3.8\"]\ntyping-extensions>=3.6.4\n\n[testing]\npytest>=6\n\n[testing:platform_python_implementation != \"PyPy\"]\npytest-black>=0.3.7\n";
        assert_eq!(
            egg_info_requires(text),
            [
                ("zipp>=0.5".to_owned(), 1),
                ("typing-extensions>=3.6.4; python_version < \"3.8\"".to_owned(), 4),
                ("pytest>=6; extra == \"testing\"".to_owned(), 7),
                (
                    "pytest-black>=0.3.7; (platform_python_implementation != \"PyPy\") and extra == \"testing\""
                        .to_owned(),
                    10
                ),
            ]
        );
        assert!(egg_info_requires("").is_empty());
    }

    #[test]
    fn setup_py_keywords_are_found_but_not_their_registration() {
        assert!(passes_keyword("setup(\n    setup_requires=['setuptools_scm'],\n)", "setup_requires"));
        assert!(passes_keyword("args = {\"setup_requires\": deps}", "setup_requires"));
        assert!(passes_keyword("setup(setup_requires = SETUP)", "setup_requires"));
        // setuptools registers the keyword in its own setup.py.
        assert!(!passes_keyword(
            "            \"setup_requires         = setuptools.dist:check_requirements\",",
            "setup_requires"
        ));
        assert!(!passes_keyword("if setup_requires == []: pass", "setup_requires"));
        assert!(!passes_keyword("my_setup_requires = []", "setup_requires"));
        assert!(!passes_keyword("setup(install_requires=['six'])", "setup_requires"));
    }
}
