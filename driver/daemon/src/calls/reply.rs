//! The bytes a call sends back, bounded by one payload buffer.

use crate::Refusal;

/// A reusable buffer for the reply's payload (allocated once, for the daemon's life).
pub struct Reply {
    bytes: Vec<u8>,
    limit: usize,
}

impl Reply {
    /// A reply of at most `limit` bytes (the ring's payload slot size).
    pub fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(limit),
            limit,
        }
    }

    /// Empties the reply for the next call.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    // ANCHOR: buffer
    /// A zeroed buffer of `len` bytes for a call to fill (`read` into it), then
    /// [`Reply::truncate`] to what it filled. `BadCount` if `len` exceeds one payload
    /// buffer: the client must split the call, the daemon never shortens it silently.
    pub fn buffer(&mut self, len: u64) -> Result<&mut [u8], Refusal> {
        let len = usize::try_from(len).map_err(|_| Refusal::BadCount)?;
        if len > self.limit {
            return Err(Refusal::BadCount);
        }
        self.bytes.clear();
        self.bytes.resize(len, 0);
        Ok(&mut self.bytes)
    }
    // ANCHOR_END: buffer

    /// Keeps the first `len` bytes (what the call filled).
    pub fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
    }

    /// The reply is `data`.
    pub fn set(&mut self, data: &[u8]) -> Result<(), Refusal> {
        self.buffer(data.len() as u64)?.copy_from_slice(data);
        Ok(())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}
