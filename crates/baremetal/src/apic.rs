//! The local APIC in xAPIC mode (memory-mapped registers, SDM Vol. 3A ch. 11):
//! enabling it, reading its ID, end-of-interrupt, sending IPIs, and register access
//! for drivers of its other parts (the RTOS's timer).

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU64, Ordering};

const DEFAULT_BASE: u64 = 0xFEE0_0000;
const REG_ID: u64 = 0x20;
const REG_EOI: u64 = 0xB0;
const REG_SPURIOUS: u64 = 0xF0;
const REG_ICR_LOW: u64 = 0x300;
const REG_ICR_HIGH: u64 = 0x310;
/// ICR delivery status: 1 while the IPI has not been accepted yet.
const ICR_SEND_PENDING: u32 = 1 << 12;
/// The vector of spurious interrupts (its low 4 bits must be 1 on old APICs).
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// The base a kernel named with [`use_base`] (0: none).
static BASE: AtomicU64 = AtomicU64::new(0);

/// Tells this module where the APIC's registers are mapped, for a kernel that learned
/// it otherwise than from ACPI (the RTOS started by the hypervisor has no tables).
pub fn use_base(base: u64) {
    BASE.store(base, Ordering::Relaxed);
}

fn base() -> u64 {
    match BASE.load(Ordering::Relaxed) {
        0 => crate::platform().map_or(DEFAULT_BASE, |p| p.local_apic),
        named => named,
    }
}

/// Reads the 32-bit register at offset `reg` of this CPU's local APIC.
pub fn read(reg: u64) -> u32 {
    // SAFETY: the APIC page is mapped uncached at its base (identity-mapped by the
    // boot stub, or in every address space of the RTOS); `reg` is a register offset.
    unsafe { read_volatile((base() + reg) as *const u32) }
}

/// Writes the 32-bit register at offset `reg` of this CPU's local APIC.
pub fn write(reg: u64, value: u32) {
    // SAFETY: as in `read`.
    unsafe { write_volatile((base() + reg) as *mut u32, value) }
}

/// Software-enables this CPU's local APIC (spurious-vector register bit 8).
pub fn enable() {
    write(REG_SPURIOUS, 0x100 | SPURIOUS_VECTOR as u32);
}

/// This CPU's APIC ID.
pub fn id() -> u8 {
    (read(REG_ID) >> 24) as u8
}

/// Signals the end of the current interrupt.
pub fn end_of_interrupt() {
    write(REG_EOI, 0);
}

/// The kinds of IPI a kernel of the lab sends (ICR bits 10:8 and the level bits).
#[derive(Clone, Copy, Debug)]
pub enum Ipi {
    /// A fixed interrupt with this vector.
    Fixed(u8),
    /// INIT, level assert: resets the target CPU to its wait-for-SIPI state.
    Init,
    /// Start-up: the target starts in real mode at `page << 12`.
    Startup(u8),
}

/// Sends `ipi` to the CPU with APIC ID `dest` and waits until the APIC accepted it.
pub fn send_ipi(dest: u8, ipi: Ipi) {
    let low = match ipi {
        Ipi::Fixed(v) => v as u32,
        Ipi::Init => 0x0000_4500,
        Ipi::Startup(page) => 0x0000_4600 | page as u32,
    };
    write(REG_ICR_HIGH, (dest as u32) << 24);
    write(REG_ICR_LOW, low);
    while read(REG_ICR_LOW) & ICR_SEND_PENDING != 0 {
        core::hint::spin_loop();
    }
}
