//! Explains why two wheels differ, one difference a line:
//!
//! ```sh
//! cargo run --release -p wheel-diff --example wheel_diff -- A.whl B.whl
//! ```
//!
//! Exits like `diff`: 0 when the files are identical, 1 when they differ,
//! 2 when a wheel cannot be read or is refused.

use std::path::PathBuf;
use std::process::ExitCode;

use wheel_diff::{Limits, compare};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [a, b] = args.as_slice() else {
        eprintln!("usage: wheel_diff A.whl B.whl");
        return ExitCode::from(2);
    };
    match compare(a, b, &Limits::default()) {
        Ok(diff) if diff.is_identical() => {
            println!("{}", diff.summary());
            ExitCode::SUCCESS
        }
        Ok(diff) => {
            println!("{}\n{diff}", diff.summary());
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("wheel_diff: {error}");
            ExitCode::from(2)
        }
    }
}
