//! Loads a checked static ELF executable ([`rtos::elf_check`]) into a fresh address
//! space: maps its PT_LOAD segments with their rights and copies their bytes.

use core::fmt;

use rtos::elf_check::{check_elf, ElfError, ElfPlan};
use xmas_elf::program::{ProgramHeader, Type as SegmentType};

use crate::config::PAGE_SIZE;
use crate::mm::address_space::{Access, AddressSpace, RegionKind};
use crate::syscall::errno::Errno;

/// Why a program was refused.
#[derive(Debug)]
pub enum LoadError {
    /// The file breaks a rule of the format, or one of ours.
    Invalid(ElfError),
    /// No frames left to map it.
    OutOfMemory,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            LoadError::Invalid(why) => write!(f, "{why}"),
            LoadError::OutOfMemory => write!(f, "out of memory"),
        }
    }
}

impl From<Errno> for LoadError {
    fn from(_: Errno) -> Self {
        LoadError::OutOfMemory
    }
}

/// Checks `bytes`; on success, maps and fills its segments in `space`.
pub fn load(bytes: &[u8], space: &mut AddressSpace) -> Result<ElfPlan, LoadError> {
    let (elf, plan) = check_elf(bytes).map_err(LoadError::Invalid)?;
    for ph in elf
        .program_iter()
        .filter(|ph| ph.get_type() == Ok(SegmentType::Load))
    {
        map_segment(&ph, bytes, space)?;
    }
    Ok(plan)
}

/// Maps one checked PT_LOAD segment and copies its file bytes (the rest stays zero).
fn map_segment(
    ph: &ProgramHeader,
    bytes: &[u8],
    space: &mut AddressSpace,
) -> Result<(), LoadError> {
    let flags = ph.flags();
    let access = Access {
        write: flags.is_write(),
        execute: flags.is_execute(),
    };
    let start = ph.virtual_addr() & !(PAGE_SIZE - 1);
    let end = (ph.virtual_addr() + ph.mem_size()).next_multiple_of(PAGE_SIZE);
    // Two segments may share a page: map page by page (the page keeps both rights),
    // and record the region only from where the previous one ends.
    for va in (start..end).step_by(PAGE_SIZE as usize) {
        space.map_page(va, access)?;
    }
    let region_start = (start..end)
        .step_by(PAGE_SIZE as usize)
        .find(|&va| space.is_free(va, va + PAGE_SIZE));
    if let Some(region_start) = region_start {
        space.record_region(region_start, end, access.write, RegionKind::Program);
    }
    let file = &bytes[ph.offset() as usize..(ph.offset() + ph.file_size()) as usize];
    space.write_bytes(ph.virtual_addr(), file)?;
    Ok(())
}
