//! The payload area: one fixed buffer per request tag, for paths and read/write data.
//!
//! Why per-tag buffers and not an allocator: a request's buffer must live until its
//! *response* is consumed (the daemon writes `read` data into it), so buffers follow
//! the in-flight tags, and there are exactly `capacity` of those. A fixed buffer per
//! tag makes allocation free (the tag is the buffer), needs no shared allocator state
//! for the peer to corrupt, and reduces validation to "this offset is a buffer
//! boundary" (`validate::payload`). The price is a maximum payload per request
//! (`payload_slot_size`); larger transfers are split by the caller, as `read(2)` and
//! `write(2)` already allow.

use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::{validate, RingError, RingLayout};

/// The payload area of a mapped region.
pub struct PayloadArea<'a> {
    /// Start of the payload area in this address space.
    base: NonNull<u8>,
    layout: RingLayout,
    _region: PhantomData<&'a [u8]>,
}

// SAFETY: the area is shared memory; which side may touch a buffer is decided by the
// ring protocol (the tag's owner), not by the thread.
unsafe impl Send for PayloadArea<'_> {}

impl PayloadArea<'_> {
    /// # Safety
    /// `base` must point to `layout.payload_area_len` bytes valid for the lifetime.
    pub(crate) unsafe fn new(base: NonNull<u8>, layout: RingLayout) -> Self {
        Self {
            base,
            layout,
            _region: PhantomData,
        }
    }

    /// Copies `data` into the buffer at `offset` (checked with `validate::payload`).
    ///
    /// Bytes are copied through raw pointers, never through a reference to shared
    /// memory, and nothing read back is trusted: if the peer scribbles on a buffer it
    /// does not own, only the bytes change.
    pub fn write(&self, offset: u32, data: &[u8]) -> Result<(), RingError> {
        let len = u32::try_from(data.len()).map_err(|_| RingError::PayloadTooLarge)?;
        if len > self.layout.payload_slot_size {
            return Err(RingError::PayloadTooLarge);
        }
        validate::payload(offset, len, &self.layout)?;
        // SAFETY: validated: offset + len <= payload_area_len.
        unsafe {
            let dst = self.base.as_ptr().add(offset as usize);
            core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
        }
        Ok(())
    }

    /// Copies up to `out.len()` of the `len` bytes at `offset` into `out`; returns the
    /// number copied.
    pub fn read(&self, offset: u32, len: u32, out: &mut [u8]) -> Result<usize, RingError> {
        validate::payload(offset, len, &self.layout)?;
        let count = out.len().min(len as usize);
        // SAFETY: validated: offset + len <= payload_area_len, and count <= len.
        unsafe {
            let src = self.base.as_ptr().add(offset as usize);
            core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), count);
        }
        Ok(count)
    }
}
