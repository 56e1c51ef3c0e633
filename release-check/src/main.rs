//! The `release-check` binary; everything lives in the library.

/// mimalloc rather than the system allocator: a run allocates for every item
/// it reports, and on a sums file of 10,000 tiny wheels glibc's malloc and
/// free took a third of the wheels gate's instructions
/// (`cargo xtask bench scale`, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    release_check::without_huge_pages();
    release_check::main(std::env::args_os())
}
