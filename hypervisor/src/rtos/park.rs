//! Getting the RTOS's CPU out of VMX. Linux has taken it offline, but it is still the
//! hypervisor's guest, idling in Linux's offline loop in VMX non-root operation. A
//! SIPI acts only on a CPU in wait-for-SIPI, and an INIT sent to a CPU in VMX *root*
//! operation is dropped (VMXON and every VM exit mask it; Bochs's `deliver_INIT`
//! does not hold it pending). In non-root operation an INIT is a VM exit (reason 3,
//! SDM Vol. 3C §26.2). So:
//!
//! 1. the starter marks the CPU `ParkRequested` and sends it an INIT;
//! 2. the CPU takes the INIT exit, sees the request, restores nothing of Linux,
//!    executes VMXOFF (which unmasks INIT again) and halts with interrupts off;
//! 3. the starter's next INIT resets it for real: wait-for-SIPI, ready for the SIPIs.
//!
//! Jailhouse never sends a physical INIT to a CPU in VMX: it parks and resets its
//! vCPUs itself (`x86_send_init_sipi`, `vcpu_park`). RVM1.5 takes the CPU offline
//! before VMXON. Ours keeps lab 1's promise (every online CPU enters) and parks.

use baremetal::apic::{send_ipi, Ipi};
use baremetal::println;
use x86::vmx::vmcs::guest;

use super::cpus::{self, CpuState};
use super::tsc::Tsc;
use crate::percpu::PerCpu;
use crate::vmx::{self, vmcs};

/// How long the starter waits for the CPU's INIT exit, and in how many tries: an INIT
/// that reaches the CPU while it is in root operation (handling some other exit) is
/// dropped, so it is sent again.
const PARK_TIMEOUT_US: u64 = 100_000;
const PARK_TRIES: u64 = 10;
/// RFLAGS.IF.
const RFLAGS_IF: u64 = 1 << 9;

/// Asks `cpu` (APIC ID `apic_id`) to leave VMX and waits until it has: `Ok` when it is
/// parked, `Err(state)` when it refused (Linux still ran there) or did not answer.
pub fn park(cpu: u64, apic_id: u32, tsc: &Tsc) -> Result<(), CpuState> {
    if !cpus::transition(cpu, CpuState::Guest, CpuState::ParkRequested) {
        return Err(cpus::state(cpu));
    }
    let answered = (0..PARK_TRIES).any(|_| {
        send_ipi(apic_id as u8, Ipi::Init);
        tsc.wait_us(PARK_TIMEOUT_US / PARK_TRIES, || {
            cpus::state(cpu) != CpuState::ParkRequested
        })
    });
    match cpus::state(cpu) {
        CpuState::Parked => Ok(()),
        CpuState::ParkRequested if !answered => {
            // No INIT exit: take the request back (the CPU stays Linux's guest).
            cpus::transition(cpu, CpuState::ParkRequested, CpuState::Guest);
            Err(CpuState::ParkRequested)
        }
        other => {
            cpus::transition(cpu, CpuState::Refused, CpuState::Guest);
            Err(other)
        }
    }
}

// ANCHOR: init_exit
/// VM exit "INIT signal" on this CPU. Parks it if START_RTOS asked for it and Linux
/// had really given the CPU up: Linux's offline loop halts with interrupts off, while
/// a CPU Linux still uses runs with them on (almost always: the check is a guard
/// against a driver bug, not a proof). Any other INIT is ignored: Linux resumes.
pub fn on_init_signal(cpu: &mut PerCpu) {
    if cpus::state(cpu.cpu) != CpuState::ParkRequested {
        println!(
            "[hv] cpu {}: ignored an INIT (nobody asked this CPU to park)",
            cpu.cpu
        );
        return;
    }
    if vmcs::read(guest::RFLAGS) & RFLAGS_IF != 0 {
        println!(
            "[hv] cpu {}: refused to park: Linux still runs here (interrupts on)",
            cpu.cpu
        );
        cpus::set(cpu.cpu, CpuState::Refused);
        return;
    }
    println!(
        "[hv] cpu {}: Linux gave this CPU up: leaving VMX for the RTOS",
        cpu.cpu
    );
    let dropped = vmx::nmi::drop_pending(cpu.cpu as usize);
    if dropped != 0 {
        println!("[hv] cpu {}: {dropped} NMI(s) for Linux dropped", cpu.cpu);
    }
    crate::depart();
    vmx::vmx_off(); // unmasks INIT (SDM Vol. 3C §24.8): the next INIT resets this CPU
    cpus::set(cpu.cpu, CpuState::Parked);
    loop {
        // SAFETY: nothing runs here any more; only INIT (or an NMI, which returns
        // here) wakes this CPU.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
// ANCHOR_END: init_exit

#[cfg(test)]
mod tests {
    use super::*;

    /// A CPU's record, as `enter` leaves it.
    fn cpu(n: u64) -> Box<PerCpu> {
        // SAFETY: PerCpu is plain data, all-zero is a valid (fresh) state.
        let mut cpu: Box<PerCpu> = unsafe { Box::new_zeroed().assume_init() };
        cpu.cpu = n;
        cpu
    }

    #[test]
    fn a_cpu_linux_still_runs_refuses_to_park() {
        let mut c = cpu(3);
        cpus::entered(3, 3);
        assert!(cpus::transition(
            3,
            CpuState::Guest,
            CpuState::ParkRequested
        ));
        vmcs::fake::set(guest::RFLAGS, 0x202); // interrupts on: Linux's, not offline
        on_init_signal(&mut c); // returns: Linux resumes there
        assert_eq!(cpus::state(3), CpuState::Refused);
    }

    #[test]
    fn an_init_nobody_asked_for_is_ignored() {
        let mut c = cpu(4);
        cpus::entered(4, 4);
        vmcs::fake::set(guest::RFLAGS, 0x2);
        on_init_signal(&mut c);
        assert_eq!(cpus::state(4), CpuState::Guest);
    }
}
