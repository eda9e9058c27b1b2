//! A task's file descriptors: RTOS fd numbers → Linux fds the daemon holds for it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::Refusal;

/// Most fds one task may hold open. Small, because the daemon holds every task's fds
/// under its own `RLIMIT_NOFILE` (1024 by default on Linux).
pub const MAX_FDS: usize = 256;

// ANCHOR: fd_table
/// One task's fds. Numbers are handed out lowest-free first, as POSIX requires of
/// `open`, so a program that closes 0 and opens a file gets 0 back, as on Linux.
/// Closing is dropping the `OwnedFd`: no path leaks a Linux fd.
pub struct FdTable {
    slots: Vec<Option<OwnedFd>>,
}
// ANCHOR_END: fd_table

impl FdTable {
    /// A table holding the task's stdin, stdout and stderr as 0, 1 and 2.
    pub fn with_stdio(stdio: [OwnedFd; 3]) -> Self {
        Self {
            slots: stdio.into_iter().map(Some).collect(),
        }
    }

    /// Gives `file` the lowest free number. `EMFILE` when `MAX_FDS` are open.
    pub fn insert(&mut self, file: OwnedFd) -> Result<i32, rustix::io::Errno> {
        let free = self.slots.iter().position(Option::is_none);
        let number = match free {
            Some(number) => number,
            None if self.slots.len() < MAX_FDS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(rustix::io::Errno::MFILE),
        };
        self.slots[number] = Some(file);
        Ok(number as i32)
    }

    /// The Linux fd behind task fd `fd`.
    pub fn get(&self, fd: i32) -> Result<BorrowedFd<'_>, Refusal> {
        let slot = usize::try_from(fd).ok().and_then(|i| self.slots.get(i));
        match slot {
            Some(Some(file)) => Ok(file.as_fd()),
            _ => Err(Refusal::BadFd),
        }
    }

    /// Takes task fd `fd` out of the table; dropping the result closes it.
    pub fn remove(&mut self, fd: i32) -> Result<OwnedFd, Refusal> {
        let slot = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i));
        slot.and_then(Option::take).ok_or(Refusal::BadFd)
    }

    /// Fds open in this table.
    pub fn open_count(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn null() -> OwnedFd {
        std::fs::File::open("/dev/null").unwrap().into()
    }

    #[test]
    fn numbers_are_lowest_free_first() {
        let mut table = FdTable::with_stdio([null(), null(), null()]);
        assert_eq!(table.insert(null()), Ok(3));
        drop(table.remove(0).unwrap());
        assert_eq!(table.insert(null()), Ok(0));
        assert_eq!(table.insert(null()), Ok(4));
        assert_eq!(table.open_count(), 5);
    }

    #[test]
    fn unknown_numbers_are_refused() {
        let mut table = FdTable::with_stdio([null(), null(), null()]);
        for fd in [-1, 3, 1 << 20] {
            assert_eq!(table.get(fd).err(), Some(Refusal::BadFd));
            assert_eq!(table.remove(fd).err(), Some(Refusal::BadFd));
        }
        drop(table.remove(2).unwrap());
        assert_eq!(table.remove(2).err(), Some(Refusal::BadFd));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut table = FdTable::with_stdio([null(), null(), null()]);
        for _ in 3..MAX_FDS {
            table.insert(null()).unwrap();
        }
        assert_eq!(table.insert(null()), Err(rustix::io::Errno::MFILE));
    }
}
