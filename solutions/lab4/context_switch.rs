//! LAB 4: a task's user-interrupt state, switched with the task (the sequence of
//! Intel's UINTR RFC for Linux, arch/x86/kernel/uintr_core.c: switch_uintr_prepare
//! and switch_uintr_return; SDM Vol. 3A, chapter "User Interrupts").
//!
//! The CPU holds the running task's receiver and sender state in six MSRs and UIF.
//! Out: the receiver's UPID must stop attracting notifications to this CPU (SN), and
//! nothing may be delivered while its state is being saved (CLUI). In: the MSRs come
//! back, the UPID points at this CPU again, and what senders posted while the task was
//! away (PIR bits with SN set: no notification was sent) must still be delivered.
//! Only tasks that registered as receiver or sender come here (arch/uintr.rs,
//! `leave_cpu`/`enter_cpu`); the others have all-zero state.

use core::arch::asm;
use core::sync::atomic::Ordering;

use crtos_abi::uintr::{
    MSR_UINTR_HANDLER, MSR_UINTR_MISC, MSR_UINTR_PD, MSR_UINTR_RR, MSR_UINTR_STACKADJUST,
    MSR_UINTR_TT, UPID_SN,
};

use super::{notify_if_posted, point_upid, read_msr, testui, write_msr, UintrState};
use crate::config::UINTR_NOTIFY_VECTOR;

// ANCHOR: switch
impl UintrState {
    /// The task stops running: keep the CPU's UINTR state in the task.
    pub fn switch_out(&mut self) {
        // SN first: a sender that looks after this posts into PIR without sending a
        // notification that would land on the next task. A task blocked in uintr_wait
        // keeps SN clear: its UPID names the wake vector, an ordinary interrupt.
        if let Some(upid) = &self.upid {
            if !self.waiting {
                upid.control.fetch_or(UPID_SN, Ordering::SeqCst);
            }
        }
        // Then UIF (TESTUI) and CLUI: nothing is delivered to the task from here on.
        self.uif = testui();
        // SAFETY: CLUI only clears UIF.
        unsafe { asm!("clui", options(nomem, nostack)) };
        self.handler = read_msr(MSR_UINTR_HANDLER);
        self.stack_adjust = read_msr(MSR_UINTR_STACKADJUST);
        self.misc = read_msr(MSR_UINTR_MISC);
        self.pd = read_msr(MSR_UINTR_PD);
        self.tt = read_msr(MSR_UINTR_TT);
        self.rr = read_msr(MSR_UINTR_RR);
        // Until the next switch in, this CPU recognises no UINV: a late notification
        // (a sender on another CPU that saw SN clear) then leaves its bit in the
        // task's PIR, which the switch in looks at, instead of moving it into a UIRR
        // already saved.
        write_msr(MSR_UINTR_MISC, 0);
    }

    /// The task runs next: load its UINTR state into the CPU.
    pub fn switch_in(&self) {
        self.load_msrs();
        write_msr(MSR_UINTR_RR, self.rr);
        if let Some(upid) = &self.upid {
            // NDST = this CPU, NV = UINV, SN clear; then what was posted while the task
            // was away is delivered by a self-IPI of UINV, taken on the way to ring 3.
            point_upid(upid, UINTR_NOTIFY_VECTOR);
            notify_if_posted(upid);
        }
        if self.uif {
            // SAFETY: STUI only sets UIF; delivery needs ring 3, so it waits for the
            // return to the task.
            unsafe { asm!("stui", options(nomem, nostack)) };
        }
    }
}
// ANCHOR_END: switch
