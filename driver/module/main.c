// SPDX-License-Identifier: GPL-2.0
/*
 * crtos: the Linux side of the compounded RTOS stack. Loads a hypervisor image into a
 * memmap= reservation and enters it on every CPU, hands a CPU and an RTOS image to it,
 * and lets the syscall daemon mmap the shared region.
 *
 * This file: module load/unload, the misc device /dev/crtos and its ioctl switch.
 *
 * Images arrive in a user buffer (struct crtos_image_arg), not through request_firmware:
 *  - the student names the file they just built (`crtosctl enable build/.../hv.img`);
 *    request_firmware would want it copied under /lib/firmware with a fixed name first;
 *  - the initramfs stays free of a firmware directory and the loader's fallback paths;
 *  - a bad image fails in the ioctl itself with an errno and a reason code the tool
 *    can turn into a sentence, rather than a firmware-loader log line.
 * The buffer is copied into kernel memory once and validated there, so user space
 * cannot change it between the check and the copy into the reserved range.
 */
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "crtos_module.h"

static ulong reserved_base = CRTOS_RESERVED_BASE;
module_param(reserved_base, ulong, 0444);
MODULE_PARM_DESC(reserved_base,
		 "physical base of the memmap= reservation (default 0x10000000)");

DEFINE_MUTEX(crtos_lock);
enum crtos_state crtos_state = CRTOS_STATE_DISABLED;
unsigned int crtos_rtos_cpu;

static int crtos_status(struct crtos_status __user *uarg)
{
	struct crtos_status st = {
		.abi_version = CRTOS_ABI_VERSION,
		.state = crtos_state,
		.reserved_base = crtos_res.hv.base,
		.reserved_size = CRTOS_RESERVED_SIZE,
		.hv_base = crtos_res.hv.base,
		.hv_size = crtos_res.hv.size,
		.rtos_base = crtos_res.rtos.base,
		.rtos_size = crtos_res.rtos.size,
		.shared_base = crtos_res.shared.base,
		.shared_size = crtos_res.shared.size,
		.online_cpus = num_online_cpus(),
		.rtos_cpu = crtos_rtos_cpu,
	};

	crtos_cpu_features(&st.vmx_cpus, &st.uintr_cpus);
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long crtos_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long err;

	switch (cmd) {
	case CRTOS_UINTR_REGISTER_RECEIVER:
	case CRTOS_UINTR_REGISTER_SENDER:
	case CRTOS_UINTR_WAIT:
	case CRTOS_UINTR_UNREGISTER:
		/* Per thread, and WAIT blocks: not under crtos_lock (uintr.c). */
		return crtos_uintr_ioctl(file, cmd, arg);
	}

	/* Everything but the read-only requests changes what runs on the machine. */
	if (cmd != CRTOS_STATUS && cmd != CRTOS_QUERY && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (mutex_lock_interruptible(&crtos_lock))
		return -EINTR;

	switch (cmd) {
	case CRTOS_ENABLE:
		err = crtos_hv_enable(uarg);
		break;
	case CRTOS_DISABLE:
		err = crtos_hv_disable();
		break;
	case CRTOS_START_RTOS:
		err = crtos_rtos_start(uarg);
		break;
	case CRTOS_STOP_RTOS:
		err = crtos_rtos_stop();
		break;
	case CRTOS_QUERY:
		err = crtos_hv_query(uarg);
		break;
	case CRTOS_STATUS:
		err = crtos_status(uarg);
		break;
	case CRTOS_HYPERCALL:
		err = crtos_hv_raw_hypercall(uarg);
		break;
	case CRTOS_PROBE_READ:
		err = crtos_probe_read(uarg);
		break;
	case CRTOS_DAEMON_ATTACH:
		err = crtos_daemon_attach(file, uarg);
		break;
	case CRTOS_NOTIFY_RTOS:
		err = crtos_daemon_owns(file) ? crtos_notify_rtos() : -EPERM;
		break;
	default:
		err = -ENOTTY;
		break;
	}

	mutex_unlock(&crtos_lock);
	return err;
}

static int crtos_release(struct inode *inode, struct file *file)
{
	crtos_daemon_release(file);
	crtos_uintr_release(file);
	return 0;
}

static const struct file_operations crtos_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = crtos_ioctl,
	.release = crtos_release,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = crtos_shared_mmap,
	.llseek = noop_llseek,
	/* lab 3: the daemon's file (forward.c) */
	.read = crtos_daemon_read,
	.poll = crtos_daemon_poll,
	.release = crtos_release,
};

static struct miscdevice crtos_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "crtos",
	.fops = &crtos_fops,
	.mode = 0600,
};

static int __init crtos_init(void)
{
	int err;

	err = crtos_reservation_claim(reserved_base);
	if (err)
		return err;

	err = crtos_forward_init();
	if (err)
		goto err_release_reservation;

	err = crtos_uintr_init();
	if (err)
		goto err_forward_exit;

	err = misc_register(&crtos_misc);
	if (err)
		goto err_uintr_exit;

	pr_info("crtos: /dev/crtos ready, reservation %#llx-%#llx\n",
		(u64)crtos_res.hv.base,
		(u64)crtos_res.hv.base + CRTOS_RESERVED_SIZE - 1);
	return 0;

err_uintr_exit:
	crtos_uintr_exit();
err_forward_exit:
	crtos_forward_exit();
err_release_reservation:
	crtos_reservation_release();
	return err;
}

/*
 * Unloading while a hypervisor runs is refused, not forced: ENABLE takes a reference
 * on this module and DISABLE drops it, so rmmod answers EBUSY ("in use") until the
 * student disables. Exit can then assume the DISABLED state.
 */
static void __exit crtos_exit(void)
{
	misc_deregister(&crtos_misc);
	crtos_uintr_exit();
	crtos_forward_exit();
	crtos_reservation_release();
	pr_info("crtos: unloaded\n");
}

module_init(crtos_init);
module_exit(crtos_exit);

MODULE_DESCRIPTION("crtos: hypervisor and RTOS loader for the compounded RTOS labs");
MODULE_LICENSE("GPL");
