//! The client's record of requests in flight: the given half.
//!
//! Each request holds a *tag* in `0..capacity` while it is in flight; the tag names
//! its payload buffer, and the response is matched back to it by id. The table lives
//! in the client's private memory (never in the shared region): the peer cannot forge
//! what it contains, only send ids that are checked against it. `begin`/`complete`
//! are lab 3 (`solutions/lab3/ring_matching.rs`).

use crate::MAX_CAPACITY;

// ANCHOR: request_id
/// The id a request carries to Linux and back: the tag in the low 32 bits, the tag's
/// generation (bumped on every use) in the high 32 bits, so a stale or replayed
/// response for an earlier use of the same tag does not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

impl RequestId {
    pub const fn new(tag: u32, generation: u32) -> Self {
        Self(((generation as u64) << 32) | tag as u64)
    }

    pub const fn tag(self) -> u32 {
        self.0 as u32
    }

    pub const fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}
// ANCHOR_END: request_id

// ANCHOR: pending_table
/// Which tags are in flight, and with which generation. No allocation: fixed arrays
/// sized for `MAX_CAPACITY`, of which the first `capacity` entries are used.
pub struct PendingTable {
    pub(crate) capacity: u32,
    /// Free tags, used as a stack: `free[..free_len]`.
    pub(crate) free: [u16; MAX_CAPACITY as usize],
    pub(crate) free_len: u32,
    /// Current generation of each tag (the one its in-flight request carries).
    pub(crate) generation: [u32; MAX_CAPACITY as usize],
    pub(crate) in_flight: [bool; MAX_CAPACITY as usize],
}
// ANCHOR_END: pending_table

const _: () = assert!(MAX_CAPACITY <= u16::MAX as u32 + 1);

impl PendingTable {
    /// All `capacity` tags free (`capacity` is clamped to `MAX_CAPACITY`).
    pub fn new(capacity: u32) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        let mut free = [0u16; MAX_CAPACITY as usize];
        // Pop order 0, 1, 2, ...: the stack's top is the end of the slice.
        for (i, slot) in free[..capacity as usize].iter_mut().rev().enumerate() {
            *slot = i as u16;
        }
        Self {
            capacity,
            free,
            free_len: capacity,
            generation: [0; MAX_CAPACITY as usize],
            in_flight: [false; MAX_CAPACITY as usize],
        }
    }

    /// Tags that can be handed out.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Requests currently in flight.
    pub fn in_flight(&self) -> u32 {
        self.capacity - self.free_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_round_trips_tag_and_generation() {
        let id = RequestId::new(1023, 0xdead_beef);
        assert_eq!((id.tag(), id.generation()), (1023, 0xdead_beef));
        assert_eq!(RequestId(id.0), id);
    }

    #[test]
    fn new_table_has_every_tag_free() {
        let table = PendingTable::new(8);
        assert_eq!((table.capacity(), table.in_flight()), (8, 0));
        let mut tags = table.free[..8].to_vec();
        tags.sort();
        assert_eq!(tags, (0..8).collect::<std::vec::Vec<u16>>());
        assert_eq!(PendingTable::new(u32::MAX).capacity(), MAX_CAPACITY);
    }
}
