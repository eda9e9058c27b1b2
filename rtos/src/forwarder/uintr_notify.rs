//! The kernel's SENDUIPI to the daemon (lab 4, `uintr` notify mode): after posting
//! requests to a daemon asleep in CRTOS_UINTR_WAIT, the RTOS kernel posts the user
//! vector the daemon published into the daemon's UPID, which names the Linux driver's
//! wake vector while the daemon sleeps. SENDUIPI has no CPL check (it reads the UITT
//! and the UPID with supervisor rights), so ring 0 may execute it, through a one-entry
//! kernel UITT of its own, borrowed for the one instruction.

use core::arch::asm;
use core::sync::atomic::Ordering;

use crtos_abi::forwarding::ControlPage;
use crtos_abi::uintr::{tt, UittEntry, MSR_UINTR_MISC, MSR_UINTR_TT};
use rtos::forward::notify::{daemon_upid, DaemonUpid, KnownUpid};
use x86_64::instructions::interrupts;
use x86_64::registers::model_specific::Msr;

use super::upid_slots;
use crate::task;

/// The kernel's UITT: one entry, 16-byte aligned as IA32_UINTR_TT requires.
#[repr(C, align(16))]
#[derive(Default)]
struct KernelUitt([UittEntry; 1]);

/// The daemon's UPID as last read, and the table naming it.
#[derive(Default)]
pub struct DaemonUintr {
    known: KnownUpid,
    uitt: KernelUitt,
}

impl DaemonUintr {
    /// Where daemon `generation` takes its user interrupts: read from the control page
    /// once per generation, as soon as it is published (a new daemon has a new UPID),
    /// and entered in the kernel UITT. Logs once what it found.
    pub fn daemon_upid(
        &mut self,
        control: &ControlPage,
        shared_base: u64,
        generation: u32,
    ) -> DaemonUpid {
        if let Some(upid) = self.known.get(generation) {
            return upid;
        }
        // Acquire: the slot and the vector were stored before `ready`.
        let ready = control.daemon_uintr_ready.load(Ordering::Acquire);
        let slot = control.daemon_upid_slot.load(Ordering::Relaxed);
        let vector = control.daemon_user_vector.load(Ordering::Relaxed);
        let mut upid = daemon_upid(ready, slot, vector);
        if let DaemonUpid::At { slot, vector } = upid {
            match upid_slots::address_of_in(shared_base, slot) {
                Some(address) => self.uitt.0[0] = UittEntry::new(vector, address),
                None => upid = DaemonUpid::Refused,
            }
        }
        match upid {
            DaemonUpid::At { .. } => kprintln!(
                "rtos: forward: daemon generation {generation}: SENDUIPI to shared slot {slot}, user vector {vector} nonce={}",
                task::nonce()
            ),
            DaemonUpid::Refused => kprintln!(
                "rtos: forward: daemon generation {generation}: UPID slot {slot} vector {vector} is no Linux slot and user vector, no SENDUIPI (IPIs instead) nonce={}",
                task::nonce()
            ),
            DaemonUpid::NotReady => {}
        }
        self.known.set(generation, upid);
        upid
    }

    /// Sends the user interrupt the last [`Self::daemon_upid`] found (`At`).
    pub fn send(&self) {
        senduipi(&self.uitt);
    }
}

// ANCHOR: senduipi
// LAB 4: the kernel's SENDUIPI. The running task's sender state (TT, MISC) is in the
// MSRs: save it, point TT at the kernel UITT and MISC's UITT size at its one entry
// (keeping UINV, the running receiver's), send through index 0, restore. Interrupts
// stay off throughout, so no task switch saves the borrowed values as the task's.
/// Posts entry 0 of `uitt` (SDM Vol. 3A, "SENDUIPI": the PIR bit, then the
/// notification IPI unless ON or SN is set).
fn senduipi(uitt: &KernelUitt) {
    let mut tt_msr = Msr::new(MSR_UINTR_TT);
    let mut misc_msr = Msr::new(MSR_UINTR_MISC);
    interrupts::without_interrupts(|| {
        // SAFETY: the caller checked CR4.UINTR (the MSRs and SENDUIPI exist); the UITT
        // is in the kernel's static memory, mapped in every address space; its entry
        // names a UPID in the shared region, mapped for good; and the MSRs get their
        // values back before interrupts are on again.
        unsafe {
            let (saved_tt, saved_misc) = (tt_msr.read(), misc_msr.read());
            tt_msr.write(tt(uitt as *const KernelUitt as u64));
            // UITT size (bits 31:0) = 0, the highest valid index; UINV kept.
            misc_msr.write(saved_misc & !u64::from(u32::MAX));
            asm!("senduipi rax", in("rax") 0u64, options(nostack));
            tt_msr.write(saved_tt);
            misc_msr.write(saved_misc);
        }
    });
}
// ANCHOR_END: senduipi
