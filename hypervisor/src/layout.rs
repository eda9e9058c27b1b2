//! Where things are in the hypervisor's range (given by the driver's memmap=
//! reservation):
//!
//! ```text
//! hv_phys/hv_virt                                                  + hv_size
//! | image (when loaded by the driver) | per-CPU areas x max_cpus | frame pool |
//! ```
//!
//! The range is mapped contiguously, so `virt = phys + (hv_virt - hv_phys)` inside it.
//! The frame pool holds the heap, the EPT and the host page tables.

use crate::config::{MAX_CPUS, PERCPU_SIZE};
use crate::entry::EntryArgs;

extern "C" {
    static __image_start: u8;
    static __image_end: u8;
}

#[derive(Debug, Clone, Copy)]
pub struct Region {
    pub phys: u64,
    pub virt: u64,
    pub size: u64,
    pub max_cpus: u64,
    /// Offset of the first per-CPU area: past the image when the image is in the range.
    pub percpu_offset: u64,
}

impl Region {
    /// Checks the driver's arguments; `None` when they cannot describe a usable range.
    pub fn from_args(a: &EntryArgs) -> Option<Region> {
        let image_start = &raw const __image_start as u64;
        let image_end = &raw const __image_end as u64;
        // The driver puts the image at the start of the range; the bare-metal self-test
        // links the hypervisor into its own kernel and hands over an empty range.
        let percpu_offset = if (a.hv_virt..a.hv_virt + a.hv_size).contains(&image_start) {
            (image_end - a.hv_virt + 0xFFF) & !0xFFF
        } else {
            0
        };
        let r = Region {
            phys: a.hv_phys,
            virt: a.hv_virt,
            size: a.hv_size,
            max_cpus: a.max_cpus,
            percpu_offset,
        };
        let sane = a.cpu < a.max_cpus
            && a.online_cpus >= 1
            && a.online_cpus <= a.max_cpus
            && a.max_cpus as usize <= MAX_CPUS
            && a.hv_phys.is_multiple_of(0x20_0000)
            && a.hv_virt.is_multiple_of(0x1000)
            && r.pool_start() < r.size;
        sane.then_some(r)
    }

    pub fn percpu_virt(&self, cpu: u64) -> u64 {
        self.virt + self.percpu_offset + cpu * PERCPU_SIZE
    }

    /// Offset of the frame pool inside the range.
    pub fn pool_start(&self) -> u64 {
        self.percpu_offset + self.max_cpus * PERCPU_SIZE
    }

    pub fn virt_to_phys(&self, virt: u64) -> u64 {
        virt - self.virt + self.phys
    }

    pub fn phys_to_virt(&self, phys: u64) -> u64 {
        phys - self.phys + self.virt
    }

    pub fn contains_phys(&self, phys: u64) -> bool {
        (self.phys..self.phys + self.size).contains(&phys)
    }
}

/// Guest-physical memory Linux must not reach: the hypervisor's range and, after it,
/// the RTOS's range and the shared region (closed to Linux until lab 3 opens it).
pub fn closed_to_linux(region: &Region) -> core::ops::Range<u64> {
    use crate::config::{RTOS_SIZE, SHARED_SIZE};
    region.phys..region.phys + region.size + RTOS_SIZE + SHARED_SIZE
}

/// The host identity-maps physical memory below this address (see `paging.rs`).
pub const IDENTITY_MAPPED_TOP: u64 = 4 << 30;
