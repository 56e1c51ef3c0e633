//! `cargo xtask man`: release-check's man pages, generated with
//! `clap_mangen` from the same declarations as `--help`: `release-check.1`
//! and one page per subcommand (`release-check-publish.1`, …). The release
//! workflow puts them into every archive.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

/// Writes every page into `out_dir` (created if missing) and names each.
pub fn run(out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    for (name, page) in pages()? {
        let path: PathBuf = out_dir.join(&name);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("man: wrote {}", path.display());
    }
    Ok(())
}

/// Every page: (file name, roff text), the command's first. A subcommand's
/// page is named as clap displays it once built: `release-check-publish`.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut command = release_check::Cli::command();
    command.build();
    let mut pages = Vec::new();
    collect(&command, &mut pages)?;
    Ok(pages)
}

/// The page of `command`, then those of its visible subcommands.
fn collect(command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    let name = man.get_filename();
    let mut page = Vec::new();
    man.render(&mut page).with_context(|| format!("cannot render {name}"))?;
    pages.push((name, page));
    for subcommand in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(subcommand, pages)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_for_the_command_and_each_subcommand() {
        let pages = pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names[0], "release-check.1");
        for sub in release_check::Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
            let expected = format!("release-check-{}.1", sub.get_name());
            assert!(names.contains(&expected.as_str()), "{expected} in {names:?}");
        }
        let main = String::from_utf8(pages[0].1.clone()).unwrap();
        assert!(main.contains(".TH release-check 1"), "{main}");
        for flag in ["repo", "format", "list\\-gates", "explain"] {
            assert!(main.contains(&format!("\\-\\-{flag}")), "--{flag} in {main}");
        }
        let publish = pages.iter().find(|(name, _)| name == "release-check-publish.1").unwrap();
        let publish = String::from_utf8(publish.1.clone()).unwrap();
        assert!(publish.contains("\\-\\-post"), "{publish}");
    }

    #[test]
    fn run_writes_every_page() {
        let dir = std::env::temp_dir().join(format!("xtask-man-{}", std::process::id()));
        run(&dir).unwrap();
        let written = std::fs::read_dir(&dir).unwrap().count();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(written, pages().unwrap().len());
    }
}
