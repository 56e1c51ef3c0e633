//! One session: what every subcommand works with, made once from the
//! command line's flags and the loaded configuration.
//!
//! [`Session::builder`] takes the configuration; the builder takes what the
//! subcommand's flags ask (the gates' own flags, `--gate`, `--as-of`) and
//! [`Builder::build`] makes, once each, the gates (through the gate
//! registry, which applies each gate's flags to its section), the runner's
//! [`RunOptions`] and the [`Context`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use gate_core::{Context, Gate, OffGate, RunOptions};

use crate::config::Loaded;
use crate::flags::GateFlags;
use crate::registry::{self, GatesConfig};

/// The gates, run options and context of one invocation.
pub struct Session {
    /// The repository checked, as given (`--repo`).
    pub repo: PathBuf,
    /// The configuration and where it came from.
    pub loaded: Loaded,
    /// `[gates]` with the gates' own flags applied.
    pub gates_config: GatesConfig,
    /// Every gate, configured, in report order: also those that are off.
    pub all: Vec<Arc<dyn Gate>>,
    /// The gates that run: those of `all` that `--gate` selects, or that
    /// the configuration does not turn off.
    pub gates: Vec<Arc<dyn Gate>>,
    /// The runner's options; `off` lists the gates of `all` that do not run.
    pub options: RunOptions,
    /// The context of the run: `now` is `--as-of` when given, `jobs` is `[run] jobs`.
    pub ctx: Context,
}

/// Makes a [`Session`]: what the flags ask, then [`Builder::build`].
#[must_use]
pub struct Builder {
    repo: PathBuf,
    loaded: Loaded,
    gate_flags: GateFlags,
    wanted: Vec<String>,
    as_of: Option<jiff::Timestamp>,
}

impl Session {
    /// A builder for a session on `repo` with the configuration `loaded`.
    pub fn builder(repo: &Path, loaded: Loaded) -> Builder {
        Builder {
            repo: repo.to_owned(),
            loaded,
            gate_flags: GateFlags::default(),
            wanted: Vec::new(),
            as_of: None,
        }
    }

    /// Every gate's documented checks, whatever the configuration: the
    /// rules of a SARIF report.
    pub fn catalogue(&self) -> Vec<gate_core::render::sarif::GateChecks<'static>> {
        self.all
            .iter()
            .map(|gate| gate_core::render::sarif::GateChecks { gate: gate.name(), checks: gate.checks() })
            .collect()
    }

    /// The repository as the report names it.
    pub fn repository(&self) -> String {
        self.repo.display().to_string()
    }
}

impl Builder {
    /// The gates' own flags, applied to their configuration sections.
    pub fn gate_flags(mut self, flags: GateFlags) -> Self {
        self.gate_flags = flags;
        self
    }

    /// Run only these gates (`--gate`); none: every gate the configuration
    /// does not turn off.
    pub fn only(mut self, gates: &[String]) -> Self {
        self.wanted = gates.to_vec();
        self
    }

    /// Judge the release as of `when` (`--as-of`) instead of now.
    pub fn as_of(mut self, when: Option<jiff::Timestamp>) -> Self {
        self.as_of = when;
        self
    }

    /// Makes the session: `Err` when a flag cannot apply to the
    /// configuration or `--gate` names no gate.
    pub fn build(self) -> anyhow::Result<Session> {
        let Builder { repo, loaded, gate_flags, wanted, as_of } = self;
        let mut gates_config = loaded.config.gates.clone();
        gates_config.apply_flags(&gate_flags)?;
        let all = registry::all_gates(&gates_config);
        let Selected { run: gates, off } = select_gates(&all, &wanted, &registry::turned_off(&gates_config))?;
        let mut options = loaded.config.run_options();
        options.off = off;
        for (name, longest) in registry::longest_runs(&gates_config) {
            let timeout = options.timeouts.entry(name.to_owned()).or_insert(options.default_timeout);
            *timeout = (*timeout).max(longest);
        }
        let mut ctx = Context::new(&repo);
        if let Some(when) = as_of {
            ctx.now = when;
        }
        if let Some(jobs) = loaded.config.run.jobs() {
            ctx.jobs = jobs;
        }
        Ok(Session { repo, loaded, gates_config, all, gates, options, ctx })
    }
}

/// The gates a run selects: those that run and those that are off.
struct Selected {
    run: Vec<Arc<dyn Gate>>,
    off: Vec<OffGate>,
}

/// The gates that run and those that are off: turned off in the
/// configuration, or left out with `--gate`. A gate named with `--gate`
/// runs even when the configuration turns it off: the command line is the
/// more specific ask.
fn select_gates(all: &[Arc<dyn Gate>], wanted: &[String], turned_off: &[&str]) -> anyhow::Result<Selected> {
    let names: Vec<&str> = all.iter().map(|g| g.name()).collect();
    if let Some(unknown) = wanted.iter().find(|w| !names.contains(&w.as_str())) {
        bail!("unknown gate `{unknown}` (--gate), expected one of: {}", names.join(", "));
    }
    let mut run = Vec::new();
    let mut off = Vec::new();
    for gate in all {
        let name = gate.name();
        let why = if !wanted.is_empty() {
            (!wanted.iter().any(|w| w == name)).then(|| "left out with --gate".to_owned())
        } else {
            turned_off
                .contains(&name)
                .then(|| format!("turned off in the configuration (`[gates.{name}] enabled = false`)"))
        };
        match why {
            Some(why) => {
                off.push(OffGate { name: name.to_owned(), verifies: gate.verifies().to_owned(), why })
            }
            None => run.push(Arc::clone(gate)),
        }
    }
    Ok(Selected { run, off })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Source};

    fn loaded(toml: &str) -> Loaded {
        Loaded { config: toml::from_str::<Config>(toml).unwrap(), source: Source::Defaults }
    }

    fn names(gates: &[Arc<dyn Gate>]) -> Vec<&'static str> {
        gates.iter().map(|g| g.name()).collect()
    }

    #[test]
    fn the_configuration_turns_gates_off_and_gate_selects() {
        let config = "[gates.images]\nenabled = false\n[run]\njobs = 3\n";
        let session = Session::builder(Path::new("."), loaded(config)).build().unwrap();
        assert_eq!(names(&session.all), ["wheels", "images", "ci"]);
        assert_eq!(names(&session.gates), ["wheels", "ci"]);
        assert_eq!(session.options.off.len(), 1);
        assert!(session.options.off[0].why.contains("enabled = false"), "{:?}", session.options.off);
        assert_eq!(session.ctx.jobs, 3);

        let session =
            Session::builder(Path::new("."), loaded(config)).only(&["images".to_owned()]).build().unwrap();
        assert_eq!(names(&session.gates), ["images"]);
        let off: Vec<&str> = session.options.off.iter().map(|o| o.why.as_str()).collect();
        assert_eq!(off, ["left out with --gate", "left out with --gate"]);

        let unknown = Session::builder(Path::new("."), loaded("")).only(&["nope".to_owned()]).build();
        assert!(unknown.err().unwrap().to_string().starts_with("unknown gate `nope` (--gate)"));
    }

    #[test]
    fn as_of_sets_the_moment_and_ci_wait_widens_its_timeout() {
        let when: jiff::Timestamp = "2022-07-05T00:00:00Z".parse().unwrap();
        let config = "[run]\ntimeout = \"1m\"\n[gates.ci]\nwait = \"5m\"\n";
        let session = Session::builder(Path::new("."), loaded(config)).as_of(Some(when)).build().unwrap();
        assert_eq!(session.ctx.now, when);
        assert_eq!(session.options.timeouts["ci"], std::time::Duration::from_secs(5 * 60 + 120));
        assert!(!session.options.timeouts.contains_key("wheels"));
    }

    #[test]
    fn gate_flags_reach_the_gates_configuration() {
        let mut flags = GateFlags::default();
        flags.ci.git_ref = Some("v1.0".to_owned());
        let session = Session::builder(Path::new("."), loaded("")).gate_flags(flags).build().unwrap();
        assert_eq!(session.gates_config.ci.unwrap().target.as_deref(), Some("v1.0"));
        let mut flags = GateFlags::default();
        flags.wheels.offline.offline = true;
        let refused = Session::builder(Path::new("."), loaded("")).gate_flags(flags).build();
        assert!(refused.err().unwrap().to_string().starts_with("--offline keeps"));
    }
}
