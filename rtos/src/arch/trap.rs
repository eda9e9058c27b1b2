//! CPU exceptions and interrupts. An exception in a user task kills that task alone,
//! with a line naming it, the fault and the address; one in the kernel is a bug and
//! panics (crates/baremetal's path, which ends the run). The timer has the scheduler's
//! handler; any other vector is a stray interrupt (under Linux, an "all but self"
//! broadcast IPI can reach the RTOS's CPU): acknowledged and counted, so that its
//! in-service bit never blocks the timer.

use core::sync::atomic::{AtomicU64, Ordering};

use baremetal::apic::SPURIOUS_VECTOR;
use baremetal::interrupts::{self, TrapFrame};

use crate::config::TIMER_VECTOR;
use crate::task;

const PAGE_FAULT: u64 = 14;
/// The first external-interrupt vector (0..32 are exceptions).
const FIRST_EXTERNAL_VECTOR: u8 = 32;

static STRAY_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

pub fn init() {
    interrupts::set_exception_hook(on_exception);
    // The spurious vector needs no EOI (SDM Vol. 3A §11.9): baremetal ignores it.
    for vector in FIRST_EXTERNAL_VECTOR..SPURIOUS_VECTOR {
        interrupts::register(vector, on_stray_interrupt);
    }
}

fn on_stray_interrupt(frame: &mut TrapFrame) {
    if STRAY_INTERRUPTS.fetch_add(1, Ordering::Relaxed) == 0 {
        kprintln!(
            "rtos: stray interrupt, vector {} (acknowledged; counted from now on)",
            frame.vector
        );
    }
    baremetal::apic::end_of_interrupt();
}

/// How many stray interrupts came (reported at the end of the run).
pub fn stray_interrupts() -> u64 {
    STRAY_INTERRUPTS.load(Ordering::Relaxed)
}

/// Installs the scheduler's timer handler (after the start-up check's).
pub fn take_timer() {
    interrupts::register(TIMER_VECTOR, task::on_timer);
}

/// The faulting address: CR2 for a page fault, the instruction otherwise.
fn fault_address(frame: &TrapFrame) -> u64 {
    if frame.vector == PAGE_FAULT {
        x86_64::registers::control::Cr2::read_raw()
    } else {
        frame.rip
    }
}

fn on_exception(frame: &mut TrapFrame) -> bool {
    if !frame.from_user() {
        return false; // a kernel bug: baremetal panics with the details
    }
    let fault = interrupts::exception_name(frame.vector);
    task::kill_current(frame, fault, fault_address(frame));
    true
}
