//! The launches `crtosctl run` asked for, from the moment the daemon posts one to the
//! RTOS until its task exits: whose stdio the task's shadow gets, and which client
//! hears the exit status.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use crate::launch_protocol::{self, Reply, EXIT_CANNOT_RUN, EXIT_NOT_FOUND};

/// A posted launch whose task has not started yet.
struct Posted {
    client: OwnedFd,
    /// Taken by the task's `TaskStart`.
    stdio: Option<[OwnedFd; 3]>,
}

// ANCHOR: launches
/// Clients by launch (`launch_seq`) until the task starts, then by task until it exits.
#[derive(Default)]
pub struct Launches {
    posted: HashMap<u32, Posted>,
    running: HashMap<u32, OwnedFd>,
}
// ANCHOR_END: launches

impl Launches {
    /// The daemon posted launch `seq` for `client`; its task will get `stdio`.
    pub fn posted(&mut self, seq: u32, client: OwnedFd, stdio: [OwnedFd; 3]) {
        let stdio = Some(stdio);
        self.posted.insert(seq, Posted { client, stdio });
    }

    /// `TaskStart(task, launch)`: the fds 0, 1, 2 `crtosctl run` sent for `launch`, or
    /// `None` if no client waits for it (launch 0: a run-list task).
    pub fn task_started(&mut self, task: u32, launch: u32) -> Option<[OwnedFd; 3]> {
        let mut posted = self.posted.remove(&launch)?;
        let stdio = posted.stdio.take();
        self.running.insert(task, posted.client);
        stdio
    }

    /// The RTOS answered launch `seq` with `result` (a task id, or a negative errno).
    pub fn answered(&mut self, seq: u32, result: i32, program: &str) {
        let Ok(task) = u32::try_from(result) else {
            let errno = std::io::Error::from_raw_os_error(-result);
            let code = if -result == libc::ENOENT {
                EXIT_NOT_FOUND
            } else {
                EXIT_CANNOT_RUN
            };
            let message = format!("{program}: the RTOS refused to start it: {errno}");
            return self.failed(seq, code, message);
        };
        eprintln!("crtosd: launch {seq}: task {task}");
        // The TaskStart may have come first (it is pushed before the answer).
        let client = match self.posted.get(&seq) {
            Some(posted) => Some(&posted.client),
            None => self.running.get(&task),
        };
        if let Some(client) = client {
            // A client that left loses its reply; nothing else does.
            launch_protocol::send_reply(client, &Reply::Started { task }).ok();
        }
    }

    /// Launch `seq` produced no task: the client hears why and is let go.
    pub fn failed(&mut self, seq: u32, code: u8, message: String) {
        eprintln!("crtosd: launch {seq} failed: {message}");
        if let Some(posted) = self.posted.remove(&seq) {
            launch_protocol::send_reply(&posted.client, &Reply::Failed { code, message }).ok();
        }
    }

    /// Task `task` exited with `status`: its client (if it came from a launch) hears
    /// the status as a shell reports it (0..255) and is let go.
    pub fn task_exited(&mut self, task: u32, status: i32) {
        if let Some(client) = self.running.remove(&task) {
            let status = status as u8;
            eprintln!("crtosd: task {task} exited with status {status}");
            launch_protocol::send_reply(&client, &Reply::Exited { status }).ok();
        }
    }

    /// Clients still attached (posted and running launches).
    pub fn len(&self) -> usize {
        self.posted.len() + self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
