//! Running the guest: the guest's general-purpose registers, VMLAUNCH, and the VM-exit
//! entry point. The CPU saves and loads RSP, RIP and RFLAGS through the VMCS; the other
//! registers are ours to save, in [`GeneralRegisters`] on the host stack.

use core::arch::global_asm;

/// The guest's registers while the host runs, in the order the exit stub pushes them.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct GeneralRegisters {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    /// Unused: the guest's RSP is in the VMCS.
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

global_asm!(
    r#"
    .section .text
    # On a VM exit the CPU jumps here with RSP = the VMCS host RSP, where the slot just
    # above holds this CPU's PerCpu pointer (see PerCpu::stack_top).
    .global hv_vmexit_entry
hv_vmexit_entry:
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
    sub rsp, 8                      # the RSP slot
    push rbx
    push rdx
    push rcx
    push rax
    mov rdi, rsp                    # &mut GeneralRegisters
    mov rsi, [rsp + 16 * 8]         # &mut PerCpu
    call vmexit_handler
    pop rax
    pop rcx
    pop rdx
    pop rbx
    add rsp, 8
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
    vmresume
    call vmresume_failed            # only reached if VMRESUME itself failed

    # fn hv_vmlaunch(regs: &GeneralRegisters) -> u64: loads the guest's registers and
    # launches it. Returns (with 1) only if VMLAUNCH failed.
    .global hv_vmlaunch
hv_vmlaunch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov rax, [rdi + 0 * 8]
    mov rcx, [rdi + 1 * 8]
    mov rdx, [rdi + 2 * 8]
    mov rbx, [rdi + 3 * 8]
    mov rbp, [rdi + 5 * 8]
    mov rsi, [rdi + 6 * 8]
    mov r8,  [rdi + 8 * 8]
    mov r9,  [rdi + 9 * 8]
    mov r10, [rdi + 10 * 8]
    mov r11, [rdi + 11 * 8]
    mov r12, [rdi + 12 * 8]
    mov r13, [rdi + 13 * 8]
    mov r14, [rdi + 14 * 8]
    mov r15, [rdi + 15 * 8]
    mov rdi, [rdi + 7 * 8]
    vmlaunch
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    mov eax, 1
    ret
"#
);

extern "C" {
    /// Launches the guest with `regs`; returns only when VMLAUNCH fails.
    pub fn hv_vmlaunch(regs: &GeneralRegisters) -> u64;
    pub fn hv_vmexit_entry();
}

#[no_mangle]
extern "C" fn vmresume_failed() -> ! {
    let error = super::vmcs::read(x86::vmx::vmcs::ro::VM_INSTRUCTION_ERROR);
    panic!("VMRESUME failed: VM-instruction error {error} (SDM Vol. 3C §31.4)");
}
