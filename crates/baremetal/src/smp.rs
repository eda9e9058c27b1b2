//! Starting the other CPUs (application processors, APs) with INIT-SIPI-SIPI.
//!
//! An AP wakes up in 16-bit real mode at the start-up page (`vector << 12`). The
//! trampoline below, copied there, climbs to 64-bit mode (real -> protected ->
//! long mode), loads the boot CPU's page tables and calls [`ap_rust_entry`] on its
//! own stack. The page's old contents are saved and restored around the start-up.

use core::arch::global_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::acpi::MAX_CPUS;
use crate::apic::{self, Ipi};
use crate::STACK_SIZE;

/// Physical address of the start-up page (below 1 MiB, 4 KiB-aligned).
pub const TRAMPOLINE_PADDR: u64 = 0x6000;

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
    movq TRAMP + (ap_cpu - baremetal_ap_trampoline_start), %rdi
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
baremetal_ap_params:                        # filled in by start_cpu() for each AP
ap_cr3:   .quad 0
ap_stack: .quad 0
ap_entry: .quad 0
ap_cpu:   .quad 0
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

/// The parameter block at the end of the trampoline.
#[repr(C)]
struct ApParams {
    cr3: u64,
    stack_top: u64,
    entry: u64,
    cpu: u64,
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

    // The symbols delimit the trampoline in .rodata.
    let (start, end, params) = (
        &raw const baremetal_ap_trampoline_start as usize,
        &raw const baremetal_ap_trampoline_end as usize,
        &raw const baremetal_ap_params as usize,
    );
    let page = TRAMPOLINE_PADDR as *mut u8;
    let len = end - start;
    let mut saved = [0u8; 4096];
    assert!(len <= saved.len());
    // SAFETY: the start-up page is identity-mapped low memory; we restore it below.
    unsafe {
        core::ptr::copy_nonoverlapping(page, saved.as_mut_ptr(), len);
        core::ptr::copy_nonoverlapping(start as *const u8, page, len);
    }
    let params = (TRAMPOLINE_PADDR as usize + (params - start)) as *mut ApParams;

    let mut started = 0;
    let mut result = Ok(());
    for (cpu, &apic_id) in platform.apic_ids[..platform.cpu_count].iter().enumerate() {
        if apic_id == bsp {
            continue;
        }
        // SAFETY: the AP has not started yet, so nothing else reads the block.
        unsafe {
            params.write_volatile(ApParams {
                cr3: x86_64::registers::control::Cr3::read_raw()
                    .0
                    .start_address()
                    .as_u64(),
                stack_top: (&raw mut AP_STACKS[cpu]) as u64 + STACK_SIZE as u64,
                entry: ap_rust_entry as *const () as u64,
                cpu: cpu as u64,
            });
        }
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
