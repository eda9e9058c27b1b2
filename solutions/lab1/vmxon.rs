//! LAB 1, part 1: can this CPU run VMX, and may we use it? Then enter VMX operation.
//! (SDM Vol. 3C §24.6 "Discovering support for VMX", §24.7 "Enabling and entering
//! VMX operation", §24.8 "Restrictions on VMX operation".)

use x86::msr::{
    rdmsr, wrmsr, IA32_FEATURE_CONTROL, IA32_VMX_CR0_FIXED0, IA32_VMX_CR0_FIXED1,
    IA32_VMX_CR4_FIXED0, IA32_VMX_CR4_FIXED1,
};
use x86_64::registers::control::{Cr0, Cr4, Cr4Flags};

use super::{vmcs, VmxError};

/// IA32_FEATURE_CONTROL bits: 0 = lock (no more writes until reset),
/// 2 = VMXON allowed outside SMX.
const FEATURE_CONTROL_LOCKED: u64 = 1 << 0;
const FEATURE_CONTROL_VMX_OUTSIDE_SMX: u64 = 1 << 2;

/// Checks that this CPU has VMX (CPUID.1:ECX[5]) and that IA32_FEATURE_CONTROL allows
/// VMXON outside SMX. If the firmware left that MSR unlocked, enable VMX and lock it.
pub fn check_vmx_support() -> Result<(), VmxError> {
    if core::arch::x86_64::__cpuid(1).ecx & (1 << 5) == 0 {
        return Err(VmxError::NotSupported);
    }
    // SAFETY: IA32_FEATURE_CONTROL exists on every CPU with VMX.
    let control = unsafe { rdmsr(IA32_FEATURE_CONTROL) };
    if control & FEATURE_CONTROL_LOCKED == 0 {
        let enabled = control | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCKED;
        // SAFETY: unlocked, so writable; we only add the enable and lock bits.
        unsafe { wrmsr(IA32_FEATURE_CONTROL, enabled) };
    } else if control & FEATURE_CONTROL_VMX_OUTSIDE_SMX == 0 {
        return Err(VmxError::DisabledByFirmware);
    }
    Ok(())
}

/// Enters VMX root operation with the 4 KiB VMXON region `region`, whose physical
/// address is `region_phys`.
///
/// # Safety
/// `region` is this CPU's own, 4 KiB-aligned, and stays untouched while VMX is on.
pub unsafe fn enter_vmx_operation(
    region: &mut [u8; 4096],
    region_phys: u64,
) -> Result<(), VmxError> {
    // CR0 and CR4 must hold the values the VMX_CRn_FIXED MSRs demand: bits set in
    // FIXED0 must be 1, bits clear in FIXED1 must be 0. CR4.VMXE is among them.
    let cr0 = (Cr0::read_raw() | rdmsr(IA32_VMX_CR0_FIXED0)) & rdmsr(IA32_VMX_CR0_FIXED1);
    Cr0::write_raw(cr0);
    let cr4 = (Cr4::read_raw()
        | Cr4Flags::VIRTUAL_MACHINE_EXTENSIONS.bits()
        | rdmsr(IA32_VMX_CR4_FIXED0))
        & rdmsr(IA32_VMX_CR4_FIXED1);
    Cr4::write_raw(cr4);

    // The region starts with the VMCS revision identifier (IA32_VMX_BASIC[30:0]).
    region[..4].copy_from_slice(&vmcs::revision_id().to_le_bytes());
    x86::bits64::vmx::vmxon(region_phys).map_err(|_| VmxError::InstructionFailed("VMXON"))
}
