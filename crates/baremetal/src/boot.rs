//! The boot stub: from the multiboot loader's 32-bit protected mode to 64-bit Rust.
//!
//! GRUB (under Bochs) and QEMU's `-kernel` both speak multiboot 1. They enter
//! `_start32` in 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = the
//! physical address of the multiboot information. The stub:
//! 1. identity-maps the first 4 GiB with 2 MiB pages (RAM, the APIC, the IO-APIC), and
//!    maps the first 2 GiB again at the top 2 GiB of the address space
//!    (0xffff_ffff_8000_0000, the range of the "kernel" code model), for a kernel linked
//!    there (the RTOS);
//! 2. enables PAE, long mode (EFER.LME) and paging, which activates IA-32e mode;
//! 3. enables SSE, because the host target's precompiled `core` uses SSE registers;
//! 4. far-jumps to 64-bit code and calls [`crate::rust_start`] on the boot stack.

use core::arch::global_asm;

use crate::STACK_SIZE;

/// Identity map of the first 4 GiB: 1 PML4, 1 PDPT and 4 page directories of 2 MiB pages;
/// and a second PDPT for the top 2 GiB, whose last two entries reuse the first two
/// directories. Also used by the APs, which load the same CR3.
#[repr(C, align(4096))]
pub struct BootPageTables {
    pml4: [u64; 512],
    pdpt: [u64; 512],
    pd: [[u64; 512]; 4],
    pdpt_high: [u64; 512],
}

#[no_mangle]
static mut BOOT_PAGE_TABLES: BootPageTables = BootPageTables {
    pml4: [0; 512],
    pdpt: [0; 512],
    pd: [[0; 512]; 4],
    pdpt_high: [0; 512],
};

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

#[no_mangle]
static mut BOOT_STACK: Stack = Stack([0; STACK_SIZE]);

// Multiboot 1 header. Flags: bit 0 page-align modules, bit 1 give memory info,
// bit 16 "a.out kludge": the loader uses the address fields below instead of the ELF
// headers, which QEMU's -kernel requires for a 64-bit ELF.
global_asm!(
    r#"
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, (1 << 0) | (1 << 1) | (1 << 16)

    .section .multiboot_header, "a"
    .balign 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header      # header_addr
    .long __image_start         # load_addr
    .long __load_end            # load_end_addr
    .long __bss_end             # bss_end_addr (the loader zeroes .bss)
    .long _start32              # entry_addr

    # ANCHOR: anchor_stub
    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    mov edi, eax                # multiboot magic -> first argument of rust_start
    mov esi, ebx                # multiboot info  -> second argument
    mov esp, offset BOOT_STACK + {stack_size}

    # PML4[0] -> PDPT, PDPT[0..4] -> PD[0..4] (present | writable)
    mov eax, offset BOOT_PAGE_TABLES + 4096
    or eax, 3
    mov [BOOT_PAGE_TABLES], eax
    xor ecx, ecx
1:  mov eax, ecx
    shl eax, 12
    add eax, offset BOOT_PAGE_TABLES + 8192
    or eax, 3
    mov [BOOT_PAGE_TABLES + 4096 + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jne 1b

    # PD entries: 2048 x 2 MiB, present | writable | page size. The top GiB holds the
    # APIC and IO-APIC registers: mark it cache-disabled (PCD | PWT).
    xor ecx, ecx
2:  mov eax, ecx
    shl eax, 21
    or eax, 0x83
    cmp ecx, 1536
    jb 3f
    or eax, 0x18
3:  mov [BOOT_PAGE_TABLES + 8192 + ecx * 8], eax
    mov dword ptr [BOOT_PAGE_TABLES + 8192 + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 2048
    jne 2b

    # PML4[511] -> pdpt_high; its entries 510 and 511 -> PD[0] and PD[1]: virtual
    # 0xffff_ffff_8000_0000 + x is physical x, for x below 2 GiB.
    mov eax, offset BOOT_PAGE_TABLES + 24576
    or eax, 3
    mov [BOOT_PAGE_TABLES + 511 * 8], eax
    mov eax, offset BOOT_PAGE_TABLES + 8192
    or eax, 3
    mov [BOOT_PAGE_TABLES + 24576 + 510 * 8], eax
    add eax, 4096
    mov [BOOT_PAGE_TABLES + 24576 + 511 * 8], eax

    .global baremetal_enter_long_mode
baremetal_enter_long_mode:
    mov eax, offset BOOT_PAGE_TABLES
    mov cr3, eax
    # CR4: PAE (5), OSFXSR (9), OSXMMEXCPT (10)
    mov eax, cr4
    or eax, (1 << 5) | (1 << 9) | (1 << 10)
    mov cr4, eax
    # EFER.LME (8); NXE (11) so page tables may use bit 63 later
    mov ecx, 0xC0000080
    rdmsr
    or eax, (1 << 8) | (1 << 11)
    wrmsr
    # CR0: PG (31), WP (16), MP (1), PE (0); clear EM (2) so SSE instructions run
    mov eax, cr0
    and eax, ~(1 << 2)
    or eax, (1 << 31) | (1 << 16) | (1 << 1) | 1
    mov cr0, eax

    lgdt [boot_gdt_pointer]
    mov eax, offset start64     # far return = far jump into the 64-bit code segment
    push 0x08
    push eax
    retf

    .code64
start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    fninit
    mov edi, edi                # the upper halves of 64-bit registers are undefined
    mov esi, esi                # after the switch: zero-extend the two arguments
    mov rsp, offset BOOT_STACK + {stack_size}
    xor ebp, ebp
    call rust_start
4:  hlt
    jmp 4b
    # ANCHOR_END: anchor_stub

    # In its own section: the 32-bit code above addresses it with 32-bit addresses, so
    # a kernel linked high keeps it low (next to .text.boot).
    .section .rodata.boot, "a"
    .balign 16
    .global boot_gdt
boot_gdt:
    .quad 0                     # null
    .quad 0x00af9a000000ffff    # 0x08: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff    # 0x10: data, DPL 0
boot_gdt_end:
    .balign 4
    .word 0
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
"#,
    stack_size = const STACK_SIZE,
);
