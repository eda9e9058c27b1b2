//! `stat` and friends: the file's `struct stat`, in the bytes x86-64 Linux uses.

use std::os::fd::AsFd;

use rustix::fs::{Mode, OFlags, Stat};

use super::ForwardedCall;
use crate::refusal::CallResult;

/// `sizeof(struct stat)` on x86-64 Linux.
pub const STAT_SIZE: usize = 144;

// ANCHOR: stat_layout
/// `struct stat` as x86-64 Linux lays it out (arch/x86/include/uapi/asm/stat.h):
/// the RTOS copies these bytes into the task's buffer unchanged. Each cast states
/// the field's width in that layout, whatever C type rustix gives the field.
#[allow(clippy::unnecessary_cast)]
pub fn linux_stat_bytes(st: &Stat) -> [u8; STAT_SIZE] {
    let mut bytes = [0u8; STAT_SIZE];
    let mut put = |offset: usize, value: &[u8]| {
        bytes[offset..offset + value.len()].copy_from_slice(value);
    };
    put(0, &(st.st_dev as u64).to_le_bytes());
    put(8, &(st.st_ino as u64).to_le_bytes());
    put(16, &(st.st_nlink as u64).to_le_bytes());
    put(24, &(st.st_mode as u32).to_le_bytes());
    put(28, &(st.st_uid as u32).to_le_bytes());
    put(32, &(st.st_gid as u32).to_le_bytes());
    // 36: 4 bytes of padding.
    put(40, &(st.st_rdev as u64).to_le_bytes());
    put(48, &(st.st_size as i64).to_le_bytes());
    put(56, &(st.st_blksize as i64).to_le_bytes());
    put(64, &(st.st_blocks as i64).to_le_bytes());
    put(72, &(st.st_atime as i64).to_le_bytes());
    put(80, &(st.st_atime_nsec as i64).to_le_bytes());
    put(88, &(st.st_mtime as i64).to_le_bytes());
    put(96, &(st.st_mtime_nsec as i64).to_le_bytes());
    put(104, &(st.st_ctime as i64).to_le_bytes());
    put(112, &(st.st_ctime_nsec as i64).to_le_bytes());
    // 120..144: three reserved longs, zero.
    bytes
}
// ANCHOR_END: stat_layout

fn reply_stat(call: &mut ForwardedCall, st: &Stat) -> CallResult {
    call.reply.set(&linux_stat_bytes(st))?;
    Ok(0)
}

/// `fstat(fd, _)`.
pub fn fstat(call: &mut ForwardedCall) -> CallResult {
    let st = rustix::fs::fstat(call.shadow.fds.get(call.int_arg(0))?)?;
    reply_stat(call, &st)
}

/// `stat(path, _)`: follows a final symlink (inside the jail).
pub fn stat(call: &mut ForwardedCall) -> CallResult {
    stat_path(call, libc::AT_FDCWD, OFlags::empty())
}

/// `lstat(path, _)`: a final symlink is described itself.
pub fn lstat(call: &mut ForwardedCall) -> CallResult {
    stat_path(call, libc::AT_FDCWD, OFlags::NOFOLLOW)
}

/// `newfstatat(dirfd, path, _, flags)`: `AT_SYMLINK_NOFOLLOW` and `AT_EMPTY_PATH`.
pub fn newfstatat(call: &mut ForwardedCall) -> CallResult {
    let (dirfd, flags) = (call.int_arg(0), call.int_arg(3));
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT) != 0 {
        return Err(rustix::io::Errno::INVAL.into());
    }
    if flags & libc::AT_EMPTY_PATH != 0 && call.path()?.is_empty() {
        let st = rustix::fs::fstat(call.shadow.dir(dirfd)?)?;
        return reply_stat(call, &st);
    }
    let nofollow = flags & libc::AT_SYMLINK_NOFOLLOW != 0;
    let follow = if nofollow {
        OFlags::NOFOLLOW
    } else {
        OFlags::empty()
    };
    stat_path(call, dirfd, follow)
}

// ANCHOR: stat_path
/// Opens the path with `O_PATH` through the jail (with `O_NOFOLLOW`, a final
/// symlink opens as itself) and describes what it got: the lookup is the jail's, so
/// a symlink can never make `stat` describe a file outside it.
fn stat_path(call: &mut ForwardedCall, dirfd: i32, follow: OFlags) -> CallResult {
    let path = call.path()?;
    let dir = call.shadow.dir(dirfd)?;
    let file = call
        .jail
        .open(dir, path, OFlags::PATH | follow, Mode::empty())?;
    let st = rustix::fs::fstat(file.as_fd())?;
    reply_stat(call, &st)
}
// ANCHOR_END: stat_path

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn the_bytes_are_libcs_struct_stat() {
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        let ours = linux_stat_bytes(&rustix::fs::fstat(&file).unwrap());
        // SAFETY: fstat fills the struct; glibc's x86-64 `struct stat` is the kernel's.
        let theirs = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            assert_eq!(libc::fstat(file.as_raw_fd(), &mut st), 0);
            std::mem::transmute::<libc::stat, [u8; STAT_SIZE]>(st)
        };
        assert_eq!(ours, theirs);
    }
}
