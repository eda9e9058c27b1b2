//! The driver's ioctl interface (crtos.h: `struct crtos_*_arg`, `CRTOS_*` requests):
//! the argument structs and the request numbers, for every user-space caller
//! (`crtosctl`, `crtosd`). Sizes are checked at compile time, the numbers against the
//! header by `tests/header.rs`.

/// `struct crtos_image_arg`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ImageArg {
    pub addr: u64,
    pub size: u64,
    pub reject_reason: u32,
    pub pad: u32,
}
const _: () = assert!(core::mem::size_of::<ImageArg>() == 24);

/// `struct crtos_start_rtos_arg`: the image and the RTOS's run list.
#[repr(C)]
#[derive(Debug, Default)]
pub struct StartRtosArg {
    pub image: ImageArg,
    pub cmdline_addr: u64,
    pub cmdline_len: u64,
}
const _: () = assert!(core::mem::size_of::<StartRtosArg>() == 40);

/// `struct crtos_status`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Status {
    pub abi_version: u32,
    pub state: u32,
    pub reserved_base: u64,
    pub reserved_size: u64,
    pub hv_base: u64,
    pub hv_size: u64,
    pub rtos_base: u64,
    pub rtos_size: u64,
    pub shared_base: u64,
    pub shared_size: u64,
    pub online_cpus: u32,
    pub rtos_cpu: u32,
    pub vmx_cpus: u64,
    pub uintr_cpus: u64,
}
const _: () = assert!(core::mem::size_of::<Status>() == 96);

/// `struct crtos_query`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Query {
    pub hv_version: u64,
    pub hv_features: u64,
}

/// `struct crtos_hypercall_arg`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct HypercallArg {
    pub nr: u64,
    pub args: [u64; 3],
    pub ret: i64,
}

/// `struct crtos_probe_arg`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ProbeArg {
    pub offset: u64,
    pub value: u64,
}

/// `struct crtos_attach_arg` (lab 3): the daemon's notify mode in, its generation out.
#[repr(C)]
#[derive(Debug, Default)]
pub struct AttachArg {
    /// A [`crate::forwarding::NotifyMode`].
    pub notify_mode: u32,
    pub generation: u32,
}
const _: () = assert!(core::mem::size_of::<AttachArg>() == 8);

/// `struct crtos_uintr_receiver_arg` (lab 4): the calling thread's handler in, its
/// UPID's slot and offset in the shared region out.
#[repr(C)]
#[derive(Debug, Default)]
pub struct UintrReceiverArg {
    pub handler: u64,
    pub upid_index: u32,
    pub pad: u32,
    pub upid_offset: u64,
}
const _: () = assert!(core::mem::size_of::<UintrReceiverArg>() == 24);

/// `struct crtos_uintr_sender_arg` (lab 4): a receiver's slot and a user vector in,
/// the calling thread's new UITT index out.
#[repr(C)]
#[derive(Debug, Default)]
pub struct UintrSenderArg {
    pub upid_index: u32,
    pub user_vector: u32,
    pub uitt_index: u32,
    pub pad: u32,
}
const _: () = assert!(core::mem::size_of::<UintrSenderArg>() == 16);

/// `CRTOS_IOCTL_MAGIC`.
pub const MAGIC: u8 = 0xC7;

// Linux's _IOC encoding on x86 (include/uapi/asm-generic/ioctl.h):
// dir(2 bits) << 30 | size(14) << 16 | type(8) << 8 | nr(8).
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | ((MAGIC as u64) << 8) | nr
}
const WRITE: u64 = 1;
const READ: u64 = 2;
/// `_IO(CRTOS_IOCTL_MAGIC, nr)`: no argument.
const fn io(nr: u64) -> u64 {
    ioc(0, nr, 0)
}
/// `_IOR(CRTOS_IOCTL_MAGIC, nr, T)`: the driver writes a `T`.
const fn ior<T>(nr: u64) -> u64 {
    ioc(READ, nr, core::mem::size_of::<T>())
}
/// `_IOWR(CRTOS_IOCTL_MAGIC, nr, T)`: a `T` goes in and comes back.
const fn iowr<T>(nr: u64) -> u64 {
    ioc(READ | WRITE, nr, core::mem::size_of::<T>())
}

pub const IOCTL_ENABLE: u64 = iowr::<ImageArg>(1);
pub const IOCTL_DISABLE: u64 = io(2);
pub const IOCTL_START_RTOS: u64 = iowr::<StartRtosArg>(3);
pub const IOCTL_QUERY: u64 = ior::<Query>(4);
pub const IOCTL_STATUS: u64 = ior::<Status>(5);
pub const IOCTL_HYPERCALL: u64 = iowr::<HypercallArg>(6);
pub const IOCTL_PROBE_READ: u64 = iowr::<ProbeArg>(7);
pub const IOCTL_STOP_RTOS: u64 = io(8);
/// Lab 3: this open file becomes the daemon's (see crtos.h).
pub const IOCTL_DAEMON_ATTACH: u64 = iowr::<AttachArg>(9);
/// Lab 3: send the RTOS its notification IPI.
pub const IOCTL_NOTIFY_RTOS: u64 = io(10);
/// Lab 4: user interrupts for the calling thread (crtos.h says what each does).
pub const IOCTL_UINTR_REGISTER_RECEIVER: u64 = iowr::<UintrReceiverArg>(16);
pub const IOCTL_UINTR_REGISTER_SENDER: u64 = iowr::<UintrSenderArg>(17);
pub const IOCTL_UINTR_WAIT: u64 = io(18);
pub const IOCTL_UINTR_UNREGISTER: u64 = io(19);

/// Every request with its name in crtos.h, for the header test.
pub const IOCTLS: [(&str, u64); 14] = [
    ("CRTOS_ENABLE", IOCTL_ENABLE),
    ("CRTOS_DISABLE", IOCTL_DISABLE),
    ("CRTOS_START_RTOS", IOCTL_START_RTOS),
    ("CRTOS_QUERY", IOCTL_QUERY),
    ("CRTOS_STATUS", IOCTL_STATUS),
    ("CRTOS_HYPERCALL", IOCTL_HYPERCALL),
    ("CRTOS_PROBE_READ", IOCTL_PROBE_READ),
    ("CRTOS_STOP_RTOS", IOCTL_STOP_RTOS),
    ("CRTOS_DAEMON_ATTACH", IOCTL_DAEMON_ATTACH),
    ("CRTOS_NOTIFY_RTOS", IOCTL_NOTIFY_RTOS),
    (
        "CRTOS_UINTR_REGISTER_RECEIVER",
        IOCTL_UINTR_REGISTER_RECEIVER,
    ),
    ("CRTOS_UINTR_REGISTER_SENDER", IOCTL_UINTR_REGISTER_SENDER),
    ("CRTOS_UINTR_WAIT", IOCTL_UINTR_WAIT),
    ("CRTOS_UINTR_UNREGISTER", IOCTL_UINTR_UNREGISTER),
];
