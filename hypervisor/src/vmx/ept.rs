//! Extended page tables (SDM Vol. 3C §29.3): the guest-physical → host-physical map.
//! Linux's map is the identity on all memory but the ranges closed to it, which are
//! simply absent, so any Linux access there ends in an EPT-violation VM exit.

use core::arch::asm;
use spin::Mutex;

use crate::layout::Region;
use crate::memory::alloc_frame;

const READ: u64 = 1 << 0;
const WRITE: u64 = 1 << 1;
const EXECUTE: u64 = 1 << 2;
const RWX: u64 = READ | WRITE | EXECUTE;
const LARGE: u64 = 1 << 7;
const MEMTYPE_UC: u64 = 0 << 3;
const MEMTYPE_WB: u64 = 6 << 3;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// How much guest-physical space the EPT covers (RAM and MMIO of the machines we run).
pub const GUEST_PHYS_TOP: u64 = 64 << 30;
const PAGE_2M: u64 = 2 << 20;

pub struct Ept {
    root_phys: u64,
    region: Region,
}

static EPT: Mutex<Option<Ept>> = Mutex::new(None);

impl Ept {
    fn table(&self, phys: u64) -> &'static mut [u64; 512] {
        // SAFETY: every EPT table is a frame of our range, mapped at region.phys_to_virt.
        unsafe { &mut *(self.region.phys_to_virt(phys) as *mut [u64; 512]) }
    }

    /// The entry for `gpa` at `level` (4 = PML4 ... 1 = PT), creating tables on the way.
    fn entry(&mut self, gpa: u64, level: u32) -> Result<&'static mut u64, &'static str> {
        let mut table = self.root_phys;
        for l in (level + 1..=4).rev() {
            let e = &mut self.table(table)[((gpa >> (12 + 9 * (l - 1))) & 0x1FF) as usize];
            if *e & RWX == 0 {
                let (phys, _) = alloc_frame().ok_or("out of frames for the EPT")?;
                *e = phys | RWX;
            } else if *e & LARGE != 0 {
                return Err("a large EPT page is in the way");
            }
            table = *e & ADDR_MASK;
        }
        Ok(&mut self.table(table)[((gpa >> (12 + 9 * (level - 1))) & 0x1FF) as usize])
    }

    /// EPT pointer for the VMCS (SDM Vol. 3C §25.6.11): bits 2:0 the paging structures'
    /// memory type (6 = write-back), bits 5:3 the walk length minus one (4 levels).
    pub fn pointer(&self) -> u64 {
        self.root_phys | 6 | (3 << 3)
    }
}

/// Builds Linux's EPT: identity, 2 MiB pages, without `closed` (2 MiB-aligned).
/// Memory type: write-back, but uncached in 3..4 GiB where the PC's devices live
/// (with EPT, the guest's MTRRs no longer apply).
pub fn build(region: &Region, closed: core::ops::Range<u64>) -> Result<u64, &'static str> {
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
        let memtype = if (3 << 30..4 << 30).contains(&gpa) {
            MEMTYPE_UC
        } else {
            MEMTYPE_WB
        };
        *ept.entry(gpa, 2)? = gpa | RWX | memtype | LARGE;
    }
    let pointer = ept.pointer();
    *EPT.lock() = Some(ept);
    Ok(pointer)
}

/// Maps the 4 KiB guest page `gpa` to host frame `hpa` (read + write), or unmaps it
/// with `hpa = None`. The 2 MiB entry around it must be absent (a closed range).
pub fn set_4k(gpa: u64, hpa: Option<u64>) -> Result<(), &'static str> {
    let mut guard = EPT.lock();
    let ept = guard.as_mut().ok_or("no EPT")?;
    let e = ept.entry(gpa & !0xFFF, 1)?;
    *e = hpa.map_or(0, |h| h | READ | WRITE | MEMTYPE_WB);
    drop(guard);
    invalidate_all();
    Ok(())
}

/// INVEPT, all contexts: drops cached EPT translations on this CPU.
pub fn invalidate_all() {
    let descriptor = [0u64; 2];
    // SAFETY: INVEPT type 2 (all-context) with a valid descriptor, in VMX root mode.
    unsafe {
        asm!("invept {0}, [{1}]", in(reg) 2u64, in(reg) descriptor.as_ptr(), options(nostack))
    };
}
