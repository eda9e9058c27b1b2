//! The kernel's mappings, present in every address space, supervisor-only:
//! - the RTOS's range and the shared region after it, identity-mapped with 2 MiB pages
//!   (the kernel is linked there, and frames are reached through this map);
//! - the local APIC's page, uncached.
//!
//! Everything else, the firmware's memory and Linux's included, is absent: a stray
//! kernel pointer faults instead of touching memory that is not the RTOS's.

use spin::Once;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{PageTable, PageTableFlags as Flags, PhysFrame};
use x86_64::PhysAddr;

use crtos_abi::rtos::BootBlock;

use super::frame;

const HUGE_PAGE: u64 = 2 << 20;
const GIB: u64 = 1 << 30;

/// The kernel's top-level table, and the two directories every address space copies:
/// the first GiB's (the RTOS's range; user pages go in the same directory) and the
/// local APIC's GiB.
pub struct KernelSpace {
    pub pml4: PhysAddr,
    pub low_directory: PhysAddr,
    pub apic_gib: usize,
    pub apic_directory: PhysAddr,
}

static KERNEL: Once<KernelSpace> = Once::new();

/// A page table in a frame of ours (identity-mapped).
pub fn table(addr: PhysAddr) -> &'static mut PageTable {
    // SAFETY: page-table frames come from `frame::alloc`, inside the identity-mapped
    // range; the kernel runs on one CPU with interrupts off, so one user at a time.
    unsafe { &mut *(addr.as_u64() as *mut PageTable) }
}

pub fn new_table() -> PhysAddr {
    frame::alloc().expect("no frame for the kernel's page tables")
}

/// Builds the kernel's page tables and loads them.
pub fn init(boot: &BootBlock) {
    let range = boot.rtos_base..boot.shared_base + boot.shared_size;
    assert!(
        range.end <= GIB && range.start % HUGE_PAGE == 0,
        "the RTOS's range must lie in the first GiB"
    );
    let apic_gib = (boot.local_apic_base / GIB) as usize;
    assert!(
        apic_gib > 0 && apic_gib < 512,
        "the local APIC must lie above the first GiB, below 512 GiB"
    );
    let kernel = KERNEL.call_once(|| {
        let (pml4, pdpt, low, apic) = (new_table(), new_table(), new_table(), new_table());
        let rw = Flags::PRESENT | Flags::WRITABLE;
        for page in range.step_by(HUGE_PAGE as usize) {
            table(low)[(page / HUGE_PAGE) as usize % 512]
                .set_addr(PhysAddr::new(page), rw | Flags::HUGE_PAGE);
        }
        let apic_page = boot.local_apic_base & !(HUGE_PAGE - 1);
        table(apic)[((apic_page % GIB) / HUGE_PAGE) as usize].set_addr(
            PhysAddr::new(apic_page),
            rw | Flags::HUGE_PAGE | Flags::NO_CACHE | Flags::WRITE_THROUGH,
        );
        table(pdpt)[0].set_addr(low, rw);
        table(pdpt)[apic_gib].set_addr(apic, rw);
        table(pml4)[0].set_addr(pdpt, rw);
        KernelSpace {
            pml4,
            low_directory: low,
            apic_gib,
            apic_directory: apic,
        }
    });
    activate(kernel.pml4);
}

pub fn get() -> &'static KernelSpace {
    KERNEL.get().expect("mm::init not called")
}

/// Loads the address space whose top-level table is at `pml4`.
pub fn activate(pml4: PhysAddr) {
    let frame = PhysFrame::containing_address(pml4);
    if Cr3::read().0 != frame {
        // SAFETY: every address space maps the kernel's range and APIC the same way.
        unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    }
}
