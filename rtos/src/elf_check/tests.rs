//! Every check of `check_elf`, each on a valid minimal executable with one field broken.

use alloc::vec::Vec;

use super::{check_elf, ElfPlan};

const ENTRY: u64 = 0x40_1000;
const FILE_LEN: usize = 0x1010;

fn put(file: &mut [u8], at: usize, bytes: &[u8]) {
    file[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A program header: type, flags, offset, vaddr, filesz, memsz, align.
fn put_phdr(file: &mut [u8], index: usize, f: [u64; 7]) {
    let at = 64 + 56 * index;
    put(file, at, &(f[0] as u32).to_le_bytes());
    put(file, at + 4, &(f[1] as u32).to_le_bytes());
    for (i, v) in [f[2], f[3], f[3], f[4], f[5], f[6]].iter().enumerate() {
        put(file, at + 8 + 8 * i, &v.to_le_bytes()); // offset, vaddr, paddr, filesz, memsz, align
    }
}

/// A static x86-64 executable: one R+X PT_LOAD of the whole file at 0x400000, entry
/// 0x401000, the program headers right after the ELF header.
fn minimal() -> Vec<u8> {
    let mut f = alloc::vec![0u8; FILE_LEN];
    put(&mut f, 0, &[0x7F, b'E', b'L', b'F', 2, 1, 1, 0]);
    put(&mut f, 16, &2u16.to_le_bytes()); // e_type ET_EXEC
    put(&mut f, 18, &62u16.to_le_bytes()); // e_machine EM_X86_64
    put(&mut f, 20, &1u32.to_le_bytes()); // e_version
    put(&mut f, 24, &ENTRY.to_le_bytes());
    put(&mut f, 32, &64u64.to_le_bytes()); // e_phoff
    put(&mut f, 52, &64u16.to_le_bytes()); // e_ehsize
    put(&mut f, 54, &56u16.to_le_bytes()); // e_phentsize
    put(&mut f, 56, &1u16.to_le_bytes()); // e_phnum
    put(&mut f, 58, &64u16.to_le_bytes()); // e_shentsize
    put_phdr(
        &mut f,
        0,
        [1, 5, 0, 0x40_0000, FILE_LEN as u64, FILE_LEN as u64, 0x1000],
    );
    f
}

/// The message `check_elf` refuses `file` with.
fn refused(file: &[u8]) -> &'static str {
    match check_elf(file) {
        Ok(_) => panic!("accepted a broken file"),
        Err(e) => e.0,
    }
}

fn broken(at: usize, bytes: &[u8]) -> &'static str {
    let mut f = minimal();
    put(&mut f, at, bytes);
    refused(&f)
}

fn broken_load(fields: [u64; 7]) -> &'static str {
    let mut f = minimal();
    put_phdr(&mut f, 0, fields);
    refused(&f)
}

#[test]
fn a_valid_executable_gives_its_plan() {
    let (_, plan) = check_elf(&minimal()).unwrap();
    assert_eq!(
        plan,
        ElfPlan {
            entry: ENTRY,
            phdr: 0x40_0040,
            phnum: 1,
            end: 0x40_2000
        }
    );
}

#[test]
fn identification_bytes_are_checked() {
    assert!(check_elf(&minimal()[..63]).is_err());
    assert!(check_elf(&[0u8; FILE_LEN]).is_err()); // no magic
    assert!(broken(5, &[2]).contains("little-endian"));
    assert!(broken(6, &[0]).contains("EI_VERSION"));
    assert!(broken(7, &[9]).contains("EI_OSABI"));
    assert!(check_elf(&{
        let mut f = minimal();
        put(&mut f, 4, &[1]); // a 32-bit file
        f
    })
    .is_err());
}

#[test]
fn header_fields_are_checked() {
    assert!(broken(16, &3u16.to_le_bytes()).contains("ET_DYN"));
    assert!(broken(16, &1u16.to_le_bytes()).contains("not an executable"));
    assert!(broken(18, &3u16.to_le_bytes()).contains("e_machine"));
    assert!(broken(20, &0u32.to_le_bytes()).contains("e_version"));
    assert!(broken(48, &1u32.to_le_bytes()).contains("e_flags"));
    assert!(broken(54, &32u16.to_le_bytes()).contains("e_phentsize"));
    assert!(broken(56, &0u16.to_le_bytes()).contains("e_phnum"));
    assert!(broken(56, &65u16.to_le_bytes()).contains("e_phnum"));
    assert!(check_elf(&{
        let mut f = minimal();
        put(&mut f, 52, &60u16.to_le_bytes()); // e_ehsize
        f
    })
    .is_err());
    assert!(check_elf(&{
        let mut f = minimal();
        put(&mut f, 32, &(FILE_LEN as u64).to_le_bytes()); // e_phoff at the end
        f
    })
    .is_err());
}

#[test]
fn section_header_fields_are_checked() {
    let with_sections = |shoff: u64, shentsize: u16, shstrndx: u16| {
        let mut f = minimal();
        put(&mut f, 40, &shoff.to_le_bytes());
        put(&mut f, 58, &shentsize.to_le_bytes());
        put(&mut f, 60, &1u16.to_le_bytes()); // e_shnum
        put(&mut f, 62, &shstrndx.to_le_bytes());
        check_elf(&f).map(|_| ()).map_err(|e| e.0)
    };
    assert_eq!(with_sections(0x200, 64, 0), Ok(()));
    assert!(with_sections(0x200, 40, 0).is_err());
    assert!(with_sections(FILE_LEN as u64, 64, 0).is_err());
    assert!(with_sections(0x200, 64, 1)
        .unwrap_err()
        .contains("e_shstrndx"));
}

#[test]
fn load_segments_are_checked() {
    let len = FILE_LEN as u64;
    assert!(broken_load([1, 5, 0, 0x40_0000, len + 1, len + 1, 0x1000]).contains("beyond the file"));
    assert!(broken_load([1, 5, 0, 0x40_0000, len, len - 1, 0x1000]).contains("p_filesz"));
    assert!(broken_load([1, 5, 0, 0x40_0000, 0, 0, 0x1000]).contains("empty"));
    assert!(broken_load([1, 5, 0, 0x40_0000, len, len, 3]).contains("power of two"));
    assert!(broken_load([1, 5, 0, 0x40_0010, len, len, 0x1000]).contains("modulo"));
    assert!(broken_load([1, 5, 0, 0x4000_0000, len, len, 0x1000]).contains("user window"));
    assert!(broken_load([1, 5, 0, 0x10_0000, len, len, 0x1000]).contains("user window"));
    assert!(broken_load([1, 5, 0, u64::MAX - 0xFFF, len, len, 0x1000]).contains("wraps"));
}

#[test]
fn entry_and_program_headers_must_be_loaded() {
    assert!(broken_load([1, 4, 0, 0x40_0000, 0x1010, 0x1010, 0x1000]).contains("e_entry")); // not X
    assert!(broken(24, &0x40_3000u64.to_le_bytes()).contains("e_entry"));
    assert!(broken_load([1, 5, 0x1000, 0x40_1000, 0x10, 0x10, 0x1000]).contains("AT_PHDR"));
}

#[test]
fn dynamic_executables_are_refused() {
    for (kind, why) in [(3, "PT_INTERP"), (2, "PT_DYNAMIC")] {
        let mut f = minimal();
        put(&mut f, 56, &2u16.to_le_bytes());
        put_phdr(&mut f, 1, [kind, 4, 0x200, 0x40_0200, 0x10, 0x10, 1]);
        assert!(refused(&f).contains(why));
    }
}
