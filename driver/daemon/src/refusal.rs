//! Why a forwarded call failed: Linux said no, or the daemon refused what the RTOS sent.
//!
//! Both end as a negative errno in the reply, but only a refusal is the peer's fault,
//! so only a refusal is counted and logged (see `Stats`).

use rustix::io::Errno;

// ANCHOR: refusal
/// A request the daemon refuses before Linux sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The fd is not in the task's shadow fd table.
    BadFd,
    /// The payload does not hold what the call needs (a NUL-terminated path, two paths).
    BadPayload,
    /// The count argument disagrees with the payload or exceeds one payload buffer
    /// (the client must split larger calls: `syscall_ring::Transfer`).
    BadCount,
    /// The request names a task that has no shadow (never started, or exited).
    UnknownTask,
}

impl Refusal {
    pub const ALL: [Refusal; 4] = [
        Refusal::BadFd,
        Refusal::BadPayload,
        Refusal::BadCount,
        Refusal::UnknownTask,
    ];

    /// What the task's system call returns: Linux's errno for the same mistake.
    pub fn errno(self) -> Errno {
        match self {
            Refusal::BadFd => Errno::BADF,
            Refusal::BadPayload => Errno::FAULT,
            Refusal::BadCount => Errno::INVAL,
            Refusal::UnknownTask => Errno::SRCH,
        }
    }

    /// The counter's name in the stats line.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::BadFd => "bad_fd",
            Refusal::BadPayload => "bad_payload",
            Refusal::BadCount => "bad_count",
            Refusal::UnknownTask => "unknown_task",
        }
    }
}
// ANCHOR_END: refusal

/// How a forwarded call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// Linux ran the call and returned this errno: the task's own business.
    Linux(Errno),
    /// The daemon refused the request.
    Refused(Refusal),
}

impl CallError {
    pub fn errno(self) -> Errno {
        match self {
            CallError::Linux(errno) => errno,
            CallError::Refused(refusal) => refusal.errno(),
        }
    }
}

impl From<Errno> for CallError {
    fn from(errno: Errno) -> Self {
        CallError::Linux(errno)
    }
}

impl From<Refusal> for CallError {
    fn from(refusal: Refusal) -> Self {
        CallError::Refused(refusal)
    }
}

/// What a forwarded call returns: the non-negative result, or why it failed.
pub type CallResult = Result<i64, CallError>;
