//! Calls that name files by path: open, access, unlink, mkdir, rmdir, rename, and the
//! working directory (getcwd, chdir). Every path goes through the jail.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use rustix::fs::{Access, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::{daemon_dispatch, ForwardedCall};
use crate::refusal::CallResult;

/// `open(path, flags, mode)`: `openat(AT_FDCWD, path, flags, mode)`, as musl's
/// `open()` and `fopen()` call it (x86-64 keeps the old number).
pub fn open(call: &mut ForwardedCall) -> CallResult {
    call.args = [libc::AT_FDCWD as u64, 0, call.args[1], call.args[2], 0, 0];
    daemon_dispatch::openat(call)
}

/// `access(path, mode)`: checks through an `O_PATH` fd of the jailed lookup
/// (`faccessat2` with `AT_EMPTY_PATH`), never through a name Linux would resolve
/// on its own.
pub fn access(call: &mut ForwardedCall) -> CallResult {
    let mode = Access::from_bits(call.int_arg(1) as u32).ok_or(Errno::INVAL)?;
    let dir = call.shadow.dir(libc::AT_FDCWD)?;
    let file = call
        .jail
        .open(dir, call.path()?, OFlags::PATH, Mode::empty())?;
    access_fd(file.as_fd(), mode)?;
    Ok(0)
}

/// `access` on an open file. Through its `/proc/self/fd` link, which the kernel
/// follows to that very file (rustix does not pass `AT_EMPTY_PATH` to `faccessat2`).
fn access_fd(file: BorrowedFd<'_>, mode: Access) -> Result<(), Errno> {
    let link = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::access(link, mode)
}

/// `unlink(path)`.
pub fn unlink(call: &mut ForwardedCall) -> CallResult {
    remove(call, libc::AT_FDCWD, AtFlags::empty())
}

/// `rmdir(path)`.
pub fn rmdir(call: &mut ForwardedCall) -> CallResult {
    remove(call, libc::AT_FDCWD, AtFlags::REMOVEDIR)
}

/// `unlinkat(dirfd, path, flags)`: `AT_REMOVEDIR` is the only flag, as on Linux.
pub fn unlinkat(call: &mut ForwardedCall) -> CallResult {
    let flags = call.int_arg(2);
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::INVAL.into());
    }
    remove(
        call,
        call.int_arg(0),
        AtFlags::from_bits_retain(flags as u32),
    )
}

// ANCHOR: remove
/// Names are removed from their jailed parent directory: `unlinkat(parent, name)`
/// resolves nothing but `name` itself, and does not follow a symlink `name`.
fn remove(call: &mut ForwardedCall, dirfd: i32, flags: AtFlags) -> CallResult {
    let dir = call.shadow.dir(dirfd)?;
    let (parent, name) = call.jail.parent(dir, call.path()?)?;
    rustix::fs::unlinkat(parent, name, flags)?;
    Ok(0)
}
// ANCHOR_END: remove

/// `mkdir(path, mode)`.
pub fn mkdir(call: &mut ForwardedCall) -> CallResult {
    make_dir(call, libc::AT_FDCWD, call.args[1])
}

/// `mkdirat(dirfd, path, mode)`.
pub fn mkdirat(call: &mut ForwardedCall) -> CallResult {
    make_dir(call, call.int_arg(0), call.args[2])
}

fn make_dir(call: &mut ForwardedCall, dirfd: i32, mode: u64) -> CallResult {
    let dir = call.shadow.dir(dirfd)?;
    let (parent, name) = call.jail.parent(dir, call.path()?)?;
    rustix::fs::mkdirat(parent, name, Mode::from_bits_truncate(mode as u32))?;
    Ok(0)
}

/// `rename(old, new)`: the payload holds both paths.
pub fn rename(call: &mut ForwardedCall) -> CallResult {
    rename_at(call, libc::AT_FDCWD, libc::AT_FDCWD)
}

/// `renameat(olddirfd, old, newdirfd, new)`.
pub fn renameat(call: &mut ForwardedCall) -> CallResult {
    rename_at(call, call.int_arg(0), call.int_arg(2))
}

fn rename_at(call: &mut ForwardedCall, old_dirfd: i32, new_dirfd: i32) -> CallResult {
    let (old, new) = call.two_paths()?;
    let (old_parent, old_name) = call.jail.parent(call.shadow.dir(old_dirfd)?, old)?;
    let (new_parent, new_name) = call.jail.parent(call.shadow.dir(new_dirfd)?, new)?;
    rustix::fs::renameat(old_parent, old_name, new_parent, new_name)?;
    Ok(0)
}

// ANCHOR: cwd
/// `getcwd(_, size)`: the working directory as the task sees it (`/` is the jail),
/// NUL-terminated; returns its length with the NUL, as the Linux system call does.
pub fn getcwd(call: &mut ForwardedCall) -> CallResult {
    let mut path = call.jail.path_of(call.shadow.cwd.as_fd())?;
    path.push(0);
    if path.len() as u64 > call.args[1] {
        return Err(Errno::RANGE.into());
    }
    call.reply.set(&path)?;
    Ok(path.len() as i64)
}

/// `chdir(path)`: the new directory is opened through the jail and kept open, so
/// the working directory cannot be anywhere else.
pub fn chdir(call: &mut ForwardedCall) -> CallResult {
    let dir = call.shadow.dir(libc::AT_FDCWD)?;
    let flags = OFlags::PATH | OFlags::DIRECTORY;
    let new_cwd = call.jail.open(dir, call.path()?, flags, Mode::empty())?;
    // chdir needs search permission, which an O_PATH open does not check.
    access_fd(new_cwd.as_fd(), Access::EXEC_OK)?;
    call.shadow.cwd = new_cwd;
    Ok(0)
}
// ANCHOR_END: cwd
