//! What the second build varies, named as reprotest names its variations.
//!
//! The first build runs in the controlled environment of the release
//! process; the second changes every condition below that this machine can
//! change without root. A variation that cannot be applied here (no
//! libfaketime, one CPU, no FUSE) is named, with why, in every item, so a
//! reproducible verdict never claims more than was tried. When the two
//! builds differ, [`super::job`] builds again with one variation at a time
//! to name the ones that change the bytes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One condition the second build changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variation {
    /// The source tree's path: another name at another depth.
    BuildPath,
    /// `HOME`: another directory.
    Home,
    /// `TZ`: fourteen hours east of UTC instead of UTC.
    TimeZone,
    /// `LANG`, `LC_ALL` and `LANGUAGE`: an installed locale other than `C.UTF-8`.
    Locale,
    /// The umask: 027 instead of 022 (never more write bits: a
    /// group-writable umask is a known cause of drift, not a variation).
    Umask,
    /// Noise: a variable the build has no reason to read, and a `PATH`
    /// entry that does not exist.
    Environment,
    /// The CPUs the build may run on (`taskset`): one instead of all.
    Cpus,
    /// The clock: shifted years ahead with libfaketime, which catches a
    /// build that reads the time instead of `SOURCE_DATE_EPOCH`.
    Clock,
    /// The order in which the source tree's directory entries are listed
    /// (disorderfs, a FUSE file system that shuffles them).
    FileOrder,
}

impl Variation {
    /// Every variation, in the order items name them.
    pub const ALL: [Variation; 9] = [
        Variation::BuildPath,
        Variation::Home,
        Variation::TimeZone,
        Variation::Locale,
        Variation::Umask,
        Variation::Environment,
        Variation::Cpus,
        Variation::Clock,
        Variation::FileOrder,
    ];

    /// The variation's name in items.
    pub fn name(self) -> &'static str {
        match self {
            Variation::BuildPath => "build path",
            Variation::Home => "HOME",
            Variation::TimeZone => "time zone",
            Variation::Locale => "locale",
            Variation::Umask => "umask",
            Variation::Environment => "environment",
            Variation::Cpus => "CPUs",
            Variation::Clock => "clock",
            Variation::FileOrder => "file order",
        }
    }
}

/// How far libfaketime moves the clock of a varied build (15 years ahead).
pub const CLOCK_SHIFT: &str = "+15y";

/// The locale of every build that does not vary it.
pub const BASE_LOCALE: &str = "C.UTF-8";

/// Locales a varied build uses, the first one installed: Estonian first,
/// as reprotest does, for its unusual collation of ASCII letters.
const LOCALES: [&str; 3] = ["et_EE.UTF-8", "fr_CH.UTF-8", "de_DE.UTF-8"];

/// The noise variable of a varied build.
pub const NOISE: (&str, &str) = ("CAPTURE_ENVIRONMENT", "i_capture_the_environment");

/// The `PATH` entry a varied build gets in addition: it does not exist.
pub const NOISE_PATH: &str = "/i_capture_the_path";

/// What this machine lets the second build vary, found once per run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The variations the second build applies.
    pub applied: Vec<Variation>,
    /// Those it cannot apply here, with why.
    pub skipped: Vec<(Variation, String)>,
    /// The `faketime` program.
    pub faketime: Option<PathBuf>,
    /// The `taskset` program.
    pub taskset: Option<PathBuf>,
    /// `disorderfs` and the program that unmounts it.
    pub disorderfs: Option<(PathBuf, PathBuf)>,
    /// The locale of a varied build.
    pub locale: String,
    /// How many CPUs an unvaried build may use.
    pub cpus: usize,
    /// The CPUs this process may run on (its affinity), in order: a varied
    /// build is pinned to one of them, each concurrent job to its own, so
    /// that two jobs' varied builds do not share one CPU.
    pub allowed_cpus: Vec<usize>,
}

impl Plan {
    /// Looks for the tools on `PATH` and the locales installed.
    pub fn detect() -> Self {
        let faketime = on_path("faketime");
        let taskset = on_path("taskset");
        let disorderfs = on_path("disorderfs");
        let fusermount = on_path("fusermount3").or_else(|| on_path("fusermount"));
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let locale = installed_locale();
        let mut plan = Plan {
            applied: Vec::new(),
            skipped: Vec::new(),
            faketime: faketime.clone(),
            taskset: taskset.clone(),
            disorderfs: None,
            locale: locale.clone().unwrap_or_else(|| BASE_LOCALE.to_owned()),
            cpus,
            allowed_cpus: allowed_cpus(),
        };
        for variation in Variation::ALL {
            let why_not = match variation {
                Variation::Locale if locale.is_none() => Some(format!(
                    "none of {} is installed (`locale -a`; Debian: locales-all)",
                    LOCALES.join(", ")
                )),
                Variation::Cpus if taskset.is_none() => {
                    Some("no `taskset` on PATH (Debian: util-linux)".to_owned())
                }
                Variation::Cpus if cpus < 2 => Some(format!("the gate may use {cpus} CPU only")),
                Variation::Clock if faketime.is_none() => {
                    Some("no `faketime` on PATH (Debian: faketime)".to_owned())
                }
                Variation::FileOrder => match (&disorderfs, &fusermount) {
                    (None, _) => Some("no `disorderfs` on PATH (Debian: disorderfs)".to_owned()),
                    (Some(_), None) => {
                        Some("no `fusermount3` or `fusermount` on PATH (Debian: fuse3)".to_owned())
                    }
                    _ if !Path::new("/dev/fuse").exists() => {
                        Some("no /dev/fuse: disorderfs needs FUSE".to_owned())
                    }
                    (Some(disorderfs), Some(fusermount)) => {
                        plan.disorderfs = Some((disorderfs.clone(), fusermount.clone()));
                        None
                    }
                },
                _ => None,
            };
            match why_not {
                Some(why) => plan.skipped.push((variation, why)),
                None => plan.applied.push(variation),
            }
        }
        plan
    }

    /// The variations applied, each with its two values.
    pub fn describe(&self) -> String {
        self.applied
            .iter()
            .map(|&v| format!("{} ({})", v.name(), self.values(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The variations not applied, with why; empty when all are.
    pub fn describe_skipped(&self) -> String {
        self.skipped.iter().map(|(v, why)| format!("{}: {why}", v.name())).collect::<Vec<_>>().join("; ")
    }

    /// What `variation` changes, from → to.
    pub fn values(&self, variation: Variation) -> String {
        match variation {
            Variation::BuildPath => "<build>/src → <build>/varied/second-build/src".to_owned(),
            Variation::Home => "<build>/home → <build>/varied/home/second-build".to_owned(),
            Variation::TimeZone => "TZ=UTC → TZ=Etc/GMT-14".to_owned(),
            Variation::Locale => format!("{BASE_LOCALE} → {}", self.locale),
            Variation::Umask => "022 → 027".to_owned(),
            Variation::Environment => format!("+{}={}, PATH +{NOISE_PATH}", NOISE.0, NOISE.1),
            Variation::Cpus => format!("{} → 1, taskset", self.cpus),
            Variation::Clock => "now → 15 years ahead, libfaketime".to_owned(),
            Variation::FileOrder => "directory entries shuffled, disorderfs".to_owned(),
        }
    }
}

/// The conditions of one build: the variations it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditions {
    /// The variations this build applies.
    pub varied: Vec<Variation>,
}

impl Conditions {
    /// The controlled build: nothing varied.
    pub fn base() -> Self {
        Self { varied: Vec::new() }
    }

    /// Every variation `plan` applies.
    pub fn all(plan: &Plan) -> Self {
        Self { varied: plan.applied.clone() }
    }

    /// Only `variation`.
    pub fn only(variation: Variation) -> Self {
        Self { varied: vec![variation] }
    }

    /// Whether this build applies `variation`.
    pub fn has(&self, variation: Variation) -> bool {
        self.varied.contains(&variation)
    }

    /// The source tree, relative to the build root.
    pub fn source_dir(&self) -> &'static str {
        if self.has(Variation::BuildPath) { "varied/second-build/src" } else { "src" }
    }

    /// `HOME`, relative to the build root.
    pub fn home_dir(&self) -> &'static str {
        if self.has(Variation::Home) { "varied/home/second-build" } else { "home" }
    }

    /// The umask.
    pub fn umask(&self) -> &'static str {
        if self.has(Variation::Umask) { "027" } else { "022" }
    }

    /// The build's whole environment, for a build root `root` whose
    /// interpreter's directory is `bin`.
    pub fn env(&self, plan: &Plan, root: &Path, bin: &Path, epoch: i64) -> Vec<(String, OsString)> {
        let mut path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
        let locale = if self.has(Variation::Locale) { plan.locale.as_str() } else { BASE_LOCALE };
        let language =
            if self.has(Variation::Locale) { format!("{locale}:fr") } else { "en_US:en".to_owned() };
        let tz = if self.has(Variation::TimeZone) { "Etc/GMT-14" } else { "UTC" };
        let mut env: Vec<(String, OsString)> = vec![
            ("HOME".into(), root.join(self.home_dir()).into()),
            ("TMPDIR".into(), root.join("tmp").into()),
            ("LANG".into(), locale.into()),
            ("LC_ALL".into(), locale.into()),
            ("LANGUAGE".into(), language.into()),
            ("TZ".into(), tz.into()),
            ("SOURCE_DATE_EPOCH".into(), epoch.to_string().into()),
            ("PYTHONHASHSEED".into(), "0".into()),
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ];
        if self.has(Variation::Environment) {
            path.push(':');
            path.push_str(NOISE_PATH);
            env.push((NOISE.0.into(), NOISE.1.into()));
        }
        if self.has(Variation::Clock) {
            // As reprotest: file times stay true, or make-like tools break.
            env.push(("NO_FAKE_STAT".into(), "1".into()));
        }
        env.insert(0, ("PATH".into(), path.into()));
        env
    }

    /// What runs before the build's command: `taskset`, `faketime`.
    pub fn prefix(&self, plan: &Plan) -> Vec<OsString> {
        let mut prefix = Vec::new();
        if let (true, Some(taskset)) = (self.has(Variation::Cpus), &plan.taskset) {
            // The job's own CPU: rayon numbers the rebuild pool's threads.
            let job = rayon::current_thread_index().unwrap_or(0);
            let cpu = plan.allowed_cpus.get(job % plan.allowed_cpus.len().max(1)).copied().unwrap_or(0);
            prefix.extend([taskset.clone().into_os_string(), "-c".into(), cpu.to_string().into()]);
        }
        if let (true, Some(faketime)) = (self.has(Variation::Clock), &plan.faketime) {
            prefix.extend([faketime.clone().into_os_string(), "-f".into(), CLOCK_SHIFT.into()]);
        }
        prefix
    }

    /// The conditions in words: `base` or the variations' names.
    pub fn describe(&self) -> String {
        if self.varied.is_empty() {
            return "controlled (nothing varied)".to_owned();
        }
        self.varied.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
    }
}

/// `program` in a directory of the gate's `PATH`.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt as _;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    })
}

/// The CPUs in this process's affinity mask; CPU 0 when it cannot be read.
fn allowed_cpus() -> Vec<usize> {
    let allowed: Vec<usize> = match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU).filter(|&cpu| set.is_set(cpu)).collect(),
        Err(_) => Vec::new(),
    };
    if allowed.is_empty() { vec![0] } else { allowed }
}

/// The first of [`LOCALES`] that `locale -a` lists.
fn installed_locale() -> Option<String> {
    let listed = quick_output(Command::new(on_path("locale")?).arg("-a"), Duration::from_secs(5))?;
    let normal = |name: &str| name.to_ascii_lowercase().replace("utf-8", "utf8");
    let installed: Vec<String> = listed.lines().map(|l| normal(l.trim())).collect();
    LOCALES.iter().find(|l| installed.contains(&normal(l))).map(|l| (*l).to_owned())
}

/// The standard output of `command`, or `None` when it fails or takes
/// longer than `limit` (it is killed).
pub(super) fn quick_output(command: &mut Command, limit: Duration) -> Option<String> {
    let mut out = tempfile::tempfile().ok()?;
    let mut child =
        command.stdin(Stdio::null()).stdout(out.try_clone().ok()?).stderr(Stdio::null()).spawn().ok()?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().ok()? {
            use std::io::{Read as _, Seek as _};
            out.rewind().ok()?;
            let mut text = String::new();
            out.take(4 * 1024 * 1024).read_to_string(&mut text).ok()?;
            return status.success().then_some(text);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_build_varies_nothing_and_the_second_everything_the_plan_applies() {
        let plan = Plan {
            applied: Variation::ALL.to_vec(),
            skipped: Vec::new(),
            faketime: Some("/usr/bin/faketime".into()),
            taskset: Some("/usr/bin/taskset".into()),
            disorderfs: None,
            locale: "et_EE.UTF-8".into(),
            cpus: 2,
            allowed_cpus: vec![0, 1],
        };
        let (root, bin) = (Path::new("/b"), Path::new("/env/bin"));
        let base = Conditions::base().env(&plan, root, bin, 1);
        let varied = Conditions::all(&plan).env(&plan, root, bin, 1);
        let get = |env: &[(String, OsString)], name: &str| {
            env.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get(&base, "LC_ALL").as_deref(), Some("C.UTF-8"));
        assert_eq!(get(&varied, "LC_ALL").as_deref(), Some("et_EE.UTF-8"));
        assert_eq!(get(&base, "HOME").as_deref(), Some("/b/home"));
        assert_eq!(get(&varied, "HOME").as_deref(), Some("/b/varied/home/second-build"));
        assert_eq!(get(&base, "CAPTURE_ENVIRONMENT"), None);
        assert!(get(&varied, "PATH").unwrap().ends_with(":/i_capture_the_path"));
        assert_eq!(Conditions::base().prefix(&plan), Vec::<OsString>::new());
        let prefix = Conditions::all(&plan).prefix(&plan);
        assert_eq!(
            prefix,
            ["/usr/bin/taskset", "-c", "0", "/usr/bin/faketime", "-f", "+15y"].map(OsString::from)
        );
        // Each job of the rebuild's pool pins its varied build to a CPU of
        // its own: two jobs on one CPU would halve the rebuild's speed.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let mut cpus: Vec<String> = pool
            .broadcast(|_| Conditions::only(Variation::Cpus).prefix(&plan)[2].to_string_lossy().into_owned());
        cpus.sort();
        assert_eq!(cpus, ["0", "0", "1"], "thread 2 of 3 wraps round to the first allowed CPU");
        let elsewhere = Plan { allowed_cpus: vec![4, 6], ..plan.clone() };
        assert_eq!(Conditions::only(Variation::Cpus).prefix(&elsewhere)[2], "4", "CPU 0 is not allowed here");
        assert_eq!(Conditions::only(Variation::Umask).umask(), "027");
        assert_eq!(Conditions::base().source_dir(), "src");
        assert!(
            plan.describe().starts_with("build path (<build>/src → <build>/varied/second-build/src), HOME")
        );
    }
}
