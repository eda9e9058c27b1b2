//! A task's forwarded call: sent from its system call, which blocks it; advanced by
//! each answer (the next chunk of a large read or write); ended by the last answer,
//! which wakes the task with its result. The task never spins: it is off the ready
//! queues from its system call to its wake-up.

use core::sync::atomic::Ordering;

use rtos::forward::call::{ForwardedCall, UserMemory};
use syscall_ring::{Completion, Status};
use x86_64::registers::control::Cr3;

use super::ring::Ring;
use super::Forwarder;
use crate::mm::address_space::AddressSpace;
use crate::mm::user_memory;
use crate::syscall::errno::Errno;
use crate::task::scheduler::Scheduler;
use crate::task::tcb::{Task, Tid};

/// A task's memory, through the checks every system call makes. Its address space
/// must be the active one ([`with_space`]).
pub struct TaskMemory<'a>(&'a AddressSpace);

impl UserMemory for TaskMemory<'_> {
    fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno> {
        out.copy_from_slice(user_memory::slice(self.0, addr, out.len())?);
        Ok(())
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        user_memory::write_bytes(self.0, addr, data)
    }

    fn check(&self, addr: u64, len: u64, write: bool) -> bool {
        self.0.check(addr, len, write)
    }
}

/// Runs `f` on the memory of `task`, whose address space is made the active one for
/// it (an answer arrives while another task, or the idle loop, runs), then returns
/// to the one that was active.
fn with_space<R>(task: &Task, f: impl FnOnce(&TaskMemory) -> R) -> R {
    let (previous, flags) = Cr3::read();
    task.space.activate();
    let result = f(&TaskMemory(&task.space));
    // SAFETY: back to the space that was active; every space maps the kernel alike.
    unsafe { Cr3::write(previous, flags) };
    result
}

/// What became of a call after one step.
enum Step {
    /// A request is on the ring; the task waits on.
    Sent,
    /// The call is over: the task's system call returns this.
    Done(i64),
}

/// Sends the call's next request, if it has one.
fn send_next(ring: &mut Ring, tid: Tid, call: &mut ForwardedCall, mem: &TaskMemory) -> Step {
    let (request, payload) = match call.request(mem) {
        Ok(Some(next)) => next,
        Ok(None) => return Step::Done(Errno::Io.negative()),
        Err(errno) => return Step::Done(errno.negative()),
    };
    match ring.submit(request, payload, Some(tid)) {
        Ok(()) => Step::Sent,
        // Every tag in flight: Linux's answer for "try again".
        Err(syscall_ring::RingError::Full) => Step::Done(Errno::Again.negative()),
        Err(_) => Step::Done(Errno::Io.negative()),
    }
}

impl Forwarder {
    // ANCHOR: start_call
    /// The current task's forwarded system call: packed (its pointers checked, its
    /// paths copied) and sent. `Ok(())`: the task must block; `Err(ret)`: the call is
    /// over already (a bad pointer, no daemon).
    pub fn start_call(&mut self, task: &Task, number: u64, args: &[u64; 6]) -> Result<(), i64> {
        let Some(ring) = self.ring.as_mut() else {
            self.control
                .failed_no_daemon
                .fetch_add(1, Ordering::Relaxed);
            return Err(Errno::Io.negative());
        };
        // The caller's space is the active one during its system call.
        let mem = TaskMemory(&task.space);
        let slot = ring.client.payload_slot_size();
        let mut call = match ForwardedCall::new(task.tid, number, args, &mem, slot) {
            Ok(Some(call)) => call,
            Ok(None) => return Err(Errno::NoSys.negative()),
            Err(errno) => return Err(errno.negative()),
        };
        match send_next(ring, task.tid, &mut call, &mem) {
            Step::Sent => {
                ring.calls.insert(task.tid, call);
                self.control.forwarded.fetch_add(1, Ordering::Relaxed);
                self.notify_linux();
                Ok(())
            }
            Step::Done(ret) => Err(ret),
        }
    }
    // ANCHOR_END: start_call

    // ANCHOR: answer
    /// One answer, matched already to its request: advances the waiting task's call,
    /// and wakes the task when the call is over.
    pub fn answer(&mut self, sched: &mut Scheduler, done: Completion) {
        let Some(ring) = self.ring.as_mut() else {
            return;
        };
        // `None`: nobody waits (a TaskStart, a dead task's exit_group).
        let Some(Some(tid)) = ring.waiters.remove(&done.id.0) else {
            return;
        };
        let (Some(mut call), Some(task)) = (ring.calls.remove(&tid), sched.tasks.get(&tid)) else {
            return;
        };
        let reply_len = (done.payload_len as usize).min(ring.reply.len());
        let step = with_space(task, |mem| {
            if done.status == Status::Rejected {
                // The daemon found our request malformed: it never ran.
                return Step::Done(Errno::Io.negative());
            }
            match call.complete(done.ret, &ring.reply[..reply_len], mem) {
                Ok(Some(ret)) => Step::Done(ret),
                Ok(None) => send_next(ring, tid, &mut call, mem),
                Err(error) => {
                    super::count_rejected(self.control, error);
                    Step::Done(Errno::Io.negative())
                }
            }
        });
        match step {
            Step::Sent => {
                ring.calls.insert(tid, call);
                self.control.forwarded.fetch_add(1, Ordering::Relaxed);
                self.notify_linux();
            }
            Step::Done(ret) => sched.wake(tid, ret),
        }
    }
    // ANCHOR_END: answer
}
