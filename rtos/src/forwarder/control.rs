//! The control page (crates/crtos-abi/src/forwarding.rs), as the RTOS sees it: found
//! at the start of the shared region, trusted only once the driver's magic is there,
//! and written only in the RTOS's own fields; and how the RTOS wakes the daemon.

use core::sync::atomic::{fence, Ordering};

use baremetal::apic::{self, Ipi};
use crtos_abi::forwarding::{ControlPage, NotifyMode, CONTROL_OFFSET};
use crtos_abi::rtos::BootBlock;
use rtos::forward::notify::{wake, DaemonUpid, Wake};
use x86_64::PhysAddr;

use super::Forwarder;
use crate::arch::uintr;
use crate::mm::phys_to_virt;

/// The control page of the shared region the boot block names, if the driver has
/// initialised it.
pub fn find(boot: &BootBlock) -> Result<&'static ControlPage, [u8; 8]> {
    let addr = phys_to_virt(PhysAddr::new(boot.shared_base + CONTROL_OFFSET));
    // SAFETY: the shared region is mapped in the kernel's high map for good
    // (mm/kernel_space.rs), page-aligned; `ControlPage` is plain integers and atomics,
    // valid for any bytes the other side leaves.
    let page = unsafe { &*(addr as *const ControlPage) };
    if page.is_valid() {
        Ok(page)
    } else {
        Err(page.magic)
    }
}

/// The daemon's choice of notification, as last published.
pub fn notify_mode(page: &ControlPage) -> Option<NotifyMode> {
    NotifyMode::try_from(page.notify_mode.load(Ordering::Relaxed)).ok()
}

// ANCHOR: notify_linux
impl Forwarder {
    /// After pushing on the request queue (or answering a launch): tell the daemon, if
    /// it said it is about to sleep. The fence orders our push before the look at
    /// `daemon_waiting`, as the daemon orders its `daemon_waiting = 1` before its last
    /// look at the queue: one of the two sides always sees the other (check-after-arm).
    /// How depends on its notify mode: an IPI (`ipi`), SENDUIPI (`uintr`), nothing
    /// (`poll`).
    pub fn notify_linux(&mut self) {
        fence(Ordering::SeqCst);
        let page = self.control;
        let mode = notify_mode(page);
        let alive = page.daemon_alive.load(Ordering::Acquire) == 1;
        let waiting = page.daemon_waiting.load(Ordering::Acquire) == 1;
        let cpu_has_uintr = uintr::available();
        let daemon = if mode == Some(NotifyMode::Uintr) && alive && waiting && cpu_has_uintr {
            let generation = page.daemon_generation.load(Ordering::Acquire);
            self.to_daemon
                .daemon_upid(page, self.shared_base, generation)
        } else {
            DaemonUpid::NotReady
        };
        match wake(mode, alive, waiting, daemon, cpu_has_uintr) {
            Wake::Nothing => {}
            Wake::Ipi => send_ipi(page),
            Wake::Senduipi { .. } => self.to_daemon.send(),
        }
    }
}

/// The `ipi` mode's notification: a fixed IPI with `linux_vector` to `linux_apic_id`.
fn send_ipi(page: &ControlPage) {
    let vector = page.linux_vector.load(Ordering::Relaxed);
    let apic_id = page.linux_apic_id.load(Ordering::Relaxed);
    // A fixed IPI needs an external vector (32..=255) and an xAPIC ID (8 bits).
    if let (Ok(vector @ 32..), Ok(apic_id)) = (u8::try_from(vector), u8::try_from(apic_id)) {
        // SDM Vol. 3A §11.6.1: ICR high = destination, then ICR low sends.
        apic::send_ipi(apic_id, Ipi::Fixed(vector));
    }
}
// ANCHOR_END: notify_linux
