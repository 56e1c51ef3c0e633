//! Running Python builds for release-check: finding and probing target
//! interpreters, making virtual environments, running pip and PEP 517 build
//! backends in a controlled environment, and killing a command's whole
//! process tree when its time is up.
//!
//! The modules depend one way only: [`log`] and `process` (waiting for a
//! child, ending its process group) on nothing, [`interpreter`] on [`log`]
//! and `process`, [`probe_cache`] (its answers kept on disk) on
//! [`interpreter`], [`step`] on [`interpreter`] and `process`, and
//! [`frontend`] on [`step`].
//! The rebuild check and the build-dependency analysis of the `wheels` gate
//! both run their commands through [`step::Runner`] and [`step::Step`].

pub mod frontend;
pub mod interpreter;
pub mod log;
pub mod probe_cache;
mod process;
pub mod step;

pub use interpreter::{Interpreter, PythonError};
pub use step::{FIRST, Runner, Step, StepError, Variant};
