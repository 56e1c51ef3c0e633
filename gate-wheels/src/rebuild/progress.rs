//! What the rebuild tells the person waiting for it, on standard error.
//!
//! On a terminal, an [`indicatif`] display: an overall `n/N done` line and,
//! under it, one line per wheel building right now with its elapsed time;
//! each finished job's line is printed above. It is one progress bar whose
//! template renders the building jobs, so that a single thread redraws the
//! whole display. Elsewhere (CI logs, tests), plain lines, one when a job
//! starts building and one when it is done.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The display: done so far, of all the jobs, the time since the start,
/// then the jobs building.
const TEMPLATE: &str = "rebuild {pos}/{len} done [{bar:30}] {elapsed}{building}";

/// How often the display is redrawn, for its elapsed times.
const TICK: Duration = Duration::from_millis(250);

/// The jobs building now, by start order: what is built, and since when.
type Now = Arc<Mutex<BTreeMap<u64, (String, Instant)>>>;

/// The rebuild's progress display; shared by the jobs' threads.
pub struct Progress {
    kind: Kind,
}

enum Kind {
    /// Plain lines, each given to a printer.
    Lines(Box<dyn Fn(&str) + Send + Sync>),
    /// A progress bar.
    Bar {
        /// The display.
        bar: ProgressBar,
        /// What its `{building}` key shows.
        building: Now,
        /// The next job's number.
        next: AtomicU64,
    },
}

/// A job building; its line disappears when this is dropped.
pub struct Building<'a>(Option<(&'a Now, u64)>);

impl Drop for Building<'_> {
    fn drop(&mut self) {
        if let Some((building, job)) = self.0.take() {
            building.lock().unwrap_or_else(PoisonError::into_inner).remove(&job);
        }
    }
}

impl Progress {
    /// A bar when standard error is a terminal, else plain lines on it.
    pub fn stderr(jobs: usize) -> Self {
        if std::io::stderr().is_terminal() {
            Self::bar(jobs, ProgressDrawTarget::stderr())
        } else {
            // `eprintln!`, which tests capture.
            Self::lines(|line| eprintln!("{line}"))
        }
    }

    /// Plain lines, each given to `print`.
    pub fn lines(print: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self { kind: Kind::Lines(Box::new(print)) }
    }

    /// A bar of `jobs` jobs drawn to `target`.
    pub fn bar(jobs: usize, target: ProgressDrawTarget) -> Self {
        let building = Now::default();
        let shown = Arc::clone(&building);
        let show = move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
            for (what, since) in shown.lock().unwrap_or_else(PoisonError::into_inner).values() {
                let took = format!("{:#}", HumanDuration(since.elapsed()));
                let _ = write!(out, "\n  {took:>4} {what}");
            }
        };
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("building", show);
        let bar = ProgressBar::with_draw_target(Some(jobs as u64), target).with_style(style);
        bar.tick();
        bar.enable_steady_tick(TICK);
        Self { kind: Kind::Bar { bar, building, next: AtomicU64::new(0) } }
    }

    /// Prints a line, above the bar when there is one.
    fn line(&self, line: &str) {
        match &self.kind {
            Kind::Lines(print) => print(line),
            Kind::Bar { bar, .. } => bar.println(line),
        }
    }

    /// The job `subject` starts building with `python` (`cpython 3.11.7`).
    pub fn building(&self, subject: &str, python: &str) -> Building<'_> {
        let what = format!("{subject}: building with {python}");
        match &self.kind {
            Kind::Lines(_) => {
                self.line(&format!("rebuild {what}"));
                Building(None)
            }
            Kind::Bar { building, next, .. } => {
                let job = next.fetch_add(1, Ordering::Relaxed);
                building.lock().unwrap_or_else(PoisonError::into_inner).insert(job, (what, Instant::now()));
                Building(Some((building, job)))
            }
        }
    }

    /// The job `subject` is done (built, from the cache, or failed), after `took`.
    pub fn done(&self, subject: &str, reason: &str, took: Duration) {
        self.line(&format!("rebuild {subject}: {reason} ({:.1} s)", took.as_secs_f64()));
        if let Kind::Bar { bar, .. } = &self.kind {
            bar.inc(1);
        }
    }

    /// Every job is done: the overall line stays, saying so.
    pub fn finish(&self) {
        if let Kind::Bar { bar, .. } = &self.kind {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
        let screen = Screen::default();
        let progress = Progress::bar(2, ProgressDrawTarget::term_like(Box::new(screen.clone())));
        assert!(screen.drew(0, &["rebuild 0/2 done"]));
        let a = progress.building("a.whl@3.11", "cpython 3.11.7");
        let b = progress.building("b.whl@3.9", "cpython 3.9.18");
        std::thread::sleep(TICK * 2);
        assert!(screen.drew(0, &["a.whl@3.11: building with cpython 3.11.7", "0s"]));
        assert!(screen.drew(0, &["b.whl@3.9: building with cpython 3.9.18"]));

        drop(a);
        progress.done("a.whl@3.11", "reproducible", Duration::from_secs(3));
        let after = screen.lines();
        std::thread::sleep(TICK * 8);
        assert!(screen.drew(after, &["b.whl@3.9: building"]), "b is still building");
        assert!(!screen.drew(after, &["a.whl@3.11: building"]), "a's line is gone");
        assert!(screen.drew(0, &["rebuild a.whl@3.11: reproducible (3.0 s)"]));
        // The overall line's time goes on while nothing finishes.
        assert!(screen.drew(after, &["rebuild 1/2 done", "] 2s"]));

        drop(b);
        progress.done("b.whl@3.9", "failed", Duration::from_secs(1));
        progress.finish();
        assert!(screen.drew(0, &["rebuild 2/2 done"]));
    }
}
