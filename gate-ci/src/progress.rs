//! What `--wait` shows while it polls: on a terminal one line redrawn in
//! place, elsewhere (CI logs, files) one plain line per poll.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where waiting progress goes: standard error by default.
#[derive(Clone)]
pub struct Progress {
    sink: Arc<Mutex<dyn Write + Send>>,
    terminal: bool,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("terminal", &self.terminal).finish_non_exhaustive()
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::stderr()
    }
}

impl Progress {
    /// Standard error, redrawn in place when it is a terminal.
    pub fn stderr() -> Self {
        Self { terminal: std::io::stderr().is_terminal(), sink: Arc::new(Mutex::new(std::io::stderr())) }
    }

    /// `sink`, redrawn in place when `terminal` is set.
    pub fn to(sink: impl Write + Send + 'static, terminal: bool) -> Self {
        Self { sink: Arc::new(Mutex::new(sink)), terminal }
    }

    /// Shows `line` as the current state: redrawn over the last one on a
    /// terminal, a line of its own elsewhere.
    pub(crate) fn update(&self, line: &str) {
        let line = printable(line);
        self.write(&if self.terminal { format!("\r\x1b[2K{line}") } else { format!("{line}\n") });
    }

    /// Shows `line` as the last state, ending the redrawn line.
    pub(crate) fn finish(&self, line: &str) {
        let line = printable(line);
        self.write(&if self.terminal { format!("\r\x1b[2K{line}\n") } else { format!("{line}\n") });
    }

    fn write(&self, text: &str) {
        // Progress is a courtesy: a closed stderr must not change the verdict.
        if let Ok(mut sink) = self.sink.lock() {
            let _ = sink.write_all(text.as_bytes());
            let _ = sink.flush();
        }
    }
}

/// `text` with control characters (from check names GitHub returned) escaped.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

/// A duration as people read it: `0.4s`, `12s`, `3m 05s`.
pub(crate) fn elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 10 {
        format!("{:.1}s", d.as_secs_f64())
    } else if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_terminal_gets_one_redrawn_line_and_a_log_plain_lines() {
        for (terminal, expected) in
            [(true, "\r\x1b[2Kone\r\x1b[2Ktwo\r\x1b[2Kdone\n"), (false, "one\ntwo\ndone\n")]
        {
            let buffer = Buffer::default();
            let progress = Progress::to(buffer.clone(), terminal);
            progress.update("one");
            progress.update("two");
            progress.finish("done");
            assert_eq!(String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap(), expected);
        }
    }

    #[test]
    fn control_characters_of_names_are_escaped() {
        assert_eq!(printable("lint\x1b[31m\r"), "lint\\u{1b}[31m\\r");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(elapsed(Duration::from_millis(420)), "0.4s");
        assert_eq!(elapsed(Duration::from_secs(12)), "12s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m 05s");
    }
}
