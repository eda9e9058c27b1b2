//! LAB 1, part 3: the two VM exits every guest causes.
//! The exit dispatcher (vmx/vmexit.rs) calls these and then moves the guest's RIP
//! past the instruction. (SDM Vol. 3C §26.1.2: CPUID and VMCALL exit unconditionally.)

use crate::config::{CPUID_MAX_LEAF, CPUID_SIGNATURE, HV_VERSION};
use crate::hypercall::{self, Outcome};
use crate::percpu::PerCpu;
use crate::vmx::vcpu::GeneralRegisters;
use crate::vmx::vmcs;

/// CPUID.1:ECX bits: 5 = VMX, 31 = "running under a hypervisor".
const CPUID1_ECX_VMX: u32 = 1 << 5;
const CPUID1_ECX_HYPERVISOR: u32 = 1 << 31;

/// CPUID in the guest: the hardware's answer, but VMX hidden and the hypervisor bit
/// set in leaf 1, and our own leaves 0x4000_0000 (maximum leaf and signature) and
/// 0x4000_0001 (version).
pub fn handle_cpuid(regs: &mut GeneralRegisters) {
    let (leaf, subleaf) = (regs.rax as u32, regs.rcx as u32);
    let (a, b, c, d) = match leaf {
        0x4000_0000 => {
            let word = |i: usize| u32::from_le_bytes(CPUID_SIGNATURE[i..i + 4].try_into().unwrap());
            (CPUID_MAX_LEAF, word(0), word(4), word(8))
        }
        0x4000_0001 => (HV_VERSION as u32, 0, 0, 0),
        0x4000_0002..=0x4000_00FF => (0, 0, 0, 0),
        _ => {
            let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
            let mut ecx = r.ecx;
            if leaf == 1 {
                ecx = (ecx & !CPUID1_ECX_VMX) | CPUID1_ECX_HYPERVISOR;
            }
            (r.eax, r.ebx, ecx, r.edx)
        }
    };
    regs.rax = a as u64;
    regs.rbx = b as u64;
    regs.rcx = c as u64;
    regs.rdx = d as u64;
}

/// VMCALL in the guest: a hypercall with RAX = number, RDI/RSI/RDX = arguments. The
/// caller's privilege level is SS.DPL (access rights bits 6:5), which tells the kernel
/// from a user program.
pub fn handle_vmcall(regs: &mut GeneralRegisters, cpu: &mut PerCpu) -> Outcome {
    let cpl = ((vmcs::read(x86::vmx::vmcs::guest::SS_ACCESS_RIGHTS) >> 5) & 3) as u8;
    let outcome = hypercall::dispatch(cpu, regs.rax, [regs.rdi, regs.rsi, regs.rdx], cpl);
    if let Outcome::Return(value) = outcome {
        regs.rax = value;
    }
    outcome
}
