//! A mapped shared region: creating it, attaching to it, and handing out the two ends.

use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::sync::SlotCell;
use crate::{validate, Client, Descriptor, QueueIndices, RingConfig, RingError, RingHeader};
use crate::{Consumer, PayloadArea, Producer};
use crate::{RingLayout, Server, REGION_ALIGN};

/// The shared region as mapped in this address space, with a validated layout.
///
/// The header is read once (at [`SharedRegion::init`] or [`SharedRegion::attach`]);
/// everything after uses the private copy of the layout, so the peer rewriting the
/// header later changes nothing.
pub struct SharedRegion<'m> {
    base: NonNull<u8>,
    layout: RingLayout,
    _memory: PhantomData<&'m mut [u8]>,
}

fn check_mapping(base: *mut u8) -> Result<NonNull<u8>, RingError> {
    let base = NonNull::new(base).ok_or(RingError::BadHeader)?;
    if !(base.as_ptr() as usize).is_multiple_of(REGION_ALIGN) {
        return Err(RingError::BadHeader);
    }
    Ok(base)
}

impl<'m> SharedRegion<'m> {
    /// Lays out a fresh region at `base` (empty queues, header last).
    ///
    /// # Safety
    /// `base` must be valid for reads and writes of `len` bytes for `'m`, and the peer
    /// must not use the region until it is told (by whatever channel) that it is ready.
    pub unsafe fn init(base: *mut u8, len: usize, config: RingConfig) -> Result<Self, RingError> {
        let base = check_mapping(base)?;
        let layout = RingLayout::new(config)?;
        if layout.region_len as usize > len {
            return Err(RingError::BadHeader);
        }
        // SAFETY: the caller gives us the bytes; indices and slots at zero are empty queues.
        unsafe {
            core::ptr::write_bytes(base.as_ptr(), 0, layout.payload_area as usize);
            core::ptr::write_volatile(base.as_ptr().cast::<RingHeader>(), layout.header());
        }
        Ok(Self {
            base,
            layout,
            _memory: PhantomData,
        })
    }

    /// Attaches to a region the peer laid out, validating its header.
    ///
    /// # Safety
    /// `base` must be valid for reads and writes of `len` bytes for `'m`.
    pub unsafe fn attach(base: *mut u8, len: usize) -> Result<Self, RingError> {
        let base = check_mapping(base)?;
        if len < core::mem::size_of::<RingHeader>() {
            return Err(RingError::BadHeader);
        }
        // Copy, then validate: the copy cannot change under the checks.
        // SAFETY: len covers the header; the base is aligned for it.
        let header = unsafe { core::ptr::read_volatile(base.as_ptr().cast::<RingHeader>()) };
        let layout = validate::header(&header, len)?;
        Ok(Self {
            base,
            layout,
            _memory: PhantomData,
        })
    }

    /// The validated layout.
    pub fn layout(&self) -> &RingLayout {
        &self.layout
    }

    fn indices(&self, offset: u32) -> &'m QueueIndices {
        // SAFETY: the offset comes from a validated layout (in bounds, 128-aligned), and
        // `QueueIndices` is two `AtomicU32`s, for which every bit pattern is valid;
        // shared `&AtomicU32` into memory other agents write is what atomics are for.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(offset as usize)
                .cast::<QueueIndices>()
        }
    }

    fn slots(&self, offset: u32) -> &'m [SlotCell<Descriptor>] {
        // SAFETY: validated layout: `capacity` descriptors from `offset` are in the
        // region and 16-aligned. `SlotCell` is an `UnsafeCell`, so a shared slice over
        // memory the peer writes is allowed; contents are only ever copied out.
        unsafe {
            let first = self.base.as_ptr().add(offset as usize);
            core::slice::from_raw_parts(first.cast(), self.layout.capacity as usize)
        }
    }

    fn payload(&self) -> PayloadArea<'m> {
        // SAFETY: the payload area is inside the region (validated layout).
        unsafe {
            let base = self.base.add(self.layout.payload_area as usize);
            PayloadArea::new(base, self.layout)
        }
    }

    /// # Safety
    /// At most one client may exist for the region.
    unsafe fn make_client(&self) -> Result<Client<'m>, RingError> {
        let layout = self.layout;
        // SAFETY: forwarded to the caller; the peer holds the other ends.
        unsafe {
            let requests = Producer::new(
                self.indices(layout.request_indices),
                self.slots(layout.request_slots),
            )?;
            let responses = Consumer::new(
                self.indices(layout.response_indices),
                self.slots(layout.response_slots),
            )?;
            Ok(Client::new(requests, responses, self.payload(), layout))
        }
    }

    /// # Safety
    /// At most one server may exist for the region.
    unsafe fn make_server(&self) -> Result<Server<'m>, RingError> {
        let layout = self.layout;
        // SAFETY: forwarded to the caller; the peer holds the other ends.
        unsafe {
            let requests = Consumer::new(
                self.indices(layout.request_indices),
                self.slots(layout.request_slots),
            )?;
            let responses = Producer::new(
                self.indices(layout.response_indices),
                self.slots(layout.response_slots),
            )?;
            Ok(Server::new(requests, responses, self.payload(), layout))
        }
    }

    /// The RTOS end: produces requests, consumes responses.
    /// `&mut self` keeps a second client from being made through this mapping.
    pub fn client(&mut self) -> Result<Client<'_>, RingError> {
        // SAFETY: the exclusive borrow makes this the only end made from this mapping.
        unsafe { self.make_client() }
    }

    /// The RTOS end, kept for as long as the mapping lives: consumes the region, so no
    /// second end can be made from this mapping (a kernel that maps the region for good
    /// keeps its client in a static).
    pub fn into_client(self) -> Result<Client<'m>, RingError> {
        // SAFETY: `self` is consumed: this is the only end made from this mapping.
        unsafe { self.make_client() }
    }

    /// The Linux daemon end: consumes requests, produces responses.
    pub fn server(&mut self) -> Result<Server<'_>, RingError> {
        // SAFETY: as for `client`.
        unsafe { self.make_server() }
    }

    /// Both ends at once, for a process that plays both sides (tests, benchmarks).
    pub fn split(&mut self) -> Result<(Client<'_>, Server<'_>), RingError> {
        // SAFETY: as for `client`; one client and one server.
        unsafe { Ok((self.make_client()?, self.make_server()?)) }
    }
}
