//! `open`/`openat` flags and mode as Linux reads them, for `openat2`.

use rustix::fs::{Mode, OFlags};

/// The flags `open(2)` knows (include/linux/fcntl.h, `VALID_OPEN_FLAGS`).
const VALID_OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_SYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE;
/// What `O_PATH` keeps (fs/open.c, `O_PATH_FLAGS`).
const O_PATH_FLAGS: i32 = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC;
/// Permission bits a mode may carry (`S_IALLUGO`).
const S_IALLUGO: u32 = 0o7777;

// ANCHOR: open_how
/// `open(2)` ignores flags it does not know and a mode without `O_CREAT`/`O_TMPFILE`,
/// but `openat2(2)` fails on either with `EINVAL`. So the legacy arguments are
/// cleaned first, as the kernel's own `build_open_how()` does for `open` and `openat`.
pub fn open_how(flags: u64, mode: u64) -> (OFlags, Mode) {
    let mut flags = flags as i32 & VALID_OPEN_FLAGS;
    if flags & libc::O_PATH != 0 {
        flags &= O_PATH_FLAGS;
    }
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    let mode = if creates { mode as u32 & S_IALLUGO } else { 0 };
    (
        OFlags::from_bits_retain(flags as u32),
        Mode::from_bits_retain(mode),
    )
}
// ANCHOR_END: open_how

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_arguments_are_cleaned_as_linux_does() {
        // A mode without O_CREAT is dropped; unknown flag bits are dropped.
        let (flags, mode) = open_how(libc::O_RDONLY as u64 | 1 << 30, 0o644);
        assert_eq!((flags.bits(), mode.bits()), (0, 0));
        let (flags, mode) = open_how((libc::O_CREAT | libc::O_WRONLY) as u64, 0o100644);
        assert_eq!(flags.bits() as i32, libc::O_CREAT | libc::O_WRONLY);
        assert_eq!(mode.bits(), 0o644);
        let (flags, _) = open_how((libc::O_PATH | libc::O_TRUNC) as u64, 0);
        assert_eq!(flags.bits() as i32, libc::O_PATH);
    }
}
