//! LAB 3: the daemon runs a task's openat/read/write/close in its shadow context.
//!
//! Each function gets one forwarded call (`driver/daemon/src/calls/mod.rs`,
//! `ForwardedCall`): `call.args` are the task's arguments in Linux's order,
//! `call.input` the payload it sent, `call.reply` the bytes to send back, and
//! `call.shadow` the task's fd table (`fds`) and working directory. A task's fd
//! numbers are not Linux's: always translate them through `call.shadow.fds`.
//! Return the call's result, or an error; `?` turns Linux's errno and the daemon's
//! refusals into the negative errno the task receives.
//!
//! What you may use (all given):
//! - `call.int_arg(i)`: argument `i` as a C `int` (fds, dirfds);
//! - `call.path()`: the payload as the path (`&CStr`), or a refusal;
//! - `call.data(i)`: the payload as the bytes to write, checked against count `args[i]`;
//! - `call.shadow.dir(dirfd)`: the directory `dirfd` names (`AT_FDCWD`: the cwd);
//! - `call.shadow.fds.get(fd)` / `.insert(file)` / `.remove(fd)`: the fd table;
//! - `call.jail.open(dir, path, flags, mode)`: `openat2` inside the jail;
//! - `open_how(flags, mode)`: `open`'s flags and mode cleaned for `openat2`;
//! - `call.reply.buffer(count)` then `call.reply.truncate(n)`: the bytes sent back;
//! - `rustix::io::read(fd, buffer)`, `rustix::io::write(fd, data)`.

use super::{open_how, ForwardedCall};
use crate::refusal::CallResult;

// ANCHOR: openat
/// `openat(dirfd, path, flags, mode)`: opens `path` (the payload) through the jail,
/// relative to `dirfd`, and gives the task the lowest free fd number for it.
pub fn openat(call: &mut ForwardedCall) -> CallResult {
    // LAB 3: clean flags (args[2]) and mode (args[3]) with `open_how`, find the
    // directory `dirfd` (args[0]) names, open the path through the jail (never with
    // Linux's own `open`: that would leave the jail), put the new fd in the task's
    // table and return its number.
    let _ = (call, open_how);
    todo!("LAB 3: daemon_dispatch.rs: openat (open the path through the jail and insert the fd in the shadow's table)")
}
// ANCHOR_END: openat

// ANCHOR: read_write
/// `read(fd, _, count)`: up to `count` bytes from the task's `fd`, sent back as the
/// reply; returns how many.
pub fn read(call: &mut ForwardedCall) -> CallResult {
    // LAB 3: look the task's fd (args[0]) up in its table, get a reply buffer of
    // `count` (args[2]) bytes, read into it, keep only the bytes read, return their
    // number. A short read is a valid answer: do not loop.
    let _ = call;
    todo!("LAB 3: daemon_dispatch.rs: read (read from the task's fd into the reply)")
}

/// `write(fd, _, count)`: writes the payload (`count` bytes) to the task's `fd`;
/// returns how many Linux took.
pub fn write(call: &mut ForwardedCall) -> CallResult {
    // LAB 3: look the task's fd (args[0]) up in its table, take the payload checked
    // against `count` (args[2]), write it once, return what Linux returned.
    let _ = call;
    todo!("LAB 3: daemon_dispatch.rs: write (write the payload to the task's fd)")
}
// ANCHOR_END: read_write

// ANCHOR: close
/// `close(fd)`: takes `fd` out of the task's table and closes the Linux fd.
pub fn close(call: &mut ForwardedCall) -> CallResult {
    // LAB 3: remove the task's fd (args[0]) from its table; the `OwnedFd` you get
    // closes the Linux fd when dropped. An fd not in the table is refused (`BadFd`).
    let _ = call;
    todo!("LAB 3: daemon_dispatch.rs: close (remove the fd from the shadow's table)")
}
// ANCHOR_END: close
