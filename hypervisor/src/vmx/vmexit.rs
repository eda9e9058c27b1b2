//! One entry for every VM exit: [`vmexit_handler`] reads the exit reason and calls one
//! small function per reason (SDM Vol. 3C, Appendix C lists the reasons).

use x86::msr;
use x86::vmx::vmcs::{control, guest, ro};

use super::exit_handlers::{handle_cpuid, handle_vmcall};
use super::vcpu::GeneralRegisters;
use super::{ept, leave, vmcs};
use crate::hypercall::Outcome;
use crate::layout::closed_to_linux;
use crate::percpu::PerCpu;

/// The exit reasons this hypervisor expects, by their numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    TripleFault = 2,
    InitSignal = 3,
    Cpuid = 10,
    Vmcall = 18,
    CrAccess = 28,
    Rdmsr = 31,
    Wrmsr = 32,
    MonitorTrapFlag = 37,
    EptViolation = 48,
    EptMisconfiguration = 49,
    Xsetbv = 55,
}

impl ExitReason {
    fn from_basic(n: u64) -> Option<Self> {
        use ExitReason::*;
        Some(match n {
            2 => TripleFault,
            3 => InitSignal,
            10 => Cpuid,
            18 => Vmcall,
            28 => CrAccess,
            31 => Rdmsr,
            32 => Wrmsr,
            37 => MonitorTrapFlag,
            48 => EptViolation,
            49 => EptMisconfiguration,
            55 => Xsetbv,
            _ => return None,
        })
    }
}

// ANCHOR: dispatch
#[no_mangle]
extern "C" fn vmexit_handler(regs: &mut GeneralRegisters, cpu: &mut PerCpu) {
    let reason = vmcs::read(ro::EXIT_REASON);
    if reason & (1 << 31) != 0 {
        panic!(
            "VM entry failed (exit reason {:#x}): invalid guest state",
            reason
        );
    }
    let basic = reason & 0xFFFF;
    if let Some(count) = cpu.exits.get_mut(basic as usize) {
        *count += 1;
    }
    match ExitReason::from_basic(basic) {
        Some(ExitReason::Cpuid) => {
            handle_cpuid(regs);
            advance_rip();
        }
        Some(ExitReason::Vmcall) => {
            let outcome = handle_vmcall(regs, cpu);
            advance_rip();
            if outcome == Outcome::Disable {
                leave::leave_vmx(regs, cpu, 0);
            }
        }
        Some(ExitReason::CrAccess) => handle_cr_access(regs),
        Some(ExitReason::Rdmsr) => handle_msr(regs, false),
        Some(ExitReason::Wrmsr) => handle_msr(regs, true),
        Some(ExitReason::Xsetbv) => handle_xsetbv(regs),
        Some(ExitReason::EptViolation) => handle_ept_violation(cpu),
        Some(ExitReason::MonitorTrapFlag) => end_lent_page(cpu),
        Some(ExitReason::TripleFault) => {
            baremetal::println!(
                "[hv] cpu {}: the guest triple-faulted at rip {:#x}; stopping the machine",
                cpu.cpu,
                vmcs::read(guest::RIP)
            );
            baremetal::exit(3);
        }
        other => panic!(
            "unhandled VM exit {other:?} (basic reason {basic}) on cpu {} at guest rip {:#x}, qualification {:#x}",
            cpu.cpu,
            vmcs::read(guest::RIP),
            vmcs::read(ro::EXIT_QUALIFICATION)
        ),
    }
}

// ANCHOR_END: dispatch

/// Moves the guest past the instruction that exited.
pub fn advance_rip() {
    let rip = vmcs::read(guest::RIP) + vmcs::read(ro::VMEXIT_INSTRUCTION_LEN);
    vmcs::write(guest::RIP, rip).expect("guest RIP");
}

/// Injects #GP(0) into the guest at its current instruction.
fn inject_general_protection() {
    // Valid (31), deliver error code (11), type 3 = hardware exception, vector 13.
    vmcs::write(
        control::VMENTRY_INTERRUPTION_INFO_FIELD,
        (1 << 31) | (1 << 11) | (3 << 8) | 13,
    )
    .and_then(|()| vmcs::write(control::VMENTRY_EXCEPTION_ERR_CODE, 0))
    .expect("event injection");
}

fn gpr(regs: &mut GeneralRegisters, index: u64) -> &mut u64 {
    match index {
        0 => &mut regs.rax,
        1 => &mut regs.rcx,
        2 => &mut regs.rdx,
        3 => &mut regs.rbx,
        5 => &mut regs.rbp,
        6 => &mut regs.rsi,
        7 => &mut regs.rdi,
        8 => &mut regs.r8,
        9 => &mut regs.r9,
        10 => &mut regs.r10,
        11 => &mut regs.r11,
        12 => &mut regs.r12,
        13 => &mut regs.r13,
        14 => &mut regs.r14,
        _ => &mut regs.r15,
    }
}

/// MOV to or from a control register that we intercept: CR4 writes that touch VMXE
/// (the hypervisor owns that bit; the guest sees the shadow), and CR0/CR3 where the
/// CPU forces those exits.
fn handle_cr_access(regs: &mut GeneralRegisters) {
    let q = vmcs::read(ro::EXIT_QUALIFICATION);
    let (cr, access, reg) = (q & 0xF, (q >> 4) & 3, (q >> 8) & 0xF);
    let vmxe = 1u64 << 13;
    let value = if reg == 4 {
        vmcs::read(guest::RSP)
    } else {
        *gpr(regs, reg)
    };
    match (cr, access) {
        (0, 0) => vmcs::write(guest::CR0, value).expect("guest CR0"),
        (3, 0) => vmcs::write(guest::CR3, value).expect("guest CR3"),
        (3, 1) => *gpr(regs, reg) = vmcs::read(guest::CR3),
        (4, 0) if value & vmxe != 0 => {
            // VMX is hidden from the guest: setting CR4.VMXE faults, as without VMX.
            inject_general_protection();
            return;
        }
        (4, 0) => {
            vmcs::write(guest::CR4, value | vmxe).expect("guest CR4");
            vmcs::write(control::CR4_READ_SHADOW, value).expect("CR4 shadow");
        }
        _ => panic!("unexpected control-register access, qualification {q:#x}"),
    }
    advance_rip();
}

/// The MSRs the bitmap intercepts: VMX is hidden, so its MSRs fault like on a CPU
/// without VMX, and IA32_FEATURE_CONTROL reads without its VMX-enable bits.
fn handle_msr(regs: &mut GeneralRegisters, write: bool) {
    let index = regs.rcx as u32;
    let is_vmx_msr = (msr::IA32_VMX_BASIC..=msr::IA32_VMX_VMFUNC).contains(&index);
    if write || is_vmx_msr || index != msr::IA32_FEATURE_CONTROL {
        inject_general_protection();
        return;
    }
    // SAFETY: IA32_FEATURE_CONTROL exists (we checked VMX support with it).
    let value = unsafe { msr::rdmsr(index) } & !0b110; // VMX inside and outside SMX
    regs.rax = value & 0xFFFF_FFFF;
    regs.rdx = value >> 32;
    advance_rip();
}

/// Which MSRs exit: IA32_FEATURE_CONTROL and the VMX capability MSRs, read or written.
pub fn fill_msr_bitmap(bitmap: &mut [u8; 4096]) {
    bitmap.fill(0);
    let msrs = core::iter::once(msr::IA32_FEATURE_CONTROL)
        .chain(msr::IA32_VMX_BASIC..=msr::IA32_VMX_VMFUNC);
    for m in msrs {
        let (byte, bit) = ((m / 8) as usize, m % 8);
        bitmap[byte] |= 1 << bit; // read bitmap for low MSRs: bytes 0..1024
        bitmap[2048 + byte] |= 1 << bit; // write bitmap for low MSRs: bytes 2048..3072
    }
}

/// XSETBV exits unconditionally. Check the value against what CPUID says XCR0 may hold
/// (an invalid one would fault in the host), then execute it for the guest.
fn handle_xsetbv(regs: &mut GeneralRegisters) {
    let value = (regs.rdx << 32) | (regs.rax & 0xFFFF_FFFF);
    let leaf = core::arch::x86_64::__cpuid_count(0xD, 0);
    let supported = ((leaf.edx as u64) << 32) | leaf.eax as u64;
    let x87 = 1;
    let (sse, avx) = (1 << 1, 1 << 2);
    let valid = regs.rcx == 0
        && value & !supported == 0
        && value & x87 != 0
        && (value & avx == 0 || value & sse != 0);
    if !valid {
        inject_general_protection();
        return;
    }
    // SAFETY: a value the CPU supports, checked above.
    unsafe { x86::controlregs::xcr0_write(x86::controlregs::Xcr0::from_bits_truncate(value)) };
    advance_rip();
}

/// Linux touched memory its EPT does not map: the hypervisor's or the RTOS's range.
/// Deny it without stopping Linux: log it, lend the scratch frame for this one
/// instruction (the monitor trap flag brings us back right after it) and go on.
fn handle_ept_violation(cpu: &mut PerCpu) {
    let gpa = vmcs::read(ro::GUEST_PHYSICAL_ADDR_FULL);
    let q = vmcs::read(ro::EXIT_QUALIFICATION);
    let kind = if q & 2 != 0 {
        "write"
    } else if q & 4 != 0 {
        "instruction fetch"
    } else {
        "read"
    };
    cpu.denied_accesses += 1;
    // Logged, but not every one: a loop over closed memory would flood the console.
    if cpu.denied_accesses <= 4 || cpu.denied_accesses.is_power_of_two() {
        let closed = closed_to_linux(&cpu.region);
        let what = if closed.contains(&gpa) {
            "memory closed to Linux"
        } else {
            "memory outside the EPT"
        };
        baremetal::println!(
            "[hv] cpu {}: denied a Linux {kind} of {gpa:#x} ({what}) at rip {:#x} ({} denied so far)",
            cpu.cpu,
            vmcs::read(guest::RIP),
            cpu.denied_accesses
        );
    }
    ept::set_4k(gpa, Some(crate::globals().scratch_phys)).expect("lending the scratch frame");
    cpu.lent_page = Some(gpa);
    vmcs::set_monitor_trap(true).expect("monitor trap flag");
    // The monitor trap must come after *this* instruction, not at the first one of an
    // interrupt handler (a timer tick is usually pending by now): block interrupts for
    // one instruction, as a MOV to SS does (SDM Vol. 3C §25.4.2, interruptibility).
    let blocking = vmcs::read(guest::INTERRUPTIBILITY_STATE) | 0b10;
    vmcs::write(guest::INTERRUPTIBILITY_STATE, blocking).expect("interruptibility state");
}

/// The instruction that used the scratch frame is done: take the frame back.
fn end_lent_page(cpu: &mut PerCpu) {
    vmcs::set_monitor_trap(false).expect("monitor trap flag");
    if let Some(gpa) = cpu.lent_page.take() {
        ept::set_4k(gpa, None).expect("taking the scratch frame back");
        // SAFETY: our own frame; refilled so the next denied read sees all-ones again.
        unsafe { core::ptr::write_bytes(crate::globals().scratch_virt as *mut u8, 0xFF, 4096) };
    }
}
