//! How the idle loop waits for the daemon (contract step 4), and the two ways into
//! the kernel that serve the ring: Linux's notification (`FORWARD_NOTIFY_VECTOR`,
//! the driver's IPI or, in `uintr` mode, the daemon's SENDUIPI) and the idle loop's
//! own `int FORWARD_SERVICE_VECTOR` when it found work.

use core::arch::asm;
use core::sync::atomic::{fence, Ordering};

use baremetal::interrupts::{self, TrapFrame};
use crtos_abi::forwarding::NotifyMode;
use x86_64::instructions::interrupts as cpu;

use super::{control, uintr_receive, FORWARDER};
use crate::config::{FORWARD_NOTIFY_VECTOR, FORWARD_SERVICE_VECTOR};
use crate::task;

/// What the idle loop does next.
enum Idle {
    /// Enter the kernel and serve (answers, a launch, the daemon came or went).
    Serve,
    /// Halt until an interrupt: an IPI from Linux, the timer, the forwarder's watch.
    Halt,
    /// Look again at once (poll mode).
    Spin,
}

// ANCHOR: idle_wait
/// One round of the idle loop (entered with interrupts on). In `ipi` and `uintr` modes
/// the RTOS says it is about to sleep (`rtos_waiting = 1`), fences, looks once more,
/// and only then halts with `sti; hlt`: interrupts stay off from the last look to the
/// `hlt`, and `sti` takes effect only after the next instruction, so an IPI (or a
/// SENDUIPI's notification) sent after the last look wakes the `hlt` instead of
/// slipping in before it.
pub fn wait_for_work() {
    cpu::disable();
    let next = match FORWARDER.lock().as_ref() {
        None => Idle::Halt,
        Some(fw) if fw.has_work() => Idle::Serve,
        Some(fw) if fw.ring.is_none() => Idle::Halt, // no daemon: the watch looks
        Some(fw) => match control::notify_mode(fw.control) {
            Some(mode) if daemon_can_wake_us(mode) => {
                fw.control.rtos_waiting.store(1, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                if fw.has_work() {
                    fw.control.rtos_waiting.store(0, Ordering::Relaxed);
                    Idle::Serve
                } else {
                    Idle::Halt
                }
            }
            _ => Idle::Spin,
        },
    };
    match next {
        Idle::Halt => cpu::enable_and_hlt(),
        Idle::Spin => {
            cpu::enable();
            core::hint::spin_loop();
        }
        Idle::Serve => {
            cpu::enable();
            // SAFETY: a software interrupt to our own handler, from ring 0 (the idle
            // loop keeps no state: the handler may resume a task instead).
            unsafe { asm!("int {vector}", vector = const FORWARD_SERVICE_VECTOR) };
        }
    }
}
// ANCHOR_END: idle_wait

/// Whether the daemon, in notify mode `mode`, wakes the RTOS when it says it sleeps:
/// `ipi`, and `uintr` once the forwarder's UPID is published (else the daemon has
/// nothing to SENDUIPI to, and the RTOS polls).
fn daemon_can_wake_us(mode: NotifyMode) -> bool {
    match mode {
        NotifyMode::Ipi => true,
        NotifyMode::Uintr => uintr_receive::ready(),
        NotifyMode::Poll => false,
    }
}

/// Installs the handlers of the two vectors.
pub fn install() {
    interrupts::register(FORWARD_NOTIFY_VECTOR, on_notify);
    interrupts::register(FORWARD_SERVICE_VECTOR, task::on_forward_event);
}

/// Linux's notification: acknowledged, the forwarder's UPID re-armed (a SENDUIPI's),
/// then the same service as the idle loop's (answers are taken at once even if a
/// lower-priority task was running).
fn on_notify(frame: &mut TrapFrame) {
    baremetal::apic::end_of_interrupt();
    uintr_receive::take_notification();
    task::on_forward_event(frame);
}
