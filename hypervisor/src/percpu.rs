//! Each CPU's area in the hypervisor's range: the pages VMX needs, the CPU's record
//! of Linux, its exit statistics, and its host stack (the rest of the area).
//!
//! The top of the area, where the host stack starts:
//!
//! ```text
//! area end - 16     &mut PerCpu of this CPU (and 8 bytes of padding)  <- stack_top
//! stack_top - 128   the guest's GeneralRegisters while the host runs: put there
//!                   before VMLAUNCH, pushed there by the VM-exit stub
//! below             hv_main's stack at enable, the exit handlers' at each VM exit
//! ```

use crate::config::PERCPU_SIZE;
use crate::entry::EntryArgs;
use crate::guest_memory::GuestPhysMemory;
use crate::layout::Region;
use crate::regs::{GeneralRegisters, GENERAL_REGISTERS_SIZE};
use crate::vmx::ept::Ept;

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
    /// The frame lent to Linux in place of closed memory, all-ones (see vmexit.rs).
    /// One per CPU: what one CPU's guest writes there, another's never reads.
    pub scratch: [u8; 4096],
    pub cpu: u64,
    pub region: Region,
    /// How this CPU entered (Linux's return point); the guest-state source.
    pub entry: EntryArgs,
    /// This CPU's EPT: Linux's guest-physical memory as this CPU sees it.
    pub ept: Ept,
    /// Guest-physical memory as hypercalls may reach it.
    pub guest_memory: GuestPhysMemory,
    /// VM exits by basic reason.
    pub exits: [u64; EXIT_REASONS],
    /// EPT violations on closed memory (each one denied).
    pub denied_accesses: u64,
    /// The 4 KiB guest pages lent the scratch frame until the next MTF exit.
    pub lent_pages: [Option<u64>; LENT_PAGES],
}

/// The most closed pages one instruction may touch (MOVS from one closed page to
/// another, each access crossing a page boundary).
pub const LENT_PAGES: usize = 4;

/// The host stack gets what the area's fields leave, and needs at least this much.
const MIN_HOST_STACK: usize = 32 * 1024;
const _: () = assert!(core::mem::size_of::<PerCpu>() + MIN_HOST_STACK <= PERCPU_SIZE as usize);

impl PerCpu {
    /// This CPU's area. The hypervisor initializes it before use.
    ///
    /// # Safety
    /// Each CPU takes only its own area, and `region` describes the live range.
    pub unsafe fn of(region: &Region, cpu: u64) -> &'static mut PerCpu {
        &mut *(region.percpu_virt(cpu) as *mut PerCpu)
    }

    /// The VMCS host RSP: the area's end, less a 16-byte slot that holds a pointer to
    /// this `PerCpu` for the VM-exit stub.
    pub fn stack_top(region: &Region, cpu: u64) -> u64 {
        region.percpu_virt(cpu) + PERCPU_SIZE - 16
    }

    /// Where `hv_main` starts its stack: below the guest's registers.
    pub fn entry_stack_top(region: &Region, cpu: u64) -> u64 {
        Self::stack_top(region, cpu) - GENERAL_REGISTERS_SIZE as u64
    }

    /// The guest's registers at the top of this CPU's host stack (see the module doc).
    pub fn guest_registers(&mut self) -> &'static mut GeneralRegisters {
        let top = Self::stack_top(&self.region, self.cpu);
        // SAFETY: inside this CPU's area, above every stack frame (entry_stack_top).
        unsafe { &mut *((top - GENERAL_REGISTERS_SIZE as u64) as *mut GeneralRegisters) }
    }

    pub fn phys(&self, field: *const u8) -> u64 {
        self.region.virt_to_phys(field as u64)
    }
}
