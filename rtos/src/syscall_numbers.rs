//! x86-64 Linux system-call numbers (arch/x86/entry/syscalls/syscall_64.tbl), each
//! defined once with its name: the served ones, and the common ones a program may try,
//! so the "not supported" line can name them.

macro_rules! syscalls {
    ($($konst:ident = $nr:literal, $name:literal;)*) => {
        // Only the served numbers are matched on; the others are here for their names.
        $(#[allow(dead_code)] pub const $konst: u64 = $nr;)*
        /// The name of system call `nr`, when it is in the table.
        pub fn name(nr: u64) -> Option<&'static str> {
            match nr {
                $($nr => Some($name),)*
                _ => None,
            }
        }
    };
}

syscalls! {
    READ = 0, "read";
    WRITE = 1, "write";
    OPEN = 2, "open";
    CLOSE = 3, "close";
    STAT = 4, "stat";
    FSTAT = 5, "fstat";
    LSTAT = 6, "lstat";
    LSEEK = 8, "lseek";
    MMAP = 9, "mmap";
    MPROTECT = 10, "mprotect";
    MUNMAP = 11, "munmap";
    BRK = 12, "brk";
    RT_SIGACTION = 13, "rt_sigaction";
    RT_SIGPROCMASK = 14, "rt_sigprocmask";
    IOCTL = 16, "ioctl";
    PREAD64 = 17, "pread64";
    PWRITE64 = 18, "pwrite64";
    READV = 19, "readv";
    WRITEV = 20, "writev";
    ACCESS = 21, "access";
    SCHED_YIELD = 24, "sched_yield";
    MADVISE = 28, "madvise";
    DUP = 32, "dup";
    NANOSLEEP = 35, "nanosleep";
    GETPID = 39, "getpid";
    CLONE = 56, "clone";
    FORK = 57, "fork";
    EXECVE = 59, "execve";
    EXIT = 60, "exit";
    KILL = 62, "kill";
    UNAME = 63, "uname";
    FCNTL = 72, "fcntl";
    FSYNC = 74, "fsync";
    GETCWD = 79, "getcwd";
    CHDIR = 80, "chdir";
    RENAME = 82, "rename";
    MKDIR = 83, "mkdir";
    RMDIR = 84, "rmdir";
    UNLINK = 87, "unlink";
    GETUID = 102, "getuid";
    GETPPID = 110, "getppid";
    SCHED_SETPARAM = 142, "sched_setparam";
    SCHED_GETPARAM = 143, "sched_getparam";
    SCHED_SETSCHEDULER = 144, "sched_setscheduler";
    SCHED_GETSCHEDULER = 145, "sched_getscheduler";
    SCHED_GET_PRIORITY_MAX = 146, "sched_get_priority_max";
    SCHED_GET_PRIORITY_MIN = 147, "sched_get_priority_min";
    ARCH_PRCTL = 158, "arch_prctl";
    GETTID = 186, "gettid";
    GETDENTS64 = 217, "getdents64";
    SET_TID_ADDRESS = 218, "set_tid_address";
    CLOCK_GETTIME = 228, "clock_gettime";
    CLOCK_GETRES = 229, "clock_getres";
    CLOCK_NANOSLEEP = 230, "clock_nanosleep";
    EXIT_GROUP = 231, "exit_group";
    OPENAT = 257, "openat";
    MKDIRAT = 258, "mkdirat";
    NEWFSTATAT = 262, "newfstatat";
    UNLINKAT = 263, "unlinkat";
    RENAMEAT = 264, "renameat";
    PRLIMIT64 = 302, "prlimit64";
    GETRANDOM = 318, "getrandom";
    // Intel's UINTR RFC (v1, 2021: "x86/uintr: Wire up the user interrupt syscalls"),
    // numbers never merged into Linux; the RTOS serves them (syscall/uintr.rs).
    UINTR_REGISTER_HANDLER = 471, "uintr_register_handler";
    UINTR_UNREGISTER_HANDLER = 472, "uintr_unregister_handler";
    UINTR_CREATE_FD = 473, "uintr_create_fd";
    UINTR_REGISTER_SENDER = 474, "uintr_register_sender";
    UINTR_UNREGISTER_SENDER = 475, "uintr_unregister_sender";
    UINTR_WAIT = 476, "uintr_wait";
}
