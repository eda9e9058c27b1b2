//! Memory: the frame allocator (inside the RTOS's own physical range only), the kernel
//! heap, address spaces (one per task, the kernel's range mapped in each) and the
//! checks on user pointers.

pub mod address_space;
pub mod frame;
pub mod heap;
pub mod kernel_space;
pub mod user_memory;

use crtos_abi::rtos::BootBlock;

/// Brings up memory: heap, frames, the kernel's page tables (loaded from now on).
pub fn init(boot: &BootBlock) {
    heap::init();
    frame::init(boot.rtos_base, boot.rtos_size);
    kernel_space::init(boot);
}
