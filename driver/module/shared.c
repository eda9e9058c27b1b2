// SPDX-License-Identifier: GPL-2.0
/*
 * The memmap= reservation: check that Linux really left the range alone, claim its
 * three parts in /proc/iomem, map them into the kernel, and mmap the shared region
 * into user space (the syscall daemon's window onto the ring).
 */
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>

#include "crtos_module.h"

struct crtos_reservation crtos_res = {
	.hv = { .size = CRTOS_HV_SIZE, .name = "crtos-hypervisor" },
	.rtos = { .size = CRTOS_RTOS_SIZE, .name = "crtos-rtos" },
	.shared = { .size = CRTOS_SHARED_SIZE, .name = "crtos-shared" },
};

static int crtos_add_reserved(struct resource *res, void *covered)
{
	*(u64 *)covered += resource_size(res);
	return 0;
}

/*
 * memmap=<size>$<base> turns the range into an e820 "Reserved" entry, which the
 * kernel lists in /proc/iomem with IORES_DESC_RESERVED and never hands out as RAM.
 * Anything else there (System RAM, a hole, a device) means the command line lacks
 * the reservation, and writing our images there would corrupt a running kernel.
 */
static bool crtos_range_is_reserved(phys_addr_t base, u64 size)
{
	u64 covered = 0;

	walk_iomem_res_desc(IORES_DESC_RESERVED, IORESOURCE_MEM, base,
			    base + size - 1, &covered, crtos_add_reserved);
	return covered == size;
}

static int crtos_range_claim(struct crtos_range *r, phys_addr_t base)
{
	r->base = base;
	if (!request_mem_region(r->base, r->size, r->name)) {
		pr_err("crtos: %s range %pa+%#llx is claimed by someone else (see /proc/iomem)\n",
		       r->name, &r->base, r->size);
		return -EBUSY;
	}
	/* Not RAM to the kernel, so memremap gives a write-back mapping of our own. */
	r->virt = memremap(r->base, r->size, MEMREMAP_WB);
	if (!r->virt) {
		release_mem_region(r->base, r->size);
		return -ENOMEM;
	}
	return 0;
}

static void crtos_range_release(struct crtos_range *r)
{
	if (!r->virt)
		return;
	memunmap(r->virt);
	release_mem_region(r->base, r->size);
	r->virt = NULL;
}

int crtos_reservation_claim(phys_addr_t base)
{
	int err;

	if (!PAGE_ALIGNED(base) || !crtos_range_is_reserved(base, CRTOS_RESERVED_SIZE)) {
		pr_err("crtos: no reservation at %pa: boot Linux with memmap=%lluM$%#llx (the range must show as Reserved in /proc/iomem)\n",
		       &base, CRTOS_RESERVED_SIZE >> 20, (u64)base);
		return -ENOMEM;
	}

	err = crtos_range_claim(&crtos_res.hv, base);
	if (err)
		return err;
	err = crtos_range_claim(&crtos_res.rtos, base + CRTOS_HV_SIZE);
	if (err)
		goto err_release_hv;
	err = crtos_range_claim(&crtos_res.shared,
				base + CRTOS_HV_SIZE + CRTOS_RTOS_SIZE);
	if (err)
		goto err_release_rtos;

	/* The shared region starts empty on every load: the ring's header checks its magic. */
	memset(crtos_res.shared.virt, 0, crtos_res.shared.size);
	return 0;

err_release_rtos:
	crtos_range_release(&crtos_res.rtos);
err_release_hv:
	crtos_range_release(&crtos_res.hv);
	return err;
}

void crtos_reservation_release(void)
{
	crtos_range_release(&crtos_res.shared);
	crtos_range_release(&crtos_res.rtos);
	crtos_range_release(&crtos_res.hv);
}

/* mmap(/dev/crtos, offset 0..shared_size): the shared region, write-back cached like
 * the kernel's own mapping of it (one memory type per page, as PAT requires). */
int crtos_shared_mmap(struct file *file, struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (off >= crtos_res.shared.size || len > crtos_res.shared.size - off)
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	return remap_pfn_range(vma, vma->vm_start,
			       (crtos_res.shared.base + off) >> PAGE_SHIFT, len,
			       vma->vm_page_prot);
}

/*
 * CRTOS_PROBE_READ: 8 bytes of the reservation, read through the driver's mapping.
 * Under the hypervisor its EPT closes these ranges to Linux: the read is denied and
 * logged, and returns all-ones (see hypervisor/src/vmx/vmexit.rs).
 */
int crtos_probe_read(struct crtos_probe_arg __user *uarg)
{
	struct crtos_range *ranges[] = { &crtos_res.hv, &crtos_res.rtos, &crtos_res.shared };
	struct crtos_probe_arg a;
	u64 off;
	int i;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.offset % 8 || a.offset >= CRTOS_RESERVED_SIZE)
		return -EINVAL;
	for (i = 0, off = a.offset; i < ARRAY_SIZE(ranges); off -= ranges[i]->size, i++) {
		if (off < ranges[i]->size) {
			a.value = READ_ONCE(*(u64 *)(ranges[i]->virt + off));
			return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
		}
	}
	return -EINVAL;
}
