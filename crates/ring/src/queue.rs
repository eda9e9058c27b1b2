//! One single-producer single-consumer queue of [`Descriptor`]s: the given half.
//!
//! The ring has two of these, requests (RTOS → Linux) and responses (Linux → RTOS).
//! This file holds the state and the slot access; `push`/`pop` and their batched forms,
//! where the memory ordering lives, are lab 3 (`solutions/lab3/ring_queue.rs`).

use crate::sync::{Ordering, SlotCell};
use crate::{validate, Descriptor, QueueIndices, RingError};

// ANCHOR: producer
/// The writing end of a queue. Exactly one exists per queue.
pub struct Producer<'a> {
    pub(crate) indices: &'a QueueIndices,
    pub(crate) slots: &'a [SlotCell<Descriptor>],
    /// `capacity - 1`; capacity is a power of two.
    pub(crate) mask: u32,
    /// Our tail. This private copy is the truth: the shared one is only published for
    /// the consumer, and never read back (the peer could have changed it).
    pub(crate) tail: u32,
    /// The consumer's head as last seen: a "shadow" index. While it shows free space
    /// the producer does not touch the consumer's cache line at all.
    pub(crate) head_cache: u32,
}

/// The reading end of a queue. Exactly one exists per queue.
pub struct Consumer<'a> {
    pub(crate) indices: &'a QueueIndices,
    pub(crate) slots: &'a [SlotCell<Descriptor>],
    pub(crate) mask: u32,
    /// Our head: private truth, published for the producer.
    pub(crate) head: u32,
    /// The producer's tail as last seen (shadow index).
    pub(crate) tail_cache: u32,
}
// ANCHOR_END: producer

fn capacity_mask(slots: usize) -> Result<u32, RingError> {
    if slots < 2 || !slots.is_power_of_two() || slots > 1 << 31 {
        return Err(RingError::BadHeader);
    }
    Ok(slots as u32 - 1)
}

impl<'a> Producer<'a> {
    /// Takes the producer end of the queue made of `indices` and `slots`
    /// (`slots.len()` a power of two ≥ 2). Picks up whatever state the indices hold, so a
    /// side that restarts resumes where it was, after checking the indices agree.
    ///
    /// # Safety
    /// No other `Producer` may exist for this queue, in this or any other address space.
    pub unsafe fn new(
        indices: &'a QueueIndices,
        slots: &'a [SlotCell<Descriptor>],
    ) -> Result<Self, RingError> {
        let mask = capacity_mask(slots.len())?;
        // Relaxed for our own index (no data depends on it), Acquire for the peer's:
        // the consumer's last reads must be done before we reuse their slots.
        let tail = indices.tail.0.load(Ordering::Relaxed);
        let head = indices.head.0.load(Ordering::Acquire);
        validate::occupancy(head, tail, mask + 1)?;
        Ok(Self {
            indices,
            slots,
            mask,
            tail,
            head_cache: head,
        })
    }

    /// Slots in the queue.
    pub fn capacity(&self) -> u32 {
        self.mask + 1
    }

    /// Copies `descriptor` into the slot for counter value `index`.
    ///
    /// # Safety
    /// The slot must be free: `index - head < capacity` for a head the consumer published.
    #[inline(always)]
    pub(crate) unsafe fn write_slot(&self, index: u32, descriptor: Descriptor) {
        // SAFETY: `mask + 1 == slots.len()` (checked in `new`), so the masked index is in
        // range whatever `index` is; the caller guarantees the consumer is done with it.
        unsafe {
            let slot = self.slots.get_unchecked((index & self.mask) as usize);
            slot.write(descriptor)
        }
    }
}

impl<'a> Consumer<'a> {
    /// Takes the consumer end of the queue, as [`Producer::new`].
    ///
    /// # Safety
    /// No other `Consumer` may exist for this queue, in this or any other address space.
    pub unsafe fn new(
        indices: &'a QueueIndices,
        slots: &'a [SlotCell<Descriptor>],
    ) -> Result<Self, RingError> {
        let mask = capacity_mask(slots.len())?;
        let head = indices.head.0.load(Ordering::Relaxed);
        let tail = indices.tail.0.load(Ordering::Acquire);
        validate::occupancy(head, tail, mask + 1)?;
        Ok(Self {
            indices,
            slots,
            mask,
            head,
            tail_cache: tail,
        })
    }

    /// Slots in the queue.
    pub fn capacity(&self) -> u32 {
        self.mask + 1
    }

    /// Whether the producer has published nothing we have not taken: a look at its
    /// tail without taking anything, for a consumer about to sleep (check-after-arm).
    /// An impossible tail counts as "not empty": the next `pop` reports it.
    pub fn is_empty(&self) -> bool {
        // Acquire, as in `pop`: what we see published here, `pop` will find.
        self.head == self.tail_cache && self.indices.tail.0.load(Ordering::Acquire) == self.head
    }

    /// Copies out the slot for counter value `index`.
    ///
    /// # Safety
    /// The slot must be published: `index - head < tail - head` for a tail the producer
    /// published with release ordering and we loaded with acquire ordering.
    #[inline(always)]
    pub(crate) unsafe fn read_slot(&self, index: u32) -> Descriptor {
        // SAFETY: in range as in `write_slot`; the caller guarantees the producer has
        // published this slot.
        unsafe {
            self.slots
                .get_unchecked((index & self.mask) as usize)
                .read()
        }
    }
}
