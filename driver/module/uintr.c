// SPDX-License-Identifier: GPL-2.0
/*
 * User interrupts (UINTR, Intel SDM Vol. 3A ch. 7 "User Interrupts") for Linux threads
 * on Debian's stock 6.1 kernel, which knows nothing of them. This file does what the
 * RFC's kernel patches (Sohil Mehta, Sept. 2021) did, from a module:
 *
 *  - CR4.UINTR on every CPU, through the kernel's CR4 shadow (cr4_set_bits: a raw
 *    write would be undone by the next global TLB flush, which rewrites CR4 from the
 *    shadow), and again on each CPU that comes online (a cpuhp state).
 *  - Per thread: a UPID (receiver) in the shared region's UPID area and a UITT
 *    (sender) in kernel memory. Both are kernel addresses, valid under every process's
 *    CR3 (KPTI must be off: it would hide them from user CR3), which matters because
 *    the CPU reads them with whatever CR3 is current.
 *  - The UINTR MSRs and UIF switched with the thread (the stock kernel saves none of
 *    them), through preempt notifiers: see crtos_uintr_save() and crtos_uintr_load().
 *    So no other task on that CPU ever takes a user interrupt or inherits UIF.
 *  - A blocked receiver (CRTOS_UINTR_WAIT) is woken by a kernel vector: its UPID
 *    names 0xf1 while it sleeps, and the hook the stock kernel calls on 0xf1 wakes it.
 *
 * The vectors. A running receiver's CPU recognises its UINV: with CR4.UINTR set that
 * vector never reaches the IDT on that CPU, so it must be one Linux does not use
 * itself. 0xec (the RFC's choice) is Linux 6.1's local timer: taking it as UINV would
 * swallow timer ticks. 0x20-0xeb are handed out to devices. 0xf2 (POSTED_INTR_VECTOR)
 * and 0xf0 belong to KVM, which cannot load in our guest (VMX is hidden), and their
 * stock handlers only acknowledge: so UINV = 0xf2, and a notification that reaches a
 * CPU after its receiver left (UINV cleared) is acknowledged and does no harm; its PIR
 * bits stay in the UPID and are replayed on switch-in. The wake-up vector must differ
 * from UINV (another receiver running on the sleeper's last CPU would absorb it):
 * 0xf1 (POSTED_INTR_WAKEUP_VECTOR), whose stock handler calls a hook a module may set
 * (kvm_set_posted_intr_wakeup_handler).
 */
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/irq.h>
#include <asm/msr.h>
#include <asm/tlbflush.h>

#include "crtos_module.h"

/* Linux 6.1 names none of these (crates/crtos-abi/src/uintr.rs is the Rust side). */
#define X86_CR4_UINTR		BIT(25)
#define CPUID7_EDX_UINTR	BIT(5)
#define MSR_UINTR_RR		0x985
#define MSR_UINTR_HANDLER	0x986
#define MSR_UINTR_STACKADJUST	0x987
#define MSR_UINTR_MISC		0x988	/* UITT size [31:0], UINV [39:32] */
#define MSR_UINTR_PD		0x989
#define MSR_UINTR_TT		0x98a	/* UITT address | 1 = SENDUIPI enabled */
#define UINTR_MISC_UINV_SHIFT	32
#define UPID_ON_BIT		0
#define UPID_SN_BIT		1
#define UPID_NV_SHIFT		16
#define UPID_NDST_SHIFT		32
#define UITT_VALID		BIT(0)
#define UITT_UV_SHIFT		8
#define UINTR_USER_VECTORS	64

struct crtos_upid {
	u64 control;	/* ON (0), SN (1), NV [23:16], NDST [63:32] */
	u64 pir;	/* posted user vectors */
} __aligned(CRTOS_UPID_SLOT_SIZE);

struct crtos_uitt_entry {
	u64 flags;	/* valid (0), user vector [15:8] */
	u64 upid;	/* the UPID's linear address */
};

/* One thread's user-interrupt state; the thread itself is its only writer while alive. */
struct crtos_uintr_thread {
	struct list_head node;		/* on crtos_uintr_threads */
	struct list_head wait_node;	/* on crtos_uintr_waiters while in WAIT */
	struct preempt_notifier pn;
	struct task_struct *task;	/* referenced until freed */
	struct file *file;		/* the file it registered through (not referenced) */
	/* receiver: upid != NULL */
	struct crtos_upid *upid;
	int upid_index;
	u64 handler;
	/* sender: uitt != NULL, uitt_used entries valid */
	struct crtos_uitt_entry *uitt;
	u32 uitt_used;
	/* what the CPU held when the thread was switched out */
	u64 saved_rr;
	bool saved_uif;
	bool waiting;			/* in WAIT: the UPID names the wake vector */
	bool dead;			/* its last switch-out is done */
};

static bool crtos_uintr_usable;
static enum cpuhp_state crtos_uintr_cpuhp;
/* Guards the thread list and the slot bitmap (process context only). */
static DEFINE_MUTEX(crtos_uintr_lock);
static LIST_HEAD(crtos_uintr_threads);
static DECLARE_BITMAP(crtos_upid_used, CRTOS_UPID_LINUX_SLOTS);
/* Receivers blocked in WAIT, walked by the 0xf1 hook in hard-IRQ context. */
static DEFINE_RAW_SPINLOCK(crtos_uintr_waiters_lock);
static LIST_HEAD(crtos_uintr_waiters);

/* ---------------------------------------------------------------- per CPU */

static int crtos_uintr_cpu_online(unsigned int cpu)
{
	cr4_set_bits(X86_CR4_UINTR);
	return 0;
}

static int crtos_uintr_cpu_offline(unsigned int cpu)
{
	cr4_clear_bits(X86_CR4_UINTR);
	return 0;
}

/* NDST in the format of the sender's APIC mode (SDM: xAPIC ID in bits 15:8). Linux
 * and the RTOS both run in the same mode, so the receiver's mode is the sender's. */
static u32 crtos_uintr_ndst(void)
{
	u32 apic_id = per_cpu(x86_cpu_to_apicid, smp_processor_id());

	return x2apic_mode ? apic_id : apic_id << 8;
}

static void crtos_upid_route(struct crtos_upid *upid, u8 nv, u32 ndst)
{
	u64 old = READ_ONCE(upid->control), new;

	do {
		new = (old & (BIT(UPID_ON_BIT) | BIT(UPID_SN_BIT))) |
		      (u64)nv << UPID_NV_SHIFT | (u64)ndst << UPID_NDST_SHIFT;
	} while (!try_cmpxchg(&upid->control, &old, new));
}

/* ---------------------------------------------------------------- switching */

/* ANCHOR: switch */
/*
 * Switch-out (and unregister), as the RFC's switch_uintr_prepare plus the XSAVES it
 * relied on: suppress notifications (SN) unless the thread sleeps in WAIT, whose wake
 * vector must get through; save UIF (TESTUI) and clear it (CLUI), so the next task
 * does not inherit it; save UIRR and zero every MSR, so the next task has no handler,
 * no UITT, and its CPU no UINV (a late notification then goes to 0xf2's IDT entry).
 * Interrupts are off here (the scheduler's switch, or our own callers).
 */
static void crtos_uintr_save(struct crtos_uintr_thread *t)
{
	bool uif;

	if (t->upid && !t->waiting)
		set_bit(UPID_SN_BIT, (unsigned long *)&t->upid->control);
	asm volatile("testui; setc %0; clui" : "=qm"(uif) : : "cc", "memory");
	t->saved_uif = uif;
	wrmsrl(MSR_UINTR_MISC, 0);
	rdmsrl(MSR_UINTR_RR, t->saved_rr);
	wrmsrl(MSR_UINTR_RR, 0);
	wrmsrl(MSR_UINTR_TT, 0);
	wrmsrl(MSR_UINTR_PD, 0);
	wrmsrl(MSR_UINTR_HANDLER, 0);
	wrmsrl(MSR_UINTR_STACKADJUST, 0);
}

/*
 * Switch-in (and registration, and the end of WAIT), as the RFC's switch_uintr_return:
 * restore the MSRs, point the UPID at this CPU (NDST) with the running vector, clear
 * SN, and replay what was posted while SN was set: a self-IPI of UINV moves PIR into
 * UIRR. UIF last: delivery waits for CPL 3 anyway.
 */
static void crtos_uintr_load(struct crtos_uintr_thread *t)
{
	u64 uinv = t->upid ? CRTOS_UINTR_NOTIFY_VECTOR : 0;
	u64 uitt_size = t->uitt_used ? t->uitt_used - 1 : 0;

	wrmsrl(MSR_UINTR_HANDLER, t->handler);
	wrmsrl(MSR_UINTR_STACKADJUST, t->upid ? CRTOS_UINTR_STACK_ADJUST : 0);
	wrmsrl(MSR_UINTR_PD, (u64)t->upid);
	wrmsrl(MSR_UINTR_TT, t->uitt_used ? (u64)t->uitt | 1 : 0);
	wrmsrl(MSR_UINTR_RR, t->saved_rr);
	wrmsrl(MSR_UINTR_MISC, uitt_size | uinv << UINTR_MISC_UINV_SHIFT);
	if (t->upid) {
		crtos_upid_route(t->upid, t->waiting ? CRTOS_UINTR_WAKE_VECTOR : uinv,
				 crtos_uintr_ndst());
		clear_bit(UPID_SN_BIT, (unsigned long *)&t->upid->control);
		smp_mb__after_atomic();
		if (!t->waiting && READ_ONCE(t->upid->pir))
			apic->send_IPI_self(uinv);
	}
	if (t->saved_uif)
		asm volatile("stui" : : : "memory");
}

/* ANCHOR_END: switch */

static void crtos_uintr_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct crtos_uintr_thread *t = container_of(pn, struct crtos_uintr_thread, pn);
	unsigned long flags;

	local_irq_save(flags);
	crtos_uintr_load(t);
	local_irq_restore(flags);
}

static void crtos_uintr_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	struct crtos_uintr_thread *t = container_of(pn, struct crtos_uintr_thread, pn);

	crtos_uintr_save(t);
	/* The thread's final switch: nothing will run it (or this notifier) again. */
	if (READ_ONCE(current->__state) == TASK_DEAD)
		WRITE_ONCE(t->dead, true);
}

static struct preempt_ops crtos_uintr_preempt_ops = {
	.sched_in = crtos_uintr_sched_in,
	.sched_out = crtos_uintr_sched_out,
};

/* ---------------------------------------------------------------- threads */

static struct crtos_uintr_thread *crtos_uintr_find(struct task_struct *task)
{
	struct crtos_uintr_thread *t;

	list_for_each_entry(t, &crtos_uintr_threads, node)
		if (t->task == task)
			return t;
	return NULL;
}

/* The calling thread's state, created (and its notifier registered) on first use. */
static struct crtos_uintr_thread *crtos_uintr_current(struct file *file)
{
	struct crtos_uintr_thread *t = crtos_uintr_find(current);

	if (t)
		return t;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return NULL;
	t->task = get_task_struct(current);
	t->file = file;
	t->upid_index = -1;
	INIT_LIST_HEAD(&t->wait_node);
	list_add(&t->node, &crtos_uintr_threads);
	preempt_notifier_inc();
	preempt_notifier_init(&t->pn, &crtos_uintr_preempt_ops);
	preempt_disable();
	preempt_notifier_register(&t->pn);
	preempt_enable();
	return t;
}

/* Reload the MSRs after the calling thread's state changed. */
static void crtos_uintr_reload(struct crtos_uintr_thread *t)
{
	unsigned long flags;

	local_irq_save(flags);
	crtos_uintr_save(t);
	crtos_uintr_load(t);
	local_irq_restore(flags);
}

/*
 * Frees a thread's state. Only for the calling thread (its MSRs are cleared and its
 * notifier unregistered here) or a dead one (after its last switch-out; the scheduler
 * may still be walking its notifier list, hence synchronize_rcu: the walk runs with
 * preemption off). Its UPID is zeroed with SN set, so stale UITT entries naming the
 * slot post nothing anyone sees until the slot is reused.
 */
static void crtos_uintr_free(struct crtos_uintr_thread *t)
{
	unsigned long flags;

	if (t->task == current) {
		local_irq_save(flags);
		t->waiting = false;
		crtos_uintr_save(t);
		preempt_notifier_unregister(&t->pn);
		local_irq_restore(flags);
	} else {
		synchronize_rcu();
	}
	if (t->upid) {
		WRITE_ONCE(t->upid->pir, 0);
		WRITE_ONCE(t->upid->control, BIT(UPID_SN_BIT));
		clear_bit(t->upid_index, crtos_upid_used);
	}
	list_del(&t->node);
	preempt_notifier_dec();
	put_task_struct(t->task);
	kfree(t->uitt);
	kfree(t);
}

/* ---------------------------------------------------------------- ioctls */

static int crtos_uintr_register_receiver(struct file *file,
					 struct crtos_uintr_receiver_arg __user *uarg)
{
	struct crtos_uintr_receiver_arg a;
	struct crtos_uintr_thread *t;
	int slot;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (!a.handler || a.handler >= TASK_SIZE_MAX)
		return -EINVAL;
	t = crtos_uintr_current(file);
	if (!t)
		return -ENOMEM;
	if (t->upid)
		return -EBUSY;
	slot = find_first_zero_bit(crtos_upid_used, CRTOS_UPID_LINUX_SLOTS);
	if (slot >= CRTOS_UPID_LINUX_SLOTS)
		return -ENOSPC;
	set_bit(slot, crtos_upid_used);
	t->upid_index = slot;
	t->upid = crtos_res.shared.virt + CRTOS_UPID_OFFSET + slot * CRTOS_UPID_SLOT_SIZE;
	WRITE_ONCE(t->upid->pir, 0);
	WRITE_ONCE(t->upid->control, BIT(UPID_SN_BIT));
	t->handler = a.handler;
	crtos_uintr_reload(t);

	a.upid_index = slot;
	a.upid_offset = CRTOS_UPID_OFFSET + slot * CRTOS_UPID_SLOT_SIZE;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static int crtos_uintr_register_sender(struct file *file,
				       struct crtos_uintr_sender_arg __user *uarg)
{
	struct crtos_uintr_sender_arg a;
	struct crtos_uintr_thread *t;
	u64 upid;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	/* Only UPIDs in the UPID area: SENDUIPI writes to the address an entry names. */
	if (a.upid_index >= CRTOS_UPID_SLOTS || a.user_vector >= UINTR_USER_VECTORS)
		return -EINVAL;
	/*
	 * NDST follows the *sender's* APIC mode (SDM: SENDUIPI reads NDST[15:8] in xAPIC
	 * mode, NDST[31:0] in x2APIC mode). The RTOS runs its local APIC in xAPIC mode and
	 * writes its UPIDs' NDST as apic_id << 8: from an x2APIC CPU, SENDUIPI would send
	 * their notification to APIC ID apic_id << 8, which is nobody.
	 */
	if (x2apic_mode && a.upid_index >= CRTOS_UPID_LINUX_SLOTS)
		return -EOPNOTSUPP;
	t = crtos_uintr_current(file);
	if (!t)
		return -ENOMEM;
	if (!t->uitt) {
		/* A power-of-two kmalloc is naturally aligned: 16 bytes is what TT needs. */
		t->uitt = kcalloc(CRTOS_UITT_ENTRIES, sizeof(*t->uitt), GFP_KERNEL);
		if (!t->uitt)
			return -ENOMEM;
	}
	if (t->uitt_used == CRTOS_UITT_ENTRIES)
		return -ENOSPC;
	upid = (u64)crtos_res.shared.virt + CRTOS_UPID_OFFSET +
	       a.upid_index * CRTOS_UPID_SLOT_SIZE;
	a.uitt_index = t->uitt_used;
	t->uitt[a.uitt_index].upid = upid;
	WRITE_ONCE(t->uitt[a.uitt_index].flags,
		   UITT_VALID | (u64)a.user_vector << UITT_UV_SHIFT);
	t->uitt_used++;
	crtos_uintr_reload(t);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/* Something for the thread: posted in its UPID, or already in this CPU's UIRR. */
static bool crtos_uintr_pending(struct crtos_uintr_thread *t)
{
	u64 rr;

	preempt_disable();
	rdmsrl(MSR_UINTR_RR, rr);
	preempt_enable();
	return rr || READ_ONCE(t->upid->pir);
}

/* ANCHOR: wait */
/*
 * The RFC's blocked receiver: while asleep its UPID names the wake vector, so a
 * SENDUIPI reaches crtos_uintr_wakeup() through the IDT. Before sleeping it looks at
 * the UPID and UIRR once more (a notification sent before the switch of vector has
 * been taken into UIRR by then: interrupts are on). After waking, UINV again, and
 * crtos_uintr_load() replays PIR into UIRR: the handler runs on the way to user mode.
 */
static long crtos_uintr_wait(struct crtos_uintr_thread *t)
{
	unsigned long flags;
	long ret = 0;

	raw_spin_lock_irqsave(&crtos_uintr_waiters_lock, flags);
	list_add(&t->wait_node, &crtos_uintr_waiters);
	raw_spin_unlock_irqrestore(&crtos_uintr_waiters_lock, flags);
	local_irq_save(flags);
	t->waiting = true;
	crtos_upid_route(t->upid, CRTOS_UINTR_WAKE_VECTOR, crtos_uintr_ndst());
	local_irq_restore(flags);

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (crtos_uintr_pending(t))
			break;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		schedule();
		ret = 1;
	}
	__set_current_state(TASK_RUNNING);

	raw_spin_lock_irqsave(&crtos_uintr_waiters_lock, flags);
	list_del_init(&t->wait_node);
	raw_spin_unlock_irqrestore(&crtos_uintr_waiters_lock, flags);
	t->waiting = false;
	crtos_uintr_reload(t);
	return ret;
}

/* The stock kernel's 0xf1 handler calls this (hard IRQ): wake every sleeper with a
 * notification outstanding. ON stays set until the woken thread's replay clears it. */
static void crtos_uintr_wakeup(void)
{
	struct crtos_uintr_thread *t;

	raw_spin_lock(&crtos_uintr_waiters_lock);
	list_for_each_entry(t, &crtos_uintr_waiters, wait_node)
		if (READ_ONCE(t->upid->control) & BIT(UPID_ON_BIT))
			wake_up_process(t->task);
	raw_spin_unlock(&crtos_uintr_waiters_lock);
}

/* ANCHOR_END: wait */

long crtos_uintr_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct crtos_uintr_thread *t;
	long err;

	if (!crtos_uintr_usable)
		return -EOPNOTSUPP;
	mutex_lock(&crtos_uintr_lock);
	switch (cmd) {
	case CRTOS_UINTR_REGISTER_RECEIVER:
		err = crtos_uintr_register_receiver(file, (void __user *)arg);
		break;
	case CRTOS_UINTR_REGISTER_SENDER:
		err = crtos_uintr_register_sender(file, (void __user *)arg);
		break;
	case CRTOS_UINTR_WAIT:
		t = crtos_uintr_find(current);
		mutex_unlock(&crtos_uintr_lock);	/* only this thread frees t */
		return t && t->upid ? crtos_uintr_wait(t) : -ENOENT;
	case CRTOS_UINTR_UNREGISTER:
		t = crtos_uintr_find(current);
		err = t ? 0 : -ENOENT;
		if (t)
			crtos_uintr_free(t);
		break;
	default:
		err = -ENOTTY;
		break;
	}
	mutex_unlock(&crtos_uintr_lock);
	return err;
}

/*
 * The file is closed for good (usually: its process exits, in its last thread). Free
 * the states registered through it that belong to the calling thread or to a dead
 * thread (one that is exiting right now is waited for), and reap orphans that died.
 * A live thread that keeps its state while the file is closed under it (another
 * thread closed it) becomes an orphan: it holds the module until it exits and is
 * reaped by a later release.
 */
void crtos_uintr_release(struct file *file)
{
	struct crtos_uintr_thread *t, *next;

	mutex_lock(&crtos_uintr_lock);
	list_for_each_entry_safe(t, next, &crtos_uintr_threads, node) {
		bool orphan = !t->file;

		if (t->file != file && !orphan)
			continue;
		if (!orphan && t->task != current && (t->task->flags & PF_EXITING))
			while (!READ_ONCE(t->dead))
				schedule_timeout_uninterruptible(1);
		if ((!orphan && t->task == current) || READ_ONCE(t->dead)) {
			crtos_uintr_free(t);
			if (orphan)
				module_put(THIS_MODULE);
		} else if (!orphan) {
			__module_get(THIS_MODULE);
			t->file = NULL;
		}
	}
	mutex_unlock(&crtos_uintr_lock);
}

/* ---------------------------------------------------------------- load/unload */

int crtos_uintr_init(void)
{
	unsigned int eax, ebx, ecx, edx;
	int state;

	if (boot_cpu_data.cpuid_level < 7)
		return 0;
	cpuid_count(7, 0, &eax, &ebx, &ecx, &edx);
	if (!(edx & CPUID7_EDX_UINTR))
		return 0;
	if (boot_cpu_has(X86_FEATURE_PTI)) {
		pr_warn("crtos: user interrupts off: KPTI hides the UPIDs and UITTs from user page tables (boot with pti=off)\n");
		return 0;
	}
	state = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "crtos/uintr:online",
				  crtos_uintr_cpu_online, crtos_uintr_cpu_offline);
	if (state < 0)
		return state;
	crtos_uintr_cpuhp = state;
	kvm_set_posted_intr_wakeup_handler(crtos_uintr_wakeup);
	crtos_uintr_usable = true;
	/* Which NDST format Linux's SENDUIPIs use; RTOS slots need xAPIC (register_sender). */
	pr_info("crtos: uintr: APIC mode %s\n", x2apic_mode ? "x2APIC" : "xAPIC");
	pr_info("crtos: user interrupts on: CR4.UINTR set, UINV %#x, wake-up vector %#x\n",
		CRTOS_UINTR_NOTIFY_VECTOR, CRTOS_UINTR_WAKE_VECTOR);
	return 0;
}

/* Every file is closed by now (each held the module), so no thread state is left. */
void crtos_uintr_exit(void)
{
	if (!crtos_uintr_usable)
		return;
	WARN_ON(!list_empty(&crtos_uintr_threads));
	kvm_set_posted_intr_wakeup_handler(NULL);
	cpuhp_remove_state(crtos_uintr_cpuhp);
	crtos_uintr_usable = false;
}
