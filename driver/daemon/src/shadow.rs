//! Shadow contexts: what Linux keeps for each RTOS task.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;

use crate::fd_table::FdTable;
use crate::{Jail, Refusal};

/// `AT_FDCWD`: the dirfd that means "the working directory" in the `*at` calls.
const AT_FDCWD: i32 = libc::AT_FDCWD;
/// Exit statuses kept for `crtosctl run` to collect; the oldest go first.
const EXITS_KEPT: usize = 64;

// ANCHOR: shadow
/// One RTOS task's Linux side: its fds and its working directory. Dropping it closes
/// every fd it holds.
pub struct Shadow {
    pub fds: FdTable,
    /// An `O_PATH` fd of the working directory, inside the jail.
    pub cwd: OwnedFd,
}
// ANCHOR_END: shadow

impl Shadow {
    /// A task whose fds 0, 1, 2 are `stdio` and whose working directory is the jail's root.
    pub fn new(jail: &Jail, stdio: [OwnedFd; 3]) -> Result<Self, Errno> {
        Ok(Self {
            fds: FdTable::with_stdio(stdio),
            cwd: jail.open_root()?,
        })
    }

    /// The directory a `*at` call's `dirfd` names: the working directory for
    /// `AT_FDCWD`, else an fd of the task's (the kernel then checks it is a directory).
    pub fn dir(&self, dirfd: i32) -> Result<BorrowedFd<'_>, Refusal> {
        if dirfd == AT_FDCWD {
            Ok(self.cwd.as_fd())
        } else {
            self.fds.get(dirfd)
        }
    }
}

/// Every live task's shadow, and the exit statuses of the tasks that ended.
#[derive(Default)]
pub struct Shadows {
    live: HashMap<u32, Shadow>,
    exited: VecDeque<(u32, i32)>,
}

impl Shadows {
    pub fn start(&mut self, task: u32, shadow: Shadow) -> Result<(), Refusal> {
        if self.live.contains_key(&task) {
            return Err(Refusal::TaskExists);
        }
        self.live.insert(task, shadow);
        Ok(())
    }

    pub fn get_mut(&mut self, task: u32) -> Result<&mut Shadow, Refusal> {
        self.live.get_mut(&task).ok_or(Refusal::UnknownTask)
    }

    // ANCHOR: exit
    /// Task `task` ended with `status`: its shadow goes (closing all its fds) and the
    /// status is kept for whoever launched it.
    pub fn exit(&mut self, task: u32, status: i32) -> Result<(), Refusal> {
        self.live.remove(&task).ok_or(Refusal::UnknownTask)?;
        if self.exited.len() == EXITS_KEPT {
            self.exited.pop_front();
        }
        self.exited.push_back((task, status));
        Ok(())
    }
    // ANCHOR_END: exit

    /// The exit status of task `task`, if it ended recently.
    pub fn exit_status(&self, task: u32) -> Option<i32> {
        let found = self.exited.iter().rev().find(|(t, _)| *t == task);
        found.map(|&(_, status)| status)
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Fds held for all live tasks.
    pub fn open_fds(&self) -> usize {
        self.live.values().map(|s| s.fds.open_count()).sum()
    }
}
