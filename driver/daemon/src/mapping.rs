//! The shared region, mapped into the daemon: `/dev/crtos` in production, any file
//! (or memfd) in tests, through the same `mmap`.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use memmap2::{MmapOptions, MmapRaw};
use syscall_ring::{RingError, SharedRegion};

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

    /// Attaches to the ring the RTOS laid out in the region (checking its header).
    /// `&mut self`: one ring view per mapping, so one server at most.
    pub fn attach(&mut self) -> Result<SharedRegion<'_>, RingError> {
        // SAFETY: the mapping is `len` bytes, readable and writable, page-aligned, and
        // lives as long as the borrow of `self` that the result carries.
        unsafe { SharedRegion::attach(self.map.as_mut_ptr(), self.map.len()) }
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
