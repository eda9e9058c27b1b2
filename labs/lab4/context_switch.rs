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

// LAB 4: these imports are what the solution uses; the allow goes once they are.
#![allow(unused_imports)]

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
        // LAB 4: write this, in the RFC's order:
        // 1. SN: set UPID_SN in the receiver's UPID (`self.upid`, atomically), so that
        //    a sender from now on posts into PIR without notifying this CPU, where the
        //    next task runs. Not while `self.waiting`: a task blocked in uintr_wait
        //    keeps SN clear, its UPID names the wake vector (an ordinary interrupt).
        // 2. UIF: remember it (`testui()`), then CLUI: nothing is delivered from here.
        // 3. Save the six MSRs (`read_msr`) into `self`: HANDLER, STACKADJUST, MISC,
        //    PD, TT and RR (UIRR: requests taken but not yet delivered).
        // 4. Write MISC = 0: until the next switch in, this CPU recognises no UINV, so
        //    a late notification leaves its bit in the task's PIR (which the switch in
        //    looks at) instead of moving it into a UIRR already saved.
        todo!("LAB 4: context_switch.rs: UintrState::switch_out (SN, UIF and CLUI, save the MSRs, MISC = 0)")
    }

    /// The task runs next: load its UINTR state into the CPU.
    pub fn switch_in(&self) {
        // LAB 4: write this:
        // 1. The MSRs: `self.load_msrs()`, and RR (`write_msr(MSR_UINTR_RR, ...)`).
        // 2. A receiver's UPID: `point_upid(upid, UINTR_NOTIFY_VECTOR)` (this CPU,
        //    SN clear), then `notify_if_posted(upid)`: what was posted while SN was set
        //    sent no notification; a self-IPI of UINV delivers it on the way to ring 3.
        // 3. UIF last: STUI if `self.uif` (delivery needs ring 3, so it waits for the
        //    return to the task).
        todo!("LAB 4: context_switch.rs: UintrState::switch_in (MSRs and RR, UPID to this CPU with SN clear, self-IPI if PIR, STUI)")
    }
}
// ANCHOR_END: switch
