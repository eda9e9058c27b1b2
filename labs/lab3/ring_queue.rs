//! LAB 3: push and pop on one SPSC queue of descriptors, with their memory ordering.
//!
//! The state is in `crates/ring/src/queue.rs`: a producer owns `tail` (private copy)
//! and caches the consumer's `head` in `head_cache`; a consumer owns `head` and caches
//! the producer's `tail` in `tail_cache`. The shared indices are `self.indices.head.0`
//! and `self.indices.tail.0` (`AtomicU32`, free-running, slot = index & mask).
//!
//! Two rules make it correct:
//! - a slot's contents must be visible to the consumer before the tail that covers it;
//! - the consumer must be done reading a slot before the head that frees it is seen.
//!
//! And one makes it safe against a broken peer: every index loaded from the peer goes
//! through `validate::occupancy` before it is used.

// LAB 3: these imports are what the solution uses; the allow goes once they are.
#![allow(unused_imports)]

use crate::sync::Ordering;
use crate::{validate, Consumer, Descriptor, Producer, RingError};

// ANCHOR: push
impl Producer<'_> {
    /// Appends `descriptor` to the queue, or returns `Full` and changes nothing.
    /// Returns `IndexOutOfRange` if the consumer published an impossible head.
    // `#[inline]` on all four: non-generic functions are not inlined across crates
    // without it, and a call costs more than these bodies.
    #[inline]
    pub fn push(&mut self, descriptor: &Descriptor) -> Result<(), RingError> {
        // LAB 3: write this.
        let _ = descriptor;
        todo!("LAB 3: ring_queue.rs: Producer::push (refresh head_cache (Acquire) only when the ring looks full, validate it with validate::occupancy, write the slot, then publish tail (Release))")
    }

    /// Appends as many of `descriptors` as fit, publishing them with a single tail
    /// store; returns how many were pushed (0 means `Full` when `descriptors` is not
    /// empty).
    #[inline]
    pub fn push_batch(&mut self, descriptors: &[Descriptor]) -> Result<usize, RingError> {
        // LAB 3: write this.
        let _ = descriptors;
        todo!("LAB 3: ring_queue.rs: Producer::push_batch (like push, but write every descriptor that fits and publish tail once)")
    }
}
// ANCHOR_END: push

// ANCHOR: pop
impl Consumer<'_> {
    /// Takes the oldest descriptor out of the queue, or returns `Empty`.
    /// Returns `IndexOutOfRange` if the producer published an impossible tail.
    #[inline]
    pub fn pop(&mut self) -> Result<Descriptor, RingError> {
        // LAB 3: write this.
        todo!("LAB 3: ring_queue.rs: Consumer::pop (refresh tail_cache (Acquire) only when the ring looks empty, validate it with validate::occupancy, copy the slot out, then publish head (Release))")
    }

    /// Takes up to `out.len()` descriptors, freeing them with a single head store;
    /// returns how many were taken (0 means `Empty` when `out` is not empty).
    #[inline]
    pub fn pop_batch(&mut self, out: &mut [Descriptor]) -> Result<usize, RingError> {
        // LAB 3: write this.
        let _ = out;
        todo!("LAB 3: ring_queue.rs: Consumer::pop_batch (like pop, but copy out every descriptor available (up to out.len()) and publish head once)")
    }
}
// ANCHOR_END: pop
