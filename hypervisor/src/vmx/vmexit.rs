//! One entry for every VM exit: [`vmexit_handler`] reads the exit reason and calls one
//! small function per reason (`crtos_abi::ExitReason`: SDM Vol. 3D, Appendix C).

use crtos_abi::exit_reason::EXIT_REASON_ENTRY_FAILURE;
use crtos_abi::ExitReason;
use x86::msr;
use x86::vmx::vmcs::{control, guest, ro};

use super::exit_handlers::{handle_cpuid, handle_vmcall};
use super::vcpu::GeneralRegisters;
use super::{leave, nmi, vmcs};
use crate::hypercall::Outcome;
use crate::layout::closed_to_linux;
use crate::percpu::{PerCpu, LENT_PAGES};

// ANCHOR: dispatch
#[no_mangle]
extern "C" fn vmexit_handler(regs: &mut GeneralRegisters, cpu: &mut PerCpu) {
    let field = vmcs::read(ro::EXIT_REASON);
    if field & EXIT_REASON_ENTRY_FAILURE != 0 {
        panic!("VM entry failed (exit reason {field:#x}): invalid guest state");
    }
    let reason = ExitReason::from_field(field);
    if let Some(count) = cpu.exits.get_mut(field as u16 as usize) {
        *count += 1;
    }
    match reason {
        Ok(ExitReason::Cpuid) => {
            handle_cpuid(regs);
            advance_rip();
        }
        Ok(ExitReason::Vmcall) => {
            let outcome = handle_vmcall(regs, cpu);
            advance_rip();
            if outcome == Outcome::Disable {
                leave::leave_vmx(regs, cpu, 0);
            }
        }
        Ok(ExitReason::CrAccess) => handle_cr_access(regs),
        Ok(ExitReason::Rdmsr) => handle_msr(regs, false),
        Ok(ExitReason::Wrmsr) => handle_msr(regs, true),
        Ok(ExitReason::Xsetbv) => handle_xsetbv(regs),
        Ok(ExitReason::EptViolation) => handle_ept_violation(cpu),
        Ok(ExitReason::MonitorTrapFlag) => end_lent_pages(cpu),
        // Lab 2: START_RTOS parks this CPU (it never comes back here if it parks).
        Ok(ExitReason::InitSignal) => crate::rtos::park::on_init_signal(cpu),
        Ok(ExitReason::TripleFault) => {
            baremetal::println!(
                "[hv] cpu {}: the guest triple-faulted at rip {:#x}; stopping the machine",
                cpu.cpu,
                vmcs::read(guest::RIP)
            );
            baremetal::exit(3);
        }
        other => panic!(
            "unhandled VM exit {other:?} (exit reason field {field:#x}) on cpu {} at guest rip {:#x}, qualification {:#x}",
            cpu.cpu,
            vmcs::read(guest::RIP),
            vmcs::read(ro::EXIT_QUALIFICATION)
        ),
    }
    // An NMI that hit the hypervisor during this exit is Linux's: give it back.
    if nmi::deliver_pending(cpu.cpu as usize) {
        vmcs::set_monitor_trap(true).expect("monitor trap flag");
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

/// The register a qualification names (0 = RAX ... 15 = R15); RSP lives in the VMCS.
fn gpr(regs: &mut GeneralRegisters, index: u64) -> &mut u64 {
    regs.by_index(index)
        .expect("RSP is handled before (it is in the VMCS)")
}

/// MOV to or from a control register that we intercept: CR4 writes that touch VMXE
/// (the hypervisor owns that bit; the guest sees the shadow), and CR0/CR3 where the
/// CPU forces those exits.
fn handle_cr_access(regs: &mut GeneralRegisters) {
    let q = vmcs::read(ro::EXIT_QUALIFICATION);
    let (cr, access, reg) = (q & 0xF, (q >> 4) & 3, (q >> 8) & 0xF);
    let vmxe = 1u64 << 13;
    const RSP: u64 = 4;
    let value = if reg == RSP {
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
/// Deny it without stopping Linux: log it, lend this CPU's all-ones scratch frame for
/// this one instruction (the monitor trap flag brings us back right after it) and go
/// on. The frame is lent in this CPU's own EPT (see ept.rs), so no other CPU sees it.
fn handle_ept_violation(cpu: &mut PerCpu) {
    let gpa = vmcs::read(ro::GUEST_PHYSICAL_ADDR_FULL);
    cpu.denied_accesses += 1;
    log_denied_access(cpu, gpa);
    // One instruction can touch several closed pages (an access that crosses a page,
    // MOVS between two closed addresses): each faults in turn and is lent too.
    let Some(slot) = cpu.lent_pages.iter_mut().find(|p| p.is_none()) else {
        panic!(
            "cpu {}: one instruction touched more than {LENT_PAGES} closed pages",
            cpu.cpu
        );
    };
    *slot = Some(gpa);
    let scratch = cpu.phys(cpu.scratch.as_ptr());
    cpu.ept
        .set_4k(gpa, Some(scratch))
        .expect("lending the scratch frame");
    vmcs::set_monitor_trap(true).expect("monitor trap flag");
    // The monitor trap must come after *this* instruction, not at the first one of an
    // interrupt handler (a timer tick is usually pending by now): block interrupts for
    // one instruction, as a MOV to SS does (SDM Vol. 3C §25.4.2, interruptibility).
    let blocking = vmcs::read(guest::INTERRUPTIBILITY_STATE) | 0b10;
    vmcs::write(guest::INTERRUPTIBILITY_STATE, blocking).expect("interruptibility state");
}

/// Logged, but not every one: a loop over closed memory would flood the console.
fn log_denied_access(cpu: &PerCpu, gpa: u64) {
    if cpu.denied_accesses > 4 && !cpu.denied_accesses.is_power_of_two() {
        return;
    }
    let q = vmcs::read(ro::EXIT_QUALIFICATION);
    let kind = if q & 2 != 0 {
        "write"
    } else if q & 4 != 0 {
        "instruction fetch"
    } else {
        "read"
    };
    let what = if closed_to_linux(&cpu.region).contains(&gpa) {
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

/// The instruction that used the scratch frame is done: take the frame back, and
/// refill it so the next denied read sees all-ones again.
fn end_lent_pages(cpu: &mut PerCpu) {
    vmcs::set_monitor_trap(false).expect("monitor trap flag");
    for slot in cpu.lent_pages.iter_mut() {
        if let Some(gpa) = slot.take() {
            cpu.ept
                .set_4k(gpa, None)
                .expect("taking the scratch frame back");
        }
    }
    cpu.scratch.fill(0xFF);
}
