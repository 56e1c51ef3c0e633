//! Waiting for a child process and ending its process group, shared by the
//! interpreter probe ([`crate::interpreter`]) and the build steps
//! ([`crate::step`]): one waiter, no polling.

use std::process::{Child, ExitStatus};
use std::sync::mpsc;

use rustix::process::{Pid, Signal, kill_process_group};

/// Waits for `child` on a thread of its own: the receiver gets its exit
/// status the moment it ends, with no polling delay.
pub(crate) fn wait_in_thread(mut child: Child) -> mpsc::Receiver<std::io::Result<ExitStatus>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait());
    });
    receiver
}

/// Sends `signal` to the process group `group`. A group that no longer
/// exists has nothing left to end.
pub(crate) fn kill_group(group: u32, signal: Signal) {
    if let Some(group) = i32::try_from(group).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(group, signal);
    }
}
