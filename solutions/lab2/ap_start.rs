//! LAB 2, part 2: start a CPU with INIT-SIPI-SIPI, the universal start-up algorithm
//! (SDM Vol. 3A §9.4.4.1, "Typical BSP Initialization Sequence"; §11.6.1 for the ICR).
//! INIT resets the target into wait-for-SIPI; each start-up IPI (SIPI) makes a
//! waiting CPU begin in real mode at CS:IP = (vector << 8):0000, i.e. at physical
//! address `vector << 12`. A SIPI to a CPU that already started is ignored, so the
//! second one only helps a CPU that missed the first.

use baremetal::apic::{send_ipi, Ipi};

use crate::rtos::tsc::Tsc;

/// After INIT, before the first SIPI.
pub const INIT_DELAY_US: u64 = 10_000;
/// Between the two SIPIs.
pub const SIPI_DELAY_US: u64 = 200;

// ANCHOR: init_sipi_sipi
/// Sends INIT, waits 10 ms, SIPI with `vector`, waits 200 µs, and a second SIPI
/// unless `started()` already says the CPU runs. The delays are counted on the TSC.
pub fn init_sipi_sipi(apic_id: u32, vector: u8, tsc: &Tsc, started: &dyn Fn() -> bool) {
    send_ipi(apic_id as u8, Ipi::Init);
    tsc.delay_us(INIT_DELAY_US);
    send_ipi(apic_id as u8, Ipi::Startup(vector));
    tsc.delay_us(SIPI_DELAY_US);
    if !started() {
        send_ipi(apic_id as u8, Ipi::Startup(vector));
    }
}
// ANCHOR_END: init_sipi_sipi
