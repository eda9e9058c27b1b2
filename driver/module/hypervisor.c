// SPDX-License-Identifier: GPL-2.0
/*
 * Image validation (shared by hypervisor and RTOS images), ENABLE, DISABLE, QUERY,
 * the VMCALL hypercall, and the per-CPU feature check.
 */
#include <linux/acpi.h>
#include <linux/bitops.h>
#include <linux/cpu.h>
#include <linux/vmalloc.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include <linux/crc32.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/processor.h>

#include "crtos_module.h"

/* The short names of crtos.h's CRTOS_REJECT_REASONS, for the log line. */
#define CRTOS_REJECT_NAME_ENTRY(name, value, text) [value] = text,
static const char *const crtos_reject_name[] = {
	CRTOS_REJECT_REASONS(CRTOS_REJECT_NAME_ENTRY)
};
#undef CRTOS_REJECT_NAME_ENTRY

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
	/* The driver calls a hypervisor's entry: refuse to jump into something that is
	 * not its entry code (valid-looking test images, a file of another kind). */
	if (!memcmp(magic, CRTOS_HV_MAGIC, CRTOS_MAGIC_LEN) &&
	    (h->entry_offset + 4 > h->image_size ||
	     memcmp((u8 *)img->data + h->entry_offset, "\xf3\x0f\x1e\xfa", 4)))
		return CRTOS_REJECT_NOT_CODE;
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
	pr_info("crtos: %.8s image refused [reason: %s]\n", magic, crtos_reject_name[reason]);
	if (put_user((u32)reason, &uarg->reject_reason))
		return -EFAULT;
	return -EINVAL;

err_free:
	crtos_image_free(img);
	return err;
}

/*
 * crtos.h, enum crtos_hypercall: VMCALL with RAX = number, RDI/RSI/RDX = arguments,
 * result in RAX. Only valid while a hypervisor runs: on bare metal VMCALL raises #UD, so every
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

/* The hypervisor's entry: crtos_hv_entry_t in crtos.h (hypervisor/src/entry.rs). */
struct crtos_hv_call {
	crtos_hv_entry_t entry;
	void *virt;
	u64 online_cpus;
	u64 power_off;          /* CRTOS_POWER_OFF(port, value), or 0 */
	int *result;            /* per CPU id */
};

/*
 * How the hypervisor powers the machine off after a panic of its own, when Linux
 * cannot any more: ACPI's PM1a control port and SLP_TYP(S5) << 10 | SLP_EN, as
 * Linux's own poweroff writes them. 0 (the hypervisor then halts) without ACPI or
 * when the register is not in I/O space.
 */
static u64 crtos_acpi_power_off(void)
{
#ifdef CONFIG_ACPI
	const struct acpi_generic_address *cnt = &acpi_gbl_FADT.xpm1a_control_block;
	u8 type_a, type_b;

	if (acpi_disabled || cnt->space_id != ACPI_ADR_SPACE_SYSTEM_IO || !cnt->address ||
	    cnt->address > U16_MAX)
		return 0;
	if (ACPI_FAILURE(acpi_get_sleep_type_data(ACPI_STATE_S5, &type_a, &type_b)))
		return 0;
	return CRTOS_POWER_OFF(cnt->address, ((u16)type_a << 10) | BIT(13));
#else
	return 0;
#endif
}

/* The hypervisor's whole range, mapped executable while it runs, and its entry. */
static void *crtos_hv_exec;
static crtos_hv_entry_t crtos_hv_entry;

/*
 * memremap()'s mapping of the range is not executable, and neither is anything vmap()
 * or ioremap give: since Linux 5.8 vmap() forces NX. So the range (which has struct
 * pages: it lies inside RAM's sections) is vmap()ed, and then the NX bit is cleared in
 * the PTEs of this one mapping, which only this driver uses: what set_memory_x()
 * would do, were it exported. (Jailhouse reaches ioremap_page_range() instead.)
 * The hypervisor is linked position-independent: it runs at whatever address this
 * returns, and the whole range (its stacks and per-CPU data too) stays mapped here
 * for as long as it runs, including on its way out.
 */
static void *crtos_hv_map_exec(void)
{
	unsigned long i, n = crtos_res.hv.size >> PAGE_SHIFT;
	struct page **pages;
	void *virt = NULL;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned long pfn = PHYS_PFN(crtos_res.hv.base) + i;

		if (!pfn_valid(pfn)) {
			pr_err("crtos: hypervisor range has no struct page at pfn %#lx: cannot map it executable\n",
			       pfn);
			goto out;
		}
		pages[i] = pfn_to_page(pfn);
	}
	virt = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	if (!virt)
		goto out;
	for (i = 0; i < n; i++) {
		unsigned int level;
		pte_t *pte = lookup_address((unsigned long)virt + (i << PAGE_SHIFT), &level);

		if (!pte || level != PG_LEVEL_4K) {
			pr_err("crtos: unexpected page table for the hypervisor's mapping\n");
			vunmap(virt);
			virt = NULL;
			goto out;
		}
		set_pte(pte, pte_mkexec(*pte));
	}
	/* A new mapping was never executed, so no CPU caches its old NX: local flush. */
	__flush_tlb_all();
out:
	kvfree(pages);
	return virt;
}

/* Runs on every online CPU at once (IPI context, interrupts off). */
static void crtos_hv_enter_cpu(void *info)
{
	struct crtos_hv_call *c = info;
	unsigned int cpu = smp_processor_id();

	c->result[cpu] = c->entry(cpu, c->online_cpus, nr_cpu_ids, crtos_res.hv.base,
				  crtos_res.hv.size, (u64)c->virt, c->power_off);
}

static void crtos_hv_leave_cpu(void *info)
{
	atomic_t *failures = info;

	if (crtos_hv_hypercall(CRTOS_HC_DISABLE, 0, 0, 0))
		atomic_inc(failures);
}

static int crtos_hv_enter(const struct crtos_image *img)
{
	struct crtos_hv_call c = {};
	unsigned int cpu, entered = 0;
	int err = 0;

	c.virt = crtos_hv_map_exec();
	if (!c.virt)
		return -ENOMEM;
	c.entry = (crtos_hv_entry_t)(c.virt + img->hdr.entry_offset);
	c.power_off = crtos_acpi_power_off();
	c.result = kcalloc(nr_cpu_ids, sizeof(*c.result), GFP_KERNEL);
	if (!c.result) {
		err = -ENOMEM;
		goto err_unmap;
	}

	/*
	 * No CPU may come or go while the hypervisor runs: a CPU brought online would
	 * run Linux outside it, one taken offline would be lost to it (the hypervisor
	 * keeps no state for a CPU that parks). So hot-plug is blocked from here until
	 * DISABLE; an offline or online attempt meanwhile fails with EBUSY. The read
	 * lock keeps the set of CPUs still while on_each_cpu() enters them.
	 */
	cpu_hotplug_disable();
	cpus_read_lock();
	c.online_cpus = num_online_cpus();
	on_each_cpu(crtos_hv_enter_cpu, &c, 1);
	for_each_online_cpu(cpu) {
		if (c.result[cpu] == 0)
			entered++;
		else if (!err)
			err = c.result[cpu];
	}
	if (err && entered) {
		/* The hypervisor backs out everywhere when one CPU fails; should a CPU still
		 * be inside, make it leave rather than leave a half-enabled machine. */
		atomic_t failures = ATOMIC_INIT(0);

		for_each_online_cpu(cpu)
			if (c.result[cpu] == 0)
				smp_call_function_single(cpu, crtos_hv_leave_cpu, &failures, 1);
	}
	cpus_read_unlock();
	kfree(c.result);
	if (err) {
		pr_err("crtos: the hypervisor did not start (%d on at least one CPU): see its log lines above\n",
		       err);
		goto err_hotplug;
	}
	crtos_hv_exec = c.virt;
	crtos_hv_entry = c.entry;
	pr_info("crtos: hypervisor running on %llu CPUs; Linux continues as its guest (CPU hot-plug blocked until disable)\n",
		c.online_cpus);
	return 0;

err_hotplug:
	cpu_hotplug_enable();
err_unmap:
	vunmap(c.virt);
	return err;
}

/*
 * Lab 2: `cpu` left the hypervisor for the RTOS (or a start that failed) and Linux has
 * just brought it back online on bare metal: enter it alone, the way ENABLE entered
 * every CPU, so that every online CPU is again the hypervisor's guest. The hypervisor
 * knows the CPU comes back (it reset it) and skips the all-CPU barriers for it.
 */
int crtos_hv_rejoin(unsigned int cpu)
{
	struct crtos_hv_call c = { .entry = crtos_hv_entry, .virt = crtos_hv_exec };
	int err;

	c.online_cpus = num_online_cpus();
	c.power_off = crtos_acpi_power_off();
	c.result = kcalloc(nr_cpu_ids, sizeof(*c.result), GFP_KERNEL);
	if (!c.result)
		return -ENOMEM;
	err = smp_call_function_single(cpu, crtos_hv_enter_cpu, &c, 1);
	if (!err)
		err = c.result[cpu];
	kfree(c.result);
	if (err)
		pr_err("crtos: CPU %u could not re-enter the hypervisor (%d): it runs Linux on bare metal\n",
		       cpu, err);
	return err;
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
	atomic_t failures = ATOMIC_INIT(0);

	if (crtos_state == CRTOS_STATE_DISABLED)
		return -ENODEV;
	/* The RTOS's CPU is not Linux's: `crtosctl stop-rtos` first gives it back (a
	 * DISABLE that stopped the RTOS itself would end real-time work as a side effect). */
	if (crtos_state == CRTOS_STATE_RTOS_RUNNING)
		return -EBUSY;

	cpus_read_lock();
	on_each_cpu(crtos_hv_leave_cpu, &failures, 1);
	cpus_read_unlock();
	if (atomic_read(&failures)) {
		pr_err("crtos: %d CPU(s) could not leave the hypervisor\n", atomic_read(&failures));
		return -EIO;
	}
	vunmap(crtos_hv_exec);
	crtos_hv_exec = NULL;
	cpu_hotplug_enable();
	crtos_state = CRTOS_STATE_DISABLED;
	module_put(THIS_MODULE);
	pr_info("crtos: hypervisor disabled; Linux runs on bare metal\n");
	return 0;
}

/* CRTOS_HYPERCALL: any hypercall but the two that change the driver's state. */
int crtos_hv_raw_hypercall(struct crtos_hypercall_arg __user *uarg)
{
	struct crtos_hypercall_arg a;

	if (crtos_state == CRTOS_STATE_DISABLED)
		return -ENODEV;  /* VMCALL on bare metal raises #UD */
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.nr == CRTOS_HC_DISABLE || a.nr == CRTOS_HC_START_RTOS)
		return -EINVAL;
	a.ret = crtos_hv_hypercall(a.nr, a.args[0], a.args[1], a.args[2]);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
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
