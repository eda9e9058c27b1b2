//! Starting the other CPUs (application processors, APs) with INIT-SIPI-SIPI.
//!
//! An AP wakes up in 16-bit real mode at the start-up page (`vector << 12`). The
//! trampoline below, copied there, climbs to 64-bit mode (real -> protected ->
//! long mode), loads the boot CPU's page tables and calls [`ap_rust_entry`] on its
//! own stack. The page's old contents are saved and restored around the start-up.
//!
//! One trampoline serves every kernel of the lab: the bare-metal kernels start their
//! APs with it ([`start_aps`]), and the hypervisor starts the RTOS with it (lab 2),
//! each filling the [`ApParams`] block at its end: the page tables to load, the stack,
//! the 64-bit entry and its argument.

use core::arch::global_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::acpi::MAX_CPUS;
use crate::apic::{self, Ipi};
use crate::STACK_SIZE;

/// Physical address of the start-up page (below 1 MiB, 4 KiB-aligned).
pub const TRAMPOLINE_PADDR: u64 = crtos_abi::STARTUP_PAGE;

global_asm!(
    r#"
    .set TRAMP, {tramp}
    .section .rodata.ap_trampoline, "a"
    .global baremetal_ap_trampoline_start
    .global baremetal_ap_trampoline_end
    .global baremetal_ap_params
    .code16
baremetal_ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl TRAMP + (ap_gdt_pointer - baremetal_ap_trampoline_start)
    movl %cr0, %eax
    orl $1, %eax                            # PE: protected mode
    movl %eax, %cr0
    ljmpl $0x18, $(TRAMP + (ap_protected - baremetal_ap_trampoline_start))

    .code32
ap_protected:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %ss
    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax   # PAE, OSFXSR, OSXMMEXCPT
    movl %eax, %cr4
    movl TRAMP + (ap_cr3 - baremetal_ap_trampoline_start), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx                  # EFER: LME, NXE
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax
    wrmsr
    movl %cr0, %eax
    andl $~(1 << 2), %eax                   # clear EM: SSE allowed
    orl $((1 << 31) | (1 << 16) | (1 << 1)), %eax  # PG, WP, MP
    movl %eax, %cr0
    ljmpl $0x08, $(TRAMP + (ap_long - baremetal_ap_trampoline_start))

    .code64
ap_long:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    fninit
    movq TRAMP + (ap_stack - baremetal_ap_trampoline_start), %rsp
    movq TRAMP + (ap_arg - baremetal_ap_trampoline_start), %rdi
    movq TRAMP + (ap_entry - baremetal_ap_trampoline_start), %rax
    xorl %ebp, %ebp
    callq *%rax
1:  hlt
    jmp 1b

    .balign 8
ap_gdt:
    .quad 0                                 # null
    .quad 0x00af9a000000ffff                # 0x08: 64-bit code
    .quad 0x00cf92000000ffff                # 0x10: data
    .quad 0x00cf9a000000ffff                # 0x18: 32-bit code
ap_gdt_end:
    .balign 4
    .word 0
ap_gdt_pointer:
    .word ap_gdt_end - ap_gdt - 1
    .long TRAMP + (ap_gdt - baremetal_ap_trampoline_start)
    .balign 8
baremetal_ap_params:                        # struct ApParams, filled in by the starter
ap_cr3:   .quad 0
ap_stack: .quad 0
ap_entry: .quad 0
ap_arg:   .quad 0
baremetal_ap_trampoline_end:
    .text
"#,
    tramp = const TRAMPOLINE_PADDR,
    options(att_syntax)
);

extern "C" {
    static baremetal_ap_trampoline_start: u8;
    static baremetal_ap_trampoline_end: u8;
    static baremetal_ap_params: u8;
}

// ANCHOR: ap_params
/// The parameter block at the end of the trampoline: what the started CPU loads once
/// it reaches 64-bit mode.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ApParams {
    /// The page tables to enable paging with: below 4 GiB (the 32-bit code loads
    /// CR3), and identity-mapping the start-up page, whose code goes on after paging
    /// is on.
    pub cr3: u64,
    /// The stack of the 64-bit entry.
    pub stack_top: u64,
    /// The 64-bit entry, called as `extern "C" fn(arg: u64) -> !`.
    pub entry: u64,
    /// Its argument (in RDI).
    pub arg: u64,
}
// ANCHOR_END: ap_params

/// The trampoline's bytes, and the offset of its [`ApParams`] among them.
pub fn trampoline() -> (&'static [u8], usize) {
    // The symbols delimit the trampoline in .rodata.
    let (start, end, params) = (
        &raw const baremetal_ap_trampoline_start as usize,
        &raw const baremetal_ap_trampoline_end as usize,
        &raw const baremetal_ap_params as usize,
    );
    // SAFETY: the assembly above defines the bytes between the two symbols.
    let code = unsafe { core::slice::from_raw_parts(start as *const u8, end - start) };
    (code, params - start)
}

/// Copies the trampoline with `params` to the start-up page at `page`.
///
/// # Safety
/// `page` is [`TRAMPOLINE_PADDR`] as the caller maps it, writable, and no CPU runs the
/// trampoline now.
pub unsafe fn install_trampoline(page: *mut u8, params: ApParams) {
    let (code, params_offset) = trampoline();
    core::ptr::copy_nonoverlapping(code.as_ptr(), page, code.len());
    (page.add(params_offset) as *mut ApParams).write_volatile(params);
}

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);
static mut AP_STACKS: [Stack; MAX_CPUS] = [const { Stack([0; STACK_SIZE]) }; MAX_CPUS];

/// CPUs that reached 64-bit Rust (the boot CPU counts as one).
static CPUS_ONLINE: AtomicUsize = AtomicUsize::new(1);
static AP_MAIN: AtomicUsize = AtomicUsize::new(0);

/// How many CPUs are running kernel code.
pub fn cpus_online() -> usize {
    CPUS_ONLINE.load(Ordering::Acquire)
}

/// The index of the running CPU: its APIC ID's position in the firmware's MADT
/// (0 when there is no MADT). Uses CPUID, so it works before the APIC is set up.
pub fn this_cpu_index() -> usize {
    let apic_id = (core::arch::x86_64::__cpuid(1).ebx >> 24) as u8;
    crate::platform()
        .and_then(|p| {
            p.apic_ids[..p.cpu_count]
                .iter()
                .position(|&id| id == apic_id)
        })
        .unwrap_or(0)
}

extern "C" fn ap_rust_entry(cpu: usize) -> ! {
    crate::interrupts::init_cpu(cpu);
    apic::enable();
    CPUS_ONLINE.fetch_add(1, Ordering::AcqRel);
    // SAFETY: start_aps stored a `fn(usize) -> !` before sending the SIPI.
    let main: fn(usize) -> ! = unsafe { core::mem::transmute(AP_MAIN.load(Ordering::Acquire)) };
    main(cpu)
}

/// Errors of [`start_aps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmpError {
    /// The firmware published no MADT, so the CPUs are unknown.
    NoMadt,
    /// The CPU with this APIC ID did not come up after INIT-SIPI-SIPI.
    ApTimeout(u8),
}

/// Starts every CPU listed in the MADT other than the boot CPU; each runs
/// `ap_main(cpu_index)`. Returns how many APs came up.
pub fn start_aps(ap_main: fn(usize) -> !) -> Result<usize, SmpError> {
    let platform = crate::platform().ok_or(SmpError::NoMadt)?;
    apic::enable();
    AP_MAIN.store(ap_main as *const () as usize, Ordering::Release);
    let bsp = apic::id();

    let page = TRAMPOLINE_PADDR as *mut u8;
    let len = trampoline().0.len();
    let mut saved = [0u8; 4096];
    assert!(len <= saved.len());
    // SAFETY: the start-up page is identity-mapped low memory; we restore it below.
    unsafe { core::ptr::copy_nonoverlapping(page, saved.as_mut_ptr(), len) };

    let mut started = 0;
    let mut result = Ok(());
    for (cpu, &apic_id) in platform.apic_ids[..platform.cpu_count].iter().enumerate() {
        if apic_id == bsp {
            continue;
        }
        let params = ApParams {
            cr3: x86_64::registers::control::Cr3::read_raw()
                .0
                .start_address()
                .as_u64(),
            // SAFETY: only the address is taken; each AP uses its own stack.
            stack_top: unsafe { &raw mut AP_STACKS[cpu] } as u64 + STACK_SIZE as u64,
            entry: ap_rust_entry as *const () as u64,
            arg: cpu as u64,
        };
        // SAFETY: the start-up page, identity-mapped; the previous AP has left it.
        unsafe { install_trampoline(page, params) };
        if let Err(e) = start_cpu(apic_id) {
            result = Err(e);
            break;
        }
        started += 1;
    }
    // SAFETY: every started AP has left the trampoline (it signalled from Rust).
    unsafe { core::ptr::copy_nonoverlapping(saved.as_ptr(), page, len) };
    result.map(|()| started)
}

/// The universal start-up algorithm (SDM Vol. 3A §9.4.4.1): INIT, 10 ms, SIPI, 200 µs,
/// and a second SIPI if the AP has not signalled yet.
fn start_cpu(apic_id: u8) -> Result<(), SmpError> {
    let before = cpus_online();
    let vector = (TRAMPOLINE_PADDR >> 12) as u8;
    apic::send_ipi(apic_id, Ipi::Init);
    crate::pit::delay_us(10_000);
    apic::send_ipi(apic_id, Ipi::Startup(vector));
    crate::pit::delay_us(200);
    if cpus_online() == before {
        apic::send_ipi(apic_id, Ipi::Startup(vector));
    }
    // Give it up to 100 ms to reach Rust.
    for _ in 0..1000 {
        if cpus_online() > before {
            return Ok(());
        }
        crate::pit::delay_us(100);
    }
    Err(SmpError::ApTimeout(apic_id))
}
