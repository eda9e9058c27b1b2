//! Tasks: starting the programs of the run list, the scheduler's entry points from
//! interrupts, faults and system calls, and the end of the run.

pub mod elf_loader;
pub mod initial_stack;
pub mod scheduler;
pub mod tcb;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use baremetal::interrupts::TrapFrame;

use spin::{Mutex, Once};

use self::scheduler::Scheduler;
use self::tcb::{State, Task};
use crate::arch::context::Context;
use crate::drivers::{apic_timer, tsc};
use crate::mm::address_space::AddressSpace;
use crate::run_list::{Options, RunEntry};
use crate::{arch, bench, programs};

/// The scheduler and every task. The kernel runs on one CPU with interrupts off, so
/// this lock is never contended; it keeps the borrow rules honest.
pub static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler::new());

/// How many programs of the run list were refused (named in their own lines).
static REFUSED: AtomicUsize = AtomicUsize::new(0);
/// The run's nonce, which every line about a task carries (the tests match it).
static NONCE: Once<&'static str> = Once::new();

pub fn nonce() -> &'static str {
    NONCE.get().copied().unwrap_or("-")
}
/// Free frames before the first task: the end of the run checks that every task's
/// frames came back.
static FREE_FRAMES_BEFORE: AtomicUsize = AtomicUsize::new(0);

/// Why a program could not become a task.
pub enum SpawnError {
    /// The loader refused the file.
    Load(elf_loader::LoadError),
    /// No memory for its address space or stack.
    OutOfMemory(&'static str),
}

impl core::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            SpawnError::Load(why) => write!(f, "{why}"),
            SpawnError::OutOfMemory(what) => write!(f, "{what}: out of memory"),
        }
    }
}

// ANCHOR: spawn
/// Makes a task of a static ELF file: its address space, segments and initial stack
/// (`argv`, and the environment every task gets: `NONCE=<nonce>`). Not yet ready:
/// the caller adds it to the scheduler.
pub fn spawn(
    sched: &mut Scheduler,
    name: &str,
    prio: u8,
    elf: &[u8],
    argv: &[&str],
    launch: Option<u32>,
) -> Result<Task, SpawnError> {
    let mut space = AddressSpace::new().map_err(|_| SpawnError::OutOfMemory("address space"))?;
    let loaded = elf_loader::load(elf, &mut space).map_err(SpawnError::Load)?;
    let env = format!("NONCE={}", nonce());
    let rsp = initial_stack::build(&mut space, &loaded, argv, &[&env])
        .map_err(|_| SpawnError::OutOfMemory("stack"))?;
    Ok(Task {
        tid: sched.allocate_tid(),
        name: String::from(name),
        prio,
        state: State::Ready,
        context: Context::new_user(loaded.entry, rsp),
        space,
        brk_start: loaded.end,
        brk: loaded.end,
        clear_child_tid: 0,
        launch,
    })
}
// ANCHOR_END: spawn

/// Loads one program of the run list and makes it ready.
fn start(sched: &mut Scheduler, entry: &RunEntry, nonce: &str) -> Result<(), String> {
    let program = programs::find(entry.name).ok_or_else(|| {
        let names: Vec<&str> = programs::PROGRAMS.iter().map(|p| p.name).collect();
        format!("no such program (embedded: {})", names.join(", "))
    })?;
    let mut argv: Vec<&str> = Vec::from([entry.name]);
    argv.extend(entry.args.iter());
    let task = spawn(sched, entry.name, entry.prio, program.elf, &argv, None)
        .map_err(|e| format!("{e}"))?;
    kprintln!(
        "rtos: task {} {} started prio={} nonce={nonce}",
        task.tid,
        entry.name,
        entry.prio
    );
    sched.add(task);
    Ok(())
}

/// Starts every program of the run list (those that fail are named and skipped).
pub fn start_all(options: &Options) {
    NONCE.call_once(|| options.nonce);
    FREE_FRAMES_BEFORE.store(crate::mm::frame::stats().0, Ordering::Relaxed);
    let mut sched = SCHED.lock();
    for entry in &options.run {
        if let Err(why) = start(&mut sched, entry, options.nonce) {
            kprintln!(
                "rtos: run={}: not started: {why} nonce={}",
                entry.name,
                options.nonce
            );
            REFUSED.fetch_add(1, Ordering::Relaxed);
        }
    }
    for bad in &options.bad_words {
        kprintln!(
            "rtos: command line word `{bad}` not understood (want run=<name>[@<prio>][:<arg>...])"
        );
        REFUSED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the tasks until the last one ends (or, when the RTOS forwards, for good).
/// The boot CPU becomes the idle loop: the first timer interrupt's scheduling
/// decision loads the first task.
pub fn run() -> ! {
    if SCHED.lock().is_empty() {
        end_of_run();
    }
    arch::trap::take_timer();
    apic_timer::arm(tsc::now());
    loop {
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}

/// Set once the end of the run list was reported.
static RUN_LIST_DONE: AtomicBool = AtomicBool::new(false);

/// The last task ended (or none started): report, then exit 0 — unless the RTOS
/// forwards (started by Linux with a valid control page): then it stays up, idle,
/// for launches and the daemon, until Linux stops its CPU. Programs that were
/// refused are counted in the line; the tests decide whether that was expected.
fn end_of_run() {
    if RUN_LIST_DONE.swap(true, Ordering::Relaxed) {
        return; // launched tasks come and go after the run list: nothing to report
    }
    kprintln!(
        "rtos: all tasks done refused={} nonce={}",
        REFUSED.load(Ordering::Relaxed),
        nonce()
    );
    if let n @ 1.. = arch::trap::stray_interrupts() {
        kprintln!(
            "rtos: {n} stray interrupt(s) acknowledged nonce={}",
            nonce()
        );
    }
    let ((free, total), before) = (
        crate::mm::frame::stats(),
        FREE_FRAMES_BEFORE.load(Ordering::Relaxed),
    );
    kprintln!(
        "rtos: memory: {free} of {total} frames free, {before} before the first task: returned={} nonce={}",
        free == before,
        nonce()
    );
    if crate::forwarder::is_on() {
        kprintln!(
            "rtos: run list done; staying up for launches nonce={}",
            nonce()
        );
        return;
    }
    crate::finish(0)
}

/// The timer's interrupt handler: wake the sleepers that are due, then decide.
pub fn on_timer(frame: &mut TrapFrame) {
    let entered = tsc::now();
    apic_timer::end_of_interrupt();
    let mut sched = SCHED.lock();
    sched.timer_fired();
    let woken = sched.wake_due(entered);
    crate::forwarder::service(&mut sched);
    if sched.reschedule(frame).is_some() && woken > 0 {
        bench::record_timer_wakeup(tsc::now() - entered);
    }
}

/// A kernel entry for the forwarder (its notification vector, the idle loop's
/// service vector): serve the ring and the mailbox, then decide.
pub fn on_forward_event(frame: &mut TrapFrame) {
    let mut sched = SCHED.lock();
    crate::forwarder::service(&mut sched);
    sched.reschedule(frame);
}

/// The user-interrupt wake vector (a SENDUIPI to a receiver blocked in `uintr_wait`):
/// wake it, then decide.
pub fn on_uintr_wake(frame: &mut TrapFrame) {
    baremetal::apic::end_of_interrupt();
    let mut sched = SCHED.lock();
    crate::syscall::uintr::wake_receivers(&mut sched);
    sched.reschedule(frame);
}

/// Ends the current task with `status` (`exit`, `exit_group`) and picks the next one.
pub fn exit_current(sched: &mut Scheduler, frame: &mut TrapFrame, status: i32) {
    let task = sched.remove_current();
    kprintln!(
        "rtos: task {} {} exited status={status} nonce={}",
        task.tid,
        task.name,
        nonce()
    );
    finish_task(sched, frame, task, status);
}

/// Kills the current task after a fault in user mode; the others go on.
pub fn kill_current(frame: &mut TrapFrame, fault: &str, addr: u64) {
    let mut sched = SCHED.lock();
    let (rip, status) = (frame.rip, rtos::fault_signal::killed_status(frame.vector));
    let task = sched.remove_current();
    kprintln!(
        "rtos: task {} {} killed: {fault} rip={rip:#x} addr={addr:#x} nonce={}",
        task.tid,
        task.name,
        nonce()
    );
    finish_task(&mut sched, frame, task, status);
}

fn finish_task(sched: &mut Scheduler, frame: &mut TrapFrame, task: Task, status: i32) {
    crate::syscall::uintr::task_ended(sched, &task);
    crate::forwarder::task_ended(&task, status);
    drop(task); // frees its memory; the kernel's address space is active
    if sched.is_empty() {
        end_of_run();
    }
    sched.reschedule(frame);
}
