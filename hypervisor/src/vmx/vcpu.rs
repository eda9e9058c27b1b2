//! Running the guest: VMLAUNCH and the VM-exit entry point. The CPU saves and loads
//! RSP, RIP and RFLAGS through the VMCS; the other registers are ours to save, as a
//! [`GeneralRegisters`] on the host stack (see `regs.rs`).
//!
//! The top of the host stack (see `PerCpu::stack_top`) holds the guest's registers
//! while the host runs, and above them this CPU's `PerCpu` pointer.

use core::arch::global_asm;

use crtos_abi::Errno;

use crate::percpu::PerCpu;
pub use crate::regs::GeneralRegisters;
use crate::regs::GENERAL_REGISTERS_SIZE;

global_asm!(
    "
    .section .text
    # On a VM exit the CPU jumps here with RSP = the VMCS host RSP.
    .global hv_vmexit_entry
hv_vmexit_entry:
    ",
    push_general_registers!(),
    "
    mov rdi, rsp                    # &mut GeneralRegisters
    mov rsi, [rsp + {regs_size}]    # &mut PerCpu, just above them
    call vmexit_handler
    ",
    pop_general_registers!(),
    "
    vmresume
    # Only reached when VMRESUME itself failed: the guest's registers go back where
    # the handler can see them.
    ",
    push_general_registers!(),
    "
    mov rdi, rsp
    call vmresume_failed

    # fn hv_vmlaunch(regs: *mut GeneralRegisters) -> !: launches the guest with the
    # registers that PerCpu::guest_registers put where the exit stub keeps them. A
    # failed VMLAUNCH then looks like a VM exit: the registers are pushed back in place
    # and vmlaunch_failed gets the exit handler's two arguments.
    .global hv_vmlaunch
hv_vmlaunch:
    mov rsp, rdi
    ",
    pop_general_registers!(),
    "
    vmlaunch
    ",
    push_general_registers!(),
    "
    mov rdi, rsp
    mov rsi, [rsp + {regs_size}]
    call vmlaunch_failed
    ",
    regs_size = const GENERAL_REGISTERS_SIZE,
);

extern "C" {
    /// Launches the guest with `regs`, which must be [`PerCpu::guest_registers`] of this
    /// CPU; never returns (a failed VMLAUNCH ends in `vmlaunch_failed`).
    pub fn hv_vmlaunch(regs: *mut GeneralRegisters) -> !;
    pub fn hv_vmexit_entry();
}

#[no_mangle]
extern "C" fn vmlaunch_failed(regs: &mut GeneralRegisters, cpu: &mut PerCpu) -> ! {
    let error = super::vmcs::read(x86::vmx::vmcs::ro::VM_INSTRUCTION_ERROR);
    baremetal::println!(
        "[hv] cpu {}: VMLAUNCH failed: VM-instruction error {error}",
        cpu.cpu
    );
    // Our GDT, IDT and TR are loaded by now: go back the way DISABLE does, with
    // -EIO for the driver.
    super::leave::leave_vmx(regs, cpu, Errno::Io.as_return())
}

#[no_mangle]
extern "C" fn vmresume_failed(_regs: &mut GeneralRegisters) -> ! {
    let error = super::vmcs::read(x86::vmx::vmcs::ro::VM_INSTRUCTION_ERROR);
    panic!("VMRESUME failed: VM-instruction error {error} (SDM Vol. 3C §31.4)");
}
