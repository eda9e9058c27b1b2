//! Memory calls: `brk` (musl's malloc grows its heap with it first) and anonymous
//! private `mmap`/`munmap` (large blocks). Pages are mapped and zeroed at once; a range
//! the frame allocator cannot fill gives `ENOMEM`.

use super::errno::Errno;
use crate::config::{BRK_END, MMAP_END, MMAP_START, PAGE_SIZE};
use crate::mm::address_space::{Access, RegionKind};
use crate::task::tcb::Task;

const PROT_WRITE: u64 = 2;
const PROT_EXEC: u64 = 4;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;

/// Linux's `brk`: returns the new break, or the old one when the request cannot be
/// met (0, below the start, beyond the limit, out of memory).
pub fn brk(task: &mut Task, requested: u64) -> u64 {
    if requested < task.brk_start || requested > BRK_END {
        return task.brk;
    }
    let new_end = requested.next_multiple_of(PAGE_SIZE);
    let result = match task.space.region(task.brk_start) {
        Some(_) => task.space.resize_region(task.brk_start, new_end),
        None if new_end > task.brk_start => {
            let rw = Access {
                write: true,
                execute: false,
            };
            task.space
                .map_region(task.brk_start, new_end, rw, RegionKind::Break)
        }
        None => Ok(()),
    };
    if result.is_ok() {
        task.brk = requested;
    }
    task.brk
}

/// Anonymous private mappings only, placed by the kernel (no MAP_FIXED).
pub fn mmap(task: &mut Task, len: u64, prot: u64, flags: u64) -> Result<i64, Errno> {
    if flags & MAP_ANONYMOUS == 0
        || flags & MAP_PRIVATE == 0
        || flags & (MAP_SHARED | MAP_FIXED) != 0
    {
        return Err(Errno::Inval);
    }
    if len == 0 || len > MMAP_END - MMAP_START {
        return Err(Errno::Inval);
    }
    let len = len.next_multiple_of(PAGE_SIZE);
    let start = task
        .space
        .find_free(len, MMAP_START, MMAP_END)
        .ok_or(Errno::NoMem)?;
    let access = Access {
        write: prot & PROT_WRITE != 0,
        execute: prot & PROT_EXEC != 0,
    };
    task.space
        .map_region(start, start + len, access, RegionKind::Anonymous)?;
    Ok(start as i64)
}

pub fn munmap(task: &mut Task, addr: u64, len: u64) -> Result<i64, Errno> {
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
        return Err(Errno::Inval);
    }
    let end = addr
        .checked_add(len.next_multiple_of(PAGE_SIZE))
        .ok_or(Errno::Inval)?;
    task.space.unmap_range(addr, end, RegionKind::Anonymous);
    Ok(0)
}
