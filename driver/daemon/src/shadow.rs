//! Shadow contexts: what Linux keeps for each RTOS task.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;

use crate::fd_table::FdTable;
use crate::{Jail, Refusal};

/// `AT_FDCWD`: the dirfd that means "the working directory" in the `*at` calls.
const AT_FDCWD: i32 = libc::AT_FDCWD;

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

/// Every live task's shadow.
#[derive(Default)]
pub struct Shadows {
    live: HashMap<u32, Shadow>,
}

impl Shadows {
    /// Task `task` starts with `shadow` (a shadow still under that id is the caller's
    /// to retire first: see `Daemon::start_task`).
    pub fn start(&mut self, task: u32, shadow: Shadow) {
        self.live.insert(task, shadow);
    }

    pub fn get_mut(&mut self, task: u32) -> Result<&mut Shadow, Refusal> {
        self.live.get_mut(&task).ok_or(Refusal::UnknownTask)
    }

    // ANCHOR: exit
    /// Task `task` ended: its shadow goes, and dropping it closes all its fds. (Its
    /// exit status goes to whoever launched it: `Launches::task_exited`.)
    pub fn exit(&mut self, task: u32) -> Result<(), Refusal> {
        self.live.remove(&task).ok_or(Refusal::UnknownTask)?;
        Ok(())
    }
    // ANCHOR_END: exit

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Fds held for all live tasks.
    pub fn open_fds(&self) -> usize {
        self.live.values().map(|s| s.fds.open_count()).sum()
    }
}
