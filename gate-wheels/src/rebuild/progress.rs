//! What the rebuild tells the person waiting for it, on standard error.
//!
//! On a terminal, an [`indicatif`] display: one line per wheel building
//! right now with its elapsed time, under an overall `n/N done` line, and
//! each finished job's line printed above them. Elsewhere (CI logs, tests),
//! plain lines, one when a job starts building and one when it is done.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The overall line: done so far, of all the jobs, and the time since the start.
const OVERALL: &str = "rebuild {pos}/{len} done [{bar:30}] {elapsed}";

/// A building job's line: its elapsed time, the wheel and the interpreter.
const BUILDING: &str = "  {spinner} {elapsed:>4} {msg}";

/// How often a building job's line is redrawn, for its elapsed time.
const TICK: Duration = Duration::from_millis(250);

/// The rebuild's progress display; shared by the jobs' threads.
pub struct Progress {
    kind: Kind,
}

enum Kind {
    /// Plain lines, each given to a printer.
    Lines(Box<dyn Fn(&str) + Send + Sync>),
    /// Progress bars.
    Bars {
        /// Every line on display.
        multi: MultiProgress,
        /// `n/N done`.
        overall: ProgressBar,
    },
}

/// A job building; its line disappears when this is dropped.
pub struct Building(Option<(MultiProgress, ProgressBar)>);

impl Drop for Building {
    fn drop(&mut self) {
        if let Some((multi, bar)) = self.0.take() {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
    }
}

/// A template, or indicatif's default when it is not one.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress {
    /// Bars when standard error is a terminal, else plain lines on it.
    pub fn stderr(jobs: usize) -> Self {
        if std::io::stderr().is_terminal() {
            Self::bars(jobs, ProgressDrawTarget::stderr())
        } else {
            // `eprintln!`, which tests capture.
            Self::lines(|line| eprintln!("{line}"))
        }
    }

    /// Plain lines, each given to `print`.
    pub fn lines(print: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self { kind: Kind::Lines(Box::new(print)) }
    }

    /// Bars of `jobs` jobs drawn to `target`.
    pub fn bars(jobs: usize, target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(jobs as u64).with_style(style(OVERALL)));
        overall.tick();
        Self { kind: Kind::Bars { multi, overall } }
    }

    /// Prints a line, above the bars when there are bars.
    fn line(&self, line: &str) {
        match &self.kind {
            Kind::Lines(print) => print(line),
            Kind::Bars { multi, .. } => {
                // A line that cannot be drawn is not worth failing a build for.
                let _ = multi.println(line);
            }
        }
    }

    /// The job `subject` starts building with `python` (`cpython 3.11.7`).
    pub fn building(&self, subject: &str, python: &str) -> Building {
        let what = format!("{subject}: building with {python}");
        match &self.kind {
            Kind::Bars { multi, .. } => {
                let bar =
                    multi.add(ProgressBar::new_spinner().with_style(style(BUILDING)).with_message(what));
                bar.enable_steady_tick(TICK);
                Building(Some((multi.clone(), bar)))
            }
            Kind::Lines(_) => {
                self.line(&format!("rebuild {what}"));
                Building(None)
            }
        }
    }

    /// The job `subject` is done (built, from the cache, or failed), after `took`.
    pub fn done(&self, subject: &str, reason: &str, took: Duration) {
        self.line(&format!("rebuild {subject}: {reason} ({:.1} s)", took.as_secs_f64()));
        if let Kind::Bars { overall, .. } = &self.kind {
            overall.inc(1);
        }
    }

    /// Every job is done: the overall line stays, saying so.
    pub fn finish(&self) {
        if let Kind::Bars { overall, .. } = &self.kind {
            overall.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A terminal that records what is drawn on it, line by line.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_owned());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.write_line(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        /// Whether a line drawn since `from` contains every one of `parts`.
        fn drew(&self, from: usize, parts: &[&str]) -> bool {
            self.0.lock().unwrap()[from..].iter().any(|line| parts.iter().all(|part| line.contains(part)))
        }

        fn lines(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }

    #[test]
    fn plain_lines_are_the_logs_lines() {
        let printed = Arc::new(Mutex::new(String::new()));
        let out = Arc::clone(&printed);
        let progress = Progress::lines(move |line| *out.lock().unwrap() += &format!("{line}\n"));
        let building = progress.building("localwheels/a-1-py3-none-any.whl@3.11", "cpython 3.11.7");
        drop(building);
        progress.done("localwheels/a-1-py3-none-any.whl@3.11", "reproducible", Duration::from_millis(35_740));
        progress.done("localwheels/b-1-py3-none-any.whl@3.11", "no pin", Duration::from_millis(4));
        progress.finish();
        assert_eq!(
            *printed.lock().unwrap(),
            "rebuild localwheels/a-1-py3-none-any.whl@3.11: building with cpython 3.11.7\n\
             rebuild localwheels/a-1-py3-none-any.whl@3.11: reproducible (35.7 s)\n\
             rebuild localwheels/b-1-py3-none-any.whl@3.11: no pin (0.0 s)\n"
        );
    }

    #[test]
    fn bars_show_what_is_building_and_how_much_is_done() {
        for template in [OVERALL, BUILDING] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
        let screen = Screen::default();
        let progress = Progress::bars(2, ProgressDrawTarget::term_like(Box::new(screen.clone())));
        assert!(screen.drew(0, &["rebuild 0/2 done"]));
        let a = progress.building("a.whl@3.11", "cpython 3.11.7");
        let b = progress.building("b.whl@3.9", "cpython 3.9.18");
        std::thread::sleep(TICK * 2);
        assert!(screen.drew(0, &["a.whl@3.11: building with cpython 3.11.7", "0s"]));
        assert!(screen.drew(0, &["b.whl@3.9: building with cpython 3.9.18"]));

        drop(a);
        progress.done("a.whl@3.11", "reproducible", Duration::from_secs(3));
        let after = screen.lines();
        std::thread::sleep(TICK * 2);
        assert!(screen.drew(after, &["b.whl@3.9: building"]), "b is still building");
        assert!(!screen.drew(after, &["a.whl@3.11: building"]), "a's line is gone");
        assert!(screen.drew(0, &["rebuild a.whl@3.11: reproducible (3.0 s)"]));
        assert!(screen.drew(0, &["rebuild 1/2 done"]));

        drop(b);
        progress.done("b.whl@3.9", "failed", Duration::from_secs(1));
        progress.finish();
        assert!(screen.drew(0, &["rebuild 2/2 done"]));
    }
}
