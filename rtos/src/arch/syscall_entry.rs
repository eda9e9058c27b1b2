//! The `syscall` entry (SDM Vol. 2B, SYSCALL; Vol. 3A §5.8.8). The CPU jumps to LSTAR
//! in ring 0 with RCX = the user RIP, R11 = the user RFLAGS, RFLAGS masked by FMASK,
//! and the user's RSP untouched. The stub switches to the syscall stack and builds the
//! same `TrapFrame` (and FPU area below it) that baremetal's interrupt stubs build, so
//! the scheduler treats both kinds of entry alike. It returns to whatever the frame
//! holds by then, which may be another task: with SYSRET when the frame is one that a
//! `syscall` saved (RCX = RIP and R11 = RFLAGS, as SYSRET reloads them), else with IRETQ
//! (a task preempted by an interrupt, the idle loop in ring 0).
//!
//! One CPU runs the RTOS, so the stack and the scratch slot are plain statics (a
//! multi-CPU kernel would reach per-CPU ones through SWAPGS).

use core::arch::global_asm;

use baremetal::interrupts::TrapFrame;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::{PrivilegeLevel, VirtAddr};

use crate::config::{SYSCALL_FRAME_MARK, SYSCALL_STACK_SIZE, USER_CANONICAL_END};

#[repr(C, align(16))]
struct Stack([u8; SYSCALL_STACK_SIZE]);
#[no_mangle]
static mut RTOS_SYSCALL_STACK: Stack = Stack([0; SYSCALL_STACK_SIZE]);
#[no_mangle]
static mut RTOS_SYSCALL_USER_RSP: u64 = 0;

global_asm!(
    r#"
    .section .text
    .global rtos_syscall_entry
rtos_syscall_entry:
    mov [rip + RTOS_SYSCALL_USER_RSP], rsp
    lea rsp, [rip + RTOS_SYSCALL_STACK + {stack_size}]
    push {user_ss}                       # the frame IRETQ will pop: SS, RSP, RFLAGS, CS, RIP
    push qword ptr [rip + RTOS_SYSCALL_USER_RSP]
    push r11
    push {user_cs}
    push rcx
    push 0                               # error code
    push {mark}                          # "vector": a syscall frame
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp                         # &mut TrapFrame (176 bytes: RSP stays aligned)
    sub rsp, 512
    fxsave64 [rsp]
    call rtos_syscall                    # AL = 1: the frame may return by SYSRET
    fxrstor64 [rsp]
    add rsp, 512
    test al, al                          # (POP and LEA below keep the flags)
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    lea rsp, [rsp + 16]                  # vector and error code
    jz 1f
    mov rsp, [rsp + 24]                  # the frame's RSP (interrupts are off)
    sysretq
1:  iretq
"#,
    stack_size = const SYSCALL_STACK_SIZE,
    user_ss = const USER_DATA_SELECTOR,
    user_cs = const USER_CODE_SELECTOR,
    mark = const SYSCALL_FRAME_MARK,
);

/// The user selectors baremetal's GDT has (index 5 data, 6 code), RPL 3; `init`
/// checks them against the GDT.
const USER_DATA_SELECTOR: u16 = (5 << 3) | 3;
const USER_CODE_SELECTOR: u16 = (6 << 3) | 3;

extern "C" {
    fn rtos_syscall_entry();
}

/// The Rust side of the entry: the system call, then the scheduler's decision.
/// Returns whether the frame it leaves may return by SYSRET.
#[no_mangle]
extern "C" fn rtos_syscall(frame: &mut TrapFrame) -> bool {
    crate::syscall::handle(frame);
    frame.cs == USER_CODE_SELECTOR as u64
        && frame.rcx == frame.rip
        && frame.r11 == frame.rflags
        && frame.rip < USER_CANONICAL_END
}

/// Programs the `syscall` MSRs: STAR (the selectors), LSTAR (the entry), FMASK (the
/// RFLAGS bits cleared on entry: IF so the kernel runs with interrupts off, DF for the
/// ABI, TF and AC, and NT, which a user may set with POPF: IRETQ with NT set raises
/// #GP in 64-bit mode, SDM Vol. 2A IRET), and EFER.SCE.
pub fn init() {
    let (code, data, _) = baremetal::interrupts::selectors(0);
    let (user_code, user_data) = baremetal::interrupts::user_selectors(0);
    assert_eq!(
        (user_code | 3, user_data | 3),
        (USER_CODE_SELECTOR, USER_DATA_SELECTOR)
    );
    Star::write(
        SegmentSelector::new(user_code >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(user_data >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(code >> 3, PrivilegeLevel::Ring0),
        SegmentSelector::new(data >> 3, PrivilegeLevel::Ring0),
    )
    .expect("the GDT's user segments follow the order SYSRET needs");
    LStar::write(VirtAddr::new(rtos_syscall_entry as *const () as u64));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
    // SAFETY: the entry above is ready before any task runs.
    unsafe { Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS)) };
}
