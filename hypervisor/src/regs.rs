//! The general-purpose registers as the stack holds them, and the one way they are
//! saved and restored: [`push_general_registers!`] and [`pop_general_registers!`].
//!
//! Three paths move a whole register file through memory, and all three use these
//! macros (after RVM1.5's `save_regs_to_stack!`/`restore_regs_from_stack!`):
//! - `hv_entry` (entry.rs) saves Linux's registers at the call, which become the
//!   guest's registers at VMLAUNCH, and restores them on a failed entry;
//! - the VM-exit stub and VMLAUNCH (vmx/vcpu.rs) save and load the guest's;
//! - leaving VMX (vmx/leave.rs) loads the guest's before its IRETQ.
//!
//! The pushes run from R15 down to RAX, so afterwards RSP points at a
//! [`GeneralRegisters`]; the const assertions below tie the struct's layout to that
//! order, so a field moved in one place and not the other fails the build.

use core::mem::{offset_of, size_of};

/// The general-purpose registers, lowest address first (the order the pushes leave).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct GeneralRegisters {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    /// A hole where RSP would be: RSP is never saved this way (the VMCS holds the
    /// guest's; IRETQ and RET restore Linux's).
    _rsp: u64,
    pub rbp: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// Bytes the push macro adds to the stack; the asm that looks past a saved frame
/// (the VM-exit stub, `hv_entry`) takes this value as a `const` operand.
pub const GENERAL_REGISTERS_SIZE: usize = size_of::<GeneralRegisters>();

// The layout the macros below build, register by register, in instruction-encoding
// order (RAX = 0 ... R15 = 15: also the index a VM exit's qualification uses).
const _: () = {
    assert!(GENERAL_REGISTERS_SIZE == 16 * 8);
    assert!(offset_of!(GeneralRegisters, rax) == 0);
    assert!(offset_of!(GeneralRegisters, rcx) == 8);
    assert!(offset_of!(GeneralRegisters, rdx) == 2 * 8);
    assert!(offset_of!(GeneralRegisters, rbx) == 3 * 8);
    assert!(offset_of!(GeneralRegisters, _rsp) == 4 * 8);
    assert!(offset_of!(GeneralRegisters, rbp) == 5 * 8);
    assert!(offset_of!(GeneralRegisters, rsi) == 6 * 8);
    assert!(offset_of!(GeneralRegisters, rdi) == 7 * 8);
    assert!(offset_of!(GeneralRegisters, r8) == 8 * 8);
    assert!(offset_of!(GeneralRegisters, r9) == 9 * 8);
    assert!(offset_of!(GeneralRegisters, r10) == 10 * 8);
    assert!(offset_of!(GeneralRegisters, r11) == 11 * 8);
    assert!(offset_of!(GeneralRegisters, r12) == 12 * 8);
    assert!(offset_of!(GeneralRegisters, r13) == 13 * 8);
    assert!(offset_of!(GeneralRegisters, r14) == 14 * 8);
    assert!(offset_of!(GeneralRegisters, r15) == 15 * 8);
};

impl GeneralRegisters {
    /// The register with encoding `index` (0 = RAX ... 15 = R15), as control-register
    /// and other exit qualifications name them; `None` for 4, RSP, which lives in the
    /// VMCS.
    pub fn by_index(&mut self, index: u64) -> Option<&mut u64> {
        Some(match index {
            0 => &mut self.rax,
            1 => &mut self.rcx,
            2 => &mut self.rdx,
            3 => &mut self.rbx,
            5 => &mut self.rbp,
            6 => &mut self.rsi,
            7 => &mut self.rdi,
            8 => &mut self.r8,
            9 => &mut self.r9,
            10 => &mut self.r10,
            11 => &mut self.r11,
            12 => &mut self.r12,
            13 => &mut self.r13,
            14 => &mut self.r14,
            15 => &mut self.r15,
            _ => return None,
        })
    }
}

/// Asm text: pushes every general-purpose register but RSP (a hole keeps its slot), so
/// that RSP then points at a [`GeneralRegisters`]. Flags are not touched.
macro_rules! push_general_registers {
    () => {
        "
        push r15
        push r14
        push r13
        push r12
        push r11
        push r10
        push r9
        push r8
        push rdi
        push rsi
        push rbp
        lea rsp, [rsp - 8]
        push rbx
        push rdx
        push rcx
        push rax
        "
    };
}

/// Asm text: the reverse of [`push_general_registers!`]: loads the registers from the
/// [`GeneralRegisters`] at RSP and moves RSP past it. Flags are not touched.
macro_rules! pop_general_registers {
    () => {
        "
        pop rax
        pop rcx
        pop rdx
        pop rbx
        lea rsp, [rsp + 8]
        pop rbp
        pop rsi
        pop rdi
        pop r8
        pop r9
        pop r10
        pop r11
        pop r12
        pop r13
        pop r14
        pop r15
        "
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_index_follows_the_instruction_encoding() {
        let mut regs = GeneralRegisters::default();
        for i in (0..16).filter(|&i| i != 4) {
            *regs.by_index(i).unwrap() = 100 + i;
        }
        assert!(regs.by_index(4).is_none(), "RSP is in the VMCS");
        assert!(regs.by_index(16).is_none());
        // SAFETY: plain u64 fields, repr(C).
        let words: [u64; 16] = unsafe { core::mem::transmute(regs) };
        for (i, w) in words.iter().enumerate() {
            assert_eq!(*w, if i == 4 { 0 } else { 100 + i as u64 }, "slot {i}");
        }
    }
}
