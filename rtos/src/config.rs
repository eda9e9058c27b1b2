//! The RTOS's numbers, each defined once.

/// Page size (4 KiB pages for user memory; the kernel's range uses 2 MiB pages).
pub const PAGE_SIZE: u64 = 4096;
/// The kernel's heap (task structures, queues), in the kernel's .bss.
/// Room for a launched program's image too: it is copied out of the launch area
/// (at most LAUNCH_MAX_SIZE, 2 MiB) before the loader reads it.
pub const HEAP_SIZE: usize = 6 << 20;

/// Where the kernel runs: KERNEL_HIGH + its physical address, in the top 2 GiB of the
/// address space (the "kernel" code model's range; rtos/kernel.ld links it there). The
/// kernel reaches its frames and page tables through the same map.
pub const KERNEL_HIGH: u64 = 0xffff_ffff_8000_0000;

/// The end of the lower canonical half: a user address lies below it (SYSRET to one
/// at or above it would fault in ring 0; FS must not point there).
pub const USER_CANONICAL_END: u64 = 0x0000_8000_0000_0000;

/// User programs live in [USER_START, USER_END): the first GiB, so one page directory
/// holds a task's memory. Static non-PIE programs are linked at 0x400000 by GNU ld
/// (musl-gcc) and at 0x200000 by LLVM's lld (Rust's default linker on x86-64 Linux);
/// the first 2 MiB stay unmapped, so a null pointer faults.
pub const USER_START: u64 = 0x20_0000;
pub const USER_END: u64 = 0x4000_0000;
/// The initial stack: its top and how much of it is mapped up front (no demand paging:
/// a real-time task must not fault its stack in).
pub const USER_STACK_TOP: u64 = USER_END - PAGE_SIZE; // one unmapped guard page above
pub const USER_STACK_SIZE: u64 = 256 << 10;
/// Anonymous `mmap` regions come from [MMAP_START, MMAP_END).
pub const MMAP_START: u64 = 0x1000_0000;
pub const MMAP_END: u64 = USER_STACK_TOP - USER_STACK_SIZE - PAGE_SIZE;
/// The program break may grow up to here (from the end of the program's data).
pub const BRK_END: u64 = MMAP_START;

/// SCHED_FIFO priorities, as Linux numbers them: 1 (lowest) to 99 (highest).
pub const PRIO_MIN: u8 = 1;
pub const PRIO_MAX: u8 = 99;
/// The priority of a `run=` word without `@prio`.
pub const PRIO_DEFAULT: u8 = 10;
/// The priority of a task `crtosctl run` launches: the run list's default, so it
/// neither preempts nor starves the run list's tasks of default priority.
pub const LAUNCH_PRIO: u8 = PRIO_DEFAULT;
/// How many tasks the command line may start.
pub const MAX_TASKS: usize = 24;

/// Interrupt vectors of the RTOS (external interrupts start at 32).
pub const TIMER_VECTOR: u8 = 0x30;
/// Linux's notifications (lab 3): published as `ControlPage::rtos_vector`.
pub const FORWARD_NOTIFY_VECTOR: u8 = 0x31;
/// The idle loop's `int` into the kernel when it finds forwarding work (software
/// only: no device or IPI uses it, so it needs no EOI).
pub const FORWARD_SERVICE_VECTOR: u8 = 0x32;
/// Lab 4, `uintr` notify mode: the user vector a daemon's SENDUIPI posts into the
/// forwarder's UPID (published as `ControlPage::rtos_user_vector`). Any would do: the
/// forwarder looks at its queues, not at which bit was posted.
pub const FORWARD_UINTR_USER_VECTOR: u8 = 0;
/// User interrupts (lab 4): the notification vector (UINV) of a running receiver. With
/// CR4.UINTR set the CPU takes it as a user-interrupt notification; it never reaches
/// the IDT.
pub const UINTR_NOTIFY_VECTOR: u8 = 0x33;
/// What a receiver blocked in `uintr_wait` has in its UPID instead: an ordinary
/// interrupt, whose handler wakes it (as the RFC's kernel does).
pub const UINTR_WAKE_VECTOR: u8 = 0x34;
/// While the forwarder waits on the daemon, it looks at the ring and the control page
/// at least this often, notification or not (the contract's bound for failing the
/// calls of a dead daemon is 100 ms).
pub const FORWARD_WATCH_MS: u64 = 10;
/// Marks a frame built by the `syscall` entry (not a hardware vector).
pub const SYSCALL_FRAME_MARK: u64 = 0x100;

/// Kernel stacks: one for system calls, one for the idle loop, one for the
/// forwarder's work (interrupts use the IST stacks of crates/baremetal).
pub const SYSCALL_STACK_SIZE: usize = 32 << 10;
pub const IDLE_STACK_SIZE: usize = 8 << 10;
/// The forwarder's work (laying the ring out, loading a launched program) runs on a
/// stack of its own, larger than an interrupt's (see arch/service_stack.rs).
pub const SERVICE_STACK_SIZE: usize = 64 << 10;
