//! Busy-wait delays on the PC's programmable interval timer, channel 2 (1.193182 MHz):
//! the one clock that needs no calibration, for the delays of the INIT-SIPI-SIPI
//! protocol. Both emulators derive it from emulated time.

use x86_64::instructions::port::Port;

const PIT_HZ: u64 = 1_193_182;

/// Waits at least `us` microseconds.
pub fn delay_us(us: u64) {
    let mut ticks = us * PIT_HZ / 1_000_000 + 1;
    while ticks > 0 {
        let chunk = ticks.min(0xFFFF);
        wait_ticks(chunk as u16);
        ticks -= chunk;
    }
}

fn wait_ticks(ticks: u16) {
    // SAFETY: ports 0x42/0x43 (PIT) and 0x61 (channel 2 gate and output) are standard;
    // only this function drives channel 2.
    unsafe {
        let mut control = Port::<u8>::new(0x61);
        let gate_off = control.read() & !0b11; // gate (bit 0) low, speaker (bit 1) off
        control.write(gate_off);
        Port::<u8>::new(0x43).write(0b1011_0000); // channel 2, lo/hi byte, mode 0
        let mut data = Port::<u8>::new(0x42);
        data.write(ticks as u8);
        data.write((ticks >> 8) as u8);
        control.write(gate_off | 1); // raise the gate: the count starts
        while control.read() & 0x20 == 0 {
            core::hint::spin_loop(); // bit 5 = channel 2 output, high at terminal count
        }
    }
}
