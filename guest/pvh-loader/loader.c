// SPDX-License-Identifier: MIT
/*
 * pvh-loader: boots Debian's stock kernel under Bochs without its self-decompression.
 *
 * The stock bzImage spends ~20 s of a Bochs boot decompressing itself (XZ, ~30 MiB,
 * every instruction emulated). The same kernel, already extracted on the host
 * (build/guest/vmlinux, see kernel.sh), carries a Xen PVH entry note: a 32-bit entry
 * point that takes a struct hvm_start_info, which is how QEMU boots a vmlinux
 * directly. GRUB cannot do PVH, but it can load a multiboot kernel with modules; so
 * GRUB loads this loader with module 0 = vmlinux and module 1 = the initramfs, and
 * the loader does what QEMU's PVH boot does:
 *   1. move the modules above everything the kernel will occupy,
 *   2. copy vmlinux's PT_LOAD segments to their physical addresses,
 *   3. build hvm_start_info (command line, initramfs, e820 map from GRUB's),
 *   4. jump to the PVH entry with EBX = &start_info.
 * The kernel is unchanged; only the wrapper that decompressed it is skipped.
 * Messages go to COM1 as "pvh-loader: ...".
 */
#include <stdint.h>

/* ---------------------------------------------------------------- serial */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static void putc_serial(char c)
{
	while (!(inb(0x3F8 + 5) & 0x20))
		;
	outb(0x3F8, c);
}
/* Bochs's BIOS leaves the UART's line control at 0, i.e. 5-bit characters, and Bochs
 * really masks them ("p" arrives as 0x10); QEMU ignores the setting. So: 115200 8N1. */
static void init_serial(void)
{
	outb(0x3F8 + 3, 0x80); /* DLAB: divisor latch */
	outb(0x3F8 + 0, 1);    /* 115200 baud */
	outb(0x3F8 + 1, 0);
	outb(0x3F8 + 3, 0x03); /* 8 data bits, no parity, 1 stop bit */
	outb(0x3F8 + 2, 0xC7); /* FIFOs on and cleared */
}
static void puts_serial(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s);
	}
}
static void puthex(uint64_t v)
{
	char buf[19] = "0x";
	for (int i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xF];
	buf[18] = 0;
	puts_serial(buf);
}
static void __attribute__((noreturn)) fail(const char *why)
{
	puts_serial("pvh-loader: error: ");
	puts_serial(why);
	puts_serial("\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---------------------------------------------------------------- memory */
/* GCC may emit calls to these even in freestanding code. */
void *memcpy(void *d, const void *s, uint32_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}
void *memset(void *d, int c, uint32_t n)
{
	uint8_t *dp = d;
	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}
/* Copies forwards or backwards so that overlapping ranges survive; whole dwords
 * with rep movsl, which Bochs runs much faster than a byte loop. */
static void move(uint32_t dst, uint32_t src, uint32_t n)
{
	if (dst == src || n == 0)
		return;
	if (dst < src || dst >= src + n) {
		uint32_t words = n / 4;
		__asm__ volatile("cld; rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
		for (n &= 3; n; n--)
			*(uint8_t *)dst++ = *(uint8_t *)src++;
	} else {
		uint32_t d = dst + n - 1, s = src + n - 1;
		__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	}
}
static void zero(uint32_t dst, uint32_t n)
{
	uint32_t words = n / 4;
	__asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(words) : "a"(0) : "memory");
	for (n &= 3; n; n--)
		*(uint8_t *)dst++ = 0;
}
static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ---------------------------------------------------------------- multiboot v1 */
struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};
struct mb_module {
	uint32_t start, end, string, reserved;
};
struct mb_mmap_entry {
	uint32_t size; /* of the rest of the entry */
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

/* ---------------------------------------------------------------- PVH (xen/arch-x86/hvm/start_info.h) */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* ---------------------------------------------------------------- ELF64 */
struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
#define PT_LOAD 1
#define PT_NOTE 4

#define MAX_MEMMAP 128
static struct hvm_start_info start_info;
static struct hvm_modlist_entry initrd_entry;
static struct hvm_memmap_table_entry memmap[MAX_MEMMAP];
static char cmdline[4096];

/* Everything the loader places must stay below the crtos reservation
 * (memmap=52M$0x10000000, driver/include/crtos.h). */
#define PLACEMENT_LIMIT 0x10000000u

static uint32_t find_pvh_entry(uint32_t image, const struct elf64_phdr *ph, int phnum)
{
	for (int i = 0; i < phnum; i++) {
		if (ph[i].type != PT_NOTE)
			continue;
		uint32_t p = image + (uint32_t)ph[i].offset, end = p + (uint32_t)ph[i].filesz;
		while (p + 12 <= end) {
			uint32_t namesz = *(uint32_t *)p, descsz = *(uint32_t *)(p + 4);
			uint32_t type = *(uint32_t *)(p + 8);
			const char *name = (const char *)(p + 12);
			uint32_t desc = p + 12 + align_up(namesz, 4);
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && name[0] == 'X' &&
			    name[1] == 'e' && name[2] == 'n' && descsz >= 4)
				return *(uint32_t *)desc;
			p = desc + align_up(descsz, 4);
		}
	}
	return 0;
}

/* Whether [start, end) lies inside one RAM entry (type 1) of the memory map. */
static int in_ram(uint32_t entries, uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < entries; i++)
		if (memmap[i].type == 1 && memmap[i].addr <= start &&
		    end <= memmap[i].addr + memmap[i].size)
			return 1;
	return 0;
}

void pvh_jump(uint32_t entry, uint32_t start_info);

void loader_main(uint32_t magic, const struct mb_info *mbi)
{
	init_serial();
	if (magic != 0x2BADB002)
		fail("not started by a multiboot loader");
	if (!(mbi->flags & (1 << 3)) || mbi->mods_count < 2)
		fail("need two modules: vmlinux and the initramfs");
	if (!(mbi->flags & (1 << 6)))
		fail("no memory map from the boot loader");
	const struct mb_module *mods = (const struct mb_module *)mbi->mods_addr;
	uint32_t kernel_src = mods[0].start, kernel_size = mods[0].end - mods[0].start;
	uint32_t initrd_src = mods[1].start, initrd_size = mods[1].end - mods[1].start;

	/* Command line: GRUB 2 passes only the arguments; some loaders put the loader's
	 * own path first, which the kernel must not see. */
	const char *c = (mbi->flags & (1 << 2)) ? (const char *)mbi->cmdline : "";
	if (*c == '/') {
		while (*c && *c != ' ')
			c++;
		while (*c == ' ')
			c++;
	}
	uint32_t n = 0;
	while (c[n] && n < sizeof(cmdline) - 1) {
		cmdline[n] = c[n];
		n++;
	}
	cmdline[n] = 0;

	/* The e820 map, as GRUB got it from the BIOS (same type numbers). */
	uint32_t entries = 0;
	for (uint32_t p = mbi->mmap_addr; p < mbi->mmap_addr + mbi->mmap_length && entries < MAX_MEMMAP;) {
		const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
		memmap[entries].addr = e->addr;
		memmap[entries].size = e->len;
		memmap[entries].type = e->type;
		entries++;
		p += e->size + 4;
	}

	const struct elf64_ehdr *eh = (const struct elf64_ehdr *)kernel_src;
	if (*(uint32_t *)eh->ident != 0x464c457f || eh->ident[4] != 2 || eh->machine != 62)
		fail("module 0 is not an x86-64 ELF vmlinux");
	const struct elf64_phdr *ph = (const struct elf64_phdr *)(kernel_src + (uint32_t)eh->phoff);
	uint32_t kernel_end = 0;
	for (int i = 0; i < eh->phnum; i++)
		if (ph[i].type == PT_LOAD && ph[i].paddr + ph[i].memsz > kernel_end)
			kernel_end = (uint32_t)(ph[i].paddr + ph[i].memsz);
	uint32_t entry = find_pvh_entry(kernel_src, ph, eh->phnum);
	if (!entry)
		fail("vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");

	/* 1. Above the kernel and both modules: the initramfs (where it stays), then
	 * the vmlinux file (only read from here on). Sources lie below, so no copy
	 * overwrites what another still has to read. */
	uint32_t top = kernel_end;
	if (mods[0].end > top)
		top = mods[0].end;
	if (mods[1].end > top)
		top = mods[1].end;
	uint32_t initrd_dst = align_up(top, 4096);
	uint32_t kernel_tmp = align_up(initrd_dst + initrd_size, 4096);
	if (kernel_tmp + kernel_size > PLACEMENT_LIMIT)
		fail("kernel and initramfs do not fit below the crtos reservation");
	if (!in_ram(entries, 0x100000, kernel_tmp + kernel_size))
		fail("not enough RAM below the crtos reservation for kernel and initramfs");
	puts_serial("pvh-loader: placing the kernel\n");
	move(kernel_tmp, kernel_src, kernel_size);
	move(initrd_dst, initrd_src, initrd_size);

	/* 2. The segments, to their physical addresses (file offsets from the copy). */
	eh = (const struct elf64_ehdr *)kernel_tmp;
	ph = (const struct elf64_phdr *)(kernel_tmp + (uint32_t)eh->phoff);
	for (int i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD)
			continue;
		move((uint32_t)ph[i].paddr, kernel_tmp + (uint32_t)ph[i].offset, (uint32_t)ph[i].filesz);
		zero((uint32_t)(ph[i].paddr + ph[i].filesz), (uint32_t)(ph[i].memsz - ph[i].filesz));
	}

	/* 3. The PVH start info: version 1 carries the memory map. */
	initrd_entry.paddr = initrd_dst;
	initrd_entry.size = initrd_size;
	start_info.magic = XEN_HVM_START_MAGIC_VALUE;
	start_info.version = 1;
	start_info.nr_modules = 1; /* Linux: the first module is the initramfs */
	start_info.modlist_paddr = (uint32_t)&initrd_entry;
	start_info.cmdline_paddr = (uint32_t)cmdline;
	start_info.rsdp_paddr = 0; /* Linux then finds the RSDP in the BIOS area itself */
	start_info.memmap_paddr = (uint32_t)memmap;
	start_info.memmap_entries = entries;

	puts_serial("pvh-loader: vmlinux ");
	puthex(kernel_size);
	puts_serial(" bytes, initramfs ");
	puthex(initrd_size);
	puts_serial(" bytes at ");
	puthex(initrd_dst);
	puts_serial(", PVH entry ");
	puthex(entry);
	puts_serial("\n");
	pvh_jump(entry, (uint32_t)&start_info);
}
