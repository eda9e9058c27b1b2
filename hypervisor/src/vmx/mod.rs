//! Intel VMX: turning it on, the VMCS, running the guest, and handling its exits.
//!
//! Three files are the lab 1 exercise; they come from `labs/lab1/` (`make lab1`) or
//! from `solutions/lab1/` (the reference stack, `make lab1 SOLUTION=1`):
//! - `vmxon.rs`: is VMX there and allowed? Enter VMX operation.
//! - `guest_state.rs`: the VMCS guest-state area, from the live Linux state.
//! - `exit_handlers.rs`: the CPUID and VMCALL exits.

pub mod ept;
pub mod leave;
pub mod nmi;
pub mod vcpu;
pub mod vmcs;
pub mod vmexit;

// ANCHOR: lab_files
// LAB 1: the student's files or the solution's, as build.rs chooses (`make lab1` or
// `make lab1 SOLUTION=1`; the book's architecture chapter, "Which files a build uses").
#[cfg_attr(lab_tree = "student", path = "../../../labs/lab1/vmxon.rs")]
#[cfg_attr(lab_tree = "solution", path = "../../../solutions/lab1/vmxon.rs")]
pub mod vmxon;

#[cfg_attr(lab_tree = "student", path = "../../../labs/lab1/guest_state.rs")]
#[cfg_attr(lab_tree = "solution", path = "../../../solutions/lab1/guest_state.rs")]
pub mod guest_state;

#[cfg_attr(lab_tree = "student", path = "../../../labs/lab1/exit_handlers.rs")]
#[cfg_attr(
    lab_tree = "solution",
    path = "../../../solutions/lab1/exit_handlers.rs"
)]
pub mod exit_handlers;
// ANCHOR_END: lab_files

/// Why turning VMX on, or running the guest, failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmxError {
    /// CPUID.1:ECX[5] is clear: this CPU has no VMX.
    NotSupported,
    /// IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled (firmware).
    DisabledByFirmware,
    /// VMXON, VMCLEAR or VMPTRLD failed.
    InstructionFailed(&'static str),
    /// A VMCS field could not be written (its encoding).
    VmcsField(u32),
    /// A control we need is not allowed by the capability MSRs (name, bits).
    UnsupportedControl(&'static str, u32),
    /// VMLAUNCH failed with this VM-instruction error number.
    LaunchFailed(u64),
    /// The frame pool ran out while building this CPU's tables (what ran out).
    OutOfMemory(&'static str),
}

/// CR4.VMXE (bit 13): VMXON requires it; the hypervisor owns it while VMX is on.
pub const CR4_VMXE: u64 = 1 << 13;

/// Leaves VMX operation on this CPU and clears CR4.VMXE.
pub fn vmx_off() {
    // SAFETY: this CPU is in VMX root operation (it turned VMX on), with no guest
    // running; clearing VMXE after VMXOFF is what the SDM allows (§24.7).
    unsafe {
        x86::bits64::vmx::vmxoff().expect("VMXOFF in VMX root operation");
        let cr4 = x86_64::registers::control::Cr4::read_raw();
        x86_64::registers::control::Cr4::write_raw(cr4 & !CR4_VMXE);
    }
}
