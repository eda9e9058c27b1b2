//! A minimal ring 3: enough to run a few lines of user code and come back.
//!
//! User interrupts are delivered only at CPL 3, so the check needs user mode, and
//! nothing more of a kernel than this:
//! - **Pages.** The kernel image's 2 MiB pages get U/S = 1 at every paging level, so
//!   the user programs (functions in this kernel's text, `user.rs`) and the statics
//!   they share with the kernel are reachable at CPL 3. The test kernel is its own user
//!   program; SMEP and SMAP stay off. A real kernel maps user pages apart (the RTOS
//!   does).
//! - **Segments.** baremetal's GDT already has the user code and data descriptors.
//! - **In:** [`run`] saves its callee-saved registers and stack pointer, then `iretq`
//!   to CPL 3 with RFLAGS.IF = 1 (a receiver must accept the notification IPI).
//! - **Out:** `syscall` (a user program's normal end) or any exception at CPL 3 (the
//!   exception hook records it, so a check fails instead of the kernel panicking). Both
//!   land at `ring3_resume`, which returns from [`run`] on the saved stack.
//!
//! The syscall entry has no stack of its own: it finds the saved stack pointer through
//! IA32_KERNEL_GS_BASE, which holds this CPU's [`PerCpu`] address (SWAPGS, SDM Vol. 2B).

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use baremetal::acpi::MAX_CPUS;
use baremetal::interrupts::{self, TrapFrame};
use x86_64::registers::control::Cr3;
use x86_64::registers::model_specific::{Efer, EferFlags, KernelGsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::{PrivilegeLevel, VirtAddr};

/// The registers a user program takes its arguments in (the others start at 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct UserRegs {
    pub rax: u64,
    pub rdx: u64,
    pub r9: u64,
    pub rdi: u64,
    pub rsi: u64,
}

/// How a user program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It ran `syscall` with this RAX.
    Syscall(u64),
    /// It took CPU exception `vector` at `rip`.
    Fault {
        vector: u64,
        rip: u64,
        error: u64,
        cr2: u64,
    },
}

/// Per-CPU state of the way back. `kernel_rsp` must stay first: the syscall entry
/// reads it at GS:0.
#[repr(C)]
struct PerCpu {
    kernel_rsp: AtomicU64,
    fault_vector: AtomicU64,
    fault_rip: AtomicU64,
    fault_error: AtomicU64,
    fault_cr2: AtomicU64,
}

static PER_CPU: [PerCpu; MAX_CPUS] = [const {
    PerCpu {
        kernel_rsp: AtomicU64::new(0),
        fault_vector: AtomicU64::new(0),
        fault_rip: AtomicU64::new(0),
        fault_error: AtomicU64::new(0),
        fault_cr2: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// RAX of a run that ended in a fault (a user program never passes it to `syscall`).
const FAULTED: u64 = u64::MAX;

const USER_STACK_SIZE: usize = 16 * 1024;
#[repr(C, align(16))]
struct UserStack([u8; USER_STACK_SIZE]);
static mut USER_STACKS: [UserStack; MAX_CPUS] =
    [const { UserStack([0; USER_STACK_SIZE]) }; MAX_CPUS];

/// What `iretq` pops, lowest address first (SDM Vol. 3A §6.14.4).
#[repr(C)]
struct IretFrame {
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

global_asm!(
    r#"
    .section .text
    # rdi = &IretFrame, rsi = &UserRegs, rdx = where to save the kernel RSP
    .global ring3_enter
ring3_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rdx], rsp                      # ring3_resume continues on this stack
    push qword ptr [rdi + 32]           # SS
    push qword ptr [rdi + 24]           # RSP
    push qword ptr [rdi + 16]           # RFLAGS
    push qword ptr [rdi + 8]            # CS
    push qword ptr [rdi]                # RIP
    mov rax, [rsi]
    mov rdx, [rsi + 8]
    mov r9, [rsi + 16]
    mov rdi, [rsi + 24]
    mov rsi, [rsi + 32]
    xor ebx, ebx
    xor ecx, ecx
    xor ebp, ebp
    xor r8d, r8d
    xor r10d, r10d
    xor r11d, r11d
    xor r12d, r12d
    xor r13d, r13d
    xor r14d, r14d
    xor r15d, r15d
    iretq

    # RSP = the stack ring3_enter saved, RAX = the run's result.
    .global ring3_resume
ring3_resume:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret                                 # from ring3_enter

    # SYSCALL from CPL 3: RCX = user RIP, R11 = user RFLAGS, RSP still the user's,
    # RFLAGS.IF cleared by FMASK. GS_BASE is 0 in this kernel; SWAPGS exchanges it
    # with IA32_KERNEL_GS_BASE for two instructions.
    .global ring3_syscall_entry
ring3_syscall_entry:
    swapgs
    mov rsp, gs:[0]                     # PerCpu.kernel_rsp
    swapgs
    jmp ring3_resume
"#
);

extern "C" {
    fn ring3_enter(frame: &IretFrame, regs: &UserRegs, kernel_rsp: *const AtomicU64) -> u64;
    fn ring3_resume();
    fn ring3_syscall_entry();
}

/// Runs the user program at `entry` on CPU `cpu`'s user stack, with interrupts on,
/// until it runs `syscall` or faults.
pub fn run(cpu: usize, entry: unsafe extern "C" fn(), regs: UserRegs) -> Exit {
    let (user_cs, user_ss) = interrupts::user_selectors(cpu);
    // SAFETY: each CPU uses only its own stack, and only while its user program runs.
    let stack_top = unsafe { (&raw mut USER_STACKS[cpu]) as u64 } + USER_STACK_SIZE as u64;
    let frame = IretFrame {
        rip: entry as *const () as u64,
        cs: user_cs as u64,
        rflags: (RFlags::INTERRUPT_FLAG | RFlags::from_bits_retain(2)).bits(),
        rsp: stack_top,
        ss: user_ss as u64,
    };
    let per_cpu = &PER_CPU[cpu];
    // SAFETY: the frame names user code and a user stack on user-accessible pages; the
    // program comes back through ring3_resume to the stack saved in `per_cpu`.
    match unsafe { ring3_enter(&frame, &regs, &per_cpu.kernel_rsp) } {
        FAULTED => Exit::Fault {
            vector: per_cpu.fault_vector.load(Ordering::Relaxed),
            rip: per_cpu.fault_rip.load(Ordering::Relaxed),
            error: per_cpu.fault_error.load(Ordering::Relaxed),
            cr2: per_cpu.fault_cr2.load(Ordering::Relaxed),
        },
        rax => Exit::Syscall(rax),
    }
}

/// An exception at CPL 3 ends the user program: record it and resume the kernel
/// where [`run`] left it. Exceptions at CPL 0 still panic.
fn user_fault(frame: &mut TrapFrame) -> bool {
    if !frame.from_user() {
        return false;
    }
    let cpu = baremetal::smp::this_cpu_index();
    let per_cpu = &PER_CPU[cpu];
    per_cpu.fault_vector.store(frame.vector, Ordering::Relaxed);
    per_cpu.fault_rip.store(frame.rip, Ordering::Relaxed);
    per_cpu
        .fault_error
        .store(frame.error_code, Ordering::Relaxed);
    per_cpu.fault_cr2.store(
        x86_64::registers::control::Cr2::read_raw(),
        Ordering::Relaxed,
    );
    let (code, data, _) = interrupts::selectors(cpu);
    frame.rip = ring3_resume as *const () as u64;
    frame.cs = code as u64;
    frame.ss = data as u64;
    frame.rsp = per_cpu.kernel_rsp.load(Ordering::Relaxed);
    frame.rflags = 2; // interrupts off, as after `syscall`
    frame.rax = FAULTED;
    true
}

/// Prepares this CPU for [`run`]: the SYSCALL MSRs (SDM Vol. 2B, SYSCALL) and the
/// per-CPU block. The boot CPU also makes the image user-accessible and installs the
/// exception hook, before the other CPUs start.
pub fn init_cpu(cpu: usize) {
    let (code, data, _) = interrupts::selectors(cpu);
    let (user_code, user_data) = interrupts::user_selectors(cpu);
    Star::write(
        SegmentSelector::new(user_code >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(user_data >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(code >> 3, PrivilegeLevel::Ring0),
        SegmentSelector::new(data >> 3, PrivilegeLevel::Ring0),
    )
    .expect("baremetal's GDT has the user segments in the order SYSRET needs");
    LStar::write(VirtAddr::new(ring3_syscall_entry as *const () as u64));
    // The kernel runs with interrupts off; DF clear for the ABI; no single-stepping.
    SFMask::write(RFlags::INTERRUPT_FLAG | RFlags::DIRECTION_FLAG | RFlags::TRAP_FLAG);
    KernelGsBase::write(VirtAddr::from_ptr(&PER_CPU[cpu]));
    // SAFETY: the entry above is in place before any user program runs.
    unsafe { Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS)) };
    if cpu == 0 {
        baremetal::legacy_pic::mask_all();
        allow_user_access_to_image();
        interrupts::set_exception_hook(user_fault);
    }
}

/// Page-table entry bits (SDM Vol. 3A §4.5, Tables 4-15 to 4-18).
const PTE_USER: u64 = 1 << 2;
const PTE_HUGE: u64 = 1 << 7;
const PTE_ADDR: u64 = 0x000F_FFFF_FFFF_F000;
const HUGE_PAGE: u64 = 2 << 20;

extern "C" {
    // The image's bounds, from baremetal's linker script.
    static __image_start: u8;
    static __image_end: u8;
}

/// Sets U/S on the PML4, PDPT and 2 MiB PD entries that map the kernel image
/// (identity-mapped by baremetal's boot stub), then flushes the TLB.
fn allow_user_access_to_image() {
    let start = (&raw const __image_start) as u64 & !(HUGE_PAGE - 1);
    let end = (&raw const __image_end) as u64;
    let pml4 = Cr3::read().0.start_address().as_u64() as *mut u64;
    for page in (start..end).step_by(HUGE_PAGE as usize) {
        // SAFETY: the boot stub's tables are identity-mapped and map `page` with a
        // 2 MiB page; nothing else walks them while the boot CPU runs alone.
        unsafe {
            let pml4e = pml4.add((page >> 39) as usize & 511);
            *pml4e |= PTE_USER;
            let pdpte = ((*pml4e & PTE_ADDR) as *mut u64).add((page >> 30) as usize & 511);
            *pdpte |= PTE_USER;
            let pde = ((*pdpte & PTE_ADDR) as *mut u64).add((page >> 21) as usize & 511);
            assert!(*pde & PTE_HUGE != 0, "the image is mapped with 2 MiB pages");
            *pde |= PTE_USER;
        }
    }
    let (frame, flags) = Cr3::read();
    // SAFETY: the same tables again: only flushes the TLB.
    unsafe { Cr3::write(frame, flags) };
}
