//! The two ways into the kernel. Each ends by storing the boot block here and calling
//! [`crate::kernel_main`] with it.

pub mod standalone;
pub mod started;

use core::sync::atomic::{AtomicU64, Ordering};

use crtos_abi::rtos::{BootBlock, RunMode};
use spin::Once;

static BOOT_BLOCK: Once<BootBlock> = Once::new();
/// The boot block's address when the kernel came in through the image's 64-bit entry
/// (0 through multiboot).
static IMAGE_ENTRY_BLOCK: AtomicU64 = AtomicU64::new(0);

/// Where the boot block was when the image's 64-bit entry was taken, if it was.
pub fn image_entry_block() -> Option<u64> {
    Some(IMAGE_ENTRY_BLOCK.load(Ordering::Relaxed)).filter(|&a| a != 0)
}

/// Keeps the boot block for the rest of the run and enters the kernel main.
fn enter_kernel(block: BootBlock) -> ! {
    crate::kernel_main(BOOT_BLOCK.call_once(|| block))
}

/// How this run was started.
pub fn run_mode() -> RunMode {
    BOOT_BLOCK
        .get()
        .and_then(|b| RunMode::from_raw(b.run_mode))
        .unwrap_or(RunMode::Standalone)
}
