//! Page size for the process heap: small pages while a run is small, huge
//! pages once a gate is about to hold a large report.
//!
//! mimalloc, the binaries' allocator, advises transparent huge pages for its
//! memory. A short run gains nothing from them and pays for each thread's
//! first touch of a 2 MiB page; a run over a sums file of 100,000 wheels
//! holds a few hundred MiB, and small pages cost it one page fault per
//! 4 KiB: a sixth of its time. So a binary turns them off first thing
//! ([`small_pages`]), and a gate that reads a large input turns them back
//! on ([`expect_large`]), only if they were turned off here: a host
//! process's own choice is left alone.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether [`small_pages`] turned huge pages off and nothing turned them on since.
static TURNED_OFF: AtomicBool = AtomicBool::new(false);

/// Turns transparent huge pages off for this process (and what it starts)
/// until [`expect_large`]. Failure (an old kernel) changes nothing else.
pub fn small_pages() {
    if rustix::thread::disable_transparent_huge_pages(true).is_ok() {
        TURNED_OFF.store(true, Ordering::SeqCst);
    }
}

/// Says the process is about to hold a large heap: turns transparent huge
/// pages back on if [`small_pages`] turned them off. Memory already in use
/// keeps its pages; what is touched from now on may get huge ones.
pub fn expect_large() {
    if TURNED_OFF.swap(false, Ordering::SeqCst) {
        let _ = rustix::thread::disable_transparent_huge_pages(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_pages_come_back_only_when_turned_off_here() {
        // Not turned off here: left as it is.
        let before = rustix::thread::transparent_huge_pages_are_disabled().ok();
        expect_large();
        assert_eq!(rustix::thread::transparent_huge_pages_are_disabled().ok(), before);
        small_pages();
        if TURNED_OFF.load(Ordering::SeqCst) {
            assert_eq!(rustix::thread::transparent_huge_pages_are_disabled().ok(), Some(true));
            expect_large();
            assert_eq!(rustix::thread::transparent_huge_pages_are_disabled().ok(), Some(false));
            assert!(!TURNED_OFF.load(Ordering::SeqCst));
        }
    }
}
