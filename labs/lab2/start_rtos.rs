//! LAB 2, part 3: start the RTOS on its CPU (after RVM1.5's `start_rt_cpus`). The CPU
//! is parked (out of VMX, halted); the boot block and the boot page tables are ready
//! (`plan`). Borrow the start-up page, start the CPU, wait until the RTOS runs its
//! own code, give the page back.
//!
//! Useful here: `baremetal::smp::{install_trampoline, TRAMPOLINE_PADDR}` (low memory is
//! identity-mapped in the hypervisor, so the page's address is a pointer to it),
//! `super::ap_start::init_sipi_sipi` (part 2), `plan.entered()`, `plan.tsc.wait_us`,
//! `baremetal::apic::{send_ipi, Ipi}`.

#[allow(unused_imports)]
use baremetal::apic::{send_ipi, Ipi};
#[allow(unused_imports)]
use baremetal::smp::{install_trampoline, TRAMPOLINE_PADDR};
use crtos_abi::Errno;

#[allow(unused_imports)]
use super::ap_start::init_sipi_sipi;
use crate::rtos::StartPlan;

/// How long the RTOS may take to enter after the first SIPI (RVM1.5 waits 100 ms).
pub const ENTRY_TIMEOUT_US: u64 = 100_000;

/// 1. save the 4 KiB start-up page (Linux's data: its trampoline, BIOS data);
/// 2. install the trampoline there with `plan.params`;
/// 3. start the CPU `plan.apic_id` with INIT-SIPI-SIPI, the SIPI vector being the
///    page's number (`TRAMPOLINE_PADDR >> 12`);
/// 4. wait up to `ENTRY_TIMEOUT_US` for `plan.entered()`; if it never comes, reset
///    the CPU with an INIT *before* step 5, so it never runs Linux's bytes as code;
/// 5. restore the page, whatever happened (the grader compares its checksum).
///
/// Errors: `Errno::TimedOut` when the RTOS did not enter in time.
pub fn start_rtos(plan: &StartPlan) -> Result<(), Errno> {
    // LAB 2: write this function.
    let _ = plan;
    todo!("LAB 2: start_rtos.rs: start_rtos (save the page, trampoline, INIT-SIPI-SIPI, wait, restore)")
}
