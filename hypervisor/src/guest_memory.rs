//! Reading and writing the guest's memory at a guest-virtual address, for hypercalls
//! that take a buffer. The guest's page tables are walked by hand (SDM Vol. 3A §4.5);
//! every step is checked, so a bad address gives an error, never a fault in the host.

use x86::vmx::vmcs::guest;

use crate::layout::{closed_to_linux, IDENTITY_MAPPED_TOP};
use crate::percpu::PerCpu;
use crate::vmx::vmcs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAddress(pub u64);

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// A guest-physical address the host may touch: below the identity-mapped top and
/// outside the memory closed to Linux (a guest must not use a hypercall to reach it).
fn host_ptr(cpu: &PerCpu, gpa: u64, len: u64) -> Result<u64, BadAddress> {
    let closed = closed_to_linux(&cpu.region);
    let end = gpa.checked_add(len).ok_or(BadAddress(gpa))?;
    if end > IDENTITY_MAPPED_TOP || (gpa < closed.end && end > closed.start) {
        return Err(BadAddress(gpa));
    }
    Ok(gpa) // identity-mapped in the host page table
}

/// Translates `gva` through the guest's page tables; `write` requires writable pages.
pub fn translate(cpu: &PerCpu, gva: u64, write: bool) -> Result<u64, BadAddress> {
    let mut table = vmcs::read(guest::CR3) & ADDR_MASK;
    for level in (1..=4).rev() {
        let index = (gva >> (12 + 9 * (level - 1))) & 0x1FF;
        let entry_addr = host_ptr(cpu, table + index * 8, 8)?;
        // SAFETY: checked by host_ptr: identity-mapped guest memory.
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
    unreachable!()
}

/// Copies `data` to guest-virtual `gva`, page by page.
pub fn write(cpu: &PerCpu, gva: u64, data: &[u8]) -> Result<(), BadAddress> {
    let mut done = 0usize;
    while done < data.len() {
        let addr = gva.checked_add(done as u64).ok_or(BadAddress(gva))?;
        let chunk = ((4096 - (addr & 0xFFF)) as usize).min(data.len() - done);
        let gpa = translate(cpu, addr, true)?;
        let dst = host_ptr(cpu, gpa, chunk as u64)?;
        // SAFETY: checked above: identity-mapped, open guest memory.
        unsafe { core::ptr::copy_nonoverlapping(data[done..].as_ptr(), dst as *mut u8, chunk) };
        done += chunk;
    }
    Ok(())
}
