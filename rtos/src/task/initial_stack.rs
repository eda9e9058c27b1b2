//! The initial stack of a new program, as the System V x86-64 ABI (§3.4.1, "Initial
//! Stack and Register State") and Linux's `execve` lay it out. From the stack pointer
//! up: argc, argv[] and NULL, envp[] and NULL, the auxiliary vector (type, value pairs
//! ending with AT_NULL), then the strings and the 16 random bytes they point to.
//! RSP is 16-byte aligned at argc.
//!
//! musl's start code reads AT_PHDR/AT_PHNUM (to find its TLS segment), AT_PAGESZ and
//! AT_RANDOM (the stack protector's canary); there is no vDSO (no AT_SYSINFO_EHDR), so
//! musl makes real `clock_gettime` calls.

use alloc::vec::Vec;

use crate::config::{PAGE_SIZE, USER_STACK_SIZE, USER_STACK_TOP};
use crate::drivers::tsc;
use crate::mm::address_space::{Access, AddressSpace, RegionKind};
use crate::syscall::errno::Errno;
use rtos::elf_check::ElfPlan;

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_EXECFN: u64 = 31;
const PHDR_SIZE: u64 = 56;

/// Maps the stack and writes argv, envp and auxv on it; returns the initial RSP.
pub fn build(
    space: &mut AddressSpace,
    program: &ElfPlan,
    argv: &[&str],
    envp: &[&str],
) -> Result<u64, Errno> {
    let bottom = USER_STACK_TOP - USER_STACK_SIZE;
    let rw = Access {
        write: true,
        execute: false,
    };
    space.map_region(bottom, USER_STACK_TOP, rw, RegionKind::Stack)?;

    // The strings and the random bytes go at the top.
    let mut top = USER_STACK_TOP;
    let mut push_bytes = |space: &mut AddressSpace, bytes: &[u8]| -> Result<u64, Errno> {
        top -= bytes.len() as u64;
        space.write_bytes(top, bytes)?;
        Ok(top)
    };
    let random = push_bytes(space, &random_bytes())?;
    let mut push_str = |space: &mut AddressSpace, s: &str| -> Result<u64, Errno> {
        push_bytes(space, &[0])?;
        push_bytes(space, s.as_bytes())
    };
    let argv_ptrs: Vec<u64> = argv
        .iter()
        .map(|a| push_str(space, a))
        .collect::<Result<_, _>>()?;
    let envp_ptrs: Vec<u64> = envp
        .iter()
        .map(|e| push_str(space, e))
        .collect::<Result<_, _>>()?;
    let execfn = argv_ptrs.first().copied().unwrap_or(0);

    // ANCHOR: auxv
    let auxv = [
        (AT_PHDR, program.phdr),
        (AT_PHENT, PHDR_SIZE),
        (AT_PHNUM, program.phnum),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_ENTRY, program.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_EXECFN, execfn),
        (AT_NULL, 0),
    ];
    // ANCHOR_END: auxv
    let mut words: Vec<u64> = Vec::new();
    words.push(argv.len() as u64);
    words.extend(&argv_ptrs);
    words.push(0);
    words.extend(&envp_ptrs);
    words.push(0);
    for (key, value) in auxv {
        words.extend([key, value]);
    }
    let rsp = (top - words.len() as u64 * 8) & !0xF;
    if rsp < bottom + PAGE_SIZE {
        return Err(Errno::TooBig);
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    space.write_bytes(rsp, &bytes)?;
    Ok(rsp)
}

/// AT_RANDOM's 16 bytes: from RDRAND when the CPU has it, else mixed from the TSC.
/// (A canary, not a key: unpredictable enough for that.)
fn random_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        let word = x86_64::instructions::random::RdRand::new()
            .and_then(|r| r.get_u64())
            .unwrap_or_else(|| {
                tsc::now()
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(29)
            });
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}
