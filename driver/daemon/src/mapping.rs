//! The shared region, mapped into the daemon: `/dev/crtos` in production, any file
//! (or memfd) in tests, through the same `mmap`.

use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;

use crtos_abi::forwarding::{
    CONTROL_OFFSET, LAUNCH_MAX_SIZE, LAUNCH_OFFSET, RING_MAX_SIZE, RING_OFFSET,
};
use memmap2::{MmapOptions, MmapRaw};
use syscall_ring::{RingError, SharedRegion};

use crate::Control;

/// A shared, writable mapping of a region. `MmapRaw`: the peer writes this memory
/// at any time, so no `&[u8]` to it may exist; the ring reads it through raw pointers.
pub struct RegionMapping {
    map: MmapRaw,
}

impl RegionMapping {
    /// Maps `len` bytes of `path` from offset 0, or the whole file if `len` is `None`
    /// (a device has no size to ask: `/dev/crtos` is mapped with the size crtos.h gives).
    pub fn open(path: &Path, len: Option<usize>) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Self::map(&file, len)
    }

    /// Maps an open file (a memfd in tests), shared.
    pub fn map(file: &File, len: Option<usize>) -> io::Result<Self> {
        let len = match len {
            Some(len) => len,
            None => usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?,
        };
        let map = MmapOptions::new().len(len).map_raw(file)?;
        Ok(Self { map })
    }

    /// Attaches to a ring the peer laid out over the whole mapping (a bare ring, as
    /// the library's tests use it), checking its header.
    /// `&mut self`: one ring view per mapping, so one server at most.
    pub fn attach(&mut self) -> Result<SharedRegion<'_>, RingError> {
        // SAFETY: the mapping is `len` bytes, readable and writable, page-aligned, and
        // lives as long as the borrow of `self` that the result carries.
        unsafe { SharedRegion::attach(self.map.as_mut_ptr(), self.map.len()) }
    }

    /// The lab 3 shared region's three parts (control page, ring, launch area), for a
    /// mapping of the whole region (`crtos_abi::SHARED_SIZE` bytes).
    pub fn shared_parts(&mut self) -> io::Result<SharedParts<'_>> {
        if (self.map.len() as u64) < LAUNCH_OFFSET + LAUNCH_MAX_SIZE {
            return Err(io::Error::other(format!(
                "{} bytes is smaller than the shared region ({} bytes)",
                self.map.len(),
                LAUNCH_OFFSET + LAUNCH_MAX_SIZE
            )));
        }
        let at = |offset: u64| {
            // SAFETY: the offsets are inside the mapping (checked above).
            NonNull::new(unsafe { self.map.as_mut_ptr().add(offset as usize) }).unwrap()
        };
        Ok(SharedParts {
            // SAFETY: page-aligned, inside the mapping, lives with the borrow.
            control: unsafe { Control::new(at(CONTROL_OFFSET)) },
            ring: RingArea {
                base: at(RING_OFFSET),
                _memory: PhantomData,
            },
            launch: LaunchArea {
                base: at(LAUNCH_OFFSET),
                _memory: PhantomData,
            },
        })
    }

    /// Base address in this process (tests compare the two sides' addresses).
    pub fn as_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }
}

/// The shared region cut into the parts the daemon uses, each with its own writer
/// rules (crtos_abi::forwarding).
pub struct SharedParts<'m> {
    pub control: Control<'m>,
    pub ring: RingArea<'m>,
    pub launch: LaunchArea<'m>,
}

/// Where the RTOS lays the ring out (`RING_OFFSET`, at most `RING_MAX_SIZE`).
pub struct RingArea<'m> {
    base: NonNull<u8>,
    _memory: PhantomData<&'m mut [u8]>,
}

impl RingArea<'_> {
    /// Attaches to the ring the RTOS laid out here, checking its header.
    pub fn attach(&mut self) -> Result<SharedRegion<'_>, RingError> {
        // SAFETY: RING_MAX_SIZE bytes from `base` are in the mapping (`shared_parts`).
        unsafe { SharedRegion::attach(self.base.as_ptr(), RING_MAX_SIZE as usize) }
    }
}

/// The launch area: the ELF image of the program `crtosctl run` starts.
pub struct LaunchArea<'m> {
    base: NonNull<u8>,
    _memory: PhantomData<&'m mut [u8]>,
}

// SAFETY: a region of the mapping, written only through `&mut self`; which thread
// does that does not matter.
unsafe impl Send for LaunchArea<'_> {}

impl LaunchArea<'_> {
    /// Copies `image` to the start of the area. Only between launches (the RTOS reads
    /// the area after it sees `launch_seq` move, and is done when it answers).
    pub fn write(&mut self, image: &[u8]) {
        assert!(image.len() as u64 <= LAUNCH_MAX_SIZE);
        // SAFETY: in bounds (`shared_parts` checked the mapping covers the area).
        unsafe { std::ptr::copy_nonoverlapping(image.as_ptr(), self.base.as_ptr(), image.len()) }
    }
}
