//! Extended page tables (SDM Vol. 3C §29.3): the guest-physical → host-physical map.
//! Linux's map is the identity on all memory but the ranges closed to it, which are
//! simply absent, so any Linux access there ends in an EPT-violation VM exit.
//!
//! Each CPU has its own EPT (its own root, the same contents). A denied access is
//! served by lending a page of all-ones for one instruction (vmexit.rs): were the EPT
//! shared, the lent page would show on every CPU at once, and INVEPT on the lending
//! CPU alone could not stop another CPU from reading or writing it meanwhile. With
//! one EPT per CPU the lent page exists only where it was lent, so nothing has to be
//! coordinated across CPUs (the book's lab 1 chapter weighs the alternatives).

use core::ops::Range;

use crate::layout::Region;
use crate::memory::alloc_frame;

const READ: u64 = 1 << 0;
const WRITE: u64 = 1 << 1;
const EXECUTE: u64 = 1 << 2;
const RWX: u64 = READ | WRITE | EXECUTE;
const LARGE: u64 = 1 << 7;
const MEMTYPE_SHIFT: u64 = 3;
const MEMTYPE_UC: u64 = 0 << MEMTYPE_SHIFT;
const MEMTYPE_WB: u64 = 6 << MEMTYPE_SHIFT;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// How much guest-physical space the EPT covers (RAM and MMIO of the machines we run).
pub const GUEST_PHYS_TOP: u64 = 64 << 30;
const PAGE_2M: u64 = 2 << 20;
/// Where the PC's devices live: uncached (with EPT, the guest's MTRRs no longer apply).
const MMIO_HOLE: Range<u64> = 3 << 30..4 << 30;

/// What a guest-physical address maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub hpa: u64,
    pub writable: bool,
    pub executable: bool,
    pub write_back: bool,
}

/// One EPT hierarchy; its tables are frames of the hypervisor's range.
#[derive(Debug, Clone, Copy)]
pub struct Ept {
    root_phys: u64,
    region: Region,
}

/// The index of `gpa` in a table at `level` (4 = PML4 ... 1 = PT).
fn index(gpa: u64, level: u32) -> usize {
    ((gpa >> (12 + 9 * (level - 1))) & 0x1FF) as usize
}

impl Ept {
    /// Builds Linux's EPT: identity, 2 MiB pages, without `closed` (2 MiB-aligned).
    /// Memory type: write-back, but uncached in the MMIO hole.
    pub fn build(region: &Region, closed: Range<u64>) -> Result<Ept, &'static str> {
        if !closed.start.is_multiple_of(PAGE_2M) || !closed.end.is_multiple_of(PAGE_2M) {
            return Err("closed range not 2 MiB-aligned");
        }
        let (root_phys, _) = alloc_frame().ok_or("out of frames for the EPT")?;
        let mut ept = Ept {
            root_phys,
            region: *region,
        };
        for gpa in (0..GUEST_PHYS_TOP).step_by(PAGE_2M as usize) {
            if closed.contains(&gpa) {
                continue;
            }
            let memtype = if MMIO_HOLE.contains(&gpa) {
                MEMTYPE_UC
            } else {
                MEMTYPE_WB
            };
            *ept.entry(gpa, 2)? = gpa | RWX | memtype | LARGE;
        }
        Ok(ept)
    }

    fn table(&self, phys: u64) -> &'static mut [u64; 512] {
        // SAFETY: every EPT table is a frame of our range, mapped at region.phys_to_virt.
        unsafe { &mut *(self.region.phys_to_virt(phys) as *mut [u64; 512]) }
    }

    /// The entry for `gpa` at `level` (4 = PML4 ... 1 = PT), creating tables on the way.
    fn entry(&mut self, gpa: u64, level: u32) -> Result<&'static mut u64, &'static str> {
        let mut table = self.root_phys;
        for l in (level + 1..=4).rev() {
            let e = &mut self.table(table)[index(gpa, l)];
            if *e & RWX == 0 {
                let (phys, _) = alloc_frame().ok_or("out of frames for the EPT")?;
                *e = phys | RWX;
            } else if *e & LARGE != 0 {
                return Err("a large EPT page is in the way");
            }
            table = *e & ADDR_MASK;
        }
        Ok(&mut self.table(table)[index(gpa, level)])
    }

    /// What `gpa` maps to, as the CPU's walk would find it; `None` when not present.
    pub fn translate(&self, gpa: u64) -> Option<Mapping> {
        let mut table = self.root_phys;
        for level in (1..=4).rev() {
            let e = self.table(table)[index(gpa, level)];
            if e & RWX == 0 {
                return None;
            }
            if level == 1 || e & LARGE != 0 {
                let page_mask = (1u64 << (12 + 9 * (level - 1))) - 1;
                return Some(Mapping {
                    hpa: (e & ADDR_MASK & !page_mask) | (gpa & page_mask),
                    writable: e & WRITE != 0,
                    executable: e & EXECUTE != 0,
                    write_back: e & (7 << MEMTYPE_SHIFT) == MEMTYPE_WB,
                });
            }
            table = e & ADDR_MASK;
        }
        None
    }

    /// EPT pointer for the VMCS (SDM Vol. 3C §25.6.11): bits 2:0 the paging structures'
    /// memory type (6 = write-back), bits 5:3 the walk length minus one (4 levels).
    pub fn pointer(&self) -> u64 {
        self.root_phys | 6 | (3 << 3)
    }

    /// Maps the 4 KiB guest page around `gpa` to host frame `hpa` (read + write), or
    /// unmaps it with `hpa = None`; the 2 MiB entry around it must be absent (a closed
    /// range). Then drops this CPU's cached translations: only this CPU uses this EPT.
    pub fn set_4k(&mut self, gpa: u64, hpa: Option<u64>) -> Result<(), &'static str> {
        self.map_4k(gpa, hpa)?;
        invalidate_all();
        Ok(())
    }

    fn map_4k(&mut self, gpa: u64, hpa: Option<u64>) -> Result<(), &'static str> {
        let e = self.entry(gpa & !0xFFF, 1)?;
        *e = hpa.map_or(0, |h| (h & ADDR_MASK) | READ | WRITE | MEMTYPE_WB);
        Ok(())
    }
}

/// INVEPT, all contexts: drops cached EPT translations on this CPU.
fn invalidate_all() {
    #[cfg(not(test))] // a host test has no EPT to invalidate
    {
        let descriptor = [0u64; 2];
        // SAFETY: INVEPT type 2 (all-context) with a valid descriptor, in VMX root mode.
        unsafe {
            core::arch::asm!("invept {0}, [{1}]", in(reg) 2u64, in(reg) descriptor.as_ptr(), options(nostack))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::tests::TestRange;

    /// The guest's reservation (crtos.h): hypervisor and RTOS closed, then the shared
    /// region, which Linux's daemon maps (lab 3).
    const CLOSED: Range<u64> = 0x1000_0000..0x1300_0000;
    const SHARED: Range<u64> = 0x1300_0000..0x1340_0000;

    fn built() -> (TestRange, Ept) {
        let range = TestRange::new();
        let ept = Ept::build(&range.region, CLOSED).expect("build");
        (range, ept)
    }

    #[test]
    fn memory_outside_the_closed_range_is_open_identity_rwx() {
        let (_range, ept) = built();
        for gpa in [
            0,
            0x1234_5678 % CLOSED.start,
            CLOSED.end,
            CLOSED.end + 0x1_2345,
            GUEST_PHYS_TOP - 1,
        ] {
            let m = ept
                .translate(gpa)
                .unwrap_or_else(|| panic!("{gpa:#x} not mapped"));
            assert_eq!(m.hpa, gpa);
            assert!(m.writable && m.executable, "{gpa:#x}");
        }
        assert_eq!(
            ept.translate(CLOSED.start - 1).unwrap().hpa,
            CLOSED.start - 1
        );
    }

    #[test]
    fn the_closed_range_and_beyond_the_top_are_absent() {
        let (_range, ept) = built();
        for gpa in [
            CLOSED.start,
            CLOSED.start + 0x10_0000,
            CLOSED.end - 1,
            GUEST_PHYS_TOP,
        ] {
            assert_eq!(ept.translate(gpa), None, "{gpa:#x}");
        }
    }

    #[test]
    fn the_shared_region_is_open_write_back_memory() {
        let (_range, ept) = built();
        for gpa in [SHARED.start, SHARED.start + 0x1_0000, SHARED.end - 1] {
            let m = ept.translate(gpa).unwrap();
            assert_eq!(m.hpa, gpa);
            assert!(m.writable && m.write_back, "{gpa:#x}");
        }
    }

    #[test]
    fn the_mmio_hole_is_uncached_and_ram_write_back() {
        let (_range, ept) = built();
        assert!(!ept.translate(0xFEE0_0000).unwrap().write_back);
        assert!(ept.translate(0x20_0000).unwrap().write_back);
        assert!(ept.translate(4 << 30).unwrap().write_back);
    }

    #[test]
    fn a_lent_page_shows_alone_and_goes_away() {
        let (_range, mut ept) = built();
        let gpa = CLOSED.start + 0x5123;
        ept.map_4k(gpa, Some(0xABC_D000)).unwrap();
        let m = ept.translate(gpa).unwrap();
        assert_eq!(m.hpa, 0xABC_D123);
        assert!(m.writable && !m.executable);
        assert_eq!(ept.translate(gpa + 0x1000), None, "only that one page");
        ept.map_4k(gpa, None).unwrap();
        assert_eq!(ept.translate(gpa), None);
    }

    #[test]
    fn two_epts_do_not_share_a_lent_page() {
        let range = TestRange::new();
        let mut a = Ept::build(&range.region, CLOSED).unwrap();
        let b = Ept::build(&range.region, CLOSED).unwrap();
        a.map_4k(CLOSED.start, Some(0x5000)).unwrap();
        assert!(a.translate(CLOSED.start).is_some());
        assert_eq!(b.translate(CLOSED.start), None);
    }

    #[test]
    fn a_closed_range_must_be_2m_aligned_and_lending_inside_open_memory_fails() {
        let (range, mut ept) = built();
        assert!(Ept::build(&range.region, 0x1000..0x20_0000).is_err());
        assert!(
            ept.map_4k(0x40_0000, Some(0x5000)).is_err(),
            "a 2 MiB page is there"
        );
    }
}
