//! The end of a build's log: what a report shows of a command that failed.

use std::fs::File;
use std::path::Path;

/// How many lines of a failed build's log the report keeps.
pub const LOG_TAIL_LINES: usize = 40;

/// The last `lines` lines of `text`, or `None` when it is blank.
pub fn tail(text: &str, lines: usize) -> Option<String> {
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

/// The last [`LOG_TAIL_LINES`] lines of the log at `path`, read from at
/// most its last 64 KiB.
pub fn log_tail(path: &Path) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const MAX: u64 = 64 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
        let mut bytes = Vec::new();
        file.take(MAX).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => tail(&text, LOG_TAIL_LINES).unwrap_or_else(|| "(the log is empty)".to_owned()),
        Err(e) => format!("(cannot read the log {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2).as_deref(), Some("b\nc"));
        assert_eq!(tail("a\n", 40).as_deref(), Some("a"));
        assert_eq!(tail(" \n\n", 40), None);
    }
}
