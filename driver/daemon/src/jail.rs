//! The jail: every path an RTOS task names is resolved inside one directory of
//! Linux's file system, which the task sees as its `/`.
//!
//! All resolution goes through `openat2(2)` from the jail's root with
//! `RESOLVE_IN_ROOT`: the kernel treats the root fd as `/` for that one lookup, so an
//! absolute path starts at the jail, `..` at the jail's top stays there, and a
//! symlink (absolute or relative) is followed as if the jail were the whole file
//! system. Nothing the task names can reach outside, and the kernel checks it on
//! every component, atomically, which no string check in user space can do (a
//! symlink can be swapped between a check and a use).
//!
//! Why `RESOLVE_IN_ROOT` and not `RESOLVE_BENEATH`: `BENEATH` fails any path that
//! is absolute or climbs above the starting directory. A program whose working
//! directory is `/data` could then not open `../log` nor `/etc/config`, both inside
//! the jail. `IN_ROOT` gives the program a consistent file system, a `chroot` for
//! one lookup, and escapes still land inside.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;

// ANCHOR: resolve_flags
/// `IN_ROOT`: the root fd is `/` (see the module comment). `NO_MAGICLINKS`: a
/// `/proc/self/fd/N`-style link would jump to a file outside whatever the jail holds.
const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);
// ANCHOR_END: resolve_flags

/// `openat2` fails with `EAGAIN` when a rename elsewhere raced its `..` check; the
/// lookup is then simply tried again.
const RACE_RETRIES: usize = 8;

/// The root directory, held open: renaming or replacing the path given on the
/// command line later changes nothing.
pub struct Jail {
    root: OwnedFd,
}

impl Jail {
    /// The jail rooted at directory `root`.
    pub fn new(root: &Path) -> io::Result<Jail> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = rustix::fs::open(root, flags, Mode::empty())?;
        Ok(Jail { root })
    }

    /// The root itself (a new `O_PATH` fd): a new task's working directory.
    pub fn open_root(&self) -> Result<OwnedFd, Errno> {
        self.open_in_root(c"/", OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
    }

    // ANCHOR: open
    /// Opens `path` as the task sees it, relative to directory `dir` when not
    /// absolute. `O_CLOEXEC` is always added: these fds are the daemon's, and no
    /// program it might start should inherit them.
    pub fn open(
        &self,
        dir: BorrowedFd<'_>,
        path: &CStr,
        flags: OFlags,
        mode: Mode,
    ) -> Result<OwnedFd, Errno> {
        let path = self.task_path(dir, path)?;
        self.open_in_root(&path, flags, mode)
    }
    // ANCHOR_END: open

    fn open_in_root(&self, path: &CStr, flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
        let mut result = Err(Errno::AGAIN);
        for _ in 0..RACE_RETRIES {
            result = openat2(&self.root, path, flags | OFlags::CLOEXEC, mode, RESOLVE);
            if !matches!(result, Err(Errno::AGAIN)) {
                break;
            }
        }
        result
    }

    /// The directory that holds `path`'s last component, opened, and that component
    /// (trailing slashes kept, so the kernel still applies its "must be a directory"
    /// rule). For the calls that act on a name rather than on a file: `unlink`,
    /// `mkdir`, `rmdir`, `rename`, `lstat`. A last component `.` or `..` is given to the
    /// kernel as it is: those calls refuse it (`EINVAL`, `EBUSY`, ...), never act on it.
    pub fn parent(&self, dir: BorrowedFd<'_>, path: &CStr) -> Result<(OwnedFd, CString), Errno> {
        let path = self.task_path(dir, path)?;
        let bytes = path.to_bytes();
        let trimmed = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b'/').count();
        // `task_path` is absolute, so a '/' is always found (only "/" trims to empty).
        let split = bytes[..trimmed]
            .iter()
            .rposition(|&b| b == b'/')
            .unwrap_or(0);
        let (parent, name) = (&bytes[..split.max(1)], &bytes[split + 1..]);
        let name = if name.is_empty() {
            c".".into()
        } else {
            c_string(name.to_vec())?
        };
        let parent = self.open_in_root(&c_string(parent.to_vec())?, dir_flags(), Mode::empty())?;
        Ok((parent, name))
    }

    // ANCHOR: task_path
    /// `path` as an absolute path inside the jail. A relative path is joined to the
    /// jail path of `dir`, read from the kernel each time (`/proc/self/fd`), so a
    /// directory renamed since it was opened is still found where it now is.
    /// (`openat2` cannot start at `dir` itself: with `IN_ROOT` that fd would become
    /// the root, and `..` could no longer climb out of it into the rest of the jail.)
    fn task_path(&self, dir: BorrowedFd<'_>, path: &CStr) -> Result<CString, Errno> {
        let bytes = path.to_bytes();
        if bytes.first() == Some(&b'/') {
            return Ok(path.into());
        }
        if bytes.is_empty() {
            return Err(Errno::NOENT);
        }
        let mut joined = self.path_of(dir)?;
        joined.push(b'/');
        joined.extend_from_slice(bytes);
        c_string(joined)
    }
    // ANCHOR_END: task_path

    /// Where directory `dir` is, as the task sees it: `/` for the root, `/a/b` below.
    /// `ENOENT` if it is no longer inside the jail (moved out, or deleted), as Linux's
    /// `getcwd` says for a working directory that is unreachable.
    pub fn path_of(&self, dir: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
        let root = fd_path(self.root.as_fd())?;
        let dir = fd_path(dir)?;
        // The kernel's mark for an unlinked directory (a real name ending so is refused
        // too: the price of reading the path from /proc).
        if dir.ends_with(b" (deleted)") {
            return Err(Errno::NOENT);
        }
        if root == b"/" {
            return Ok(dir);
        }
        match dir.strip_prefix(root.as_slice()) {
            Some([]) => Ok(b"/".to_vec()),
            // On a component boundary: "/jail/a", not "/jail2".
            Some(rest) if rest.starts_with(b"/") => Ok(rest.to_vec()),
            _ => Err(Errno::NOENT),
        }
    }
}

/// Flags for a directory opened only to name things in it.
fn dir_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY
}

/// The path Linux has for `fd` (`readlink /proc/self/fd/N`).
fn fd_path(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    Ok(rustix::fs::readlinkat(CWD, link, Vec::new())?.into_bytes())
}

fn c_string(bytes: Vec<u8>) -> Result<CString, Errno> {
    // Paths come from a `CStr` or from the kernel: no NUL inside, but say so if one is.
    CString::new(bytes).map_err(|_| Errno::INVAL)
}
