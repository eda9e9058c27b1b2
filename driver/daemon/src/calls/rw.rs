//! Data calls on an open fd, other than the lab's `read` and `write`.
//!
//! `readv`/`writev` arrive gathered: the RTOS copies the task's iovecs into one
//! payload (or scatters the reply into them), so on Linux they are one buffer each,
//! which has the same effect, and `args[2]` is the byte count, not `iovcnt`.

use std::io::{IoSlice, IoSliceMut};

use rustix::fs::SeekFrom;
use rustix::io::Errno;

use super::ForwardedCall;
use crate::refusal::CallResult;

/// `readv(fd, _, count)`: up to `count` bytes into the reply.
pub fn readv(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let buffer = call.reply.buffer(call.args[2])?;
    let n = rustix::io::readv(fd, &mut [IoSliceMut::new(buffer)])?;
    call.reply.truncate(n);
    Ok(n as i64)
}

/// `writev(fd, _, count)`: the payload, gathered by the RTOS.
pub fn writev(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let data = call.data(2)?;
    Ok(rustix::io::writev(fd, &[IoSlice::new(data)])? as i64)
}

/// `pread64(fd, _, count, offset)`.
pub fn pread64(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let buffer = call.reply.buffer(call.args[2])?;
    let n = rustix::io::pread(fd, buffer, offset(call.args[3])?)?;
    call.reply.truncate(n);
    Ok(n as i64)
}

/// `pwrite64(fd, _, count, offset)`.
pub fn pwrite64(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let data = call.data(2)?;
    Ok(rustix::io::pwrite(fd, data, offset(call.args[3])?)? as i64)
}

/// Linux takes `loff_t`: a negative offset is `EINVAL`.
fn offset(raw: u64) -> Result<u64, Errno> {
    if (raw as i64) < 0 {
        return Err(Errno::INVAL);
    }
    Ok(raw)
}

/// `lseek(fd, offset, whence)`: the new position.
pub fn lseek(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let delta = call.args[1] as i64;
    let position = match call.int_arg(2) {
        libc::SEEK_SET => SeekFrom::Start(offset(call.args[1])?),
        libc::SEEK_CUR => SeekFrom::Current(delta),
        libc::SEEK_END => SeekFrom::End(delta),
        libc::SEEK_DATA => SeekFrom::Data(offset(call.args[1])?),
        libc::SEEK_HOLE => SeekFrom::Hole(offset(call.args[1])?),
        _ => return Err(Errno::INVAL.into()),
    };
    Ok(rustix::fs::seek(fd, position)? as i64)
}

/// `fsync(fd)`.
pub fn fsync(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    rustix::fs::fsync(fd)?;
    Ok(0)
}

// ANCHOR: getdents64
/// `getdents64(fd, _, count)`: the kernel's `struct linux_dirent64` records, as
/// bytes, exactly as Linux wrote them (only whole records that fit in `count`).
pub fn getdents64(call: &mut ForwardedCall) -> CallResult {
    use std::os::fd::AsRawFd;
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let buffer = call.reply.buffer(call.args[2])?;
    // SAFETY: the kernel writes at most `buffer.len()` bytes into `buffer`, which we
    // own for the call; `fd` is open (borrowed from the table). rustix parses these
    // records and does not hand out the raw bytes, hence libc.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            fd.as_raw_fd(),
            buffer.as_mut_ptr(),
            buffer.len(),
        )
    };
    if n < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error())
            .unwrap_or(Errno::IO)
            .into());
    }
    call.reply.truncate(n as usize);
    Ok(n)
}
// ANCHOR_END: getdents64
