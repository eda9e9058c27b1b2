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
        if self.tail.wrapping_sub(self.head_cache) == self.capacity() {
            // Looks full with the shadow head: look at the real one. Acquire pairs with
            // the consumer's Release store in `pop`: its copy out of the slot happened
            // before, so overwriting the slot now cannot tear what it read.
            let head = self.indices.head.0.load(Ordering::Acquire);
            validate::occupancy(head, self.tail, self.capacity())?;
            self.head_cache = head;
            if self.tail.wrapping_sub(head) == self.capacity() {
                return Err(RingError::Full);
            }
        }
        // SAFETY: tail - head_cache < capacity, so the slot at tail is free.
        unsafe { self.write_slot(self.tail, *descriptor) };
        self.tail = self.tail.wrapping_add(1);
        // Release pairs with the consumer's Acquire load of tail: the slot write above
        // happens-before any read of the slot by a consumer that sees this tail.
        self.indices.tail.0.store(self.tail, Ordering::Release);
        Ok(())
    }

    /// Appends as many of `descriptors` as fit, publishing them with a single tail
    /// store; returns how many were pushed (0 means `Full` when `descriptors` is not
    /// empty).
    #[inline]
    pub fn push_batch(&mut self, descriptors: &[Descriptor]) -> Result<usize, RingError> {
        let mut free = self.capacity() - self.tail.wrapping_sub(self.head_cache);
        if (free as usize) < descriptors.len() {
            // Same pairing as in `push`.
            let head = self.indices.head.0.load(Ordering::Acquire);
            validate::occupancy(head, self.tail, self.capacity())?;
            self.head_cache = head;
            free = self.capacity() - self.tail.wrapping_sub(head);
        }
        let count = descriptors.len().min(free as usize);
        for (i, descriptor) in descriptors[..count].iter().enumerate() {
            // SAFETY: the `count` slots from tail on are free.
            unsafe { self.write_slot(self.tail.wrapping_add(i as u32), *descriptor) };
        }
        if count > 0 {
            self.tail = self.tail.wrapping_add(count as u32);
            // One Release store publishes every slot written above.
            self.indices.tail.0.store(self.tail, Ordering::Release);
        }
        Ok(count)
    }
}
// ANCHOR_END: push

// ANCHOR: pop
impl Consumer<'_> {
    /// Takes the oldest descriptor out of the queue, or returns `Empty`.
    /// Returns `IndexOutOfRange` if the producer published an impossible tail.
    #[inline]
    pub fn pop(&mut self) -> Result<Descriptor, RingError> {
        if self.head == self.tail_cache {
            // Looks empty with the shadow tail: look at the real one. Acquire pairs with
            // the producer's Release store in `push`, so the slot contents are visible.
            let tail = self.indices.tail.0.load(Ordering::Acquire);
            validate::occupancy(self.head, tail, self.capacity())?;
            self.tail_cache = tail;
            if tail == self.head {
                return Err(RingError::Empty);
            }
        }
        // SAFETY: head < tail_cache, a tail loaded with Acquire: the slot is published.
        let descriptor = unsafe { self.read_slot(self.head) };
        self.head = self.head.wrapping_add(1);
        // Release pairs with the producer's Acquire load of head: our copy out of the
        // slot happens-before the producer reuses it.
        self.indices.head.0.store(self.head, Ordering::Release);
        Ok(descriptor)
    }

    /// Takes up to `out.len()` descriptors, freeing them with a single head store;
    /// returns how many were taken (0 means `Empty` when `out` is not empty).
    #[inline]
    pub fn pop_batch(&mut self, out: &mut [Descriptor]) -> Result<usize, RingError> {
        let mut ready = self.tail_cache.wrapping_sub(self.head);
        if (ready as usize) < out.len() {
            // Same pairing as in `pop`.
            let tail = self.indices.tail.0.load(Ordering::Acquire);
            validate::occupancy(self.head, tail, self.capacity())?;
            self.tail_cache = tail;
            ready = tail.wrapping_sub(self.head);
        }
        let count = out.len().min(ready as usize);
        for (i, slot) in out[..count].iter_mut().enumerate() {
            // SAFETY: the `count` slots from head on are published.
            *slot = unsafe { self.read_slot(self.head.wrapping_add(i as u32)) };
        }
        if count > 0 {
            self.head = self.head.wrapping_add(count as u32);
            // One Release store frees every slot read above.
            self.indices.head.0.store(self.head, Ordering::Release);
        }
        Ok(count)
    }
}
// ANCHOR_END: pop
