//! NMIs that arrive while a CPU runs the hypervisor (VMX root operation). They are
//! Linux's (the watchdog, `sysrq` backtraces, perf), sent to a CPU that happened to be
//! handling a VM exit: the hypervisor records them and injects them into Linux before
//! the next VM entry, as soon as Linux can take one (SDM Vol. 3C §27.6, event
//! injection). NMIs that arrive while Linux runs go straight to Linux: "NMI exiting"
//! stays off.
//!
//! Injection must wait while the guest blocks NMIs: inside its own NMI handler (until
//! its IRET), or for one instruction after MOV SS or STI (the EPT-lending path sets the
//! MOV-SS kind).
//! Then the monitor trap flag brings the CPU back after one more guest instruction to
//! try again. ("NMI-window exiting" would do this in one exit, but it requires
//! "virtual NMIs" and "NMI exiting", which would send every guest NMI through the
//! hypervisor.) In the bare-metal self-test, host and guest share one IDT, so the guest
//! must not send itself NMIs: they would come back as injected ones, forever.

use core::sync::atomic::{AtomicU32, Ordering};

use x86::vmx::vmcs::{control, guest};

use super::vmcs;
use crate::config::MAX_CPUS;

/// NMIs received in VMX root operation and not yet injected, per CPU.
static PENDING: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// NMIs handed back to Linux, per CPU (for the statistics and the self-test).
static HANDED_BACK: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Interruptibility state (SDM Vol. 3C §25.4.2). Blocking by MOV SS (bit 1) forbids
/// injecting an NMI (§27.3.1.5); some processors forbid it under blocking by STI
/// (bit 0) too; blocking by NMI (bit 3) means Linux is still in its NMI handler.
const BLOCKING_BY_STI: u64 = 1 << 0;
const BLOCKING_BY_MOV_SS: u64 = 1 << 1;
const BLOCKING_BY_NMI: u64 = 1 << 3;
const NMI_BLOCKED: u64 = BLOCKING_BY_STI | BLOCKING_BY_MOV_SS | BLOCKING_BY_NMI;
/// VM-entry interruption information: valid (31), type NMI (2 << 8), vector 2.
const INJECT_NMI: u64 = (1 << 31) | (2 << 8) | 2;
const INJECTION_VALID: u64 = 1 << 31;

/// The host's NMI handler (installed with `baremetal::interrupts::set_nmi_handler`).
pub fn on_host_nmi(cpu: usize) {
    if let Some(pending) = PENDING.get(cpu) {
        pending.fetch_add(1, Ordering::AcqRel);
    }
}

/// Before a VM entry: injects one recorded NMI if Linux can take it now; otherwise
/// asks for an exit after the next guest instruction. Returns whether MTF is needed.
/// Runs on every VM exit, so the common case (nothing pending) is one load. Only this
/// CPU's own NMI handler changes its count, so program order is all the ordering
/// needed.
#[inline]
pub fn deliver_pending(cpu: usize) -> bool {
    match PENDING.get(cpu) {
        Some(pending) if pending.load(Ordering::Relaxed) != 0 => inject_one(cpu),
        _ => false,
    }
}

#[inline(never)]
fn inject_one(cpu: usize) -> bool {
    let pending = &PENDING[cpu];
    let blocked = vmcs::read(guest::INTERRUPTIBILITY_STATE) & NMI_BLOCKED != 0;
    let slot_taken = vmcs::read(control::VMENTRY_INTERRUPTION_INFO_FIELD) & INJECTION_VALID != 0;
    if blocked || slot_taken {
        return true;
    }
    vmcs::write(control::VMENTRY_INTERRUPTION_INFO_FIELD, INJECT_NMI).expect("NMI injection");
    pending.fetch_sub(1, Ordering::AcqRel);
    HANDED_BACK[cpu].fetch_add(1, Ordering::AcqRel);
    pending.load(Ordering::Acquire) != 0
}

/// NMIs this CPU handed back to Linux since the hypervisor was loaded.
pub fn handed_back(cpu: usize) -> u32 {
    HANDED_BACK
        .get(cpu)
        .map_or(0, |n| n.load(Ordering::Acquire))
}

/// At DISABLE: NMIs still recorded cannot be injected any more (VMX is going off).
pub fn drop_pending(cpu: usize) -> u32 {
    PENDING.get(cpu).map_or(0, |n| n.swap(0, Ordering::AcqRel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_nmi_is_injected_when_linux_can_take_it() {
        vmcs::fake::set(guest::INTERRUPTIBILITY_STATE, 0);
        vmcs::fake::set(control::VMENTRY_INTERRUPTION_INFO_FIELD, 0);
        let cpu = 3;
        assert!(!deliver_pending(cpu), "nothing pending");
        on_host_nmi(cpu);
        on_host_nmi(cpu);
        let before = handed_back(cpu);
        assert!(deliver_pending(cpu), "one more is left: come back");
        assert_eq!(
            vmcs::read(control::VMENTRY_INTERRUPTION_INFO_FIELD),
            INJECT_NMI
        );
        assert!(
            deliver_pending(cpu),
            "the injection slot is taken: come back"
        );
        vmcs::fake::set(control::VMENTRY_INTERRUPTION_INFO_FIELD, 0); // entry delivered it
        assert!(!deliver_pending(cpu));
        assert_eq!(handed_back(cpu) - before, 2);
    }

    #[test]
    fn blocked_nmis_wait_and_are_not_lost() {
        vmcs::fake::set(control::VMENTRY_INTERRUPTION_INFO_FIELD, 0);
        let cpu = 4;
        on_host_nmi(cpu);
        for blocking in [BLOCKING_BY_NMI, BLOCKING_BY_MOV_SS, BLOCKING_BY_STI] {
            vmcs::fake::set(guest::INTERRUPTIBILITY_STATE, blocking);
            assert!(deliver_pending(cpu));
            assert_eq!(vmcs::read(control::VMENTRY_INTERRUPTION_INFO_FIELD), 0);
        }
        vmcs::fake::set(guest::INTERRUPTIBILITY_STATE, 0);
        assert!(!deliver_pending(cpu));
        assert_eq!(
            vmcs::read(control::VMENTRY_INTERRUPTION_INFO_FIELD),
            INJECT_NMI
        );
        assert_eq!(drop_pending(cpu), 0);
    }
}
