// ANCHOR: contract
//! How every CPU enters the hypervisor: the driver calls `hv_entry` on each online CPU
//! (from `on_each_cpu`, interrupts off), in Linux's context, through the virtual address
//! where it mapped the hypervisor's range (C type: `crtos_hv_entry_t` in crtos.h):
//!
//! ```c
//! int hv_entry(u64 cpu, u64 online_cpus, u64 max_cpus, u64 hv_phys, u64 hv_size,
//!              u64 hv_virt, u64 power_off);
//! ```
//!
//! The stub saves Linux's registers, applies the image's relocations (first CPU only:
//! the image is linked at 0 and runs wherever the driver mapped it), switches to this
//! CPU's hypervisor stack and calls [`crate::hv_main`]. On success `hv_main` never
//! returns: VMLAUNCH resumes Linux *as a guest* at the driver's return address, with
//! the registers saved here and RAX = 0: for Linux, `hv_entry` returned 0. (No
//! hypervisor instruction runs in the guest: its memory is closed to Linux.) On
//! failure it returns a negative errno, which reaches the driver the ordinary way.
// ANCHOR_END: contract

use crate::regs::GeneralRegisters;

/// The entry arguments, plus where Linux resumes; built on Linux's stack by the stub,
/// lowest address first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EntryArgs {
    pub cpu: u64,
    pub online_cpus: u64,
    pub max_cpus: u64,
    pub hv_phys: u64,
    pub hv_size: u64,
    pub hv_virt: u64,
    /// How to power the machine off after a panic (`crtos_abi::PowerOff`, packed).
    pub power_off: u64,
    /// Linux's RSP and RIP once `hv_entry` has returned to the driver.
    pub linux_rsp: u64,
    pub linux_rip: u64,
    /// Linux's registers as `hv_entry` found them: the guest's at VMLAUNCH.
    pub linux_regs: GeneralRegisters,
}

impl EntryArgs {
    /// Arguments as the driver passes them, for the host unit tests.
    #[cfg(test)]
    pub fn for_test(cpu: u64, online: u64, max: u64, phys: u64, size: u64, virt: u64) -> Self {
        EntryArgs {
            cpu,
            online_cpus: online,
            max_cpus: max,
            hv_phys: phys,
            hv_size: size,
            hv_virt: virt,
            power_off: 0,
            linux_rsp: 0,
            linux_rip: 0,
            linux_regs: GeneralRegisters::default(),
        }
    }
}

/// 0 = not relocated, 1 = a CPU is relocating, 2 = done, 3 = failed.
#[cfg(not(test))]
#[no_mangle]
static mut HV_RELOCATION_STATE: u32 = 0;

// Only in the image: a host test build has neither the linker script's symbols nor a
// driver to call it.
#[cfg(not(test))]
core::arch::global_asm!(
    "
    .section .text
    .global hv_entry
hv_entry:
    endbr64                         # a valid indirect-call target where IBT is on
    ",
    push_general_registers!(),      // EntryArgs.linux_regs
    "
    mov r12, rsp                    # Linux's stack, its registers on top
    push qword ptr [r12 + {regs_size}]  # EntryArgs.linux_rip: the driver's return address
    lea rax, [r12 + {regs_size} + 8]
    push rax                        # EntryArgs.linux_rsp: after that `ret`
    push qword ptr [r12 + {regs_size} + 8]  # power_off, the 7th argument (on the stack)
    push r9                         # hv_virt
    push r8                         # hv_size
    push rcx                        # hv_phys
    push rdx                        # max_cpus
    push rsi                        # online_cpus
    push rdi                        # cpu
    mov r13, rsp                    # &EntryArgs
    call hv_relocate
    test eax, eax
    jnz 1f
    mov rdi, r13
    call hv_stack_top               # this CPU's hypervisor stack, or 0 for bad arguments
    test rax, rax
    jz 2f
    mov rsp, rax
    mov rdi, r13
    call hv_main                    # returns only on failure: rax = -errno
    jmp 4f
1:  mov rax, {enoexec}              # a relocation the stub cannot apply
    jmp 4f
2:  mov rax, {einval}               # bad entry arguments
4:  mov rsp, r12
    mov [rsp], rax                  # the return value, in the saved RAX
    ",
    pop_general_registers!(),
    "
    ret

    # Adds the load address to every R_X86_64_RELATIVE relocation, once.
    # Returns eax = 0 on success. Clobbers only caller-saved registers.
hv_relocate:
    lea rcx, [rip + HV_RELOCATION_STATE]
    xor eax, eax
    mov r8d, 1
    lock cmpxchg dword ptr [rcx], r8d
    jne 7f                          # another CPU relocates (or did): wait for it
    lea rdi, [rip + __image_start]  # the load address (the link address is 0)
    lea rsi, [rip + __rela_start]
    lea rdx, [rip + __rela_end]
5:  cmp rsi, rdx
    jae 6f
    cmp dword ptr [rsi + 8], 8      # r_info type: R_X86_64_RELATIVE
    jne 8f
    mov r9, [rsi]                   # r_offset
    mov r10, [rsi + 16]             # r_addend
    add r10, rdi
    mov [rdi + r9], r10
    add rsi, 24
    jmp 5b
6:  mov dword ptr [rcx], 2
    xor eax, eax
    ret
8:  mov dword ptr [rcx], 3
    mov eax, 1
    ret
7:  pause
    mov eax, dword ptr [rcx]
    cmp eax, 2
    jb 7b
    sub eax, 2                      # 2 -> 0 (ok), 3 -> 1 (failed)
    ret
    ",
    regs_size = const crate::regs::GENERAL_REGISTERS_SIZE,
    enoexec = const crtos_abi::Errno::NoExec.negative(),
    einval = const crtos_abi::Errno::Inval.negative(),
);

// The stub's `mov [rsp], rax` stores the return value into the saved RAX, and its
// pushes keep RSP 16-byte aligned for its calls: the CALL left it 8 off, and the
// arguments and registers together are an odd number of 8-byte words.
const _: () = assert!(core::mem::offset_of!(GeneralRegisters, rax) == 0);
const _: () = assert!(core::mem::size_of::<EntryArgs>() % 16 == 8);
