//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fuzz;

use syscall_ring::{Descriptor, RingError};

pub use syscall_ring::HeapQueue;

/// A descriptor whose every field is derived from `seq`, so a torn or misplaced copy
/// shows up as a checksum mismatch.
pub fn message(seq: u64) -> Descriptor {
    let mix = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Descriptor {
        id: seq,
        opcode: (seq as u32) ^ 0x5A5A,
        status: (mix >> 40) as u32,
        task: (mix >> 16) as u32,
        nr: (seq as u32).rotate_left(7),
        args: [mix, mix ^ 1, mix ^ 2, mix ^ 3, mix ^ 4, mix ^ 5],
        ret: mix as i64,
        payload_offset: (mix >> 8) as u32,
        payload_len: checksum_fields(seq, mix),
        reserved: mix.rotate_left(29),
    }
}

fn checksum_fields(seq: u64, mix: u64) -> u32 {
    (seq ^ mix.rotate_left(17)) as u32
}

/// Whether `d` is exactly `message(seq)`.
pub fn is_message(d: &Descriptor, seq: u64) -> bool {
    *d == message(seq)
}

/// Spins until `f` stops returning `Full`/`Empty` (yielding now and then: the test
/// machine may have fewer cores than busy threads).
pub fn retry<T>(mut f: impl FnMut() -> Result<T, RingError>) -> T {
    let mut spins = 0u32;
    loop {
        match f() {
            Ok(value) => return value,
            Err(RingError::Full | RingError::Empty) => {
                spins += 1;
                if spins.is_multiple_of(16) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            Err(error) => panic!("ring error: {error}"),
        }
    }
}

/// Both ends through a shared borrow, so a test can also poke the indices as a
/// misbehaving peer would. Each test calls this once per queue.
pub fn ends_shared(queue: &HeapQueue) -> (syscall_ring::Producer<'_>, syscall_ring::Consumer<'_>) {
    // SAFETY: the test makes one pair per queue.
    unsafe {
        (
            syscall_ring::Producer::new(&queue.indices, &queue.slots).unwrap(),
            syscall_ring::Consumer::new(&queue.indices, &queue.slots).unwrap(),
        )
    }
}
