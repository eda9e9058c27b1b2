//! Clocks and sleeps, from the TSC. `CLOCK_MONOTONIC` (and its RAW, COARSE and BOOTTIME
//! variants, which are the same clock here) counts from boot; `CLOCK_REALTIME` adds the
//! boot block's wall-clock base. A sleep blocks the task until its deadline in TSC
//! cycles, rounded up, so it never wakes early.

use super::errno::Errno;
use super::Outcome;
use crate::drivers::tsc;
use crate::mm::user_memory;
use crate::task::tcb::Task;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const TIMER_ABSTIME: u64 = 1;
const NS_PER_SEC: u64 = 1_000_000_000;

/// `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

impl Timespec {
    fn from_ns(ns: u64) -> Self {
        Timespec {
            sec: (ns / NS_PER_SEC) as i64,
            nsec: (ns % NS_PER_SEC) as i64,
        }
    }

    fn to_ns(self) -> Result<u64, Errno> {
        if self.sec < 0 || !(0..NS_PER_SEC as i64).contains(&self.nsec) {
            return Err(Errno::Inval);
        }
        Ok((self.sec as u64)
            .saturating_mul(NS_PER_SEC)
            .saturating_add(self.nsec as u64))
    }
}

/// Whether `clock` is wall-clock time (else monotonic); `EINVAL` for unknown clocks.
fn is_realtime(clock: u64) -> Result<bool, Errno> {
    match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Ok(true),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(false)
        }
        _ => Err(Errno::Inval),
    }
}

pub fn clock_gettime(task: &Task, clock: u64, ts: u64) -> Result<i64, Errno> {
    let ns = if is_realtime(clock)? {
        tsc::realtime_ns()
    } else {
        tsc::monotonic_ns()
    };
    user_memory::write(&task.space, ts, Timespec::from_ns(ns)).map(|_| 0)
}

/// The resolution: one TSC cycle, at least 1 ns.
pub fn clock_getres(task: &Task, clock: u64, ts: u64) -> Result<i64, Errno> {
    is_realtime(clock)?;
    if ts == 0 {
        return Ok(0);
    }
    let res = tsc::cycles_to_ns(1).max(1);
    user_memory::write(&task.space, ts, Timespec::from_ns(res)).map(|_| 0)
}

/// Sleep until `CLOCK_MONOTONIC` reads `deadline_ns` (or return now if it does).
fn sleep_until_monotonic(deadline_ns: u64) -> Outcome {
    let deadline = tsc::deadline_at_monotonic_ns(deadline_ns);
    if deadline <= tsc::now() {
        Outcome::Return(0)
    } else {
        Outcome::Sleep(deadline)
    }
}

fn read_timespec(task: &Task, addr: u64) -> Result<u64, Errno> {
    user_memory::read::<Timespec>(&task.space, addr)?.to_ns()
}

pub fn nanosleep(task: &Task, req: u64) -> Outcome {
    match read_timespec(task, req) {
        Ok(ns) => sleep_until_monotonic(tsc::monotonic_ns().saturating_add(ns)),
        Err(e) => Outcome::Return(e.negative()),
    }
}

pub fn clock_nanosleep(task: &Task, clock: u64, flags: u64, req: u64) -> Outcome {
    let deadline = (|| {
        let realtime = is_realtime(clock)?;
        let ns = read_timespec(task, req)?;
        Ok(match (flags & TIMER_ABSTIME != 0, realtime) {
            (false, _) => tsc::monotonic_ns().saturating_add(ns),
            (true, false) => ns,
            // An absolute wall-clock time, as a monotonic one.
            (true, true) => ns.saturating_sub(tsc::realtime_ns() - tsc::monotonic_ns()),
        })
    })();
    match deadline {
        Ok(ns) => sleep_until_monotonic(ns),
        Err(e) => Outcome::Return(Errno::negative(e)),
    }
}
