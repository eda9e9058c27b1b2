//! The checks on a static ELF executable, before anything is mapped: every field the
//! loader relies on, with a message naming the one that is wrong. Pure functions over
//! the file's bytes (`xmas-elf` parses), so the host tests them.
//!
//! Accepted: ET_EXEC, x86-64, little-endian, no interpreter, every PT_LOAD inside the
//! file and inside the user window. Static-PIE (ET_DYN) is refused: `musl-gcc -static`
//! makes ET_EXEC; a static-PIE would need the loader to pick a base and the program to
//! relocate itself.

use core::fmt;

use xmas_elf::header::{Class, Data, Machine, OsAbi, Type, Version};
use xmas_elf::program::{ProgramHeader, Type as SegmentType};
use xmas_elf::ElfFile;

use crate::config::{PAGE_SIZE, USER_END, USER_START};

/// ELF64 header and program-header sizes (System V gABI, ELF-64 Object File Format).
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: u16 = 56;
const SHDR_SIZE: u16 = 64;
const MAX_SEGMENTS: u16 = 64;
/// Offset of `e_flags` in the ELF64 header (no x86-64 flag is defined: it must be 0).
const E_FLAGS_OFFSET: usize = 48;

/// Why a file was refused: the rule it breaks.
#[derive(Debug, PartialEq, Eq)]
pub struct ElfError(pub &'static str);

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "bad ELF: {}", self.0)
    }
}

/// What the loader and the initial stack need from a checked file.
#[derive(Debug, PartialEq, Eq)]
pub struct ElfPlan {
    pub entry: u64,
    /// Where the program headers are in the task's memory (AT_PHDR), and how many.
    pub phdr: u64,
    pub phnum: u64,
    /// The first page after the last segment: where the program break starts.
    pub end: u64,
}

fn check(ok: bool, why: &'static str) -> Result<(), ElfError> {
    if ok {
        Ok(())
    } else {
        Err(ElfError(why))
    }
}

// ANCHOR: check_header
/// Checks the ELF header's fields: each rule with the message that names it, the first
/// broken one refuses the file.
fn check_header(elf: &ElfFile, file_len: u64) -> Result<(), ElfError> {
    let (pt1, pt2) = (&elf.header.pt1, &elf.header.pt2);
    if pt2.type_().as_type() == Type::SharedObject {
        return Err(ElfError(
            "ET_DYN (a static-PIE or shared object): link with `musl-gcc -static -no-pie`",
        ));
    }
    let flags = &elf.input[E_FLAGS_OFFSET..E_FLAGS_OFFSET + 4];
    // A table of `count` entries of `size` bytes at `offset` lies inside the file.
    let inside = |offset: u64, size: u16, count: u16| {
        offset
            .checked_add(size as u64 * count as u64)
            .is_some_and(|end| end <= file_len)
    };
    let sections = pt2.sh_count() > 0;
    let rules = [
        (
            pt1.class() == Class::SixtyFour,
            "not a 64-bit ELF (EI_CLASS)",
        ),
        (
            pt1.data() == Data::LittleEndian,
            "not little-endian (EI_DATA)",
        ),
        (pt1.version() == Version::Current, "EI_VERSION is not 1"),
        (
            matches!(pt1.os_abi(), OsAbi::SystemV | OsAbi::Linux),
            "EI_OSABI is neither System V nor Linux",
        ),
        (
            pt2.type_().as_type() == Type::Executable,
            "not an executable (e_type)",
        ),
        (
            pt2.machine().as_machine() == Machine::X86_64,
            "not x86-64 (e_machine)",
        ),
        (pt2.version() == 1, "e_version is not 1"),
        (
            pt2.header_size() as usize == EHDR_SIZE,
            "e_ehsize is not 64",
        ),
        (flags == [0; 4], "e_flags is not 0"),
        (pt2.ph_entry_size() == PHDR_SIZE, "e_phentsize is not 56"),
        (
            (1..=MAX_SEGMENTS).contains(&pt2.ph_count()),
            "e_phnum is 0 or above 64",
        ),
        (
            inside(pt2.ph_offset(), PHDR_SIZE, pt2.ph_count()),
            "program headers beyond the file (e_phoff)",
        ),
        (
            !sections || pt2.sh_entry_size() == SHDR_SIZE,
            "e_shentsize is not 64",
        ),
        (
            !sections || inside(pt2.sh_offset(), SHDR_SIZE, pt2.sh_count()),
            "section headers beyond the file (e_shoff)",
        ),
        (
            !sections || pt2.sh_str_index() < pt2.sh_count(),
            "e_shstrndx out of range",
        ),
    ];
    match rules.iter().find(|(ok, _)| !ok) {
        Some(&(_, why)) => Err(ElfError(why)),
        None => Ok(()),
    }
}
// ANCHOR_END: check_header

/// Checks one PT_LOAD segment.
fn check_load(ph: &ProgramHeader, file_len: u64) -> Result<(), ElfError> {
    let (vaddr, memsz) = (ph.virtual_addr(), ph.mem_size());
    let file_end = ph.offset().checked_add(ph.file_size());
    check(
        file_end.is_some_and(|e| e <= file_len),
        "a segment's bytes lie beyond the file",
    )?;
    check(
        ph.file_size() <= memsz,
        "a segment's p_filesz exceeds its p_memsz",
    )?;
    check(memsz > 0, "an empty PT_LOAD segment")?;
    let align = ph.align();
    check(
        align <= 1 || align.is_power_of_two(),
        "p_align is not a power of two",
    )?;
    check(
        vaddr % PAGE_SIZE == ph.offset() % PAGE_SIZE,
        "p_vaddr and p_offset disagree modulo the page size",
    )?;
    let end = vaddr
        .checked_add(memsz)
        .ok_or(ElfError("a segment wraps around"))?;
    check(
        vaddr >= USER_START && end <= USER_END,
        "a segment lies outside the user window [2 MiB, 1 GiB)",
    )
}

/// Checks every header of `bytes`. On success, the parsed file (its PT_LOAD segments
/// are safe to map as they are) and the plan.
pub fn check_elf(bytes: &[u8]) -> Result<(ElfFile<'_>, ElfPlan), ElfError> {
    check(bytes.len() >= EHDR_SIZE, "shorter than an ELF header")?;
    let elf = ElfFile::new(bytes).map_err(ElfError)?;
    let file_len = bytes.len() as u64;
    check_header(&elf, file_len)?;
    let pt2 = &elf.header.pt2;
    let (entry, ph_offset) = (pt2.entry_point(), pt2.ph_offset());
    let ph_size = PHDR_SIZE as u64 * pt2.ph_count() as u64;
    let (mut loads, mut entry_ok, mut phdr_found, mut phdr_loaded, mut end) =
        (0, false, None, false, 0);
    for ph in elf.program_iter() {
        match ph.get_type() {
            Ok(SegmentType::Load) => {
                check_load(&ph, file_len)?;
                loads += 1;
                let (vaddr, memsz) = (ph.virtual_addr(), ph.mem_size());
                entry_ok |= ph.flags().is_execute() && (vaddr..vaddr + memsz).contains(&entry);
                if (ph.offset()..ph.offset() + ph.file_size()).contains(&ph_offset) {
                    phdr_found = phdr_found.or(Some(vaddr + (ph_offset - ph.offset())));
                }
                end = end.max(vaddr + memsz);
            }
            Ok(SegmentType::Interp) => return Err(ElfError("dynamically linked (PT_INTERP)")),
            Ok(SegmentType::Dynamic) => return Err(ElfError("needs relocation (PT_DYNAMIC)")),
            Ok(SegmentType::Phdr) => phdr_found = Some(ph.virtual_addr()),
            Ok(_) => {}
            Err(why) => return Err(ElfError(why)),
        }
    }
    check(loads > 0, "no PT_LOAD segment")?;
    check(entry_ok, "e_entry is not inside an executable segment")?;
    let phdr = phdr_found.ok_or(ElfError(
        "the program headers are not in a loaded segment (AT_PHDR)",
    ))?;
    for ph in elf
        .program_iter()
        .filter(|ph| ph.get_type() == Ok(SegmentType::Load))
    {
        let (vaddr, memsz) = (ph.virtual_addr(), ph.mem_size());
        phdr_loaded |= phdr >= vaddr && phdr.saturating_add(ph_size) <= vaddr + memsz;
    }
    check(
        phdr_loaded,
        "the program headers are not in a loaded segment (AT_PHDR)",
    )?;
    let plan = ElfPlan {
        entry,
        phdr,
        phnum: pt2.ph_count() as u64,
        end: end.next_multiple_of(PAGE_SIZE),
    };
    Ok((elf, plan))
}

#[cfg(test)]
mod tests;
