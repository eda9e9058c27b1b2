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
        if self.free_len == 0 {
            return Err(RingError::Full);
        }
        self.free_len -= 1;
        let tag = self.free[self.free_len as usize] as u32;
        // A new generation per use: a late or duplicated response to the previous
        // request on this tag carries the old one and will not match.
        let generation = self.generation[tag as usize].wrapping_add(1);
        self.generation[tag as usize] = generation;
        self.in_flight[tag as usize] = true;
        Ok(RequestId::new(tag, generation))
    }

    /// Matches the id of a response (a value from the peer) with a request in flight,
    /// frees its tag and returns it. `UnknownRequest` if the tag is out of range, not in
    /// flight, or in flight with another generation; the table is then unchanged.
    pub fn complete(&mut self, id: u64) -> Result<RequestId, RingError> {
        let id = RequestId(id);
        let tag = id.tag();
        // Range first: `tag` indexes the arrays below.
        if tag >= self.capacity
            || !self.in_flight[tag as usize]
            || self.generation[tag as usize] != id.generation()
        {
            return Err(RingError::UnknownRequest);
        }
        self.in_flight[tag as usize] = false;
        self.free[self.free_len as usize] = tag as u16;
        self.free_len += 1;
        Ok(id)
    }
}
// ANCHOR_END: matching
