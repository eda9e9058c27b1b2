//! Started by the hypervisor (lab 2): the image begins with the crtos image header
//! (crtos.h `struct crtos_image_header`, magic "CRTOS-RT"), whose `entry_offset` names
//! [`rtos_started_entry`]. The starter jumps there in 64-bit mode, interrupts off, with
//! the RTOS's range identity-mapped and RDI = the physical address of the boot block it
//! filled (in the first GiB). No BIOS, multiboot data, ACPI or PIT on this path: Linux
//! owns them.
//!
//! The entry runs low, at its physical address (rtos/kernel.ld keeps it there): it maps
//! the first GiB twice, identity (itself) and at KERNEL_HIGH (the kernel), then calls
//! the kernel's Rust code, high, on the kernel stack.
//!
//! The image's `image_size` covers the loaded bytes; the packer fills in `checksum`.

use core::arch::global_asm;

use crtos_abi::rtos::{BootBlock, RunMode, BOOT_BLOCK_MAGIC, BOOT_BLOCK_VERSION};
use crtos_abi::{HEADER_SIZE, IMAGE_VERSION};

use crate::config::KERNEL_HIGH;

/// The entry's page tables: PML4, the low PDPT, the high PDPT and one directory of
/// 2 MiB pages for the first GiB, shared by both halves.
#[repr(C, align(4096))]
struct EarlyTables([[u64; 512]; 4]);
#[no_mangle]
static mut RTOS_EARLY_TABLES: EarlyTables = EarlyTables([[0; 512]; 4]);

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

    .section .text.boot, "ax"
    .global rtos_started_entry
rtos_started_entry:
    cli
    cld
    # The directory: 512 pages of 2 MiB, present | writable | page size.
    lea rdx, [rip + RTOS_EARLY_TABLES + 3 * 4096]
    xor ecx, ecx
1:  mov rax, rcx
    shl rax, 21
    or rax, 0x83
    mov [rdx + rcx * 8], rax
    inc ecx
    cmp ecx, 512
    jne 1b
    or rdx, 3
    mov [rip + RTOS_EARLY_TABLES + 4096], rdx                # low PDPT[0]
    mov [rip + RTOS_EARLY_TABLES + 2 * 4096 + {high_pdpt_index} * 8], rdx
    lea rax, [rip + RTOS_EARLY_TABLES + 4096 + 3]
    mov [rip + RTOS_EARLY_TABLES], rax                       # PML4[0]: low PDPT
    lea rax, [rip + RTOS_EARLY_TABLES + 2 * 4096 + 3]
    mov [rip + RTOS_EARLY_TABLES + 511 * 8], rax             # PML4[511]: high PDPT
    lea rax, [rip + RTOS_EARLY_TABLES]
    mov cr3, rax
    lea rsp, [rip + RTOS_KERNEL_STACK + {stack_size}]        # high, mapped now
    xor ebp, ebp
    movabs rax, offset rtos_started_main                     # RDI = the boot block
    call rax
    ud2
"#,
    version = const IMAGE_VERSION,
    header_size = const HEADER_SIZE,
    high_pdpt_index = const (KERNEL_HIGH >> 30) & 511,
    stack_size = const super::KERNEL_STACK_SIZE,
);

extern "C" {
    /// The 64-bit entry the image header names (defined above).
    pub fn rtos_started_entry(block: *const BootBlock) -> !;
    /// The image's first byte, at its physical load address (rtos/kernel.ld).
    static __image_start: u8;
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
    // Under Linux, a panic must halt this CPU, not power off Linux's machine: set first,
    // before any check can panic. (A standalone run that took this entry powers off.)
    if RunMode::from_raw(block.run_mode) != Some(RunMode::Standalone) {
        baremetal::exit::halt_on_exit();
    }
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
    // The image is linked to run where it lies: the starter must have loaded it at the
    // RTOS's range.
    if block.rtos_base != (&raw const __image_start) as u64 {
        panic!(
            "boot block refused: rtos_base {:#x}, but the image is linked at {:#x}",
            block.rtos_base,
            (&raw const __image_start) as u64
        );
    }
    if block.tsc_khz == 0 {
        panic!("boot block refused: tsc_khz is 0 (the starter must measure it)");
    }
    super::IMAGE_ENTRY_BLOCK.store(block_ptr as u64, core::sync::atomic::Ordering::Relaxed);
    super::enter_kernel(block)
}
