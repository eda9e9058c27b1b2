//! LAB 1, part 2: the VMCS guest-state area, copied from the live state of the CPU.
//! This is what makes the hypervisor "type 1.5": the guest is not booted, it is the
//! Linux that is running right now, and VMLAUNCH resumes it where it called us.
//! Read first: SDM Vol. 3C §25.4 "Guest-state area", §27.3 "Checks on the guest state".
//!
//! Useful here: the field encodings in `x86::vmx::vmcs::guest`, `vmcs::write`,
//! `x86_64::instructions::tables::{sgdt, sidt}`, `x86_64::registers::control::{Cr0,
//! Cr3, Cr4}`, `x86_64::registers::rflags::read_raw`, `x86::msr::rdmsr`, and
//! `mov {0:x}, es` / `sldt` / `str` in `core::arch::asm!` for the selectors.

#[allow(unused_imports)]
use super::{vmcs, VmxError};

/// Fills the guest-state area from this CPU's registers, so that the guest resumes at
/// `rip` with stack `rsp` in exactly the state the CPU has now:
/// - CR0, CR3, CR4 (VMXE included: VMX requires it in the guest too), DR7, RSP, RIP,
///   RFLAGS;
/// - ES, CS, SS, DS, FS, GS, LDTR, TR: selector, base, limit and access rights, decoded
///   from the descriptor the selector names in the GDT (a null selector is "unusable",
///   access rights bit 16; TSS and LDT descriptors are 16 bytes, with base bits 63:32 in
///   the second half; FS and GS bases come from IA32_FS_BASE and IA32_GS_BASE);
/// - GDTR and IDTR base and limit;
/// - IA32_EFER, IA32_PAT, IA32_DEBUGCTL, IA32_SYSENTER_CS/ESP/EIP;
/// - activity state 0 (active), interruptibility 0, pending debug exceptions 0, and the
///   VMCS link pointer all-ones (no shadow VMCS).
///
/// A wrong field shows up as "VM entry failed" or VMLAUNCH error 7/8 in the transcript;
/// Bochs's log (build/runs/.../bochs.log) names the failing check.
pub fn setup_guest_state(rsp: u64, rip: u64) -> Result<(), VmxError> {
    // LAB 1: write this function.
    let _ = (rsp, rip);
    todo!("LAB 1: guest_state.rs: setup_guest_state (the VMCS guest area from the live state)")
}
