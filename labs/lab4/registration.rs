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

// LAB 4: these imports are what the solution uses; the allow goes once they are.
#![allow(unused_imports)]

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
        // LAB 4: write this. Keep `handler` and `stack_adjust`; PD is the UPID's
        // address (`self.upid_address()`, 0 without one). MISC serves a receiver and a
        // sender both: UINV = UINTR_NOTIFY_VECTOR whenever the task is either (its
        // UPID may be notified), UITTSZ = UITT_ENTRIES - 1 when it has a UITT, else 0;
        // MISC = 0 for a task that is neither (`crtos_abi::uintr::misc` composes it).
        let _ = (handler, stack_adjust);
        todo!("LAB 4: registration.rs: UintrState::set_receiver (HANDLER, STACKADJUST, PD, MISC)")
    }

    /// The MSR value of a registered sender: its UITT (`self.uitt`), marked valid.
    pub fn set_sender(&mut self) {
        // LAB 4: write this. TT is the UITT's address with bit 0 (valid) set
        // (`crtos_abi::uintr::tt`), 0 without a UITT; then MISC as in set_receiver
        // (one helper for both).
        todo!("LAB 4: registration.rs: UintrState::set_sender (TT, MISC)")
    }

    /// Loads the MSRs a system call may change (the running task's registration).
    pub fn load_msrs(&self) {
        // LAB 4: write this. Nothing when `available()` is false (without UINTR the
        // MSRs do not exist: WRMSR would fault); else write HANDLER, STACKADJUST,
        // MISC, PD and TT from `self` (`write_msr`). RR is the switch's business.
        todo!("LAB 4: registration.rs: UintrState::load_msrs (HANDLER, STACKADJUST, MISC, PD, TT)")
    }
}

impl Uitt {
    /// Writes a valid entry posting user vector `vector` into the UPID at `upid` (an
    /// address SENDUIPI reads with the sender's page tables) in the first free slot;
    /// returns its index, the operand SENDUIPI takes. None: the table is full.
    pub fn insert(&mut self, vector: u8, upid: u64) -> Option<usize> {
        // LAB 4: write this. A UITT entry is 16 bytes: bit 0 V (valid), bits 15:8 UV
        // (the user vector SENDUIPI sets in the UPID's PIR), bits 127:64 the UPID's
        // address (`UittEntry::new(uv, upid)`). A free slot is an all-zero entry
        // (`UittEntry::default()`: V clear, so SENDUIPI through it faults).
        let _ = (vector, upid);
        todo!("LAB 4: registration.rs: Uitt::insert (first free entry: V, UV, the UPID's address)")
    }
}
// ANCHOR_END: registration
