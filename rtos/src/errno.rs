//! Linux error numbers (asm-generic/errno-base.h, errno.h): a system call returns
//! `-errno` in RAX. In the library because forwarded calls (`forward`) fail with them too.

#[repr(i64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum Errno {
    EPERM = 1,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EFAULT = 14,
    EBUSY = 16,
    EINVAL = 22,
    ENOTTY = 25,
    ENOSPC = 28,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    EOPNOTSUPP = 95,
}

impl Errno {
    /// The value RAX carries back to the caller.
    pub fn as_return(self) -> i64 {
        -(self as i64)
    }
}
