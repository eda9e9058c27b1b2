//! The kernel's mappings, present in every address space, supervisor-only:
//! - the RTOS's range and the shared region after it, high: at KERNEL_HIGH + physical,
//!   with 2 MiB pages (the kernel is linked there, and reaches its frames through it);
//! - the local APIC's page at its physical address, uncached (crates/baremetal's APIC
//!   code addresses it there; it lies at 4 GiB - 20 MiB, above every user address).
//!
//! Everything else, the firmware's memory and Linux's included, is absent: a stray
//! kernel pointer faults instead of touching memory that is not the RTOS's. The lower
//! half below the APIC belongs to the task.

use spin::Once;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{PageTable, PageTableFlags as Flags, PhysFrame};
use x86_64::PhysAddr;

use crtos_abi::rtos::BootBlock;

use super::{frame, phys_to_virt};
use crate::config::KERNEL_HIGH;

const HUGE_PAGE: u64 = 2 << 20;
const GIB: u64 = 1 << 30;
/// The PML4 entry and the PDPT entry of KERNEL_HIGH (the top 2 GiB: 511 and 510).
const HIGH_PML4_INDEX: usize = ((KERNEL_HIGH >> 39) & 511) as usize;
const HIGH_PDPT_INDEX: usize = ((KERNEL_HIGH >> 30) & 511) as usize;

/// The kernel's top-level table, and what every address space links to: the high PDPT
/// (the kernel) and the directory of the local APIC's GiB.
pub struct KernelSpace {
    pub pml4: PhysAddr,
    pub high_pdpt: PhysAddr,
    pub apic_gib: usize,
    pub apic_directory: PhysAddr,
}

static KERNEL: Once<KernelSpace> = Once::new();

/// A page table in a frame of ours (reached through the high map).
pub fn table(addr: PhysAddr) -> &'static mut PageTable {
    // SAFETY: page-table frames come from `frame::alloc`, inside the range mapped high;
    // the kernel runs on one CPU with interrupts off, so one user at a time.
    unsafe { &mut *(phys_to_virt(addr) as *mut PageTable) }
}

pub fn new_table() -> PhysAddr {
    frame::alloc().expect("no frame for the kernel's page tables")
}

/// Builds the kernel's page tables and loads them.
pub fn init(boot: &BootBlock) {
    let range = boot.rtos_base..boot.shared_base + boot.shared_size;
    assert!(
        range.end <= GIB && range.start.is_multiple_of(HUGE_PAGE),
        "the RTOS's range must lie in the first GiB, 2 MiB-aligned"
    );
    let apic_gib = (boot.local_apic_base / GIB) as usize;
    assert!(
        (1..512).contains(&apic_gib),
        "the local APIC must lie above the first GiB, below 512 GiB"
    );
    let kernel = KERNEL.call_once(|| {
        let [pml4, high_pdpt, high_directory, low_pdpt, apic] = [(); 5].map(|_| new_table());
        let rw = Flags::PRESENT | Flags::WRITABLE;
        for page in range.step_by(HUGE_PAGE as usize) {
            table(high_directory)[(page / HUGE_PAGE) as usize]
                .set_addr(PhysAddr::new(page), rw | Flags::HUGE_PAGE);
        }
        let apic_page = boot.local_apic_base & !(HUGE_PAGE - 1);
        table(apic)[((apic_page % GIB) / HUGE_PAGE) as usize].set_addr(
            PhysAddr::new(apic_page),
            rw | Flags::HUGE_PAGE | Flags::NO_CACHE | Flags::WRITE_THROUGH,
        );
        table(high_pdpt)[HIGH_PDPT_INDEX].set_addr(high_directory, rw);
        table(low_pdpt)[apic_gib].set_addr(apic, rw);
        table(pml4)[HIGH_PML4_INDEX].set_addr(high_pdpt, rw);
        table(pml4)[0].set_addr(low_pdpt, rw);
        KernelSpace {
            pml4,
            high_pdpt,
            apic_gib,
            apic_directory: apic,
        }
    });
    activate(kernel.pml4);
}

pub fn get() -> &'static KernelSpace {
    KERNEL.get().expect("mm::init not called")
}

/// Links the kernel's mappings into a task's top-level table and low PDPT.
pub fn link_into(pml4: PhysAddr, low_pdpt: PhysAddr) {
    let kernel = get();
    let rw = Flags::PRESENT | Flags::WRITABLE;
    table(pml4)[HIGH_PML4_INDEX].set_addr(kernel.high_pdpt, rw);
    table(low_pdpt)[kernel.apic_gib].set_addr(kernel.apic_directory, rw);
}

/// Loads the address space whose top-level table is at `pml4`.
pub fn activate(pml4: PhysAddr) {
    let frame = PhysFrame::containing_address(pml4);
    if Cr3::read().0 != frame {
        // SAFETY: every address space maps the kernel and the APIC the same way.
        unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    }
}
