//! The host page table: what the CPU uses in VMX root operation (loaded on every VM
//! exit from the VMCS host CR3). Linux's page tables cannot serve: their pages belong
//! to Linux, and the one active at enable time may be freed once its process exits.
//!
//! It maps the hypervisor's range at the virtual address where the driver mapped it
//! (so the image's pointers stay valid), and physical memory 0..4 GiB one-to-one (for
//! guest memory, the local APIC, the IO-APIC).

use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame,
    Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

use crate::layout::{Region, IDENTITY_MAPPED_TOP};
use crate::memory::alloc_frame;

struct Pool;

// SAFETY: alloc_frame returns unused, zeroed frames of our range.
unsafe impl FrameAllocator<Size4KiB> for Pool {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        alloc_frame().map(|(phys, _)| PhysFrame::containing_address(PhysAddr::new(phys)))
    }
}

/// Builds the host page table; returns its physical address for CR3.
pub fn build_host_page_table(region: &Region) -> Result<u64, &'static str> {
    let (pml4_phys, pml4) = alloc_frame().ok_or("no frame for the host page table")?;
    // Every table frame comes from our range, where virt = phys + this offset.
    let offset = VirtAddr::new(region.virt.wrapping_sub(region.phys));
    // SAFETY: a fresh, zeroed frame; table frames are all reachable at `offset`.
    let mut table = unsafe { OffsetPageTable::new(&mut *(pml4 as *mut PageTable), offset) };
    let rw = Flags::PRESENT | Flags::WRITABLE;

    for off in (0..region.size).step_by(4096) {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(region.virt + off));
        let frame = PhysFrame::containing_address(PhysAddr::new(region.phys + off));
        // SAFETY: mapping our own range where the image expects it.
        unsafe { table.map_to(page, frame, rw, &mut Pool) }
            .map_err(|_| "cannot map the hypervisor's range")?
            .ignore();
    }
    let range_virt = region.virt..region.virt + region.size;
    for addr in (0..IDENTITY_MAPPED_TOP).step_by(2 << 20) {
        // In the bare-metal self-test the range is identity-mapped already (above).
        if range_virt.contains(&addr) {
            continue;
        }
        let flags = if addr >= 3 << 30 {
            rw | Flags::NO_CACHE | Flags::WRITE_THROUGH
        } else {
            rw
        };
        let page = Page::<Size2MiB>::containing_address(VirtAddr::new(addr));
        let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(addr));
        // SAFETY: an identity map of physical memory for the host's own use.
        unsafe { table.map_to(page, frame, flags, &mut Pool) }
            .map_err(|_| "cannot identity-map physical memory")?
            .ignore();
    }
    Ok(pml4_phys)
}
