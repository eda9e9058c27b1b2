//! Where everything lives in the shared region, as byte offsets from its start.
//!
//! The RTOS and the Linux daemon map the region at different virtual addresses, so
//! nothing in it is a pointer: the header records offsets, and each side adds its own
//! base. Both sides compute the same [`RingLayout`] from `(capacity, payload_slot_size)`
//! and the header must match it exactly.

use crate::sync::AtomicU32;
use crate::{Descriptor, RingError};

/// "cRTOSrng" in little-endian: the first eight bytes of a valid region.
pub const RING_MAGIC: u64 = u64::from_le_bytes(*b"cRTOSrng");
/// Bumped on every layout change; a mismatch is rejected at attach.
pub const RING_VERSION: u32 = 1;
/// Most slots per queue (also the most requests in flight, see [`crate::PendingTable`]).
pub const MAX_CAPACITY: u32 = 1024;
/// Bounds of one payload buffer.
pub const MIN_PAYLOAD_SLOT: u32 = 64;
pub const MAX_PAYLOAD_SLOT: u32 = 64 * 1024;
/// Indices are padded to two cache lines: x86's adjacent-line prefetcher pulls lines in
/// pairs, so 64 bytes apart still ping-pong (crossbeam's `CachePadded` does the same).
pub const INDEX_PADDING: usize = 128;

// ANCHOR: header
/// The first 128 bytes of the region. Written once by whoever creates the region;
/// the other side copies it out, validates it, and never reads it again.
#[repr(C, align(128))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingHeader {
    pub magic: u64,
    pub version: u32,
    /// Slots per queue: a power of two in `2..=MAX_CAPACITY`.
    pub capacity: u32,
    /// `size_of::<Descriptor>()` on the side that laid the region out.
    pub descriptor_size: u32,
    /// Bytes per payload buffer (one buffer per request tag), a multiple of 64.
    pub payload_slot_size: u32,
    pub request_indices: u32,
    pub response_indices: u32,
    pub request_slots: u32,
    pub response_slots: u32,
    pub payload_area: u32,
    pub payload_area_len: u32,
    /// Total bytes the layout needs; the mapping may be larger.
    pub region_len: u32,
    pub reserved: [u32; 19],
}
// ANCHOR_END: header

const _: () = assert!(core::mem::size_of::<RingHeader>() == 128);
const _: () = assert!(core::mem::offset_of!(RingHeader, capacity) == 12);
const _: () = assert!(core::mem::offset_of!(RingHeader, region_len) == 48);

/// Pads `T` to its own pair of cache lines.
#[repr(C, align(128))]
pub struct CachePadded<T>(pub T);

// ANCHOR: indices
/// One queue's two indices, each alone on its cache lines: the producer writes `tail`
/// and the consumer writes `head`, so neither store invalidates the other's line.
///
/// Both are free-running `u32` counters (slot = counter & (capacity - 1)); the queue
/// holds `tail - head` (wrapping) descriptors, which is never more than `capacity`.
#[repr(C)]
pub struct QueueIndices {
    /// Next slot the consumer will read. Written by the consumer only.
    pub head: CachePadded<AtomicU32>,
    /// Next slot the producer will write. Written by the producer only.
    pub tail: CachePadded<AtomicU32>,
}
// ANCHOR_END: indices

#[cfg(not(loom))]
const _: () = {
    assert!(core::mem::size_of::<QueueIndices>() == 2 * INDEX_PADDING);
    assert!(core::mem::offset_of!(QueueIndices, tail) == INDEX_PADDING);
    // `AtomicU32` is the same bytes as a `u32`, so it may live in the shared region.
    assert!(core::mem::size_of::<AtomicU32>() == 4);
};

impl QueueIndices {
    /// Both indices at zero: an empty queue. (Under loom this is how the model builds
    /// its queues; in the region the bytes are zeroed instead.)
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            head: CachePadded(AtomicU32::new(0)),
            tail: CachePadded(AtomicU32::new(0)),
        }
    }

    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            head: CachePadded(AtomicU32::new(0)),
            tail: CachePadded(AtomicU32::new(0)),
        }
    }
}

impl Default for QueueIndices {
    fn default() -> Self {
        Self::new()
    }
}

/// What the creator of a region chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    /// Slots per queue and requests in flight: a power of two in `2..=MAX_CAPACITY`.
    pub capacity: u32,
    /// Bytes per payload buffer: a multiple of 64 in `MIN_PAYLOAD_SLOT..=MAX_PAYLOAD_SLOT`.
    pub payload_slot_size: u32,
}

impl Default for RingConfig {
    /// 256 slots with a 4 KiB buffer each: 1 MiB of payload, fits the 4 MiB region.
    fn default() -> Self {
        Self {
            capacity: 256,
            payload_slot_size: 4096,
        }
    }
}

// ANCHOR: layout
/// Byte offsets of every part of the region, computed the same way on both sides.
///
/// ```text
///  0     RingHeader                      128 B
///  128   request  QueueIndices {head | tail}   2 x 128 B
///  384   response QueueIndices {head | tail}   2 x 128 B
///  640   request  slots   [Descriptor; capacity]   80 B each
///  ...   response slots   [Descriptor; capacity]   (128-aligned)
///  ...   payload area     [[u8; payload_slot_size]; capacity]   (4096-aligned)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingLayout {
    pub capacity: u32,
    pub payload_slot_size: u32,
    pub request_indices: u32,
    pub response_indices: u32,
    pub request_slots: u32,
    pub response_slots: u32,
    pub payload_area: u32,
    pub payload_area_len: u32,
    pub region_len: u32,
}
// ANCHOR_END: layout

/// Regions must be aligned at least this much (the payload area is page-aligned
/// relative to the base, and the header and indices need 128).
pub const REGION_ALIGN: usize = 4096;

const fn align_up(value: u64, align: u64) -> u64 {
    (value + align - 1) & !(align - 1)
}

impl RingLayout {
    /// The layout for `config`, or `BadHeader` if the config is out of bounds.
    pub const fn new(config: RingConfig) -> Result<RingLayout, RingError> {
        let RingConfig {
            capacity,
            payload_slot_size,
        } = config;
        if !capacity.is_power_of_two() || capacity < 2 || capacity > MAX_CAPACITY {
            return Err(RingError::BadHeader);
        }
        if payload_slot_size < MIN_PAYLOAD_SLOT
            || payload_slot_size > MAX_PAYLOAD_SLOT
            || payload_slot_size % 64 != 0
        {
            return Err(RingError::BadHeader);
        }
        let slots_len = capacity as u64 * core::mem::size_of::<Descriptor>() as u64;
        let request_indices = core::mem::size_of::<RingHeader>() as u64;
        let response_indices = request_indices + 2 * INDEX_PADDING as u64;
        let request_slots = response_indices + 2 * INDEX_PADDING as u64;
        let response_slots = align_up(request_slots + slots_len, INDEX_PADDING as u64);
        let payload_area = align_up(response_slots + slots_len, REGION_ALIGN as u64);
        let payload_area_len = capacity as u64 * payload_slot_size as u64;
        let region_len = payload_area + payload_area_len;
        // MAX_CAPACITY * MAX_PAYLOAD_SLOT = 64 MiB, so everything fits in u32.
        Ok(RingLayout {
            capacity,
            payload_slot_size,
            request_indices: request_indices as u32,
            response_indices: response_indices as u32,
            request_slots: request_slots as u32,
            response_slots: response_slots as u32,
            payload_area: payload_area as u32,
            payload_area_len: payload_area_len as u32,
            region_len: region_len as u32,
        })
    }

    /// The header that describes this layout.
    pub const fn header(&self) -> RingHeader {
        RingHeader {
            magic: RING_MAGIC,
            version: RING_VERSION,
            capacity: self.capacity,
            descriptor_size: core::mem::size_of::<Descriptor>() as u32,
            payload_slot_size: self.payload_slot_size,
            request_indices: self.request_indices,
            response_indices: self.response_indices,
            request_slots: self.request_slots,
            response_slots: self.response_slots,
            payload_area: self.payload_area,
            payload_area_len: self.payload_area_len,
            region_len: self.region_len,
            reserved: [0; 19],
        }
    }

    /// Byte offset (in the payload area) of the buffer that belongs to request tag `tag`.
    pub const fn payload_buffer(&self, tag: u32) -> u32 {
        tag * self.payload_slot_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_fits_the_shared_region_and_is_aligned() {
        let layout = RingLayout::new(RingConfig::default()).unwrap();
        assert_eq!(layout.request_indices, 128);
        assert_eq!(layout.response_indices, 384);
        assert_eq!(layout.request_slots, 640);
        assert_eq!(layout.response_slots % 128, 0);
        assert!(layout.response_slots >= layout.request_slots + 256 * 80);
        assert_eq!(layout.payload_area as usize % REGION_ALIGN, 0);
        assert_eq!(layout.payload_area_len, 256 * 4096);
        // The memory map gives the shared region 4 MiB (book: Architecture).
        assert!(layout.region_len <= 4 << 20);
    }

    #[test]
    fn out_of_bounds_configs_are_refused() {
        for (capacity, payload_slot_size) in [
            (0, 64),
            (1, 64),
            (3, 64),
            (MAX_CAPACITY * 2, 64),
            (4, 0),
            (4, 96 + 1),
            (4, MAX_PAYLOAD_SLOT * 2),
        ] {
            let config = RingConfig {
                capacity,
                payload_slot_size,
            };
            assert_eq!(
                RingLayout::new(config),
                Err(RingError::BadHeader),
                "{config:?}"
            );
        }
    }

    #[test]
    fn largest_layout_fits_in_u32_offsets() {
        let layout = RingLayout::new(RingConfig {
            capacity: MAX_CAPACITY,
            payload_slot_size: MAX_PAYLOAD_SLOT,
        })
        .unwrap();
        let expected = layout.payload_area as u64 + MAX_CAPACITY as u64 * MAX_PAYLOAD_SLOT as u64;
        assert_eq!(layout.region_len as u64, expected);
    }
}
