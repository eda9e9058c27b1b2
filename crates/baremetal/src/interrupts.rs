//! Interrupt entry: per-CPU GDT and TSS, one IDT, and assembly stubs for all 256
//! vectors that save the registers and call [`interrupt_dispatch`].
//!
//! Two rules of the host target shape this file:
//! - Its code uses the 128-byte *red zone* below RSP, which an interrupt on the same
//!   stack would overwrite. So every gate switches to an IST stack: the CPU then never
//!   pushes onto the interrupted stack. (SDM Vol. 3A §6.14.5 "Interrupt Stack Table".)
//! - Its code uses SSE registers, so the stub saves them (`fxsave64`) around Rust code.
//!
//! `extern "x86-interrupt"` would do part of this but is nightly-only.

use core::arch::global_asm;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::{lidt, load_tss};
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use crate::acpi::MAX_CPUS;

/// The registers the entry stub saved, lowest address first.
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    // Pushed by the CPU:
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// A handler for an external interrupt or IPI (vectors 32..=255). It sends the EOI.
pub type Handler = fn(&mut TrapFrame);

/// The FPU/SSE state (`fxsave64` layout, SDM Vol. 1 §10.5.1) that the entry stub saves
/// in the 512 bytes just below the [`TrapFrame`] and restores on the way out.
#[repr(C, align(16))]
#[derive(Clone)]
pub struct FxArea(pub [u8; 512]);

impl TrapFrame {
    /// The FPU/SSE state saved with this frame. A kernel that switches tasks by
    /// swapping frames (the RTOS) swaps this area too.
    ///
    /// # Safety
    /// `self` must be a frame built by an entry stub of this layout (the stub below,
    /// or a kernel's own stub that also puts an [`FxArea`] right below the frame).
    pub unsafe fn fx_area(&mut self) -> &mut FxArea {
        // SAFETY: per the caller, the stub's fxsave64 area lies right below the frame.
        unsafe { &mut *(self as *mut TrapFrame as *mut FxArea).sub(1) }
    }

    /// Whether the CPU was in user mode (CPL 3) when this frame was saved.
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

/// A kernel's own handler of CPU exceptions (vectors 0..32): returns `true` when it
/// handled the exception (e.g. killed the user task that caused it), `false` to fall
/// back to the panic.
pub type ExceptionHook = fn(&mut TrapFrame) -> bool;

static EXCEPTION_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Installs `hook` for CPU exceptions (without one, every exception panics).
pub fn set_exception_hook(hook: ExceptionHook) {
    EXCEPTION_HOOK.store(hook as usize, Ordering::Release);
}

/// The name of exception `vector` (0..32), e.g. "#PF page fault".
pub fn exception_name(vector: u64) -> &'static str {
    EXCEPTION_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("not an exception")
}

static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];

/// Installs `handler` for `vector` (32..=255); vectors below 32 are CPU exceptions.
pub fn register(vector: u8, handler: Handler) {
    assert!(vector >= 32, "vectors 0..32 are CPU exceptions");
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
}

const EXCEPTION_NAMES: [&str; 32] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved 15",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
    "reserved 22",
    "reserved 23",
    "reserved 24",
    "reserved 25",
    "reserved 26",
    "reserved 27",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved 31",
];

/// A handler for NMIs (vector 2), called with this CPU's index.
pub type NmiHandler = fn(usize);

static NMI_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Installs `handler` for NMIs on every CPU; without one an NMI is a fatal exception.
/// (A hypervisor hands NMIs that hit it back to its guest, whose NMIs they are.)
pub fn set_nmi_handler(handler: NmiHandler) {
    NMI_HANDLER.store(handler as usize, Ordering::Release);
}

const NMI_VECTOR: usize = 2;

#[no_mangle]
extern "C" fn interrupt_dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector as usize;
    if vector == NMI_VECTOR {
        if let (f @ 1.., Some(cpu)) = (NMI_HANDLER.load(Ordering::Acquire), current_cpu()) {
            // SAFETY: only `set_nmi_handler` stores here, always an `NmiHandler`.
            let handler: NmiHandler = unsafe { core::mem::transmute::<usize, NmiHandler>(f) };
            handler(cpu);
            return;
        }
    }
    if vector < 32 {
        if let f @ 1.. = EXCEPTION_HOOK.load(Ordering::Acquire) {
            // SAFETY: only `set_exception_hook` stores here, always an `ExceptionHook`.
            let hook: ExceptionHook = unsafe { core::mem::transmute::<usize, ExceptionHook>(f) };
            if hook(frame) {
                return;
            }
        }
        let cr2 = x86_64::registers::control::Cr2::read_raw();
        panic!(
            "CPU exception {} (vector {vector}) at rip={:#x}, error code={:#x}, cr2={cr2:#x}, rsp={:#x}",
            EXCEPTION_NAMES[vector], frame.rip, frame.error_code, frame.rsp
        );
    }
    match HANDLERS[vector].load(Ordering::Acquire) {
        0 => {
            // A stray IPI (the RTOS's CPU still gets Linux's broadcasts unless Linux
            // boots with no_ipi_broadcast=1): ignored, but acknowledged, or its
            // in-service bit would block every vector of its priority and below.
            crate::println!("interrupts: unexpected vector {vector} ignored");
            if vector != crate::apic::SPURIOUS_VECTOR as usize {
                crate::apic::end_of_interrupt();
            }
        }
        f => {
            // SAFETY: only `register` stores here, always a `Handler`.
            let handler: Handler = unsafe { core::mem::transmute::<usize, Handler>(f) };
            handler(frame)
        }
    }
}

// 256 stubs, 16 bytes apart. Vectors where the CPU pushes an error code (8, 10-14, 17,
// 21, 29, 30) skip the dummy push so every frame has the same layout.
global_asm!(
    r#"
    .section .text
    .balign 16
    .global baremetal_isr_stubs
baremetal_isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi             # &mut TrapFrame (176 bytes: RSP stays 16-byte aligned)
    subq $512, %rsp
    fxsave64 (%rsp)
    cld
    call interrupt_dispatch
    fxrstor64 (%rsp)
    addq $512, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp              # vector and error code
    iretq
"#,
    options(att_syntax)
);

extern "C" {
    static baremetal_isr_stubs: u8;
}

/// IST slot for every ordinary gate, and a separate one for the double fault, NMI
/// and machine check, which can arrive while the first is in use.
const IST_NORMAL: u16 = 0;
const IST_CRITICAL: u16 = 1;
const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStack([u8; IST_STACK_SIZE]);
static mut IST_STACKS: [[IstStack; 2]; MAX_CPUS] =
    [const { [const { IstStack([0; IST_STACK_SIZE]) }; 2] }; MAX_CPUS];

static TSS: [Once<TaskStateSegment>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];
/// Each CPU's GDT and its selectors: kernel code, kernel data, TSS, user data, user
/// code. The user pair follows the order SYSRET needs (SDM Vol. 2B, SYSRET: SS =
/// STAR[63:48] + 8, CS = STAR[63:48] + 16), for the kernels that run user tasks.
static GDT: [Once<(GlobalDescriptorTable, [SegmentSelector; 5])>; MAX_CPUS] =
    [const { Once::new() }; MAX_CPUS];

/// A 64-bit interrupt gate in the IDT (SDM Vol. 3A §6.14.1, Figure 6-8).
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct IdtEntry(u128);

impl IdtEntry {
    fn interrupt_gate(handler: u64, selector: u16, ist: u16) -> Self {
        let low = (handler & 0xFFFF)
            | (selector as u64) << 16
            | ((ist as u64 + 1) & 7) << 32 // IST field: 1-based
            | 0x8E << 40                    // present, DPL 0, 64-bit interrupt gate
            | ((handler >> 16) & 0xFFFF) << 48;
        IdtEntry(low as u128 | ((handler >> 32) as u128) << 64)
    }
}

static IDT: Once<[IdtEntry; 256]> = Once::new();

/// Loads this CPU's GDT and TSS (with its IST stacks) and the shared IDT.
/// Each CPU calls it once, with its own index, before it enables interrupts.
pub fn init_cpu(cpu: usize) {
    let tss = TSS[cpu].call_once(|| {
        let mut tss = TaskStateSegment::new();
        for slot in [IST_NORMAL, IST_CRITICAL] {
            // SAFETY: each CPU takes only its own two stacks, once.
            let stack = unsafe { &raw mut IST_STACKS[cpu][slot as usize] };
            tss.interrupt_stack_table[slot as usize] =
                VirtAddr::from_ptr(stack) + IST_STACK_SIZE as u64;
        }
        tss
    });
    let (gdt, [code, data, tss_sel, ..]) = GDT[cpu].call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let tss_sel = gdt.append(Descriptor::tss_segment(tss));
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        (gdt, [code, data, tss_sel, user_data, user_code])
    });
    let idt = IDT.call_once(|| {
        let stubs = &raw const baremetal_isr_stubs as u64; // defined in the global_asm! above
        core::array::from_fn(|v| {
            let ist = if matches!(v, 2 | 8 | 18) {
                IST_CRITICAL
            } else {
                IST_NORMAL
            };
            IdtEntry::interrupt_gate(stubs + 16 * v as u64, code.0, ist)
        })
    });
    // Loading a TSS marks its descriptor busy, and `ltr` of a busy descriptor faults:
    // when this CPU's tables are loaded already (a hypervisor entered from this very
    // kernel, in the bare-metal self-test), keep them.
    let gdt_base = gdt as *const GlobalDescriptorTable as u64;
    if x86_64::instructions::tables::sgdt().base.as_u64() == gdt_base {
        return;
    }
    gdt.load();
    // A CPU that loads its tables a second time (one that comes back to the hypervisor
    // from the RTOS, lab 2) finds its TSS descriptor busy from the first `ltr`: mark it
    // available again, as the CPU itself marked it busy (SDM Vol. 3A §8.2.2).
    let tss_type = x86_64::instructions::tables::sgdt().base.as_mut_ptr::<u8>();
    // SAFETY: the type byte (byte 5) of this CPU's TSS descriptor in its own GDT, which
    // only this CPU uses; the CPU writes that byte itself on `ltr`.
    unsafe {
        let tss_type = tss_type.add(tss_sel.index() as usize * 8 + 5);
        tss_type.write_volatile(tss_type.read_volatile() & !0x2);
    }
    // SAFETY: the selectors come from the GDT just loaded; the IDT is 'static.
    unsafe {
        CS::set_reg(*code);
        SS::set_reg(*data);
        DS::set_reg(*data);
        ES::set_reg(*data);
        load_tss(*tss_sel);
        lidt(&DescriptorTablePointer {
            limit: (core::mem::size_of_val(idt) - 1) as u16,
            base: VirtAddr::from_ptr(idt.as_ptr()),
        });
    }
}

/// The index this CPU passed to [`init_cpu`], found by its GDT (each CPU has its own);
/// `None` on a CPU whose tables are not ours.
pub fn current_cpu() -> Option<usize> {
    let base = x86_64::instructions::tables::sgdt().base.as_u64();
    GDT.iter().position(|g| {
        g.get()
            .is_some_and(|(gdt, _)| gdt as *const GlobalDescriptorTable as u64 == base)
    })
}

/// This CPU's kernel code, data and TSS selectors (after [`init_cpu`]).
pub fn selectors(cpu: usize) -> (u16, u16, u16) {
    let (_, [code, data, tss, ..]) = GDT[cpu].get().expect("init_cpu not called");
    (code.0, data.0, tss.0)
}

/// This CPU's user code and user data selectors, RPL 3 (after [`init_cpu`]).
pub fn user_selectors(cpu: usize) -> (u16, u16) {
    let (_, [.., data, code]) = GDT[cpu].get().expect("init_cpu not called");
    (code.0, data.0)
}

/// The address of this CPU's TSS (after [`init_cpu`]).
pub fn tss_base(cpu: usize) -> u64 {
    TSS[cpu].get().expect("init_cpu not called") as *const TaskStateSegment as u64
}
