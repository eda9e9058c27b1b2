//! The RTOS's side of lab 3: system calls of launched tasks forwarded to the Linux
//! daemon over the shared ring, the daemon followed through the control page, and
//! programs launched through its mailbox. On only when started by Linux with a
//! control page the driver initialised; a standalone RTOS never forwards.
//!
//! One concept per file: `control` (the control page, notifying Linux), `ring` (the
//! ring of one daemon generation), `wait` (a task's call, from its system call to its
//! wake-up), `launch` (the mailbox), `idle` (how the idle loop waits, the vectors),
//! `upid_slots` (the shared region's UPIDs of RTOS tasks, lab 4), `uintr_receive` (the
//! forwarder's UPID, how a daemon's SENDUIPI reaches it) and `uintr_notify` (the
//! kernel's SENDUIPI to the daemon): the `uintr` notify mode, lab 4.
//! What touches no hardware (packing, the generation state machine, the mailbox's
//! checks) is the library's `rtos::forward`, tested on the host.

mod control;
mod idle;
mod launch;
mod ring;
mod uintr_notify;
mod uintr_receive;
pub mod upid_slots;
mod wait;

use core::sync::atomic::Ordering;

use crtos_abi::forwarding::{ControlPage, NotifyMode};
use crtos_abi::rtos::{BootBlock, RunMode};
use rtos::config::FORWARD_WATCH_MS;
use rtos::forward::call::is_forwarded;
use rtos::forward::link::{Change, Link};
use spin::Mutex;
use syscall_ring::{Call, RingError};

pub use idle::wait_for_work;

use self::ring::Ring;
use self::uintr_notify::DaemonUintr;
use crate::config::FORWARD_NOTIFY_VECTOR;
use crate::drivers::tsc;
use crate::syscall::errno::Errno;
use crate::syscall::numbers as nr;
use crate::syscall::Outcome;
use crate::task::scheduler::Scheduler;
use crate::task::tcb::Task;
use crate::task::{self};

/// Log the first few rejected answers, then only every power of two.
const REJECTED_LOGGED_IN_FULL: u64 = 8;

pub struct Forwarder {
    control: &'static ControlPage,
    boot: &'static BootBlock,
    shared_base: u64,
    link: Link,
    /// The ring of the daemon being served (`None`: no daemon).
    ring: Option<Ring>,
    /// The last `launch_seq` answered.
    launch_done: u32,
    /// The daemon's UPID and the kernel UITT naming it (`uintr` mode).
    to_daemon: DaemonUintr,
}

// SAFETY: the RTOS runs on one CPU, and the forwarder is only touched with interrupts
// off (kernel entries, the idle loop's look), under this lock.
unsafe impl Send for Forwarder {}

static FORWARDER: Mutex<Option<Forwarder>> = Mutex::new(None);

// ANCHOR: init
/// Turns forwarding on if Linux started the RTOS and the driver initialised the
/// control page: installs the notification vector and publishes it with this CPU's
/// APIC ID. The ring is laid out when a daemon attaches (`service`).
pub fn init(boot: &'static BootBlock, mode: RunMode, nonce: &str) {
    if mode != RunMode::Started {
        return;
    }
    let control = match control::find(boot) {
        Ok(page) => page,
        Err(magic) => {
            kprintln!(
                "rtos: forwarding off: no control page at {:#x} (magic {magic:02x?}) nonce={nonce}",
                boot.shared_base
            );
            return;
        }
    };
    idle::install();
    control.rtos_apic_id.store(boot.apic_id, Ordering::Relaxed);
    control
        .rtos_vector
        .store(FORWARD_NOTIFY_VECTOR as u32, Ordering::Release);
    *FORWARDER.lock() = Some(Forwarder {
        control,
        boot,
        shared_base: boot.shared_base,
        link: Link::default(),
        ring: None,
        launch_done: control.launch_done_seq.load(Ordering::Relaxed),
        to_daemon: DaemonUintr::default(),
    });
    kprintln!(
        "rtos: forwarding ready vector={FORWARD_NOTIFY_VECTOR:#x} apic_id={} shared={:#x} nonce={nonce}",
        boot.apic_id,
        boot.shared_base
    );
    // Once the forwarder is on: its UPID takes one of the shared region's slots.
    uintr_receive::publish(control, boot.apic_id, nonce);
}
// ANCHOR_END: init

/// The shared region's physical base, when the RTOS forwards.
fn shared_base() -> Option<u64> {
    FORWARDER.lock().as_ref().map(|fw| fw.shared_base)
}

/// Whether the RTOS forwards (and so stays up when its run list is done).
pub fn is_on() -> bool {
    FORWARDER.lock().is_some()
}

// ANCHOR: syscall
/// A system call of a launched task: the forwarded ones go to the daemon (the task
/// blocks), `ioctl` says "not a terminal" (the RTOS cannot ask Linux's terminal).
/// `None`: the RTOS serves it itself, as for any task (memory, time, scheduling).
pub fn syscall(sched: &mut Scheduler, number: u64, args: &[u64; 6]) -> Option<Outcome> {
    let task = sched.current();
    task.launch?;
    if number == nr::IOCTL {
        return Some(Outcome::Return(Errno::NoTty.negative()));
    }
    if !is_forwarded(number) {
        return None;
    }
    let mut guard = FORWARDER.lock();
    let Some(fw) = guard.as_mut() else {
        return Some(Outcome::Return(Errno::Io.negative()));
    };
    Some(match fw.start_call(task, number, args) {
        Ok(()) => {
            // Look again within the watch even if no notification ever comes.
            sched.set_watch(Some(fw.next_watch()), true);
            Outcome::Block
        }
        Err(ret) => Outcome::Return(ret),
    })
}
// ANCHOR_END: syscall

// ANCHOR: service
/// Serves the forwarder from a kernel entry (timer, notification, idle): follows the
/// daemon, takes the answers, then the mailbox, and sets the next look.
pub fn service(sched: &mut Scheduler) {
    let mut guard = FORWARDER.lock();
    let Some(fw) = guard.as_mut() else {
        return;
    };
    // Off the interrupt stack: see arch/service_stack.rs.
    crate::arch::service_stack::run(|| fw.serve(sched));
}
// ANCHOR_END: service

impl Forwarder {
    fn serve(&mut self, sched: &mut Scheduler) {
        let fw = self;
        fw.control.rtos_waiting.store(0, Ordering::Relaxed);
        fw.follow_daemon(sched);
        fw.take_answers(sched);
        fw.take_launch(sched);
        // The watch: calls in flight must fail within 100 ms of the daemon's death even
        // if no notification comes; a busy task must not hide answers or launches from
        // us for longer; and with no daemon, the idle loop halts and the watch looks.
        let busy = fw.ring.as_ref().is_none_or(|r| r.in_flight() > 0) || !sched.is_empty();
        sched.set_watch(busy.then(|| fw.next_watch()), false);
    }
}

/// A task ended: if it was launched, the daemon closes its shadow (fire-and-forget
/// `exit_group(status)`, the answer is taken with no one waiting).
pub fn task_ended(task: &Task, status: i32) {
    if task.launch.is_none() {
        return;
    }
    let mut guard = FORWARDER.lock();
    let Some(fw) = guard.as_mut() else {
        return;
    };
    let Some(ring) = fw.ring.as_mut() else {
        return; // the daemon is gone: its shadows went with it
    };
    let call = Call::syscall(
        task.tid,
        nr::EXIT_GROUP as u32,
        [status as u64, 0, 0, 0, 0, 0],
    );
    match ring.submit(call, b"", None) {
        Ok(()) => {
            fw.control.forwarded.fetch_add(1, Ordering::Relaxed);
            kprintln!(
                "rtos: forward: task {} exit_group({status}) sent nonce={}",
                task.tid,
                task::nonce()
            );
            fw.notify_linux();
        }
        Err(error) => kprintln!(
            "rtos: forward: task {} exit_group({status}) not sent: {error} nonce={}",
            task.tid,
            task::nonce()
        ),
    }
}

impl Forwarder {
    /// Whether the idle loop must enter the kernel: the daemon came or went, an
    /// answer or a launch waits.
    fn has_work(&self) -> bool {
        let (alive, generation) = self.daemon();
        self.link.change(alive, generation) != Change::None
            || self.control.launch_seq.load(Ordering::Acquire) != self.launch_done
            || self
                .ring
                .as_ref()
                .is_some_and(|r| r.client.response_waiting())
    }

    fn daemon(&self) -> (bool, u32) {
        (
            self.control.daemon_alive.load(Ordering::Acquire) == 1,
            self.control.daemon_generation.load(Ordering::Acquire),
        )
    }

    fn next_watch(&self) -> u64 {
        tsc::now() + tsc::ns_to_cycles(FORWARD_WATCH_MS * 1_000_000)
    }

    // ANCHOR: follow_daemon
    /// Contract step 3: a daemon gone fails every call in flight with -EIO; a new
    /// generation gets a freshly laid ring, announced by `ring_generation`.
    fn follow_daemon(&mut self, sched: &mut Scheduler) {
        let (alive, generation) = self.daemon();
        let change = self.link.change(alive, generation);
        if change == Change::None {
            return;
        }
        let failed = self.fail_in_flight(sched);
        if let Some(old) = self.link.serving() {
            kprintln!(
                "rtos: forward: daemon generation {old} gone, {failed} call(s) failed with EIO nonce={}",
                task::nonce()
            );
        }
        if let Change::Attached { generation } = change {
            // A ring laid out for this very daemon by an earlier run of the RTOS (the
            // link knows no daemon yet): take it over rather than lay it out under it.
            let earlier = self.link.serving().is_none()
                && self.control.ring_generation.load(Ordering::Relaxed) == generation;
            let ring = if earlier {
                Ring::take_over(self.boot)
            } else {
                Ring::lay_out(self.boot)
            };
            match ring {
                Ok(ring) => self.ring = Some(ring),
                Err(error) => {
                    kprintln!("rtos: forward: cannot lay the ring out: {error}");
                    return;
                }
            }
            self.control
                .ring_generation
                .store(generation, Ordering::Release);
            let mode = control::notify_mode(self.control).map_or("?", NotifyMode::name);
            let how = if earlier { "taken over" } else { "laid out" };
            kprintln!(
                "rtos: forward: ring {how} for daemon generation {generation} mode={mode} nonce={}",
                task::nonce()
            );
        }
        self.link.apply(change);
    }
    // ANCHOR_END: follow_daemon

    /// Wakes every task waiting for an answer with -EIO and drops the ring; returns
    /// how many calls failed.
    fn fail_in_flight(&mut self, sched: &mut Scheduler) -> usize {
        let Some(mut ring) = self.ring.take() else {
            return 0;
        };
        let waiting = ring.take_waiting();
        for &tid in &waiting {
            sched.wake(tid, Errno::Io.negative());
        }
        waiting.len()
    }

    /// Takes every answer waiting; a malformed one is rejected and counted.
    fn take_answers(&mut self, sched: &mut Scheduler) {
        loop {
            let Some(ring) = self.ring.as_mut() else {
                return;
            };
            match ring.client.poll(&mut ring.reply) {
                Ok(done) => self.answer(sched, done),
                Err(RingError::Empty) => return,
                Err(error) => {
                    count_rejected(self.control, error);
                    // An impossible index stays impossible: stop for this round.
                    if error == RingError::IndexOutOfRange {
                        return;
                    }
                }
            }
        }
    }
}

/// Counts a malformed answer in `rejected` and logs it, rate-limited.
fn count_rejected(control: &ControlPage, error: RingError) {
    let n = control.rejected.fetch_add(1, Ordering::Relaxed) + 1;
    if n <= REJECTED_LOGGED_IN_FULL || n.is_power_of_two() {
        kprintln!(
            "rtos: forward: answer rejected: {error} (rejected={n}) nonce={}",
            task::nonce()
        );
    }
}
