//! The forwarded system calls: one `match` from Linux's number to one small function.
//!
//! Every call works on the task's shadow context and the jail, with its integer
//! arguments from the request and its data in the payload. On the wire (what the RTOS
//! client sends), pointers are never used: a path travels as NUL-terminated bytes in
//! the payload, data to write as the payload, and data read comes back as the reply's
//! payload. A count must fit one payload buffer; the client splits larger calls.

mod names;
mod open_how;
mod reply;
mod rw;
mod stat;

// LAB 3: the dispatch of openat/read/write/close into the shadow context. The
// student's version is labs/lab3/daemon_dispatch.rs (`cfg(lab_student)`: the
// `lab3-student` feature, or a handout without solutions; build.rs).
#[cfg_attr(lab_student, path = "../../../../labs/lab3/daemon_dispatch.rs")]
#[cfg_attr(
    not(lab_student),
    path = "../../../../solutions/lab3/daemon_dispatch.rs"
)]
mod daemon_dispatch;

use std::ffi::CStr;

pub use open_how::open_how;
pub use reply::Reply;
pub use stat::{linux_stat_bytes, STAT_SIZE};

use crate::refusal::CallResult;
use crate::{Jail, Refusal, Shadow};

// ANCHOR: forwarded_call
/// One forwarded call, as a handler sees it.
pub struct ForwardedCall<'a> {
    /// The task's shadow context: its fd table and working directory.
    pub shadow: &'a mut Shadow,
    pub jail: &'a Jail,
    /// The call's arguments, Linux's order (pointer arguments are meaningless here).
    pub args: [u64; 6],
    /// The payload the RTOS sent: a path, two paths, or the bytes to write.
    pub input: &'a [u8],
    /// The bytes to send back (data read, a `struct stat`), at most one payload buffer.
    pub reply: &'a mut Reply,
}
// ANCHOR_END: forwarded_call

impl ForwardedCall<'_> {
    /// Argument `index` as the C `int` Linux reads it (fds, flags): the low 32 bits.
    pub fn int_arg(&self, index: usize) -> i32 {
        self.args[index] as i32
    }

    /// The payload as one NUL-terminated path, with nothing after the NUL.
    pub fn path(&self) -> Result<&CStr, Refusal> {
        match self.input.split_last() {
            Some((0, _)) => CStr::from_bytes_with_nul(self.input).map_err(|_| Refusal::BadPayload),
            _ => Err(Refusal::BadPayload),
        }
    }

    /// The payload as two NUL-terminated paths back to back (`rename`, `renameat`).
    pub fn two_paths(&self) -> Result<(&CStr, &CStr), Refusal> {
        let first = CStr::from_bytes_until_nul(self.input).map_err(|_| Refusal::BadPayload)?;
        let rest = &self.input[first.to_bytes_with_nul().len()..];
        let second = CStr::from_bytes_with_nul(rest).map_err(|_| Refusal::BadPayload)?;
        Ok((first, second))
    }

    /// The bytes to write: the whole payload, which must be exactly as long as the
    /// count argument `index` says.
    pub fn data(&self, index: usize) -> Result<&[u8], Refusal> {
        if self.args[index] != self.input.len() as u64 {
            return Err(Refusal::BadCount);
        }
        Ok(self.input)
    }
}

// ANCHOR: dispatch
/// Runs system call `nr` (Linux's number) for the task. `None`: not a forwarded call;
/// the task gets `-ENOSYS`, as from Linux for a call it does not have. (`exit` and
/// `exit_group` end the shadow itself: the daemon handles them before this.)
pub fn dispatch(nr: u32, call: &mut ForwardedCall) -> Option<CallResult> {
    use daemon_dispatch as lab;
    Some(match i64::from(nr) {
        libc::SYS_openat => lab::openat(call),
        libc::SYS_read => lab::read(call),
        libc::SYS_write => lab::write(call),
        libc::SYS_close => lab::close(call),
        libc::SYS_open => names::open(call),
        libc::SYS_readv => rw::readv(call),
        libc::SYS_writev => rw::writev(call),
        libc::SYS_pread64 => rw::pread64(call),
        libc::SYS_pwrite64 => rw::pwrite64(call),
        libc::SYS_lseek => rw::lseek(call),
        libc::SYS_fsync => rw::fsync(call),
        libc::SYS_getdents64 => rw::getdents64(call),
        libc::SYS_fstat => stat::fstat(call),
        libc::SYS_stat => stat::stat(call),
        libc::SYS_lstat => stat::lstat(call),
        libc::SYS_newfstatat => stat::newfstatat(call),
        libc::SYS_access => names::access(call),
        libc::SYS_unlink => names::unlink(call),
        libc::SYS_unlinkat => names::unlinkat(call),
        libc::SYS_mkdir => names::mkdir(call),
        libc::SYS_mkdirat => names::mkdirat(call),
        libc::SYS_rmdir => names::rmdir(call),
        libc::SYS_rename => names::rename(call),
        libc::SYS_renameat => names::renameat(call),
        libc::SYS_getcwd => names::getcwd(call),
        libc::SYS_chdir => names::chdir(call),
        _ => return None,
    })
}
// ANCHOR_END: dispatch
