/* Multiboot (v1) entry of the PVH loader: GRUB loads this ELF at 1 MiB and enters
 * _start in 32-bit protected mode, paging off, EAX = multiboot magic, EBX = info. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003     /* bit 0: page-aligned modules, bit 1: memory map */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	push %ebx
	push %eax
	call loader_main        /* does not return */
1:	hlt
	jmp 1b

	.globl pvh_jump
/* pvh_jump(entry, start_info): the PVH boot ABI wants EBX = start_info, flat
 * 32-bit segments (GRUB's), paging off, interrupts off. */
pvh_jump:
	mov 4(%esp), %eax
	mov 8(%esp), %ebx
	jmp *%eax

	.bss
	.align 16
	.space 16384
stack_top:
	.section .note.GNU-stack, "", @progbits
