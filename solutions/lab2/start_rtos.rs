//! LAB 2, part 3: start the RTOS on its CPU (after RVM1.5's `start_rt_cpus`). The CPU
//! is parked (out of VMX, halted); the boot block and the boot page tables are ready
//! (`plan`). Borrow the start-up page, start the CPU, wait until the RTOS runs its
//! own code, give the page back.

use baremetal::apic::{send_ipi, Ipi};
use baremetal::smp::{install_trampoline, TRAMPOLINE_PADDR};
use crtos_abi::Errno;

use super::ap_start::init_sipi_sipi;
use crate::rtos::StartPlan;

/// How long the RTOS may take to enter after the first SIPI (RVM1.5 waits 100 ms).
pub const ENTRY_TIMEOUT_US: u64 = 100_000;

// ANCHOR: start_rtos
/// Saves the start-up page, installs the trampoline with `plan.params`, starts the CPU
/// and waits for `plan.entered()`; restores the page whatever happened. A CPU that did
/// not enter in time is reset with INIT *before* the page goes back, so it never runs
/// Linux's bytes as trampoline code.
///
/// Errors: `Errno::TimedOut` when the RTOS did not enter in time.
pub fn start_rtos(plan: &StartPlan) -> Result<(), Errno> {
    let page = TRAMPOLINE_PADDR as *mut u8; // low memory: identity-mapped in the host
    let mut saved = [0u8; 4096];
    // SAFETY: the start-up page is ours until we restore it; no CPU runs it now.
    unsafe {
        core::ptr::copy_nonoverlapping(page, saved.as_mut_ptr(), saved.len());
        install_trampoline(page, plan.params);
    }
    let vector = (TRAMPOLINE_PADDR >> 12) as u8;
    init_sipi_sipi(plan.apic_id, vector, &plan.tsc, &|| plan.entered());
    let entered = plan.tsc.wait_us(ENTRY_TIMEOUT_US, || plan.entered());
    if !entered {
        send_ipi(plan.apic_id as u8, Ipi::Init);
    }
    // SAFETY: the RTOS runs its own code, or its CPU waits for a SIPI again.
    unsafe { core::ptr::copy_nonoverlapping(saved.as_ptr(), page, saved.len()) };
    if entered {
        Ok(())
    } else {
        Err(Errno::TimedOut)
    }
}
// ANCHOR_END: start_rtos
