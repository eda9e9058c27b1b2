//! The checks applied to every value that comes from the peer.
//!
//! The peer is another protection domain (the RTOS, or a Linux daemon): it may be
//! buggy or hostile, and it may change shared memory while we look at it. So every
//! check here works on a private *copy* of what the peer wrote, and each rule is
//! enough on its own to keep the following access inside the region.

use crate::{Descriptor, Opcode, RingError, RingHeader, RingLayout, Status};
use crate::{RingConfig, RING_MAGIC, RING_VERSION};

// ANCHOR: header
/// Checks a copied header against the mapping it came from and returns the layout to
/// use from now on (the header is never read again, so a later change is harmless).
pub fn header(header: &RingHeader, mapping_len: usize) -> Result<RingLayout, RingError> {
    if header.magic != RING_MAGIC {
        return Err(RingError::BadMagic);
    }
    if header.version != RING_VERSION {
        return Err(RingError::BadVersion);
    }
    if header.descriptor_size as usize != core::mem::size_of::<Descriptor>() {
        return Err(RingError::BadHeader);
    }
    // Recompute every offset from the two free parameters: a header that disagrees
    // with our own arithmetic anywhere is rejected, so no offset is ever trusted.
    let layout = RingLayout::new(RingConfig {
        capacity: header.capacity,
        payload_slot_size: header.payload_slot_size,
    })?;
    if layout.header() != *header || layout.region_len as usize > mapping_len {
        return Err(RingError::BadHeader);
    }
    Ok(layout)
}
// ANCHOR_END: header

// ANCHOR: occupancy
/// Number of descriptors between `head` and `tail`, where one of the two was just
/// read from the peer. More than `capacity` means the peer wrote an index no correct
/// producer or consumer could have: with free-running counters this one comparison
/// is the whole range check (the slot is then `index & (capacity - 1)`, always in range).
#[inline(always)]
pub fn occupancy(head: u32, tail: u32, capacity: u32) -> Result<u32, RingError> {
    let used = tail.wrapping_sub(head);
    if used > capacity {
        return Err(RingError::IndexOutOfRange);
    }
    Ok(used)
}
// ANCHOR_END: occupancy

// ANCHOR: payload
/// A payload reference must be exactly one tag's buffer: offset on a buffer boundary,
/// buffer index below `capacity`, length at most one buffer. Then `offset + len` lies
/// inside the payload area, and a request can only touch its own buffer.
pub fn payload(offset: u32, len: u32, layout: &RingLayout) -> Result<(), RingError> {
    let slot = layout.payload_slot_size;
    if !offset.is_multiple_of(slot) || offset / slot >= layout.capacity || len > slot {
        return Err(RingError::PayloadOutOfBounds);
    }
    Ok(())
}
// ANCHOR_END: payload

/// A request as the daemon may act on it: opcode known, status `Request`, payload in
/// bounds.
pub fn request(descriptor: &Descriptor, layout: &RingLayout) -> Result<Opcode, RingError> {
    let opcode = Opcode::try_from(descriptor.opcode)?;
    if Status::try_from(descriptor.status)? != Status::Request {
        return Err(RingError::BadStatus);
    }
    payload(descriptor.payload_offset, descriptor.payload_len, layout)?;
    Ok(opcode)
}

/// A response as the client may accept it: status `Done` or `Rejected` and a payload in
/// bounds. (The client then also checks that the payload is the buffer it lent to the
/// matched request.)
pub fn response(descriptor: &Descriptor, layout: &RingLayout) -> Result<Status, RingError> {
    let status = Status::try_from(descriptor.status)?;
    if status == Status::Request {
        return Err(RingError::BadStatus);
    }
    payload(descriptor.payload_offset, descriptor.payload_len, layout)?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupancy_accepts_zero_to_capacity_across_wrap() {
        for head in [0, 5, u32::MAX - 1, u32::MAX] {
            for used in 0..=8u32 {
                assert_eq!(occupancy(head, head.wrapping_add(used), 8), Ok(used));
            }
            assert_eq!(
                occupancy(head, head.wrapping_add(9), 8),
                Err(RingError::IndexOutOfRange)
            );
            // A tail behind the head looks like a huge occupancy: refused too.
            assert_eq!(
                occupancy(head, head.wrapping_sub(1), 8),
                Err(RingError::IndexOutOfRange)
            );
        }
    }

    #[test]
    fn payload_must_be_one_whole_buffer() {
        let layout = RingLayout::new(RingConfig {
            capacity: 4,
            payload_slot_size: 128,
        })
        .unwrap();
        assert_eq!(payload(0, 0, &layout), Ok(()));
        assert_eq!(payload(3 * 128, 128, &layout), Ok(()));
        for (offset, len) in [(0, 129), (4 * 128, 0), (64, 8), (u32::MAX - 127, 1)] {
            assert_eq!(
                payload(offset, len, &layout),
                Err(RingError::PayloadOutOfBounds),
                "{offset} {len}"
            );
        }
    }
}
