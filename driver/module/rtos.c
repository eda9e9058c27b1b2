// SPDX-License-Identifier: GPL-2.0
/*
 * START_RTOS and STOP_RTOS (lab 2): give the last online CPU and an RTOS image to the
 * hypervisor, and take the CPU back.
 *
 * Start, in this order: every check that can fail on bad input first (the image in a
 * kernel buffer, the run list, the state), so that a refused start changes nothing;
 * then take the CPU offline and issue the hypercall. The hypervisor copies the image
 * into the RTOS's range itself: Linux's EPT closes that range, so a memcpy from here
 * would be denied. Should the hypervisor fail once the CPU is out of VMX, it resets
 * the CPU, and the driver brings it back: online, and inside the hypervisor again.
 */
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/tsc.h>

#include "crtos_module.h"

/*
 * Takes `cpu` offline (or back online): the one hot-plug step the driver makes itself
 * while hot-plug is blocked for everyone else (hypervisor.c, crtos_hv_enter).
 * remove_cpu() and add_cpu() sleep: never call this under preempt_disable().
 */
static int crtos_hand_over_cpu(unsigned int cpu, bool online)
{
	int err;

	cpu_hotplug_enable();
	err = online ? add_cpu(cpu) : remove_cpu(cpu);
	cpu_hotplug_disable();
	return err;
}

/*
 * Gives a CPU the hypervisor reset (INIT) back to Linux: Linux starts it with its own
 * INIT-SIPI-SIPI, then the CPU re-enters the hypervisor, as ENABLE promised.
 */
static int crtos_take_back_cpu(unsigned int cpu)
{
	int err = crtos_hand_over_cpu(cpu, true);

	if (err) {
		pr_err("crtos: CPU %u did not come back online (%d)\n", cpu, err);
		return err;
	}
	return crtos_hv_rejoin(cpu);
}

/* FNV-1a over the start-up page: the hypervisor prints the same sum (rtos/mod.rs). */
static u32 crtos_startup_page_checksum(void)
{
	const u8 *page = phys_to_virt(CRTOS_STARTUP_PAGE);
	u32 h = 0x811c9dc5;
	int i;

	for (i = 0; i < PAGE_SIZE; i++)
		h = (h ^ page[i]) * 0x01000193;
	return h;
}

/* The request the hypervisor reads: image, clock, run list. */
static struct crtos_start_request *crtos_start_request(const struct crtos_start_rtos_arg *arg,
							 const struct crtos_image *img)
{
	struct crtos_start_request *req = kzalloc(sizeof(*req), GFP_KERNEL);

	if (!req)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(req->cmdline, u64_to_user_ptr(arg->cmdline_addr), arg->cmdline_len)) {
		kfree(req);
		return ERR_PTR(-EFAULT);
	}
	req->image_addr = (u64)img->data;
	req->image_size = img->size;
	req->tsc_khz = tsc_khz;
	req->realtime_ns = ktime_get_real_ns();
	return req;
}

int crtos_rtos_start(struct crtos_start_rtos_arg __user *uarg)
{
	struct crtos_start_rtos_arg arg;
	struct crtos_start_request *req;
	struct crtos_image img;
	unsigned int cpu;
	u32 page_before;
	long ret;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.cmdline_len >= CRTOS_START_CMDLINE_LEN)
		return -EINVAL;
	err = crtos_image_copy_in(&uarg->image, CRTOS_RTOS_MAGIC, crtos_res.rtos.size, &img);
	if (err)
		return err;
	req = crtos_start_request(&arg, &img);
	if (IS_ERR(req)) {
		err = PTR_ERR(req);
		goto out_free_image;
	}

	if (crtos_state == CRTOS_STATE_DISABLED) {
		err = -ENODEV;
		goto out_free;
	}
	if (crtos_state == CRTOS_STATE_RTOS_RUNNING || num_online_cpus() < 2 || !tsc_khz) {
		err = -EBUSY;
		goto out_free;
	}

	/* The RTOS gets the last CPU; Linux keeps the others (and CPU 0 always). */
	cpu = cpumask_last(cpu_online_mask);
	page_before = crtos_startup_page_checksum();
	err = crtos_hand_over_cpu(cpu, false);
	if (err)
		goto out_free;

	ret = crtos_hv_hypercall(CRTOS_HC_START_RTOS, cpu, (u64)req, 0);
	pr_info("crtos: start-up page %#llx: checksum before=%08x after=%08x\n",
		CRTOS_STARTUP_PAGE, page_before, crtos_startup_page_checksum());
	if (ret < 0) {
		err = ret;
		pr_err("crtos: the hypervisor did not start the RTOS on CPU %u (%d)\n", cpu, err);
		crtos_take_back_cpu(cpu);
		goto out_free;
	}

	crtos_rtos_cpu = cpu;
	crtos_state = CRTOS_STATE_RTOS_RUNNING;
	pr_info("crtos: RTOS started on CPU %u\n", cpu);

out_free:
	kfree(req);
out_free_image:
	crtos_image_free(&img);
	return err;
}

int crtos_rtos_stop(void)
{
	long ret;

	if (crtos_state != CRTOS_STATE_RTOS_RUNNING)
		return -ESRCH;
	ret = crtos_hv_hypercall(CRTOS_HC_STOP_RTOS, 0, 0, 0);
	if (ret < 0)
		return ret;
	crtos_state = CRTOS_STATE_ENABLED;
	pr_info("crtos: RTOS stopped; CPU %u goes back to Linux\n", crtos_rtos_cpu);
	return crtos_take_back_cpu(crtos_rtos_cpu);
}
