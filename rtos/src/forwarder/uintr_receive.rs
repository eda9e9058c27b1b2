//! The forwarder's own UPID (lab 4, `uintr` notify mode): how a daemon's SENDUIPI
//! reaches the RTOS *kernel*. It is a kernel UPID in one of the RTOS's shared slots,
//! whose NV is the ordinary notification vector (`FORWARD_NOTIFY_VECTOR`, the one
//! `CRTOS_NOTIFY_RTOS` sends) and whose NDST is this CPU: SENDUIPI posts the bit and
//! sends that vector, and the RTOS takes it as it takes the driver's IPI.
//!
//! That vector is no UINV, so no notification processing clears UPID.ON for it: the
//! handler must ([`take_notification`]), or every later SENDUIPI would find ON set and
//! post without sending anything.

use core::sync::atomic::Ordering;

use crtos_abi::forwarding::ControlPage;
use crtos_abi::uintr::{upid_control, Ndst, Upid, UPID_ON};
use spin::Once;

use super::upid_slots;
use crate::arch::uintr;
use crate::config::{FORWARD_NOTIFY_VECTOR, FORWARD_UINTR_USER_VECTOR};

/// The forwarder's UPID, once taken (for good: the RTOS never gives it back).
static UPID: Once<&'static Upid> = Once::new();

// ANCHOR: publish
/// Takes a shared slot for the forwarder's UPID, points it at this CPU with the
/// notification vector, SN clear, and publishes it (`rtos_uintr_ready` last, with
/// release). Without UINTR, `rtos_uintr_ready` stays 0: the daemon keeps to its IPIs.
pub fn publish(control: &ControlPage, apic_id: u32, nonce: &str) {
    // An earlier run of the RTOS may have published a slot: not this run's yet.
    control.rtos_uintr_ready.store(0, Ordering::Release);
    if !uintr::available() {
        kprintln!("rtos: forward: no UINTR, modes poll and ipi only nonce={nonce}");
        return;
    }
    // An xAPIC ID (8 bits), and a free slot.
    let taken = u8::try_from(apic_id)
        .ok()
        .and_then(|id| upid_slots::take().map(|(slot, upid)| (id, slot, upid)));
    let Some((apic_id, slot, upid)) = taken else {
        kprintln!(
            "rtos: forward: no UPID slot for the forwarder, modes poll and ipi only nonce={nonce}"
        );
        return;
    };
    // The sender is Linux's CPU: NDST in xAPIC format, as for the tasks' UPIDs.
    let vector = FORWARD_NOTIFY_VECTOR;
    upid.control
        .store(upid_control(vector, Ndst::XApic(apic_id)), Ordering::SeqCst);
    UPID.call_once(|| upid);
    control.rtos_upid_slot.store(slot as u32, Ordering::Relaxed);
    control
        .rtos_user_vector
        .store(FORWARD_UINTR_USER_VECTOR.into(), Ordering::Relaxed);
    control.rtos_uintr_ready.store(1, Ordering::Release);
    kprintln!(
        "rtos: forward: uintr notifications: UPID in shared slot {slot}, vector {vector:#x} nonce={nonce}"
    );
}
// ANCHOR_END: publish

/// Whether a daemon can wake the RTOS with SENDUIPI (the UPID is published).
pub fn ready() -> bool {
    UPID.get().is_some()
}

// ANCHOR: take_notification
/// The notification handler's first step, before it looks at the queues: clear ON,
/// so that the next SENDUIPI sends the vector again, and PIR. A SENDUIPI between the
/// two finds ON clear and sends once more: one look too many, never one too few.
pub fn take_notification() {
    if let Some(upid) = UPID.get() {
        upid.control.fetch_and(!UPID_ON, Ordering::SeqCst);
        upid.pir.swap(0, Ordering::SeqCst);
    }
}
// ANCHOR_END: take_notification
