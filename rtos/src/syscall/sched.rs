//! Scheduling calls, SCHED_FIFO only (sched(7)). Note that musl's
//! `sched_setscheduler()` wrapper returns ENOSYS without a system call: programs make
//! the raw call (or use `pthread_setschedparam`).

use super::errno::Errno;
use crate::config::{PRIO_MAX, PRIO_MIN};
use crate::mm::user_memory;
use crate::task::scheduler::Scheduler;
use crate::task::tcb::Tid;

const SCHED_FIFO: u64 = 1;
/// A flag a caller may OR into the policy; there is no fork here, so it changes nothing.
const SCHED_RESET_ON_FORK: u64 = 0x4000_0000;

/// The task `pid` names: 0 is the caller.
fn target(sched: &mut Scheduler, pid: u64) -> Result<Tid, Errno> {
    let caller = sched.current().tid;
    let tid = if pid == 0 {
        caller
    } else {
        Tid::try_from(pid).map_err(|_| Errno::Srch)?
    };
    sched
        .tasks
        .contains_key(&tid)
        .then_some(tid)
        .ok_or(Errno::Srch)
}

/// Reads `struct sched_param { int sched_priority; }` and checks the priority.
fn read_priority(sched: &mut Scheduler, param: u64) -> Result<u8, Errno> {
    let prio: i32 = user_memory::read(&sched.current().space, param)?;
    u8::try_from(prio)
        .ok()
        .filter(|p| (PRIO_MIN..=PRIO_MAX).contains(p))
        .ok_or(Errno::Inval)
}

pub fn set_scheduler(
    sched: &mut Scheduler,
    pid: u64,
    policy: u64,
    param: u64,
) -> Result<i64, Errno> {
    if policy & !SCHED_RESET_ON_FORK != SCHED_FIFO {
        return Err(Errno::Inval);
    }
    set_param(sched, pid, param)
}

/// Sets a task's priority; the scheduling decision after the call applies it (a
/// higher-priority task that became ready preempts at once).
pub fn set_param(sched: &mut Scheduler, pid: u64, param: u64) -> Result<i64, Errno> {
    let tid = target(sched, pid)?;
    let prio = read_priority(sched, param)?;
    sched.set_priority(tid, prio);
    Ok(0)
}

pub fn get_scheduler(sched: &mut Scheduler, pid: u64) -> Result<i64, Errno> {
    target(sched, pid).map(|_| SCHED_FIFO as i64)
}

pub fn get_param(sched: &mut Scheduler, pid: u64, param: u64) -> Result<i64, Errno> {
    let tid = target(sched, pid)?;
    let prio = sched.tasks[&tid].prio as i32;
    user_memory::write(&sched.current().space, param, prio).map(|_| 0)
}

pub fn priority_bound(policy: u64, max: bool) -> Result<i64, Errno> {
    match (policy, max) {
        (SCHED_FIFO, true) => Ok(PRIO_MAX as i64),
        (SCHED_FIFO, false) => Ok(PRIO_MIN as i64),
        _ => Err(Errno::Inval),
    }
}
