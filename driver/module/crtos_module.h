/* SPDX-License-Identifier: GPL-2.0 */
/* What the module's files share. One file per concern:
 *   main.c        load/unload, the misc device, the ioctl switch, the state lock
 *   hypervisor.c  image validation, ENABLE/DISABLE/QUERY, hypercalls, CPU features
 *   rtos.c        START_RTOS
 *   shared.c      the memmap= reservation: claim, map, mmap of the shared region
 *   forward.c     lab 3: the control page, the notification vector, the daemon's file
 *   uintr.c       user interrupts for Linux threads (lab 4)
 */
#ifndef CRTOS_MODULE_H
#define CRTOS_MODULE_H

#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/types.h>
#include "crtos.h"

/* One range of the reservation, claimed and mapped write-back into the kernel. */
struct crtos_range {
	phys_addr_t base;
	u64 size;
	void *virt;
	const char *name;
};

struct crtos_reservation {
	struct crtos_range hv, rtos, shared;
};

/* A validated image in a kernel buffer (never in the reserved range before it is valid). */
struct crtos_image {
	void *data;
	u64 size;
	struct crtos_image_header hdr;
};

/* Serialises every ioctl and guards the state below. */
extern struct mutex crtos_lock;
extern enum crtos_state crtos_state;
extern unsigned int crtos_rtos_cpu;
extern struct crtos_reservation crtos_res;

/* shared.c */
int crtos_reservation_claim(phys_addr_t base);
void crtos_reservation_release(void);
int crtos_shared_mmap(struct file *file, struct vm_area_struct *vma);
int crtos_probe_read(struct crtos_probe_arg __user *uarg);

/* hypervisor.c */
int crtos_image_copy_in(struct crtos_image_arg __user *uarg, const char *magic,
			u64 range_size, struct crtos_image *img);
void crtos_image_free(struct crtos_image *img);
long crtos_hv_hypercall(u64 nr, u64 arg0, u64 arg1, u64 arg2);
int crtos_hv_enable(struct crtos_image_arg __user *uarg);
int crtos_hv_disable(void);
int crtos_hv_query(struct crtos_query __user *uarg);
int crtos_hv_raw_hypercall(struct crtos_hypercall_arg __user *uarg);
void crtos_cpu_features(u64 *vmx_cpus, u64 *uintr_cpus);

int crtos_hv_rejoin(unsigned int cpu);

/* rtos.c */
int crtos_rtos_start(struct crtos_start_rtos_arg __user *uarg);
int crtos_rtos_stop(void);

/* forward.c */
int crtos_forward_init(void);
void crtos_forward_exit(void);
int crtos_daemon_attach(struct file *file, struct crtos_attach_arg __user *uarg);
bool crtos_daemon_owns(struct file *file);
int crtos_notify_rtos(void);
void crtos_daemon_release(struct file *file);
ssize_t crtos_daemon_read(struct file *file, char __user *buf, size_t len, loff_t *off);
__poll_t crtos_daemon_poll(struct file *file, poll_table *wait);
/* uintr.c */
int crtos_uintr_init(void);
void crtos_uintr_exit(void);
long crtos_uintr_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void crtos_uintr_release(struct file *file);

#endif /* CRTOS_MODULE_H */
