//! The daemon's counters: what it served, what it refused and why.

use std::fmt;

use syscall_ring::RingError;

use crate::Refusal;

/// Ring-level errors worth telling apart (the others are counted as `ring_other`).
const RING_ERRORS: [(RingError, &str); 5] = [
    (RingError::UnknownOpcode, "unknown_opcode"),
    (RingError::BadStatus, "bad_status"),
    (RingError::PayloadOutOfBounds, "bad_payload_ref"),
    (RingError::IndexOutOfRange, "bad_index"),
    (RingError::Full, "response_queue_full"),
];

// ANCHOR: stats
/// Counters since the daemon started. `refused` and `ring` are the peer's mistakes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests answered with `Done` (whatever Linux returned).
    pub served: u64,
    /// Forwarded system calls the daemon does not serve (`-ENOSYS`).
    pub not_forwarded: u64,
    /// Requests refused before Linux saw them, by [`Refusal`] (in `Refusal::ALL` order).
    pub refused: [u64; Refusal::ALL.len()],
    /// Malformed ring entries, by the `RING_ERRORS` kinds, then all others.
    pub ring: [u64; RING_ERRORS.len() + 1],
    pub tasks_started: u64,
    pub tasks_exited: u64,
    /// Launches posted to the RTOS (`crtosctl run`), and launches that started no
    /// task (refused by the daemon or the RTOS, or unanswered).
    pub launches: u64,
    pub launches_failed: u64,
}
// ANCHOR_END: stats

impl Stats {
    pub fn refusal(&mut self, refusal: Refusal) {
        let index = Refusal::ALL.iter().position(|&r| r == refusal);
        self.refused[index.unwrap_or(0)] += 1;
    }

    pub fn refusals(&self, refusal: Refusal) -> u64 {
        let index = Refusal::ALL.iter().position(|&r| r == refusal);
        self.refused[index.unwrap_or(0)]
    }

    pub fn ring_error(&mut self, error: RingError) {
        self.ring[ring_index(error)] += 1;
    }

    pub fn ring_errors(&self, error: RingError) -> u64 {
        self.ring[ring_index(error)]
    }

    /// Every malformed entry and refused request.
    pub fn rejected(&self) -> u64 {
        self.refused.iter().chain(&self.ring).sum()
    }
}

fn ring_index(error: RingError) -> usize {
    let known = RING_ERRORS.iter().position(|&(e, _)| e == error);
    known.unwrap_or(RING_ERRORS.len())
}

/// One line of `key=value` pairs, for `--status-file` and the log.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "served={} not_forwarded={}",
            self.served, self.not_forwarded
        )?;
        write!(
            f,
            " tasks_started={} tasks_exited={}",
            self.tasks_started, self.tasks_exited
        )?;
        write!(
            f,
            " launches={} launches_failed={}",
            self.launches, self.launches_failed
        )?;
        write!(f, " rejected={}", self.rejected())?;
        for (refusal, count) in Refusal::ALL.iter().zip(self.refused) {
            write!(f, " {}={count}", refusal.name())?;
        }
        let names = RING_ERRORS
            .iter()
            .map(|&(_, name)| name)
            .chain(["ring_other"]);
        for (name, count) in names.zip(self.ring) {
            write!(f, " {name}={count}")?;
        }
        Ok(())
    }
}
