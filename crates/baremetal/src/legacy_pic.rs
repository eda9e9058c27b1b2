//! The two 8259 PICs of the PC, which a kernel that takes its interrupts from the
//! local APIC only must silence (with the `pic8259` crate).

/// Masks every line of both PICs. The BIOS leaves the PIT's IRQ 0 unmasked on vector
/// 8, which is the double-fault vector in long mode: the first `sti` would take the
/// PIT's tick for a double fault (measured: a user program took "#DF" without an error
/// code). Call it only on a machine the kernel owns: started under Linux, the PICs are
/// Linux's.
pub fn mask_all() {
    // The vector offsets are never programmed here (no `initialize`): only the masks
    // are written.
    // SAFETY: writing the interrupt-mask registers only masks IRQ lines.
    unsafe { pic8259::ChainedPics::new_contiguous(0x20).disable() }
}
