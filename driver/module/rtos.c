// SPDX-License-Identifier: GPL-2.0
/*
 * START_RTOS: give the last online CPU and an RTOS image to the hypervisor.
 *
 * Order: validate the image in a kernel buffer first (a bad image is refused the
 * same way whatever the state), then check the state, then take the CPU offline,
 * copy the image into the RTOS range and issue the hypercall. Each step that fails
 * undoes the ones before it.
 */
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/string.h>

#include "crtos_module.h"

/*
 * Takes `cpu` offline (or back online): the one hot-plug step the driver makes itself
 * while hot-plug is blocked for everyone else (hypervisor.c, crtos_hv_enter).
 */
static int crtos_hand_over_cpu(unsigned int cpu, bool online)
{
	int err;

	cpu_hotplug_enable();
	err = online ? add_cpu(cpu) : remove_cpu(cpu);
	cpu_hotplug_disable();
	return err;
}

int crtos_rtos_start(struct crtos_image_arg __user *uarg)
{
	struct crtos_image img;
	unsigned int cpu;
	long ret;
	int err;

	err = crtos_image_copy_in(uarg, CRTOS_RTOS_MAGIC, crtos_res.rtos.size, &img);
	if (err)
		return err;

	if (crtos_state == CRTOS_STATE_DISABLED) {
		err = -ENODEV;
		goto out_free;
	}
	if (crtos_state == CRTOS_STATE_RTOS_RUNNING || num_online_cpus() < 2) {
		err = -EBUSY;
		goto out_free;
	}

	/* The RTOS cell gets the last CPU; Linux keeps the others. */
	cpu = cpumask_last(cpu_online_mask);
	err = crtos_hand_over_cpu(cpu, false);
	if (err)
		goto out_free;

	memcpy(crtos_res.rtos.virt, img.data, img.size);
	memset(crtos_res.rtos.virt + img.size, 0, crtos_res.rtos.size - img.size);

	ret = crtos_hv_hypercall(CRTOS_HC_START_RTOS, cpu,
				 crtos_res.rtos.base + img.hdr.entry_offset, 0);
	if (ret < 0) {
		err = ret;
		goto err_online_cpu;
	}

	crtos_rtos_cpu = cpu;
	crtos_state = CRTOS_STATE_RTOS_RUNNING;
	pr_info("crtos: RTOS started on CPU %u\n", cpu);
	goto out_free;

err_online_cpu:
	crtos_hand_over_cpu(cpu, true);
out_free:
	crtos_image_free(&img);
	return err;
}
