//! The console as files 0, 1 and 2: `write` and `writev` to standard output and
//! standard error go to the RTOS console (until lab 3 forwards them to Linux);
//! standard input is always at its end (the console has no input path); `ioctl` on
//! them says "not a terminal", which makes musl's stdio buffer fully, as on a pipe.

use rtos::iovec::{IoVec, IOV_MAX};

use super::errno::Errno;
use crate::drivers::console;
use crate::mm::user_memory;
use crate::task::tcb::Task;

const STDIN: u64 = 0;
const STDERR: u64 = 2;
fn check_output_fd(fd: u64) -> Result<(), Errno> {
    match fd {
        1 | STDERR => Ok(()),
        _ => Err(Errno::BadF),
    }
}

/// `read` from standard input: end of file, once the buffer has been checked (Linux
/// checks the descriptor, then the buffer).
pub fn read(task: &Task, fd: u64, buf: u64, count: u64) -> Result<i64, Errno> {
    if fd != STDIN {
        return Err(Errno::BadF);
    }
    if count > 0 && !task.space.check(buf, count, true) {
        return Err(Errno::Fault);
    }
    Ok(0)
}

pub fn write(task: &Task, fd: u64, buf: u64, count: u64) -> Result<i64, Errno> {
    check_output_fd(fd)?;
    let bytes = user_memory::slice(&task.space, buf, count as usize)?;
    console::write_bytes(bytes);
    Ok(count as i64)
}

pub fn writev(task: &Task, fd: u64, iov: u64, count: u64) -> Result<i64, Errno> {
    check_output_fd(fd)?;
    if count > IOV_MAX {
        return Err(Errno::Inval);
    }
    // Check every buffer before writing any: a bad one fails the whole call.
    let mut total = 0u64;
    for i in 0..count {
        let v: IoVec = user_memory::read(&task.space, iov + i * size_of::<IoVec>() as u64)?;
        user_memory::slice(&task.space, v.base, v.len as usize)?;
        total = total.checked_add(v.len).ok_or(Errno::Inval)?;
    }
    for i in 0..count {
        let v: IoVec = user_memory::read(&task.space, iov + i * size_of::<IoVec>() as u64)?;
        console::write_bytes(user_memory::slice(&task.space, v.base, v.len as usize)?);
    }
    Ok(total as i64)
}

/// Every descriptor the RTOS knows (0, 1, 2) is the console, which is not a terminal.
pub fn ioctl(fd: u64, _request: u64) -> Result<i64, Errno> {
    match fd {
        STDIN..=STDERR => Err(Errno::NoTty),
        _ => Err(Errno::BadF),
    }
}
