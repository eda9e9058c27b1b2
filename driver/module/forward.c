// SPDX-License-Identifier: GPL-2.0
/*
 * Lab 3: how the syscall daemon and the RTOS reach each other through the driver.
 *
 *  - The control page (shared region offset 0): the driver writes its header at load
 *    and its own fields (linux_vector/apic_id, daemon_generation/alive, notify_mode).
 *  - RTOS -> Linux: a vector the driver allocates from Linux's own vector allocator.
 *    The RTOS sends a fixed IPI with it; the handler marks a notification pending and
 *    wakes the daemon sleeping in read(2).
 *  - Linux -> RTOS: CRTOS_NOTIFY_RTOS sends the vector the RTOS published.
 *  - Liveness: the daemon's open file *is* its heartbeat. However the daemon ends
 *    (exit, crash, SIGKILL, OOM), the kernel closes its files and calls our release,
 *    which clears daemon_alive and tells the RTOS at once. No timer, no polling.
 *
 * The protocol (who writes what, check-after-arm) is in crtos.h, "shared region".
 */
#include <linux/atomic.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/apic.h>
#include <asm/irqdomain.h>

#include "crtos_module.h"

/*
 * The Linux CPU that takes RTOS -> Linux notifications. CPU 0: Linux never gives it
 * away (lab 2 hands the RTOS the last CPU, and x86 Linux does not offline CPU 0), so
 * the vector never has to move.
 */
#define CRTOS_NOTIFY_CPU 0

static struct {
	unsigned int irq;               /* Linux's number for our vector, 0 if none */
	/* The file that did DAEMON_ATTACH; changed under crtos_lock, read without it. */
	struct file *daemon;
	atomic64_t received;            /* notifications the RTOS sent since load */
	atomic_t pending;               /* one arrived since the daemon's last read */
	wait_queue_head_t waiters;      /* the daemon, asleep in read(2) or poll(2) */
} fwd = {
	.waiters = __WAIT_QUEUE_HEAD_INITIALIZER(fwd.waiters),
};

static struct crtos_control_page *control(void)
{
	return crtos_res.shared.virt + CRTOS_CONTROL_OFFSET;
}

/* Whether `file` is the attached daemon's. */
bool crtos_daemon_owns(struct file *file)
{
	return READ_ONCE(fwd.daemon) == file;
}

/* The RTOS's IPI on our vector: count it, leave it pending, wake the daemon. */
static irqreturn_t crtos_notification(int irq, void *dev_id)
{
	atomic64_inc(&fwd.received);
	atomic_set(&fwd.pending, 1);
	wake_up_interruptible(&fwd.waiters);
	return IRQ_HANDLED;
}

/* ANCHOR: vector_alloc */
/*
 * One vector from the x86 vector domain, the allocator Linux uses for MSIs: it is
 * free on CRTOS_NOTIFY_CPU, Linux will not hand it to a device, and it has a
 * descriptor in /proc/interrupts ("crtos-notify"). Pinned (info.mask) when allocated
 * and IRQF_NOBALANCING, so neither irqbalance nor a write to smp_affinity can move it
 * after we published it. The vector domain does not choose a flow handler (the MSI
 * and IO-APIC domains above it usually do): edge, acknowledged by an EOI to the
 * local APIC (the domain's chip, apic_ack_edge).
 */
static int crtos_vector_alloc(void)
{
	struct irq_alloc_info info = { .mask = cpumask_of(CRTOS_NOTIFY_CPU) };
	struct irq_data *data;
	unsigned int cpu, vector, apic_id;
	int irq, err;

	irq = irq_domain_alloc_irqs(x86_vector_domain, 1, NUMA_NO_NODE, &info);
	if (irq <= 0)
		return irq < 0 ? irq : -ENOSPC;
	irq_set_handler(irq, handle_edge_irq);
	err = request_irq(irq, crtos_notification, IRQF_NOBALANCING, "crtos-notify", &fwd);
	if (err) {
		irq_dispose_mapping(irq);
		return err;
	}
	fwd.irq = irq;
	data = irq_get_irq_data(irq);
	vector = irqd_cfg(data)->vector;
	/*
	 * Not irqd_cfg()->dest_apicid: that is the destination as a device would write
	 * it, which in xAPIC flat mode is a *logical* one (1 << cpu). The RTOS sends
	 * with a physical destination, so it needs the CPU's APIC ID.
	 */
	cpu = cpumask_first(irq_data_get_effective_affinity_mask(data));
	apic_id = per_cpu(x86_cpu_to_apicid, cpu);
	WRITE_ONCE(control()->linux_apic_id, apic_id);
	/* Last: a non-zero vector tells the RTOS the pair is complete. */
	smp_store_release(&control()->linux_vector, vector);
	pr_info("crtos: notifications from the RTOS on vector %#x, APIC ID %u (irq %u, CPU %u)\n",
		vector, apic_id, irq, cpu);
	return 0;
}
/* ANCHOR_END: vector_alloc */

/* Module load, after the shared region was claimed and zeroed. */
int crtos_forward_init(void)
{
	struct crtos_control_page *cp = control();

	int err;

	memcpy(cp->magic, CRTOS_CONTROL_MAGIC, CRTOS_MAGIC_LEN);
	cp->version = CRTOS_CONTROL_VERSION;
	cp->size = sizeof(*cp);
	err = crtos_vector_alloc();
	if (err)
		pr_err("crtos: no vector for RTOS->Linux notifications (%d)\n", err);
	return err;
}

/* Module unload: no file is open any more (each holds a module reference). */
void crtos_forward_exit(void)
{
	WRITE_ONCE(control()->linux_vector, 0);
	free_irq(fwd.irq, &fwd);
	irq_dispose_mapping(fwd.irq);
	fwd.irq = 0;
}

/*
 * CRTOS_NOTIFY_RTOS (crtos_lock held): a fixed IPI with the RTOS's vector to its
 * CPU. The vector and APIC ID come from shared memory any root process can write,
 * so they are checked: a real vector (32..255, below are exceptions), and the APIC ID
 * of the CPU we gave the RTOS, never one of Linux's. The RTOS's CPU is offline to
 * Linux and its LAPIC is the RTOS's own, so no Linux CPU number or logical
 * destination fits: physical destination, through the kernel's ICR accessor (xAPIC
 * or x2APIC alike, SDM Vol. 3A §11.6.1).
 */
int crtos_notify_rtos(void)
{
	u32 vector = READ_ONCE(control()->rtos_vector);
	u32 apic_id = READ_ONCE(control()->rtos_apic_id);
	unsigned long flags;

	if (crtos_state != CRTOS_STATE_RTOS_RUNNING)
		return -ENXIO;
	if (vector < FIRST_EXTERNAL_VECTOR || vector >= NR_VECTORS ||
	    apic_id != per_cpu(x86_cpu_to_apicid, crtos_rtos_cpu))
		return -ENXIO;
	local_irq_save(flags);
	apic_wait_icr_idle();
	apic->icr_write(APIC_DM_FIXED | APIC_DEST_PHYSICAL | vector, apic_id);
	local_irq_restore(flags);
	return 0;
}

/* CRTOS_DAEMON_ATTACH (crtos_lock held). */
int crtos_daemon_attach(struct file *file, struct crtos_attach_arg __user *uarg)
{
	struct crtos_control_page *cp = control();
	struct crtos_attach_arg a;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.notify_mode > CRTOS_NOTIFY_UINTR)
		return -EINVAL;
	if (fwd.daemon)
		return -EBUSY;
	a.generation = cp->daemon_generation + 1;
	/* Answer first: a caller that cannot take the answer changes nothing. */
	if (put_user(a.generation, &uarg->generation))
		return -EFAULT;
	/* A notification meant for the previous daemon is no news to this one. */
	atomic_set(&fwd.pending, 0);
	/* The previous daemon's UPID slot is no address for this one (uintr mode). */
	WRITE_ONCE(cp->daemon_uintr_ready, 0);
	WRITE_ONCE(cp->notify_mode, a.notify_mode);
	/*
	 * The RTOS reads daemon_alive, then daemon_generation: each store is a release,
	 * so seeing alive == 1 means seeing this generation and this notify_mode.
	 */
	smp_store_release(&cp->daemon_generation, a.generation);
	smp_store_release(&cp->daemon_alive, 1);
	WRITE_ONCE(fwd.daemon, file);
	pr_info("crtos: daemon attached (generation %u, notify mode %u)\n",
		a.generation, a.notify_mode);
	return 0;
}

/* ANCHOR: release */
/*
 * The attached file is closed: the daemon exited or was killed. Tell the RTOS now,
 * so that it fails the calls in flight with -EIO instead of waiting for answers
 * nobody will write. daemon_waiting is the daemon's field, but a dead daemon cannot
 * clear it, and a stale 1 would make the RTOS send IPIs to nobody.
 */
void crtos_daemon_release(struct file *file)
{
	struct crtos_control_page *cp = control();

	mutex_lock(&crtos_lock);
	if (fwd.daemon == file) {
		WRITE_ONCE(fwd.daemon, NULL);
		WRITE_ONCE(cp->daemon_waiting, 0);
		/* Its UPID slot goes back to the driver with the file: no sends to it. */
		WRITE_ONCE(cp->daemon_uintr_ready, 0);
		smp_store_release(&cp->daemon_alive, 0);
		smp_mb(); /* the RTOS sees alive == 0 before it takes our IPI */
		crtos_notify_rtos(); /* -ENXIO: no RTOS to tell, nothing to do */
		pr_info("crtos: daemon detached (generation %u)\n",
			READ_ONCE(cp->daemon_generation));
	}
	mutex_unlock(&crtos_lock);
}
/* ANCHOR_END: release */

/* read(2): wait for a notification, then return the count so far (8 bytes). */
ssize_t crtos_daemon_read(struct file *file, char __user *buf, size_t len, loff_t *off)
{
	u64 count;
	int err;

	if (!crtos_daemon_owns(file))
		return -EPERM;
	if (len < sizeof(count))
		return -EINVAL;
	/* atomic_xchg is fully ordered: the daemon's next look at the ring comes after. */
	while (!atomic_xchg(&fwd.pending, 0)) {
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = wait_event_interruptible(fwd.waiters, atomic_read(&fwd.pending));
		if (err)
			return err;
	}
	count = atomic64_read(&fwd.received);
	return copy_to_user(buf, &count, sizeof(count)) ? -EFAULT : sizeof(count);
}

__poll_t crtos_daemon_poll(struct file *file, poll_table *wait)
{
	if (!crtos_daemon_owns(file))
		return EPOLLERR;
	poll_wait(file, &fwd.waiters, wait);
	return atomic_read(&fwd.pending) ? EPOLLIN | EPOLLRDNORM : 0;
}
