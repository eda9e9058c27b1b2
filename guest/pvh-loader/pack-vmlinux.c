// SPDX-License-Identifier: MIT
/*
 * pack-vmlinux IN OUT: the same kernel in half the bytes, for the PVH boot under Bochs.
 *
 * Debian's vmlinux is 63 MiB, but only 35 MiB of it are not zeros: its PT_LOAD
 * segments are 2 MiB aligned in the file, and the last one carries .bss, .brk and
 * .init.scratch as zeros. GRUB reads every byte from the emulated CD (≈ 3 s under
 * Bochs). This host tool writes an ELF whose segments are packed one after the other,
 * with each segment's trailing zeros cut from p_filesz (p_memsz unchanged: loaders
 * zero-fill the rest, as the ELF spec requires). The bytes in memory after loading
 * are identical. Notes are moved along with the segment that holds them; section
 * headers are dropped (no loader reads them).
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
	fprintf(stderr, "pack-vmlinux: %s\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		die("usage: pack-vmlinux IN OUT");
	FILE *in = fopen(argv[1], "rb");
	if (!in)
		die("cannot open the input");
	fseek(in, 0, SEEK_END);
	long size = ftell(in);
	rewind(in);
	unsigned char *buf = malloc(size);
	if (!buf || fread(buf, 1, size, in) != (size_t)size)
		die("cannot read the input");
	fclose(in);

	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	if (size < (long)sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) > (unsigned long)size)
		die("the input is not a 64-bit ELF");
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);
	Elf64_Phdr old[64];
	if (eh->e_phnum > 64)
		die("too many program headers");
	memcpy(old, ph, eh->e_phnum * sizeof(*ph));

	/* New layout: headers, then each PT_LOAD's non-zero prefix, 16-byte aligned. */
	unsigned long out_size = eh->e_phoff + eh->e_phnum * sizeof(*ph);
	unsigned char *out = calloc(1, size);
	if (!out)
		die("out of memory");
	for (int i = 0; i < eh->e_phnum; i++) {
		if (old[i].p_type != PT_LOAD)
			continue;
		if (old[i].p_offset + old[i].p_filesz > (unsigned long)size)
			die("a segment lies outside the file");
		unsigned long keep = old[i].p_filesz;
		while (keep && buf[old[i].p_offset + keep - 1] == 0)
			keep--;
		out_size = (out_size + 15) & ~15UL;
		memcpy(out + out_size, buf + old[i].p_offset, keep);
		ph[i].p_offset = out_size;
		ph[i].p_filesz = keep;
		out_size += keep;
	}
	/* Other headers (PT_NOTE) point into a PT_LOAD's bytes: follow that segment. */
	for (int i = 0; i < eh->e_phnum; i++) {
		if (old[i].p_type == PT_LOAD)
			continue;
		int found = 0;
		for (int j = 0; j < eh->e_phnum && !found; j++) {
			if (old[j].p_type != PT_LOAD || old[i].p_offset < old[j].p_offset ||
			    old[i].p_offset + old[i].p_filesz > old[j].p_offset + ph[j].p_filesz)
				continue;
			ph[i].p_offset = ph[j].p_offset + (old[i].p_offset - old[j].p_offset);
			found = 1;
		}
		if (!found && old[i].p_filesz)
			die("a non-load segment lies outside every packed load segment");
	}
	eh->e_shoff = 0;
	eh->e_shnum = 0;
	eh->e_shstrndx = 0;
	memcpy(out, buf, eh->e_phoff + eh->e_phnum * sizeof(*ph));

	FILE *f = fopen(argv[2], "wb");
	if (!f || fwrite(out, 1, out_size, f) != out_size || fclose(f))
		die("cannot write the output");
	printf("pack-vmlinux: %ld -> %lu bytes\n", size, out_size);
	return 0;
}
