//! LAB 3: matching responses to requests.
//!
//! Responses may come back in any order (the daemon can block one task's `read`
//! while it answers another), so the client matches them by id, not by position.
//! The table is in `crates/ring/src/pending.rs`: `free[..free_len]` is a stack of
//! free tags, `generation[tag]` the generation the tag's current request carries,
//! `in_flight[tag]` whether a request holds it.

use crate::{PendingTable, RequestId, RingError};

// ANCHOR: matching
impl PendingTable {
    /// Takes a free tag for a new request and returns the id that request carries.
    /// `Full` when every tag is in flight.
    pub fn begin(&mut self) -> Result<RequestId, RingError> {
        // LAB 3: write this.
        todo!("LAB 3: ring_matching.rs: PendingTable::begin (pop a free tag, bump its generation, mark it in flight, return RequestId::new(tag, generation))")
    }

    /// Matches the id of a response (a value from the peer) with a request in flight,
    /// frees its tag and returns it. `UnknownRequest` if the tag is out of range, not in
    /// flight, or in flight with another generation; the table is then unchanged.
    pub fn complete(&mut self, id: u64) -> Result<RequestId, RingError> {
        // LAB 3: write this.
        let _ = id;
        todo!("LAB 3: ring_matching.rs: PendingTable::complete (check the id's tag is in range, in flight and of the current generation (else UnknownRequest), then free the tag)")
    }
}
// ANCHOR_END: matching
