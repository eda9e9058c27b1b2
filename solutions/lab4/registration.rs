//! LAB 4: registering a receiver (its handler) and a sender (its UITT): the values of
//! the MSRs the CPU reads (SDM Vol. 3A, chapter "User Interrupts"; the MSR numbers
//! and field helpers are in crates/crtos-abi/src/uintr.rs):
//! - IA32_UINTR_HANDLER (0x986): the user handler's address, where delivery jumps;
//! - IA32_UINTR_STACKADJUST (0x987): how far delivery moves RSP down before it pushes
//!   (the red zone of the interrupted code stays intact);
//! - IA32_UINTR_MISC (0x988): UITTSZ (bits 31:0, the highest valid UITT index) and
//!   UINV (bits 39:32, the vector that means "a user interrupt for the running task");
//! - IA32_UINTR_PD (0x989): the receiver's UPID address;
//! - IA32_UINTR_TT (0x98A): the sender's UITT address, bit 0 = valid;
//! - IA32_UINTR_RR (0x985): the requests waiting for delivery (the switch saves it).
//!
//! The task's `UintrState` holds the values; `load_msrs` puts them in the CPU while
//! the task runs (a system call changed them), the context switch does so otherwise.

use crtos_abi::uintr::{
    misc, tt, UittEntry, MSR_UINTR_HANDLER, MSR_UINTR_MISC, MSR_UINTR_PD, MSR_UINTR_STACKADJUST,
    MSR_UINTR_TT, UITT_ENTRIES,
};

use super::{available, write_msr, UintrState, Uitt};
use crate::config::UINTR_NOTIFY_VECTOR;

// ANCHOR: registration
impl UintrState {
    /// The MSR values of a registered receiver: its handler, the stack adjustment
    /// and its UPID (`self.upid`, set by the caller; none: unregistered, all 0).
    pub fn set_receiver(&mut self, handler: u64, stack_adjust: u64) {
        self.handler = handler;
        self.stack_adjust = stack_adjust;
        self.pd = self.upid_address().unwrap_or(0);
        self.set_misc();
    }

    /// The MSR value of a registered sender: its UITT (`self.uitt`), marked valid.
    pub fn set_sender(&mut self) {
        self.tt = self
            .uitt
            .as_deref()
            .map_or(0, |t| tt(t as *const Uitt as u64));
        self.set_misc();
    }

    /// MISC serves both: UITTSZ for a sender, UINV for a receiver (and a sender, whose
    /// own UPID may get notifications too); 0 for a task that is neither.
    fn set_misc(&mut self) {
        let size = if self.uitt.is_some() {
            UITT_ENTRIES as u32 - 1
        } else {
            0
        };
        self.misc = if self.upid.is_some() || self.uitt.is_some() {
            misc(size, UINTR_NOTIFY_VECTOR)
        } else {
            0
        };
    }

    /// Loads the MSRs a system call may change (the running task's registration).
    pub fn load_msrs(&self) {
        if !available() {
            return;
        }
        write_msr(MSR_UINTR_HANDLER, self.handler);
        write_msr(MSR_UINTR_STACKADJUST, self.stack_adjust);
        write_msr(MSR_UINTR_MISC, self.misc);
        write_msr(MSR_UINTR_PD, self.pd);
        write_msr(MSR_UINTR_TT, self.tt);
    }
}

impl Uitt {
    /// Writes a valid entry posting user vector `vector` into the UPID at `upid` (an
    /// address SENDUIPI reads with the sender's page tables) in the first free slot;
    /// returns its index, the operand SENDUIPI takes. None: the table is full.
    pub fn insert(&mut self, vector: u8, upid: u64) -> Option<usize> {
        let index = self.0.iter().position(|e| *e == UittEntry::default())?;
        self.0[index] = UittEntry::new(vector, upid);
        Some(index)
    }
}
// ANCHOR_END: registration
