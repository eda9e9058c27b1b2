//! LAB 1, part 1: can this CPU run VMX, and may we use it? Then enter VMX operation.
//! Read first: SDM Vol. 3C §24.6 "Discovering support for VMX", §24.7 "Enabling and
//! entering VMX operation", §24.8 "Restrictions on VMX operation".
//!
//! Useful here: `core::arch::x86_64::__cpuid`, `x86::msr::{rdmsr, wrmsr}` and the MSR
//! numbers in `x86::msr`, `x86_64::registers::control::{Cr0, Cr4}`, `vmcs::revision_id()`
//! and `x86::bits64::vmx::vmxon`.

#[allow(unused_imports)]
use super::{vmcs, VmxError};

/// Checks that this CPU has VMX (CPUID.1:ECX[5]) and that IA32_FEATURE_CONTROL allows
/// VMXON outside SMX (bit 2). If the firmware left that MSR unlocked (bit 0 clear),
/// set the enable bit and lock it; if it is locked with VMX off, VMX is unusable.
///
/// Errors: `VmxError::NotSupported`, `VmxError::DisabledByFirmware`.
pub fn check_vmx_support() -> Result<(), VmxError> {
    // LAB 1: write this function.
    todo!("LAB 1: vmxon.rs: check_vmx_support (CPUID.1:ECX[5], IA32_FEATURE_CONTROL)")
}

/// Enters VMX root operation with the 4 KiB VMXON region `region`, whose physical
/// address is `region_phys`:
/// 1. make CR0 and CR4 hold what IA32_VMX_CR0_FIXED0/1 and IA32_VMX_CR4_FIXED0/1
///    demand (bits set in FIXED0 must be 1, bits clear in FIXED1 must be 0); CR4.VMXE
///    (bit 13) is one of them;
/// 2. write the VMCS revision identifier into the region's first 4 bytes;
/// 3. execute VMXON with the region's physical address.
///
/// Errors: `VmxError::InstructionFailed("VMXON")`.
///
/// # Safety
/// `region` is this CPU's own, 4 KiB-aligned, and stays untouched while VMX is on.
pub unsafe fn enter_vmx_operation(
    region: &mut [u8; 4096],
    region_phys: u64,
) -> Result<(), VmxError> {
    // LAB 1: write this function.
    let _ = (region, region_phys);
    todo!("LAB 1: vmxon.rs: enter_vmx_operation (CR0/CR4 fixed bits, revision id, VMXON)")
}
