//! A task's address space: its own top-level table, the kernel's mappings linked in
//! (supervisor-only), and user pages of 4 KiB in [USER_START, USER_END), all mapped up
//! front (no demand paging: a real-time task never takes a fault to get memory).
//!
//! Next to the page tables, a list of regions says what is mapped where; system calls
//! check user pointers against it ([`AddressSpace::check`]).
//!
//! Layout (all user memory in the first GiB, so one page directory holds it all):
//! `PML4[0] -> PDPT[0] -> directory -> page tables`; `PDPT[apic]` is the kernel's APIC
//! directory and `PML4[511]` the kernel's high PDPT (mm/kernel_space.rs).

pub use rtos::regions::RegionKind;
use rtos::regions::{Region, Regions};
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::PageTableFlags as Flags;
use x86_64::PhysAddr;

use super::kernel_space::{self, table};
use super::{frame, phys_to_virt};
use crate::config::{PAGE_SIZE, USER_END, USER_START};
use crate::syscall::errno::Errno;

/// Access rights of a new mapping.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub write: bool,
    pub execute: bool,
}

pub struct AddressSpace {
    pml4: PhysAddr,
    pdpt: PhysAddr,
    directory: PhysAddr,
    /// What is mapped where, for the checks on user pointers.
    regions: Regions,
}

const USER_TABLE: Flags = Flags::PRESENT
    .union(Flags::WRITABLE)
    .union(Flags::USER_ACCESSIBLE);

fn page_index(va: u64, level_shift: u32) -> usize {
    ((va >> level_shift) & 511) as usize
}

impl AddressSpace {
    /// A space with the kernel's mappings and no user memory; `ENOMEM` without frames.
    pub fn new() -> Result<Self, Errno> {
        let mut tables = [PhysAddr::zero(); 3];
        for (i, slot) in tables.iter_mut().enumerate() {
            match frame::alloc() {
                Some(f) => *slot = f,
                None => {
                    tables[..i].iter().for_each(|&f| frame::free(f));
                    return Err(Errno::NoMem);
                }
            }
        }
        let [pml4, pdpt, directory] = tables;
        table(pdpt)[0].set_addr(directory, USER_TABLE);
        table(pml4)[0].set_addr(pdpt, USER_TABLE);
        kernel_space::link_into(pml4, pdpt);
        Ok(AddressSpace {
            pml4,
            pdpt,
            directory,
            regions: Regions::default(),
        })
    }

    pub fn activate(&self) {
        kernel_space::activate(self.pml4);
    }

    /// The page-table entry of user page `va`, creating its page table if `create`.
    fn entry(
        &mut self,
        va: u64,
        create: bool,
    ) -> Result<Option<&'static mut PageTableEntry>, Errno> {
        debug_assert!((USER_START..USER_END).contains(&va));
        let pde = &mut table(self.directory)[page_index(va, 21)];
        if pde.is_unused() {
            if !create {
                return Ok(None);
            }
            pde.set_addr(frame::alloc().ok_or(Errno::NoMem)?, USER_TABLE);
        }
        Ok(Some(&mut table(pde.addr())[page_index(va, 12)]))
    }

    /// Maps a fresh zeroed frame at user page `va`, or keeps the one there (two ELF
    /// segments may share a page) and widens its rights. Returns the frame.
    pub fn map_page(&mut self, va: u64, access: Access) -> Result<PhysAddr, Errno> {
        let pte = self.entry(va, true)?.expect("created");
        let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE;
        if access.write {
            flags |= Flags::WRITABLE;
        }
        if pte.is_unused() {
            if !access.execute {
                flags |= Flags::NO_EXECUTE;
            }
            pte.set_addr(frame::alloc().ok_or(Errno::NoMem)?, flags);
        } else {
            let mut merged = pte.flags() | flags;
            if access.execute {
                merged.remove(Flags::NO_EXECUTE);
            }
            pte.set_flags(merged);
        }
        Ok(pte.addr())
    }

    /// Maps [start, end) (page-aligned, inside the user window) as one region; on
    /// `ENOMEM` nothing stays mapped.
    pub fn map_region(
        &mut self,
        start: u64,
        end: u64,
        access: Access,
        kind: RegionKind,
    ) -> Result<(), Errno> {
        let aligned = start.is_multiple_of(PAGE_SIZE) && end.is_multiple_of(PAGE_SIZE);
        if !aligned
            || start >= end
            || start < USER_START
            || end > USER_END
            || !self.regions.is_free(start, end)
        {
            return Err(Errno::Inval);
        }
        self.map_pages(start, end, access)?;
        self.record_region(start, end, access.write, kind);
        Ok(())
    }

    /// Maps fresh pages at [start, end); on `ENOMEM` unmaps what it mapped.
    fn map_pages(&mut self, start: u64, end: u64, access: Access) -> Result<(), Errno> {
        for va in (start..end).step_by(PAGE_SIZE as usize) {
            if let Err(e) = self.map_page(va, access) {
                self.unmap_pages(start, va);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Records [start, end) as a region whose pages the caller mapped itself (the ELF
    /// loader, page by page).
    pub fn record_region(&mut self, start: u64, end: u64, writable: bool, kind: RegionKind) {
        self.regions.insert(
            start,
            Region {
                end,
                writable,
                kind,
            },
        );
    }

    /// Unmaps the pages of [start, end) and frees their frames (regions unchanged).
    fn unmap_pages(&mut self, start: u64, end: u64) {
        for va in (start..end).step_by(PAGE_SIZE as usize) {
            if let Ok(Some(pte)) = self.entry(va, false) {
                if !pte.is_unused() {
                    frame::free(pte.addr());
                    pte.set_unused();
                }
            }
        }
        x86_64::instructions::tlb::flush_all();
    }

    /// Unmaps [start, end) from every region of `kind` it overlaps (`munmap`).
    pub fn unmap_range(&mut self, start: u64, end: u64, kind: RegionKind) {
        for (cut_start, cut_end) in self.regions.cut(start, end, kind) {
            self.unmap_pages(cut_start, cut_end);
        }
    }

    /// Grows or shrinks the region that starts at `start` to end at `new_end` (`brk`).
    pub fn resize_region(&mut self, start: u64, new_end: u64) -> Result<(), Errno> {
        let region = self.regions.get(start).ok_or(Errno::Inval)?;
        if new_end < region.end {
            self.unmap_pages(new_end.max(start), region.end);
        } else if new_end > region.end {
            if new_end > USER_END || !self.regions.is_free(region.end, new_end) {
                return Err(Errno::NoMem);
            }
            self.map_pages(
                region.end,
                new_end,
                Access {
                    write: region.writable,
                    execute: false,
                },
            )?;
        }
        self.regions.set_end(start, new_end);
        Ok(())
    }

    /// The lowest free, page-aligned range of `len` bytes in [from, to).
    pub fn find_free(&self, len: u64, from: u64, to: u64) -> Option<u64> {
        self.regions.find_free(len, from, to)
    }

    /// Whether [start, end) is not mapped.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.regions.is_free(start, end)
    }

    /// Whether every byte of [addr, addr + len) is mapped user memory, writable if
    /// `write` (see [`Regions::check`]).
    pub fn check(&self, addr: u64, len: u64, write: bool) -> bool {
        self.regions.check(addr, len, write)
    }

    /// The region that starts at `start`, if any.
    pub fn region(&self, start: u64) -> Option<Region> {
        self.regions.get(start)
    }

    /// The frame behind user address `va`, if mapped.
    fn translate(&mut self, va: u64) -> Option<PhysAddr> {
        if !(USER_START..USER_END).contains(&va) {
            return None;
        }
        match self.entry(va, false) {
            Ok(Some(pte)) if !pte.is_unused() => Some(pte.addr() + (va % PAGE_SIZE)),
            _ => None,
        }
    }

    /// Copies `bytes` to user address `va` of this space (active or not), through the
    /// kernel's high map of the frames. For the loader and the initial stack.
    pub fn write_bytes(&mut self, mut va: u64, mut bytes: &[u8]) -> Result<(), Errno> {
        while !bytes.is_empty() {
            let phys = self.translate(va).ok_or(Errno::Fault)?;
            let n = bytes.len().min((PAGE_SIZE - va % PAGE_SIZE) as usize);
            // SAFETY: `phys` is a frame of this space, mapped high, `n` bytes to
            // its page's end at most.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), phys_to_virt(phys), n) };
            va += n as u64;
            bytes = &bytes[n..];
        }
        Ok(())
    }
}

impl Drop for AddressSpace {
    /// Frees every user frame, the page tables, and the three top tables. The caller
    /// has switched to another address space first.
    fn drop(&mut self) {
        let directory = table(self.directory);
        for pde in directory.iter_mut() {
            if pde.is_unused() {
                continue;
            }
            for pte in table(pde.addr()).iter() {
                if !pte.is_unused() {
                    frame::free(pte.addr());
                }
            }
            frame::free(pde.addr());
        }
        for t in [self.directory, self.pdpt, self.pml4] {
            frame::free(t);
        }
    }
}
