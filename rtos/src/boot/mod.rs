//! The two ways into the kernel. Each ends by storing the boot block here and calling
//! [`crate::kernel_main`] with it, on the kernel's own stack (high, like the kernel:
//! the multiboot stub's stack lies low, in the part of the image that is mapped only
//! while the kernel boots).

pub mod standalone;
pub mod started;

use core::arch::global_asm;
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

pub(super) const KERNEL_STACK_SIZE: usize = 64 << 10;

#[repr(C, align(16))]
struct Stack([u8; KERNEL_STACK_SIZE]);
/// The stack of the kernel main (and of the started path's first Rust code).
#[no_mangle]
static mut RTOS_KERNEL_STACK: Stack = Stack([0; KERNEL_STACK_SIZE]);

global_asm!(
    r#"
    .section .text
    # rtos_call_on_kernel_stack(block, f): calls f(block) on the top of the kernel stack.
    .global rtos_call_on_kernel_stack
rtos_call_on_kernel_stack:
    lea rsp, [rip + RTOS_KERNEL_STACK + {size}]
    xor ebp, ebp
    call rsi
    ud2
"#,
    size = const KERNEL_STACK_SIZE,
);

extern "C" {
    fn rtos_call_on_kernel_stack(
        block: *const BootBlock,
        f: extern "C" fn(*const BootBlock) -> !,
    ) -> !;
}

extern "C" fn kernel_main_on_kernel_stack(block: *const BootBlock) -> ! {
    // SAFETY: the pointer to BOOT_BLOCK that `enter_kernel` passes.
    crate::kernel_main(unsafe { &*block })
}

/// Keeps the boot block for the rest of the run and enters the kernel main on the
/// kernel stack (the caller's stack is abandoned).
fn enter_kernel(block: BootBlock) -> ! {
    let block: &'static BootBlock = BOOT_BLOCK.call_once(|| block);
    // SAFETY: the kernel stack is used by nothing else, and nothing returns here.
    unsafe { rtos_call_on_kernel_stack(block, kernel_main_on_kernel_stack) }
}

/// How this run was started.
pub fn run_mode() -> RunMode {
    BOOT_BLOCK
        .get()
        .and_then(|b| RunMode::from_raw(b.run_mode))
        .unwrap_or(RunMode::Standalone)
}
