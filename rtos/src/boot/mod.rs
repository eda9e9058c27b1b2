//! The two ways into the kernel. Each ends by storing the boot block here and calling
//! [`crate::kernel_main`] with it.

pub mod standalone;
pub mod started;

use crtos_abi::rtos::{BootBlock, RunMode};
use spin::Once;

static BOOT_BLOCK: Once<BootBlock> = Once::new();

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
