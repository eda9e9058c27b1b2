//! LAB 2, part 2: start a CPU with INIT-SIPI-SIPI, the universal start-up algorithm
//! (SDM Vol. 3A §9.4.4.1, "Typical BSP Initialization Sequence"; §11.6.1 for the ICR).
//! INIT resets the target into wait-for-SIPI; each start-up IPI (SIPI) makes a
//! waiting CPU begin in real mode at CS:IP = (vector << 8):0000, i.e. at physical
//! address `vector << 12`. A SIPI to a CPU that already started is ignored, so the
//! second one only helps a CPU that missed the first.
//!
//! Useful here: `baremetal::apic::{send_ipi, Ipi}` (it writes the ICR and waits until
//! the local APIC has accepted the IPI) and `tsc.delay_us`.

#[allow(unused_imports)]
use baremetal::apic::{send_ipi, Ipi};

use crate::rtos::tsc::Tsc;

/// After INIT, before the first SIPI.
pub const INIT_DELAY_US: u64 = 10_000;
/// Between the two SIPIs.
pub const SIPI_DELAY_US: u64 = 200;

/// Sends INIT to the CPU with local APIC ID `apic_id`, waits `INIT_DELAY_US`, sends a
/// SIPI with `vector`, waits `SIPI_DELAY_US`, and sends a second SIPI unless
/// `started()` already says the CPU runs. The delays are counted on the TSC (`tsc`):
/// the PIT belongs to Linux.
pub fn init_sipi_sipi(apic_id: u32, vector: u8, tsc: &Tsc, started: &dyn Fn() -> bool) {
    // LAB 2: write this function.
    let _ = (apic_id, vector, tsc, started);
    todo!("LAB 2: ap_start.rs: init_sipi_sipi (INIT, 10 ms, SIPI, 200 µs, SIPI)")
}
