//! LAB 3: the daemon runs a task's openat/read/write/close in its shadow context.
//!
//! Each function gets one forwarded call (`driver/daemon/src/calls/mod.rs`,
//! `ForwardedCall`): `call.args` are the task's arguments in Linux's order,
//! `call.input` the payload it sent, `call.reply` the bytes to send back, and
//! `call.shadow` the task's fd table (`fds`) and working directory. A task's fd
//! numbers are not Linux's: always translate them through `call.shadow.fds`.
//! Return the call's result, or an error; `?` turns Linux's errno and the daemon's
//! refusals into the negative errno the task receives.

use super::{open_how, ForwardedCall};
use crate::refusal::CallResult;

// ANCHOR: openat
/// `openat(dirfd, path, flags, mode)`: opens `path` (the payload) through the jail,
/// relative to `dirfd`, and gives the task the lowest free fd number for it.
pub fn openat(call: &mut ForwardedCall) -> CallResult {
    let (flags, mode) = open_how(call.args[2], call.args[3]);
    let dir = call.shadow.dir(call.int_arg(0))?;
    let file = call.jail.open(dir, call.path()?, flags, mode)?;
    Ok(call.shadow.fds.insert(file)?.into())
}
// ANCHOR_END: openat

// ANCHOR: read_write
/// `read(fd, _, count)`: up to `count` bytes from the task's `fd`, sent back as the
/// reply; returns how many.
pub fn read(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let buffer = call.reply.buffer(call.args[2])?;
    let n = rustix::io::read(fd, buffer)?;
    call.reply.truncate(n);
    Ok(n as i64)
}

/// `write(fd, _, count)`: writes the payload (`count` bytes) to the task's `fd`;
/// returns how many Linux took.
pub fn write(call: &mut ForwardedCall) -> CallResult {
    let fd = call.shadow.fds.get(call.int_arg(0))?;
    let data = call.data(2)?;
    Ok(rustix::io::write(fd, data)? as i64)
}
// ANCHOR_END: read_write

// ANCHOR: close
/// `close(fd)`: takes `fd` out of the task's table and closes the Linux fd.
pub fn close(call: &mut ForwardedCall) -> CallResult {
    let file = call.shadow.fds.remove(call.int_arg(0))?;
    // Dropping an `OwnedFd` closes it.
    drop(file);
    Ok(0)
}
// ANCHOR_END: close
