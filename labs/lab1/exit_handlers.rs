//! LAB 1, part 3: the two VM exits every guest causes.
//! The exit dispatcher (hypervisor/src/vmx/vmexit.rs) calls these and then moves the
//! guest's RIP past the instruction. Read first: SDM Vol. 3C §26.1.2 (CPUID and VMCALL
//! exit unconditionally) and the CPUID pages of Vol. 2A.

#[allow(unused_imports)]
use crate::config::{CPUID_MAX_LEAF, CPUID_SIGNATURE, HV_VERSION};
#[allow(unused_imports)]
use crate::hypercall::{self, Outcome};
use crate::percpu::PerCpu;
use crate::vmx::vcpu::GeneralRegisters;
#[allow(unused_imports)]
use crate::vmx::vmcs;

/// CPUID in the guest (leaf in RAX, subleaf in RCX; the answer in RAX, RBX, RCX, RDX):
/// - leaf 0x4000_0000: RAX = `CPUID_MAX_LEAF`, and RBX, RCX, RDX = the 12 bytes of
///   `CPUID_SIGNATURE`, 4 each, little-endian;
/// - leaf 0x4000_0001: RAX = `HV_VERSION`, the rest 0; leaves up to 0x4000_00FF: all 0;
/// - any other leaf: the hardware's answer (`__cpuid_count`), except that leaf 1 hides
///   VMX (ECX bit 5 clear) and says "hypervisor present" (ECX bit 31 set).
pub fn handle_cpuid(regs: &mut GeneralRegisters) {
    // LAB 1: write this function.
    let _ = regs;
    todo!("LAB 1: exit_handlers.rs: handle_cpuid (leaves 0x40000000, 0x40000001, leaf 1)")
}

/// VMCALL in the guest: a hypercall with RAX = number, RDI/RSI/RDX = arguments. Find
/// the caller's privilege level (SS.DPL: bits 6:5 of the guest SS access rights), pass
/// everything to `hypercall::dispatch`, and on `Outcome::Return(v)` put v in RAX.
/// Return the outcome (the dispatcher handles `Outcome::Disable`).
pub fn handle_vmcall(regs: &mut GeneralRegisters, cpu: &mut PerCpu) -> Outcome {
    // LAB 1: write this function.
    let _ = (regs, cpu);
    todo!("LAB 1: exit_handlers.rs: handle_vmcall (CPL from SS, hypercall::dispatch, RAX)")
}
