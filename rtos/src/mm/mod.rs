//! Memory: the frame allocator (inside the RTOS's own physical range only), the kernel
//! heap, address spaces (one per task, the kernel mapped high in each) and the checks
//! on user pointers.

pub mod address_space;
pub mod frame;
pub mod heap;
pub mod kernel_space;
pub mod user_memory;

use crtos_abi::rtos::BootBlock;
use x86_64::PhysAddr;

use crate::config::KERNEL_HIGH;

// ANCHOR: phys_to_virt
/// Where the kernel sees physical address `phys` of its own range: in its high map.
pub fn phys_to_virt(phys: PhysAddr) -> *mut u8 {
    phys.as_u64().wrapping_add(KERNEL_HIGH) as *mut u8
}

/// The physical address of a kernel object (linked high).
pub fn virt_to_phys(virt: u64) -> PhysAddr {
    PhysAddr::new(virt.wrapping_sub(KERNEL_HIGH))
}
// ANCHOR_END: phys_to_virt

/// Brings up memory: heap, frames, the kernel's page tables (loaded from now on).
pub fn init(boot: &BootBlock) {
    heap::init();
    frame::init(boot.rtos_base, boot.rtos_size);
    kernel_space::init(boot);
}
