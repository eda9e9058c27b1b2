//! Notification: to the sending CPU itself, to the other CPU's receiver spinning at
//! CPL 3, and to a CPU at CPL 0 (held in UIRR, delivered on the next return to CPL 3);
//! and the emulated time from SENDUIPI to the handler.

use core::sync::atomic::Ordering;

use crtos_abi::uintr::UPID_ON;

use crate::cpu1::{self, Command};
use crate::report::{median, Report, ShowExit, ShowOutcome};
use crate::ring3::{self, Exit, UserRegs};
use crate::uintr::{self, user_vector, CROSS, HELD, IDT_UINV_ENTRIES, SELF};
use crate::user::{self, SAMPLES, U_ENTRY_TSC, U_HITS, U_SEEN_TSC, U_SEND_TSC};

const BOOT_CPU: usize = 0;
/// Sends per ping run (at most SAMPLES).
const PINGS: u64 = 200;
const _: () = assert!(PINGS as usize <= SAMPLES);

/// Medians of one ping run, in TSC ticks: SENDUIPI to handler entry, and SENDUIPI to
/// the sender seeing the handler's count move (for a self-notification: back after
/// UIRET).
struct Latency {
    entry: u64,
    seen: u64,
}

/// Runs the ping program on the boot CPU with UITT `index`; returns how it ended and
/// the sends that were delivered.
fn ping(index: u64) -> (Exit, u64) {
    let regs = UserRegs {
        rax: index,
        rdi: PINGS,
        ..UserRegs::default()
    };
    let exit = ring3::run(BOOT_CPU, user::user_ping, regs);
    let completed = match exit {
        Exit::Syscall(n) => n,
        Exit::Fault { .. } => 0,
    };
    (exit, completed)
}

fn latency(n: u64) -> Latency {
    let mut entry = [0u64; PINGS as usize];
    let mut seen = [0u64; PINGS as usize];
    for i in 0..n as usize {
        let send = U_SEND_TSC[i].load(Ordering::Relaxed);
        entry[i] = U_ENTRY_TSC[i].load(Ordering::Relaxed).wrapping_sub(send);
        seen[i] = U_SEEN_TSC[i].load(Ordering::Relaxed).wrapping_sub(send);
    }
    Latency {
        entry: median(&mut entry[..n as usize]),
        seen: median(&mut seen[..n as usize]),
    }
}

/// (c) Self-notification and cross-CPU notification, PINGS each, then the medians.
pub fn self_and_cross(report: &mut Report) {
    uintr::reset(BOOT_CPU);
    user::clear_records();
    let (exit, n) = ping(SELF[2]);
    let vector = user_vector(SELF[2]) as usize;
    let hits = U_HITS[vector].load(Ordering::SeqCst);
    report.check(
        "self-notification",
        n == PINGS && hits == PINGS,
        format_args!("{n}/{PINGS} delivered to the sender's own handler, vector {vector} {hits} times; the sender {}", ShowExit(exit)),
    );
    let own = latency(n);

    let (cross, n) = cross_cpu(report);
    if n == PINGS {
        report.note(
            "latency",
            format_args!(
                "emulated TSC ticks (Bochs's CPU scheduling, not hardware), medians of {PINGS}: \
                 self senduipi->handler {} ->back {}; cross-CPU senduipi->handler {} ->sender sees it {}",
                own.entry, own.seen, cross.entry, cross.seen
            ),
        );
    }
}

/// The cross-CPU half of (c): the other CPU spins at CPL 3 with UIF = 1.
fn cross_cpu(report: &mut Report) -> (Latency, u64) {
    uintr::reset(BOOT_CPU);
    user::clear_records();
    cpu1::start(Command::Receive);
    let ready = cpu1::wait_until(2, || user::U_READY.load(Ordering::SeqCst) != 0);
    let (exit, n) = if ready {
        ping(CROSS)
    } else {
        (Exit::Syscall(0), 0)
    };
    user::U_STOP.store(1, Ordering::SeqCst);
    let receiver = cpu1::outcome();
    let vector = user_vector(CROSS) as usize;
    let hits = U_HITS[vector].load(Ordering::SeqCst);
    let idt = IDT_UINV_ENTRIES.load(Ordering::SeqCst);
    let receiver_ok = matches!(receiver, Some(o) if matches!(o.exit, Exit::Syscall(_)));
    report.check(
        "cross-cpu-notification",
        ready && n == PINGS && hits == PINGS && idt == 0 && receiver_ok,
        format_args!(
            "receiver at CPL 3 {}; {n}/{PINGS} delivered there, vector {vector} {hits} times, \
             IDT gate entered {idt} times; the sender {}; the receiver {}",
            if ready { "ready" } else { "never ready" },
            ShowExit(exit),
            ShowOutcome(receiver.map(|o| o.exit)),
        ),
    );
    (latency(n), n)
}

/// (d) A notification arriving while the receiver's CPU is at CPL 0 with interrupts
/// on: processing moves PIR to UIRR (ON cleared), the IDT gate of UINV is not
/// entered, and the handler runs at the first instruction back at CPL 3.
pub fn held_at_cpl0(report: &mut Report) {
    uintr::reset(BOOT_CPU);
    user::clear_records();
    cpu1::start(Command::HoldAtCpl0);
    let waiting = cpu1::wait_until(2, || cpu1::WAITING_AT_CPL0.load(Ordering::SeqCst));
    let regs = UserRegs {
        rax: HELD,
        rdi: 0, // do not wait: the receiver is at CPL 0
        ..UserRegs::default()
    };
    let sender = ring3::run(BOOT_CPU, user::user_send_rax_a, regs);
    let outcome = cpu1::outcome();
    let held = outcome.and_then(|o| o.held).unwrap_or_default();
    let held_ok = held.uirr == 1 << user_vector(HELD)
        && held.upid_control & UPID_ON == 0
        && held.upid_pir == 0
        && held.idt_entries == 0
        && held.handler_entries == 0;
    report.check(
        "held-at-cpl0",
        waiting && sender == Exit::Syscall(0) && held_ok,
        format_args!(
            "at CPL 0: UIRR={:#x} (want bit {}), UPID.ON={}, PIR={:#x}, IDT gate entered {} \
             times, handler entered {} times; the sender {}",
            held.uirr,
            user_vector(HELD),
            held.upid_control & UPID_ON,
            held.upid_pir,
            held.idt_entries,
            held.handler_entries,
            ShowExit(sender)
        ),
    );
    delivered_on_return(report, outcome.map(|o| o.exit));
}

/// The second half of (d): back at CPL 3, the held vector is delivered before the
/// program's first instruction, so the frame's RIP is its entry point.
fn delivered_on_return(report: &mut Report, receiver: Option<Exit>) {
    let vector = user_vector(HELD);
    let entry = user::user_just_return as *const () as u64;
    let rip = user::U_LAST_RIP.load(Ordering::SeqCst);
    let hits = U_HITS[vector as usize].load(Ordering::SeqCst);
    report.check(
        "delivered-on-return-to-cpl3",
        matches!(receiver, Some(Exit::Syscall(_))) && hits == 1 && rip == entry,
        format_args!(
            "vector {vector} delivered {hits} times, frame rip={rip:#x} (the user entry point \
             {entry:#x}); the receiver {}",
            ShowOutcome(receiver)
        ),
    );
}
