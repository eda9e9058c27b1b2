//! Rust mirror of `driver/include/crtos.h`: the ioctl interface and the image header.
//! Sizes are checked at compile time; a field added on one side only breaks the build.

pub use crtos_abi::{
    ImageHeader, RejectReason, ABI_VERSION, CHECKSUM_OFFSET, HEADER_SIZE, HV_MAGIC, HV_SIZE,
    IMAGE_VERSION, RTOS_MAGIC, RTOS_SIZE,
};

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
    pub notify_mode: u32,
    pub generation: u32,
}
const _: () = assert!(core::mem::size_of::<AttachArg>() == 8);

// Linux's _IOC encoding on x86: dir(2 bits) << 30 | size(14) << 16 | type(8) << 8 | nr(8).
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (0xC7 << 8) | nr
}
const WRITE: u64 = 1;
const READ: u64 = 2;
pub const IOCTL_ENABLE: u64 = ioc(READ | WRITE, 1, core::mem::size_of::<ImageArg>());
pub const IOCTL_DISABLE: u64 = ioc(0, 2, 0);
pub const IOCTL_START_RTOS: u64 = ioc(READ | WRITE, 3, core::mem::size_of::<StartRtosArg>());
pub const IOCTL_QUERY: u64 = ioc(READ, 4, core::mem::size_of::<Query>());
pub const IOCTL_STATUS: u64 = ioc(READ, 5, core::mem::size_of::<Status>());
pub const IOCTL_HYPERCALL: u64 = ioc(READ | WRITE, 6, core::mem::size_of::<HypercallArg>());
pub const IOCTL_PROBE_READ: u64 = ioc(READ | WRITE, 7, core::mem::size_of::<ProbeArg>());
pub const IOCTL_STOP_RTOS: u64 = ioc(0, 8, 0);
pub const IOCTL_DAEMON_ATTACH: u64 = ioc(READ | WRITE, 9, core::mem::size_of::<AttachArg>());
pub const IOCTL_NOTIFY_RTOS: u64 = ioc(0, 10, 0);
