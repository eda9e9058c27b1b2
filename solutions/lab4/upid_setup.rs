//! LAB 4: pointing a receiver's UPID at the CPU that runs it.
//!
//! A UPID (user posted-interrupt descriptor; SDM Vol. 3A, chapter "User Interrupts")
//! is 16 bytes in memory that senders write: `control` holds ON (bit 0,
//! a notification is outstanding), SN (bit 1, suppress notifications), NV (bits
//! 23:16, the vector of the notification IPI) and NDST (bits 63:32, the APIC ID it
//! goes to; an xAPIC ID sits in bits 47:40); `pir` holds one bit per user vector.
//! SENDUIPI sets the PIR bit, and if SN and ON are clear, sets ON and sends NV to NDST.
//! `crtos_abi::uintr::upid_control(nv, ndst)` composes NV and NDST with ON and SN clear.
//!
//! NDST's format is the one of the *sender's* local APIC mode: every sender here (RTOS
//! tasks, the RTOS kernel, Linux threads under the hypervisor) runs in xAPIC mode,
//! so `this_cpu()` names this CPU as an xAPIC ID.

use core::sync::atomic::Ordering;

use crtos_abi::uintr::{upid_control, Upid, UPID_ON};

use super::this_cpu;

// ANCHOR: point_upid
/// Points `upid` at this CPU with notification vector `nv`, SN clear (ON kept: a
/// notification already outstanding stays so).
pub fn point_upid(upid: &Upid, nv: u8) {
    let control = upid_control(nv, this_cpu());
    // One atomic update: a sender on another CPU may set ON between a load and a store.
    let _ = upid
        .control
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
            Some(control | (old & UPID_ON))
        });
}
// ANCHOR_END: point_upid
