//! Two threads of this process, A on CPU 0 and B on CPU 1, each a receiver of user
//! interrupts and a sender to the other: A takes vector A_VECTOR, B takes B_VECTOR.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Barrier;

use uintr_user::{self as uintr, Device};

use crate::cpu;

pub const A_VECTOR: u8 = 1;
pub const B_VECTOR: u8 = 2;
/// How long a thread waits for an interrupt before it calls it lost: 20 emulated
/// seconds at Bochs's 200 MHz TSC.
pub const LOST_AFTER_TICKS: u64 = 4_000_000_000;

/// One side, registered: its own vector and the UITT index that reaches the other.
pub struct Side<'a> {
    pub dev: &'a Device,
    pub vector: u8,
    pub to_peer: u64,
    pub barrier: &'a Barrier,
    /// Set by A when it is done; B's loops end on it.
    pub stop: &'a AtomicBool,
}

impl Side<'_> {
    /// Spins at CPL 3 until this side's handler has run more than `seen` times, or
    /// `stop`; false if nothing came within LOST_AFTER_TICKS.
    pub fn spin_for_hit(&self, seen: u64) -> bool {
        let start = cpu::rdtsc();
        while uintr::hits(self.vector) <= seen {
            if self.stop.load(Ordering::Relaxed) {
                return true;
            }
            if cpu::rdtsc() - start > LOST_AFTER_TICKS {
                return false;
            }
            std::hint::spin_loop();
        }
        true
    }
}

/// Registers `cpu`'s thread as a receiver of `vector`, publishes its UPID slot in
/// `mine`, waits for the peer's in `theirs` and registers a sender entry to it. Both
/// threads pass both barriers whatever fails, so a failure cannot hang the other.
#[allow(clippy::too_many_arguments)]
fn register<'a>(
    dev: &'a Device,
    cpu: usize,
    vector: u8,
    peer_vector: u8,
    mine: &AtomicU32,
    theirs: &AtomicU32,
    barrier: &'a Barrier,
    stop: &'a AtomicBool,
) -> io::Result<Side<'a>> {
    let slot = cpu::pin_to(cpu).and_then(|()| dev.register_receiver(uintr::handler()));
    mine.store(*slot.as_ref().unwrap_or(&u32::MAX), Ordering::SeqCst);
    barrier.wait();
    let peer_slot = theirs.load(Ordering::SeqCst);
    let to_peer = slot.and_then(|_| match peer_slot {
        u32::MAX => Err(io::Error::other("the other thread could not register")),
        _ => dev.register_sender(peer_slot, peer_vector.into()),
    });
    if to_peer.is_err() {
        stop.store(true, Ordering::SeqCst);
    }
    barrier.wait();
    if stop.load(Ordering::SeqCst) {
        return Err(to_peer
            .err()
            .unwrap_or_else(|| io::Error::other("the other thread failed")));
    }
    uintr::enable();
    Ok(Side {
        dev,
        vector,
        to_peer: to_peer?,
        barrier,
        stop,
    })
}

/// Runs `a` on CPU 0 and `b` on CPU 1 (both registered), then unregisters both.
pub fn run<R>(a: impl FnOnce(&Side) -> R, b: impl FnOnce(&Side) + Send) -> io::Result<R> {
    let dev = Device::open()?;
    let (slot_a, slot_b) = (AtomicU32::new(u32::MAX), AtomicU32::new(u32::MAX));
    let barrier = Barrier::new(2);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let peer = s.spawn(|| -> io::Result<()> {
            let side = register(
                &dev, 1, B_VECTOR, A_VECTOR, &slot_b, &slot_a, &barrier, &stop,
            )?;
            b(&side);
            dev.unregister()
        });
        let result = register(
            &dev, 0, A_VECTOR, B_VECTOR, &slot_a, &slot_b, &barrier, &stop,
        )
        .map(|side| {
            let r = a(&side);
            stop.store(true, Ordering::SeqCst);
            r
        });
        let peer_result = peer.join().expect("thread B panicked");
        dev.unregister()?;
        peer_result?;
        result
    })
}
