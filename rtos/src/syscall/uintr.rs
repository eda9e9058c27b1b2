//! The user-interrupt calls (lab 4), with the numbers and meanings of Intel's UINTR RFC
//! for Linux: a receiver registers a handler (and gets its UPID), names a vector
//! (`uintr_create_fd`), a sender turns that name into a UITT index
//! (`uintr_register_sender`) for SENDUIPI, and a receiver may block until a user
//! interrupt comes (`uintr_wait`).
//!
//! The RTOS has no file table of its own (a launched task's descriptors are the
//! daemon's), so `uintr_create_fd` returns a *handle*, not a descriptor. A task whose
//! UPID lies in the shared region (the RTOS was started by Linux) gets a
//! [`SharedHandle`] (bit 32 | slot * 64 + vector), which Linux threads understand too
//! and `uintr_register_sender` accepts for any slot, Linux's included: that is how an
//! RTOS task and a Linux thread interrupt each other. A standalone RTOS's handles are
//! local: `tid * 64 + vector`. A handle lives as long as the receiver's registration;
//! `close` does not know it. Tids are never reused, so a local handle of a dead task
//! names nobody.

use alloc::boxed::Box;
use core::sync::atomic::Ordering;

use crtos_abi::uintr::{SharedHandle, UittEntry, Upid, USER_VECTORS};

use super::errno::Errno;
use super::Outcome;
use crate::arch::uintr::{self, point_upid, TaskUpid, UintrState, Uitt};
use crate::config::{UINTR_NOTIFY_VECTOR, UINTR_WAKE_VECTOR};
use crate::forwarder::upid_slots;
use crate::mm::user_memory;
use crate::task::scheduler::Scheduler;
use crate::task::tcb::{Task, Tid};

/// Bytes delivery steps below the interrupted RSP: the System V red zone, which RTOS
/// tasks (Linux executables) use as Linux threads do.
use crtos_abi::uintr::LINUX_STACK_ADJUST as STACK_ADJUST;

fn check_flags(flags: u64) -> Result<(), Errno> {
    match (uintr::available(), flags) {
        (false, _) => Err(Errno::OpNotSupp),
        (true, 0) => Ok(()),
        (true, _) => Err(Errno::Inval),
    }
}

/// `uintr_register_handler(handler, flags)`: the task becomes a receiver; its UPID
/// is made here (a slot of the shared region when started by Linux, else the heap).
pub fn register_handler(task: &mut Task, handler: u64, flags: u64) -> Result<i64, Errno> {
    check_flags(flags)?;
    user_memory::slice(&task.space, handler, 1)?; // a mapped user address
    let state = &mut task.context.uintr;
    if state.upid.is_some() {
        return Err(Errno::Busy);
    }
    let upid = TaskUpid::new();
    // The task runs: notifications to this CPU, SN clear.
    point_upid(&upid, UINTR_NOTIFY_VECTOR);
    if let Some(slot) = upid.slot() {
        kprintln!(
            "rtos: task {} {}: user-interrupt receiver, UPID in shared slot {slot} nonce={}",
            task.tid,
            task.name,
            crate::task::nonce()
        );
    }
    state.upid = Some(upid);
    state.set_receiver(handler, STACK_ADJUST);
    state.load_msrs();
    Ok(0)
}

/// `uintr_unregister_handler(flags)`: the task stops being a receiver; every sender's
/// entry naming its UPID is invalidated first.
pub fn unregister_handler(sched: &mut Scheduler, flags: u64) -> Result<i64, Errno> {
    check_flags(flags)?;
    let Some(address) = sched.current().context.uintr.upid_address() else {
        return Err(Errno::Inval);
    };
    forget_upid(sched, address);
    let state = &mut sched.current().context.uintr;
    state.upid = None;
    state.rr = 0;
    state.set_receiver(0, 0);
    state.load_msrs();
    Ok(0)
}

/// `uintr_create_fd(vector, flags)`: a handle naming this receiver's `vector`.
pub fn create_fd(task: &mut Task, vector: u64, flags: u64) -> Result<i64, Errno> {
    check_flags(flags)?;
    let Some(upid) = task.context.uintr.upid.as_ref() else {
        return Err(Errno::Inval);
    };
    if vector >= USER_VECTORS as u64 {
        return Err(Errno::Inval);
    }
    Ok(match upid.slot() {
        Some(slot) => SharedHandle::new(slot as u32, vector as u8)
            .ok_or(Errno::Inval)?
            .number() as i64,
        None => (task.tid as i64) * USER_VECTORS as i64 + vector as i64,
    })
}

/// The UPID address and user vector a handle names: a shared slot (any, Linux's too:
/// only addresses inside the UPID area are ever written to a UITT), or a local
/// handle's live receiver.
fn resolve_handle(sched: &Scheduler, handle: u64) -> Result<(u64, u8), Errno> {
    if let Some(shared) = SharedHandle::from_number(handle) {
        let upid = upid_slots::address_of(shared.slot as u64).ok_or(Errno::Inval)?;
        return Ok((upid, shared.vector));
    }
    let (tid, vector) = (
        (handle / USER_VECTORS as u64) as Tid,
        (handle % USER_VECTORS as u64) as u8,
    );
    let upid = sched
        .tasks
        .get(&tid)
        .and_then(|t| t.context.uintr.upid_address())
        .ok_or(Errno::Inval)?;
    Ok((upid, vector))
}

/// `uintr_register_sender(handle, flags)`: a UITT entry posting the handle's vector
/// into its receiver's UPID; returns the index SENDUIPI takes.
pub fn register_sender(sched: &mut Scheduler, handle: u64, flags: u64) -> Result<i64, Errno> {
    check_flags(flags)?;
    let (upid, vector) = resolve_handle(sched, handle)?;
    let state = &mut sched.current().context.uintr;
    let uitt = state
        .uitt
        .get_or_insert_with(|| Box::new(Uitt([UittEntry::default(); _])));
    let index = uitt.insert(vector, upid).ok_or(Errno::NoSpc)?;
    state.set_sender();
    state.load_msrs();
    Ok(index as i64)
}

/// `uintr_unregister_sender(index, flags)`: frees one UITT entry.
pub fn unregister_sender(task: &mut Task, index: u64, flags: u64) -> Result<i64, Errno> {
    check_flags(flags)?;
    let entry = task
        .context
        .uintr
        .uitt
        .as_mut()
        .and_then(|t| t.0.get_mut(index as usize))
        .filter(|e| **e != UittEntry::default())
        .ok_or(Errno::Inval)?;
    *entry = UittEntry::default();
    Ok(0)
}

/// `uintr_wait(flags)`: blocks until a user interrupt is posted to the task; then its
/// handler runs and the call returns -EINTR (at once if one is already posted). While
/// blocked the UPID names the wake vector, an ordinary interrupt (check after arm:
/// the vector first, then PIR).
pub fn wait(task: &mut Task, flags: u64) -> Outcome {
    if let Err(e) = check_flags(flags) {
        return Outcome::Return(e.negative());
    }
    let state = &mut task.context.uintr;
    let Some(upid) = state.upid.as_deref() else {
        return Outcome::Return(Errno::OpNotSupp.negative());
    };
    if uintr::pending_rr() != 0 {
        return Outcome::Return(Errno::Intr.negative()); // already here, held by UIF
    }
    point_upid(upid, UINTR_WAKE_VECTOR);
    if upid.pir.load(Ordering::SeqCst) != 0 {
        point_upid(upid, UINTR_NOTIFY_VECTOR);
        uintr::notify_if_posted(upid);
        return Outcome::Return(Errno::Intr.negative());
    }
    state.waiting = true;
    Outcome::Block
}

/// The wake vector's work: every waiting receiver with something posted becomes
/// ready; its call returns -EINTR and the switch in delivers what was posted.
pub fn wake_receivers(sched: &mut Scheduler) {
    let mut woken = alloc::vec::Vec::new();
    for (tid, task) in sched.tasks.iter_mut() {
        let state = &mut task.context.uintr;
        let posted = |u: &Upid| u.pir.load(Ordering::SeqCst) != 0;
        if state.waiting && state.upid.as_deref().is_some_and(posted) {
            state.waiting = false;
            woken.push(*tid);
        }
    }
    for tid in woken {
        sched.wake(tid, Errno::Intr.negative());
    }
}

/// Every UITT entry naming the UPID at `address` becomes invalid: a freed UPID's
/// memory may be the next receiver's, which must not hear the old senders.
fn forget_upid(sched: &mut Scheduler, address: u64) {
    for task in sched.tasks.values_mut() {
        if let Some(uitt) = task.context.uintr.uitt.as_mut() {
            for entry in uitt.0.iter_mut().filter(|e| e.upid == address) {
                *entry = UittEntry::default();
            }
        }
    }
}

/// A task ended: senders forget its UPID, and the CPU forgets its state (it ran last).
pub fn task_ended(sched: &mut Scheduler, task: &Task) {
    if let Some(address) = task.context.uintr.upid_address() {
        forget_upid(sched, address);
    }
    UintrState::clear_cpu();
}
