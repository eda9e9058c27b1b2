// SPDX-License-Identifier: GPL-2.0
/*
 * Image validation (shared by hypervisor and RTOS images), ENABLE, DISABLE, QUERY,
 * the VMCALL hypercall, and the per-CPU feature check.
 */
#include <linux/bitops.h>
#include <linux/crc32.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/processor.h>

#include "crtos_module.h"

static const char *const crtos_reject_text[] = {
	[CRTOS_REJECT_NONE] = "accepted",
	[CRTOS_REJECT_TOO_SMALL] = "shorter than its header",
	[CRTOS_REJECT_MAGIC] = "wrong magic",
	[CRTOS_REJECT_VERSION] = "unknown header version",
	[CRTOS_REJECT_HEADER_SIZE] = "wrong header_size",
	[CRTOS_REJECT_IMAGE_SIZE] = "image_size differs from the buffer size",
	[CRTOS_REJECT_TOO_BIG] = "image and per-CPU data do not fit the range",
	[CRTOS_REJECT_ENTRY] = "entry_offset outside the image body",
	[CRTOS_REJECT_PERCPU] = "percpu_size not a multiple of 4096",
	[CRTOS_REJECT_CHECKSUM] = "checksum mismatch",
	[CRTOS_REJECT_FLAGS] = "flags or reserved fields not zero",
};

/* zlib's CRC-32 of the image with the checksum field read as zero. */
static u32 crtos_image_crc(const u8 *data, u64 size)
{
	static const u8 zero[4];
	u32 crc = ~0U;

	crc = crc32_le(crc, data, CRTOS_CHECKSUM_OFFSET);
	crc = crc32_le(crc, zero, sizeof(zero));
	crc = crc32_le(crc, data + CRTOS_CHECKSUM_OFFSET + 4,
		       size - CRTOS_CHECKSUM_OFFSET - 4);
	return ~crc;
}

static enum crtos_reject_reason crtos_image_check(const struct crtos_image *img,
						  const char *magic, u64 range_size)
{
	const struct crtos_image_header *h = &img->hdr;
	u64 percpu_total, needed;

	if (memcmp(h->magic, magic, CRTOS_MAGIC_LEN))
		return CRTOS_REJECT_MAGIC;
	if (h->version != CRTOS_IMAGE_VERSION)
		return CRTOS_REJECT_VERSION;
	if (h->header_size != sizeof(*h))
		return CRTOS_REJECT_HEADER_SIZE;
	if (h->image_size != img->size)
		return CRTOS_REJECT_IMAGE_SIZE;
	if (h->flags || h->reserved[0] || h->reserved[1])
		return CRTOS_REJECT_FLAGS;
	if (!PAGE_ALIGNED(h->percpu_size))
		return CRTOS_REJECT_PERCPU;
	/* Overflow-checked: the fields are untrusted 64-bit numbers. */
	if (check_mul_overflow(h->percpu_size, (u64)nr_cpu_ids, &percpu_total) ||
	    check_add_overflow(PAGE_ALIGN(h->image_size), percpu_total, &needed) ||
	    needed > range_size)
		return CRTOS_REJECT_TOO_BIG;
	if (h->entry_offset < h->header_size || h->entry_offset >= h->image_size)
		return CRTOS_REJECT_ENTRY;
	if (h->checksum != crtos_image_crc(img->data, img->size))
		return CRTOS_REJECT_CHECKSUM;
	return CRTOS_REJECT_NONE;
}

void crtos_image_free(struct crtos_image *img)
{
	kvfree(img->data);
	img->data = NULL;
}

/*
 * Copy an image from user space into a kernel buffer and validate it there. On
 * success the caller owns img->data; on -EINVAL the reason is written back to
 * user space and logged. Nothing outside this function changes either way.
 */
int crtos_image_copy_in(struct crtos_image_arg __user *uarg, const char *magic,
			u64 range_size, struct crtos_image *img)
{
	enum crtos_reject_reason reason;
	struct crtos_image_arg arg;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;

	if (arg.size < sizeof(struct crtos_image_header)) {
		reason = CRTOS_REJECT_TOO_SMALL;
		goto reject;
	}
	/* Bounds the allocation below: no image may be larger than its range. */
	if (arg.size > range_size) {
		reason = CRTOS_REJECT_TOO_BIG;
		goto reject;
	}

	img->size = arg.size;
	img->data = kvmalloc(arg.size, GFP_KERNEL);
	if (!img->data)
		return -ENOMEM;
	if (copy_from_user(img->data, u64_to_user_ptr(arg.addr), arg.size)) {
		err = -EFAULT;
		goto err_free;
	}
	memcpy(&img->hdr, img->data, sizeof(img->hdr));

	reason = crtos_image_check(img, magic, range_size);
	if (reason == CRTOS_REJECT_NONE)
		return 0;
	crtos_image_free(img);

reject:
	pr_info("crtos: %.8s image refused: %s\n", magic, crtos_reject_text[reason]);
	if (put_user((u32)reason, &uarg->reject_reason))
		return -EFAULT;
	return -EINVAL;

err_free:
	crtos_image_free(img);
	return err;
}

/*
 * DESIGN.md section 4: VMCALL with RAX = number, RDI/RSI/RDX = arguments, result in
 * RAX. Only valid while a hypervisor runs: on bare metal VMCALL raises #UD, so every
 * caller checks crtos_state first.
 */
long crtos_hv_hypercall(u64 nr, u64 arg0, u64 arg1, u64 arg2)
{
	long ret;

	asm volatile("vmcall"
		     : "=a"(ret)
		     : "a"(nr), "D"(arg0), "S"(arg1), "d"(arg2)
		     : "memory");
	return ret;
}

/*
 * Entering the hypervisor on every online CPU is the next step (the hypervisor
 * issue): map hv range executable, then on_each_cpu() calls
 * entry(cpu, percpu_phys) and gathers one result per CPU, as Jailhouse does. Until a
 * hypervisor exists this driver enters nothing and says so with EOPNOTSUPP, leaving
 * the state DISABLED. The validated image stays in the range for inspection.
 */
static int crtos_hv_enter(const struct crtos_image *img)
{
	pr_info("crtos: hypervisor image valid (%llu bytes, entry +%#llx, %llu bytes per CPU), copied to %pa; no hypervisor entered: this driver has no entry path yet\n",
		img->size, img->hdr.entry_offset, img->hdr.percpu_size,
		&crtos_res.hv.base);
	return -EOPNOTSUPP;
}

int crtos_hv_enable(struct crtos_image_arg __user *uarg)
{
	struct crtos_image img;
	int err;

	if (crtos_state != CRTOS_STATE_DISABLED)
		return -EBUSY;

	err = crtos_image_copy_in(uarg, CRTOS_HV_MAGIC, crtos_res.hv.size, &img);
	if (err)
		return err;

	/* The image, then zeroed per-CPU areas (fresh VMXON regions and VMCSs). */
	memcpy(crtos_res.hv.virt, img.data, img.size);
	memset(crtos_res.hv.virt + img.size, 0, crtos_res.hv.size - img.size);

	err = crtos_hv_enter(&img);
	if (err)
		goto out_free;

	/* A running hypervisor pins the module: rmmod says "in use" until DISABLE. */
	__module_get(THIS_MODULE);
	crtos_state = CRTOS_STATE_ENABLED;
out_free:
	crtos_image_free(&img);
	return err;
}

int crtos_hv_disable(void)
{
	if (crtos_state == CRTOS_STATE_DISABLED)
		return -ENODEV;
	/* Reached only once crtos_hv_enter() can succeed (the hypervisor issue). */
	return -EOPNOTSUPP;
}

int crtos_hv_query(struct crtos_query __user *uarg)
{
	struct crtos_query q = {};
	long ret;

	if (crtos_state == CRTOS_STATE_DISABLED)
		return -ENODEV;
	ret = crtos_hv_hypercall(CRTOS_HC_QUERY, 0, 0, 0);
	if (ret < 0)
		return ret;
	q.hv_version = ret;
	return copy_to_user(uarg, &q, sizeof(q)) ? -EFAULT : 0;
}

struct crtos_feature_masks {
	unsigned long vmx, uintr;
};

/* Runs on each CPU with interrupts off: CPUID answers for the CPU it runs on. */
static void crtos_read_cpu_features(void *info)
{
	struct crtos_feature_masks *m = info;
	unsigned int cpu = smp_processor_id();
	u32 eax, ebx, ecx, edx;

	if (cpu >= BITS_PER_LONG)
		return;
	cpuid(1, &eax, &ebx, &ecx, &edx);
	if (ecx & BIT(5))			/* CPUID.1:ECX[5] = VMX */
		set_bit(cpu, &m->vmx);
	if (boot_cpu_data.cpuid_level < 7)
		return;
	cpuid_count(7, 0, &eax, &ebx, &ecx, &edx);
	if (edx & BIT(5))			/* CPUID.(7,0):EDX[5] = UINTR */
		set_bit(cpu, &m->uintr);
}

void crtos_cpu_features(u64 *vmx_cpus, u64 *uintr_cpus)
{
	struct crtos_feature_masks m = {};

	on_each_cpu(crtos_read_cpu_features, &m, 1);
	*vmx_cpus = m.vmx;
	*uintr_cpus = m.uintr;
}
