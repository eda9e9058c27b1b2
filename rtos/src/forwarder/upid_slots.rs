//! The RTOS's UPID slots in the shared region (lab 4): the driver gives slots
//! `UPID_LINUX_SLOTS..UPID_SLOTS` of the UPID area (crtos-abi `uintr`) to the RTOS, so
//! that a Linux sender can later name an RTOS task's UPID by its slot. A task that
//! registers a user-interrupt handler takes one; its end gives it back.

use core::sync::atomic::Ordering;

use crtos_abi::forwarding::UPID_OFFSET;
use crtos_abi::uintr::{Upid, UPID_LINUX_SLOTS, UPID_SLOTS, UPID_SLOT_SIZE};
use spin::Mutex;
use x86_64::PhysAddr;

use crate::mm::phys_to_virt;

const RTOS_SLOTS: usize = (UPID_SLOTS - UPID_LINUX_SLOTS) as usize;

/// Which of the RTOS's slots are taken.
static TAKEN: Mutex<[bool; RTOS_SLOTS]> = Mutex::new([false; RTOS_SLOTS]);

/// A free RTOS slot of the shared region (`None` when the RTOS does not forward or
/// every slot is taken): its number and its UPID, cleared.
pub fn take() -> Option<(u64, &'static Upid)> {
    let shared_base = super::shared_base()?;
    let mut taken = TAKEN.lock();
    let index = taken.iter().position(|t| !t)?;
    taken[index] = true;
    let slot = UPID_LINUX_SLOTS + index as u64;
    let addr = address_in(shared_base, slot);
    // SAFETY: the UPID area is mapped in the kernel's high map for good, each slot is
    // 64-byte aligned and this one is the RTOS's alone until `give_back`; a `Upid` is
    // two atomics, valid for any bytes.
    let upid = unsafe { &*(addr as *const Upid) };
    upid.pir.store(0, Ordering::SeqCst);
    upid.control.store(0, Ordering::SeqCst);
    Some((slot, upid))
}

/// The RTOS's (kernel) linear address of the UPID in shared slot `slot`, Linux's or
/// the RTOS's (`None` when the RTOS does not forward or the slot is outside the area):
/// what a UITT entry naming it holds.
pub fn address_of(slot: u64) -> Option<u64> {
    address_of_in(super::shared_base()?, slot)
}

/// [`address_of`] for the forwarder itself, which holds its lock and knows the base.
pub fn address_of_in(shared_base: u64, slot: u64) -> Option<u64> {
    (slot < UPID_SLOTS).then(|| address_in(shared_base, slot))
}

fn address_in(shared_base: u64, slot: u64) -> u64 {
    phys_to_virt(PhysAddr::new(
        shared_base + UPID_OFFSET + slot * UPID_SLOT_SIZE,
    )) as u64
}

/// Slot `slot` is free again (its UPID cleared: no stale PIR for the next owner).
pub fn give_back(slot: u64, upid: &Upid) {
    upid.control.store(0, Ordering::SeqCst);
    upid.pir.store(0, Ordering::SeqCst);
    TAKEN.lock()[(slot - UPID_LINUX_SLOTS) as usize] = false;
}
