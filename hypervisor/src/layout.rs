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

use core::ops::Range;

use crate::config::{MAX_CPUS, PERCPU_SIZE};
use crate::entry::EntryArgs;

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
    /// Checks the driver's arguments against this image's bounds (its linker symbols);
    /// `None` when they cannot describe a usable range.
    #[cfg(not(test))] // the linker symbols exist in the image only
    pub fn from_args(a: &EntryArgs) -> Option<Region> {
        extern "C" {
            static __image_start: u8;
            static __image_end: u8;
        }
        let image = &raw const __image_start as u64..&raw const __image_end as u64;
        Region::new(a, image)
    }

    /// The range the arguments describe, for an image at the virtual addresses `image`.
    /// The driver puts the image at the start of the range; the bare-metal self-test
    /// links the hypervisor into its own kernel and hands over an empty range.
    pub fn new(a: &EntryArgs, image: Range<u64>) -> Option<Region> {
        let end = a.hv_virt.checked_add(a.hv_size)?;
        let percpu_offset = if (a.hv_virt..end).contains(&image.start) {
            (image.end - a.hv_virt).checked_next_multiple_of(0x1000)?
        } else {
            0
        };
        let sane = a.cpu < a.max_cpus
            && a.online_cpus >= 1
            && a.online_cpus <= a.max_cpus
            && a.max_cpus as usize <= MAX_CPUS
            && a.hv_phys.is_multiple_of(0x20_0000)
            && a.hv_virt.is_multiple_of(0x1000)
            && a.hv_phys.checked_add(a.hv_size).is_some();
        let r = Region {
            phys: a.hv_phys,
            virt: a.hv_virt,
            size: a.hv_size,
            max_cpus: a.max_cpus,
            percpu_offset,
        };
        (sane && r.pool_start() < r.size).then_some(r)
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
/// the RTOS's range. The shared region after them stays open: Linux's driver and
/// daemon use it (the ring, the control page, lab 3), and so does the CPU itself for
/// user interrupts: SENDUIPI and notification processing read and write the UPIDs
/// there through EPT, with no VM exit to deny them gracefully (lab 4).
pub fn closed_to_linux(region: &Region) -> Range<u64> {
    use crate::config::RTOS_SIZE;
    region.phys..region.phys + region.size + RTOS_SIZE
}

/// The host identity-maps physical memory below this address (see `paging.rs`).
pub const IDENTITY_MAPPED_TOP: u64 = 4 << 30;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RTOS_SIZE, SHARED_SIZE};

    const PHYS: u64 = 0x1000_0000;
    const VIRT: u64 = 0xFFFF_C900_0000_0000;
    const SIZE: u64 = 16 << 20;

    fn args(cpu: u64, online: u64, max: u64) -> EntryArgs {
        EntryArgs::for_test(cpu, online, max, PHYS, SIZE, VIRT)
    }

    #[test]
    fn per_cpu_areas_follow_the_image_page_aligned() {
        let image = VIRT..VIRT + 0x1_2345;
        let r = Region::new(&args(1, 2, 4), image).unwrap();
        assert_eq!(r.percpu_offset, 0x1_3000);
        assert_eq!(r.percpu_virt(0), VIRT + 0x1_3000);
        assert_eq!(r.percpu_virt(3), VIRT + 0x1_3000 + 3 * PERCPU_SIZE);
        assert_eq!(r.pool_start(), 0x1_3000 + 4 * PERCPU_SIZE);
    }

    #[test]
    fn an_image_outside_the_range_takes_no_room() {
        let r = Region::new(&args(0, 1, 1), 0x20_0000..0x30_0000).unwrap();
        assert_eq!(r.percpu_offset, 0);
        assert_eq!(r.pool_start(), PERCPU_SIZE);
    }

    #[test]
    fn phys_and_virt_convert_both_ways_inside_the_range() {
        let r = Region::new(&args(0, 1, 1), 0..0).unwrap();
        assert_eq!(r.virt_to_phys(VIRT + 0x1234), PHYS + 0x1234);
        assert_eq!(r.phys_to_virt(PHYS + SIZE - 1), VIRT + SIZE - 1);
        assert!(r.contains_phys(PHYS) && r.contains_phys(PHYS + SIZE - 1));
        assert!(!r.contains_phys(PHYS - 1) && !r.contains_phys(PHYS + SIZE));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let ok = |a: &EntryArgs| Region::new(a, 0..0).is_some();
        assert!(ok(&args(0, 1, 1)));
        assert!(!ok(&args(1, 1, 1)), "cpu beyond max_cpus");
        assert!(!ok(&args(0, 0, 1)), "no CPU online");
        assert!(!ok(&args(0, 3, 2)), "more online than possible");
        assert!(
            !ok(&args(0, 1, MAX_CPUS as u64 + 1)),
            "more CPUs than we manage"
        );
        let mut a = args(0, 1, 1);
        a.hv_phys += 0x1000;
        assert!(!ok(&a), "physical base not 2 MiB-aligned");
        let mut a = args(0, 1, 1);
        a.hv_virt += 8;
        assert!(!ok(&a), "virtual base not page-aligned");
        let mut a = args(0, 1, 1);
        a.hv_size = PERCPU_SIZE;
        assert!(!ok(&a), "no room for a frame pool");
        let mut a = args(0, 1, 1);
        a.hv_virt = !0xFFF;
        assert!(!ok(&a), "range wraps around");
    }

    #[test]
    fn linux_is_closed_out_of_the_hypervisor_and_the_rtos_but_not_the_shared_region() {
        let r = Region::new(&args(0, 1, 1), 0..0).unwrap();
        let closed = closed_to_linux(&r);
        assert_eq!(closed, PHYS..PHYS + SIZE + RTOS_SIZE);
        let shared = closed.end..closed.end + SHARED_SIZE;
        assert!(!closed.contains(&shared.start) && !closed.contains(&(shared.end - 1)));
    }
}
