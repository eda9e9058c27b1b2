//! A region in ordinary heap memory, for host tests, benchmarks and simulations
//! (the daemon maps the real one with mmap instead).

extern crate std;

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

use crate::{RingConfig, RingError, RingLayout, SharedRegion, REGION_ALIGN};

/// Page-aligned, zeroed heap memory holding one region.
pub struct HeapRegion {
    base: NonNull<u8>,
    alloc: Layout,
}

// SAFETY: the memory is owned; sharing happens only through the ring's ends.
unsafe impl Send for HeapRegion {}

impl HeapRegion {
    /// A freshly laid-out region for `config`.
    pub fn new(config: RingConfig) -> Result<Self, RingError> {
        let layout = RingLayout::new(config)?;
        let region = Self::zeroed(layout.region_len as usize);
        // SAFETY: we own the bytes; nobody else uses them yet.
        unsafe { SharedRegion::init(region.base.as_ptr(), region.len(), config)? };
        Ok(region)
    }

    /// `len` zero bytes (at least one page), not laid out: for tests that write
    /// arbitrary bytes and then attach.
    pub fn zeroed(len: usize) -> Self {
        let alloc = Layout::from_size_align(len.max(REGION_ALIGN), REGION_ALIGN)
            .expect("region size overflows a Layout");
        // SAFETY: non-zero size.
        let base = unsafe { alloc_zeroed(alloc) };
        let Some(base) = NonNull::new(base) else {
            std::alloc::handle_alloc_error(alloc)
        };
        Self { base, alloc }
    }

    /// `bytes` copied into a fresh allocation.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut region = Self::zeroed(bytes.len());
        region.bytes_mut()[..bytes.len()].copy_from_slice(bytes);
        region
    }

    pub fn len(&self) -> usize {
        self.alloc.size()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The raw bytes: what a misbehaving peer could do, for tests.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: owned allocation of `len` bytes, borrowed exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.len()) }
    }

    /// Attaches to the region, validating the header as the peer would.
    pub fn attach(&mut self) -> Result<SharedRegion<'_>, RingError> {
        // SAFETY: the allocation lives as long as the borrow.
        unsafe { SharedRegion::attach(self.base.as_ptr(), self.len()) }
    }

    /// Base address, for tests that poke at the region while the ends exist (as a
    /// hostile peer would).
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for HeapRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this layout.
        unsafe { dealloc(self.base.as_ptr(), self.alloc) }
    }
}

/// One queue in ordinary memory (indices + slots, no region): the same `Producer` and
/// `Consumer` code, for queue-level tests and benchmarks.
pub struct HeapQueue {
    pub indices: crate::QueueIndices,
    pub slots: std::vec::Vec<crate::sync::SlotCell<crate::Descriptor>>,
}

impl HeapQueue {
    /// An empty queue of `capacity` slots (a power of two, at least 2, checked by
    /// [`HeapQueue::ends`]).
    pub fn new(capacity: usize) -> Self {
        Self {
            indices: crate::QueueIndices::new(),
            slots: (0..capacity)
                .map(|_| crate::sync::SlotCell::new(crate::Descriptor::default()))
                .collect(),
        }
    }

    /// Both ends. `&mut self` makes them the only pair.
    pub fn ends(&mut self) -> Result<(crate::Producer<'_>, crate::Consumer<'_>), RingError> {
        // SAFETY: the exclusive borrow makes these the only producer and consumer.
        unsafe {
            Ok((
                crate::Producer::new(&self.indices, &self.slots)?,
                crate::Consumer::new(&self.indices, &self.slots)?,
            ))
        }
    }
}
