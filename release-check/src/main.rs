//! The `release-check` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    release_check::main(std::env::args_os())
}
