//! Started by the hypervisor (lab 2): the image begins with the crtos image header
//! (crtos.h `struct crtos_image_header`, magic "CRTOS-RT"), whose `entry_offset` names
//! [`rtos_started_entry`]. The starter jumps there in 64-bit mode, interrupts off, with
//! the RTOS's range identity-mapped and RDI = the physical address of the boot block it
//! filled. No BIOS, multiboot data, ACPI or PIT on this path: Linux owns them.
//!
//! The image's `image_size` covers the loaded bytes; the packer fills in `checksum`.

use core::arch::global_asm;

use crtos_abi::rtos::{BootBlock, BOOT_BLOCK_MAGIC, BOOT_BLOCK_VERSION};
use crtos_abi::{HEADER_SIZE, IMAGE_VERSION};

const STARTED_STACK_SIZE: usize = 64 << 10;

#[repr(C, align(16))]
struct Stack([u8; STARTED_STACK_SIZE]);
#[no_mangle]
static mut RTOS_STARTED_STACK: Stack = Stack([0; STARTED_STACK_SIZE]);

global_asm!(
    r#"
    .section .image_header, "a"
    .balign 8
rtos_image_header:
    .ascii "CRTOS-RT"                          # magic
    .long {version}                            # version
    .long {header_size}                        # header_size
    # The header is the image's first byte (the linker script puts .image_header
    # first), so "symbol - header" is the offset; written PC-relative ("symbol - .",
    # plus this field's own offset), the only form the assembler can emit.
    .quad __load_end - . + 16                  # image_size
    .quad rtos_started_entry - . + 24          # entry_offset
    .quad 0                                    # percpu_size: the RTOS needs none
    .long 0                                    # checksum (the packer writes it)
    .long 0                                    # flags
    .quad 0, 0                                 # reserved

    .section .text
    .global rtos_started_entry
rtos_started_entry:
    cli
    cld
    lea rsp, [rip + RTOS_STARTED_STACK + {stack_size}]
    xor ebp, ebp
    call rtos_started_main                     # RDI = boot block, from the starter
2:  hlt
    jmp 2b
"#,
    version = const IMAGE_VERSION,
    header_size = const HEADER_SIZE,
    stack_size = const STARTED_STACK_SIZE,
);

extern "C" {
    /// The 64-bit entry the image header names (defined above).
    pub fn rtos_started_entry(block: *const BootBlock) -> !;
}

/// The started path's Rust entry: checks the block, then the same kernel main.
#[no_mangle]
extern "C" fn rtos_started_main(block_ptr: *const BootBlock) -> ! {
    // SAFETY: the starter passes the boot block's address, identity-mapped; it is
    // copied out at once (the starter may reuse that memory afterwards).
    let block = unsafe { block_ptr.read_unaligned() };
    // Tell the starter we run our own code: it may now restore the start-up page the
    // trampoline borrowed (the starter polls this field).
    // SAFETY: as above; the field is the starter's signal, written once.
    unsafe { core::ptr::addr_of_mut!((*block_ptr.cast_mut()).entered).write_volatile(1) };
    baremetal::serial::init_port(block.console_port);
    baremetal::interrupts::init_cpu(0);
    if block.magic != BOOT_BLOCK_MAGIC
        || block.version != BOOT_BLOCK_VERSION
        || block.size as usize != core::mem::size_of::<BootBlock>()
    {
        panic!(
            "boot block refused: magic {:?} version {} size {} (want version {BOOT_BLOCK_VERSION}, size {})",
            block.magic,
            block.version,
            block.size,
            core::mem::size_of::<BootBlock>()
        );
    }
    if block.tsc_khz == 0 {
        panic!("boot block refused: tsc_khz is 0 (the starter must measure it)");
    }
    super::IMAGE_ENTRY_BLOCK.store(block_ptr as u64, core::sync::atomic::Ordering::Relaxed);
    super::enter_kernel(block)
}
