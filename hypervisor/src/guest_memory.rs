//! Reading and writing the guest's memory at a guest-virtual address, for hypercalls
//! that take a buffer. The guest's page tables are walked by hand (SDM Vol. 3A §4.5);
//! every step is checked, so a bad address gives an error, never a fault in the host.

use core::ops::Range;

use crate::layout::{closed_to_linux, Region, IDENTITY_MAPPED_TOP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAddress(pub u64);

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Guest-physical memory as the host may touch it: `[0, top)` at host address
/// `host_base + gpa`, except `closed` (a guest must not use a hypercall to reach
/// memory its EPT closes).
#[derive(Debug, Clone)]
pub struct GuestPhysMemory {
    host_base: u64,
    top: u64,
    closed: Range<u64>,
}

impl GuestPhysMemory {
    /// Linux's memory as the hypervisor sees it: identity-mapped below
    /// [`IDENTITY_MAPPED_TOP`] by the host page table, without the closed ranges.
    pub fn of_linux(region: &Region) -> Self {
        GuestPhysMemory {
            host_base: 0,
            top: IDENTITY_MAPPED_TOP,
            closed: closed_to_linux(region),
        }
    }

    /// Guest memory held in a host buffer (the unit tests' synthetic machines).
    #[cfg(test)]
    pub fn in_buffer(buffer: &mut [u8], closed: Range<u64>) -> Self {
        GuestPhysMemory {
            host_base: buffer.as_mut_ptr() as u64,
            top: buffer.len() as u64,
            closed,
        }
    }

    /// The host address of `len` bytes at `gpa`, if all of them may be touched.
    fn host_ptr(&self, gpa: u64, len: u64) -> Result<u64, BadAddress> {
        let end = gpa.checked_add(len).ok_or(BadAddress(gpa))?;
        if end > self.top || (gpa < self.closed.end && end > self.closed.start) {
            return Err(BadAddress(gpa));
        }
        Ok(self.host_base + gpa)
    }

    /// Translates `gva` through the guest's page tables rooted at `cr3`; `write`
    /// requires every level to allow writes.
    pub fn translate(&self, cr3: u64, gva: u64, write: bool) -> Result<u64, BadAddress> {
        let mut table = cr3 & ADDR_MASK;
        for level in (1..=4).rev() {
            let index = (gva >> (12 + 9 * (level - 1))) & 0x1FF;
            let entry_addr = self.host_ptr(table + index * 8, 8)?;
            // SAFETY: checked by host_ptr: mapped guest memory the host may read.
            let entry = unsafe { (entry_addr as *const u64).read_volatile() };
            if entry & PRESENT == 0 || (write && entry & WRITABLE == 0) {
                return Err(BadAddress(gva));
            }
            if level == 1 || (level <= 3 && entry & HUGE != 0) {
                let page_size = 1u64 << (12 + 9 * (level - 1));
                return Ok((entry & ADDR_MASK & !(page_size - 1)) | (gva & (page_size - 1)));
            }
            table = entry & ADDR_MASK;
        }
        unreachable!("level 1 always returns")
    }

    /// Copies `data` to guest-virtual `gva` (page tables at `cr3`), page by page. Every
    /// page is checked before the first byte is written: a buffer that is bad anywhere
    /// is left untouched.
    pub fn write(&self, cr3: u64, gva: u64, data: &[u8]) -> Result<(), BadAddress> {
        self.for_each_chunk(cr3, gva, data.len(), |_, _| {})?;
        self.for_each_chunk(cr3, gva, data.len(), |dst, range| {
            // SAFETY: checked by for_each_chunk: mapped, open guest memory.
            unsafe {
                core::ptr::copy_nonoverlapping(data[range.clone()].as_ptr(), dst, range.len())
            };
        })
    }

    /// Calls `f(host pointer, range of the buffer)` for each page-sized piece of `len`
    /// bytes at `gva`, after checking that piece.
    fn for_each_chunk(
        &self,
        cr3: u64,
        gva: u64,
        len: usize,
        mut f: impl FnMut(*mut u8, Range<usize>),
    ) -> Result<(), BadAddress> {
        let mut done = 0usize;
        while done < len {
            let addr = gva.checked_add(done as u64).ok_or(BadAddress(gva))?;
            let chunk = ((4096 - (addr & 0xFFF)) as usize).min(len - done);
            let gpa = self.translate(cr3, addr, true)?;
            let dst = self.host_ptr(gpa, chunk as u64)?;
            f(dst as *mut u8, done..done + chunk);
            done += chunk;
        }
        Ok(())
    }

    /// Copies guest-virtual `gva` (page tables at `cr3`) into `out`, page by page.
    pub fn read(&self, cr3: u64, gva: u64, out: &mut [u8]) -> Result<(), BadAddress> {
        let mut done = 0usize;
        while done < out.len() {
            let addr = gva.checked_add(done as u64).ok_or(BadAddress(gva))?;
            let chunk = ((4096 - (addr & 0xFFF)) as usize).min(out.len() - done);
            let gpa = self.translate(cr3, addr, false)?;
            let src = self.host_ptr(gpa, chunk as u64)?;
            // SAFETY: checked above: mapped, open guest memory.
            unsafe {
                core::ptr::copy_nonoverlapping(src as *const u8, out[done..].as_mut_ptr(), chunk)
            };
            done += chunk;
        }
        Ok(())
    }
}

/// A synthetic guest for the unit tests: physical memory in a host buffer and
/// 4-level page tables built in it.
#[cfg(test)]
pub(crate) mod synthetic {
    use super::*;

    pub const MEMORY: usize = 64 << 20;
    pub const CR3: u64 = 0x1000;
    /// Guest-physical memory closed to the guest, inside the buffer.
    pub const CLOSED: Range<u64> = 0x200_0000..0x240_0000;

    pub struct Guest {
        pub memory: Vec<u8>,
        next_table: u64,
    }

    impl Guest {
        pub fn new() -> Guest {
            Guest {
                memory: vec![0; MEMORY],
                next_table: CR3 + 0x1000,
            }
        }

        pub fn phys(&mut self) -> GuestPhysMemory {
            GuestPhysMemory::in_buffer(&mut self.memory, CLOSED)
        }

        fn word(&mut self, gpa: u64) -> &mut u64 {
            let bytes = &mut self.memory[gpa as usize..gpa as usize + 8];
            // SAFETY: 8 bytes of the buffer, aligned by construction (tables are pages).
            unsafe { &mut *(bytes.as_mut_ptr() as *mut u64) }
        }

        /// Maps `gva` to `gpa` with a page at `level` (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB)
        /// and `flags` on the leaf; upper levels are present and writable.
        pub fn map(&mut self, gva: u64, gpa: u64, level: u32, flags: u64) {
            let mut table = CR3;
            for l in (level + 1..=4).rev() {
                let slot = table + ((gva >> (12 + 9 * (l - 1))) & 0x1FF) * 8;
                if *self.word(slot) & PRESENT == 0 {
                    let t = self.next_table;
                    self.next_table += 0x1000;
                    *self.word(slot) = t | PRESENT | WRITABLE;
                }
                table = *self.word(slot) & ADDR_MASK;
            }
            let slot = table + ((gva >> (12 + 9 * (level - 1))) & 0x1FF) * 8;
            let huge = if level > 1 { HUGE } else { 0 };
            *self.word(slot) = gpa | flags | huge;
        }

        /// Clears the write bit of the entry at `level` on `gva`'s path.
        pub fn write_protect(&mut self, gva: u64, level: u32) {
            let mut table = CR3;
            for l in (level..=4).rev() {
                let slot = table + ((gva >> (12 + 9 * (l - 1))) & 0x1FF) * 8;
                if l == level {
                    *self.word(slot) &= !WRITABLE;
                }
                table = *self.word(slot) & ADDR_MASK;
            }
        }
    }

    pub const RW: u64 = PRESENT | WRITABLE;
    pub const RO: u64 = PRESENT;
}

#[cfg(test)]
mod tests {
    use super::synthetic::*;
    use super::*;

    #[test]
    fn a_4k_page_translates_with_its_offset() {
        let mut g = Guest::new();
        g.map(0x7000_1000, 0x30_0000, 1, RW);
        let m = g.phys();
        assert_eq!(m.translate(CR3, 0x7000_1234, false), Ok(0x30_0234));
        assert_eq!(
            m.translate(CR3, 0x7000_2000, false),
            Err(BadAddress(0x7000_2000))
        );
    }

    #[test]
    fn huge_pages_2m_and_1g_keep_the_low_bits() {
        let mut g = Guest::new();
        g.map(0x4000_0000, 0x60_0000, 2, RW);
        g.map(0x80_0000_0000, 0x4000_0000, 3, RW);
        let m = g.phys();
        assert_eq!(m.translate(CR3, 0x4012_3456, true), Ok(0x72_3456));
        assert_eq!(m.translate(CR3, 0x80_3456_789A, false), Ok(0x7456_789A));
    }

    #[test]
    fn not_present_fails_at_every_level() {
        let mut g = Guest::new();
        g.map(0x7000_0000, 0x30_0000, 1, 0); // leaf not present
        let m = g.phys();
        for gva in [
            0x7000_0000,
            0x7020_0000,
            0x1_0000_0000,
            0xFFFF_8000_0000_0000,
        ] {
            assert_eq!(
                m.translate(CR3, gva, false),
                Err(BadAddress(gva)),
                "{gva:#x}"
            );
        }
    }

    #[test]
    fn read_only_at_any_level_refuses_writes_only() {
        let mut g = Guest::new();
        g.map(0x7000_0000, 0x30_0000, 1, RO);
        g.map(0x9000_0000, 0x40_0000, 1, RW);
        g.write_protect(0x9000_0000, 3); // the PDPT entry on the way
        let m = g.phys();
        assert_eq!(m.translate(CR3, 0x7000_0010, false), Ok(0x30_0010));
        assert!(m.translate(CR3, 0x7000_0010, true).is_err());
        assert!(m.translate(CR3, 0x9000_0000, true).is_err());
        assert_eq!(
            m.write(CR3, 0x7000_0000, &[1]),
            Err(BadAddress(0x7000_0000))
        );
    }

    #[test]
    fn closed_memory_is_refused_as_target_and_as_page_table() {
        let mut g = Guest::new();
        g.map(0x7000_0000, CLOSED.start + 0x1000, 1, RW);
        // A page directory placed in closed memory (for 3..4 GiB): the walk must not
        // read it.
        let pdpt = u64::from_le_bytes(g.memory[CR3 as usize..][..8].try_into().unwrap());
        let pdpt_slot = (pdpt & ADDR_MASK) + 3 * 8;
        let table_in_closed = CLOSED.start + 0x8000;
        g.memory[pdpt_slot as usize..][..8].copy_from_slice(&(table_in_closed | RW).to_le_bytes());
        let m = g.phys();
        assert_eq!(
            m.translate(CR3, 0x7000_0000, true),
            Ok(CLOSED.start + 0x1000)
        );
        assert!(
            m.write(CR3, 0x7000_0000, &[1, 2, 3]).is_err(),
            "target closed"
        );
        let gva = 0xC000_0000;
        assert_eq!(
            m.translate(CR3, gva, false),
            Err(BadAddress(table_in_closed))
        );
        assert!(g.memory[CLOSED.start as usize..CLOSED.end as usize]
            .iter()
            .all(|&b| b == 0));
    }

    #[test]
    fn memory_past_the_top_is_refused() {
        let mut g = Guest::new();
        g.map(0x7000_0000, MEMORY as u64 - 0x1000, 1, RW);
        let m = g.phys();
        assert!(m.write(CR3, 0x7000_0FF8, &[0; 8]).is_ok());
        assert!(
            m.write(CR3, 0x7000_0FF8, &[0; 16]).is_err(),
            "the next page is unmapped"
        );
        g.map(0x7100_0000, MEMORY as u64, 1, RW);
        let m = g.phys();
        assert!(
            m.write(CR3, 0x7100_0000, &[1]).is_err(),
            "beyond guest memory"
        );
    }

    #[test]
    fn a_buffer_bad_in_its_second_page_is_not_written_at_all() {
        let mut g = Guest::new();
        g.map(0x7000_0000, 0x30_0000, 1, RW);
        g.map(0x7000_1000, 0x50_0000, 1, RO);
        let m = g.phys();
        assert_eq!(
            m.write(CR3, 0x7000_0FFE, &[1, 2, 3, 4]),
            Err(BadAddress(0x7000_1000))
        );
        assert_eq!(
            &g.memory[0x30_0FFE..0x30_1000],
            &[0, 0],
            "first page untouched"
        );
    }

    #[test]
    fn a_write_crossing_pages_lands_in_both_frames() {
        let mut g = Guest::new();
        g.map(0x7000_0000, 0x30_0000, 1, RW);
        g.map(0x7000_1000, 0x50_0000, 1, RW);
        let m = g.phys();
        m.write(CR3, 0x7000_0FFE, &[1, 2, 3, 4]).unwrap();
        assert_eq!(&g.memory[0x30_0FFE..0x30_1000], &[1, 2]);
        assert_eq!(&g.memory[0x50_0000..0x50_0002], &[3, 4]);
    }
}
