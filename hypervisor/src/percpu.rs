//! Each CPU's area in the hypervisor's range: the pages VMX needs, the CPU's record
//! of Linux, its exit statistics, and its host stack (the rest of the area).

use crate::config::PERCPU_SIZE;
use crate::entry::EntryArgs;
use crate::layout::Region;

pub use crtos_abi::EXIT_REASONS;

#[repr(C, align(4096))]
pub struct PerCpu {
    /// The VMXON region (SDM Vol. 3C §25.11.5): revision ID, then the CPU's own use.
    pub vmxon_region: [u8; 4096],
    /// This CPU's VMCS.
    pub vmcs: [u8; 4096],
    /// The MSR bitmap: which RDMSR/WRMSR exit (SDM Vol. 3C §25.6.9).
    pub msr_bitmap: [u8; 4096],
    /// A copy of Linux's GDT used once, to reload Linux's TR on the way out (see leave.rs).
    pub gdt_scratch: [u8; 4096],
    pub cpu: u64,
    pub region: Region,
    /// How this CPU entered (Linux's return point); the guest-state source.
    pub entry: EntryArgs,
    /// VM exits by basic reason.
    pub exits: [u64; EXIT_REASONS],
    /// EPT violations on closed memory (each one denied).
    pub denied_accesses: u64,
    /// The 4 KiB guest page lent the scratch frame until the next MTF exit.
    pub lent_page: Option<u64>,
}

const _: () = assert!(core::mem::size_of::<PerCpu>() + 32 * 1024 <= PERCPU_SIZE as usize);

impl PerCpu {
    /// This CPU's area. The hypervisor initializes it before use.
    ///
    /// # Safety
    /// Each CPU takes only its own area, and `region` describes the live range.
    pub unsafe fn of(region: &Region, cpu: u64) -> &'static mut PerCpu {
        &mut *(region.percpu_virt(cpu) as *mut PerCpu)
    }

    /// The top of this CPU's host stack: the area's end, less a 16-byte slot that
    /// holds a pointer to this `PerCpu` for the VM-exit stub.
    pub fn stack_top(region: &Region, cpu: u64) -> u64 {
        region.percpu_virt(cpu) + PERCPU_SIZE - 16
    }

    pub fn phys(&self, field: *const u8) -> u64 {
        self.region.virt_to_phys(field as u64)
    }
}
