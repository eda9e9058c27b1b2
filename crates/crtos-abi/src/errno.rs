//! Linux's errno values that cross our interfaces: what `hv_entry` and the hypercalls
//! return (negated, in RAX), and what the driver's ioctls return to `crtosctl`. The
//! numbers are Linux's x86-64 ABI (include/uapi/asm-generic/errno-base.h, errno.h);
//! a host test checks them against the C library's.

numeric_enum! {
    /// A Linux errno value (positive; interfaces return it negated).
    pub enum Errno: i32 {
        Perm = 1 => "EPERM",
        NoEnt = 2 => "ENOENT",
        Srch = 3 => "ESRCH",
        Intr = 4 => "EINTR",
        Io = 5 => "EIO",
        NxIo = 6 => "ENXIO",
        TooBig = 7 => "E2BIG",
        NoExec = 8 => "ENOEXEC",
        BadF = 9 => "EBADF",
        Again = 11 => "EAGAIN",
        NoMem = 12 => "ENOMEM",
        Acces = 13 => "EACCES",
        Fault = 14 => "EFAULT",
        Busy = 16 => "EBUSY",
        NoDev = 19 => "ENODEV",
        Inval = 22 => "EINVAL",
        NoTty = 25 => "ENOTTY",
        NoSpc = 28 => "ENOSPC",
        NameTooLong = 36 => "ENAMETOOLONG",
        NoSys = 38 => "ENOSYS",
        OpNotSupp = 95 => "EOPNOTSUPP",
        TimedOut = 110 => "ETIMEDOUT",
    }
}

impl Errno {
    /// `-errno` as a signed return value (`hv_entry`, a hypercall's RAX read as i64).
    #[inline]
    pub const fn negative(self) -> i64 {
        -(self as i64)
    }

    /// `-errno` as the 64-bit register value a hypercall leaves in RAX.
    #[inline]
    pub const fn as_return(self) -> u64 {
        self.negative() as u64
    }

    /// The errno of a negative return value, if it is one we know.
    pub fn from_return(ret: i64) -> Option<Errno> {
        if ret >= 0 || ret < -(i32::MAX as i64) {
            return None;
        }
        Errno::try_from(-ret as i32).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_value_round_trips() {
        assert_eq!(Errno::NoSys.as_return() as i64, -38);
        assert_eq!(Errno::from_return(-38), Some(Errno::NoSys));
        assert_eq!(Errno::from_return(0), None);
        assert_eq!(Errno::from_return(1), None);
        assert_eq!(Errno::from_return(-10), None); // ECHILD: not one of ours
        assert_eq!(Errno::from_return(i64::MIN), None);
        assert_eq!(Errno::Fault.name(), "EFAULT");
    }
}
