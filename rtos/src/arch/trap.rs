//! CPU exceptions and the timer interrupt. An exception in a user task kills that task
//! alone, with a line naming it, the fault and the address; one in the kernel is a bug
//! and panics (crates/baremetal's path, which ends the run).

use baremetal::interrupts::{self, TrapFrame};

use crate::config::TIMER_VECTOR;
use crate::task;

const PAGE_FAULT: u64 = 14;

pub fn init() {
    interrupts::set_exception_hook(on_exception);
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
