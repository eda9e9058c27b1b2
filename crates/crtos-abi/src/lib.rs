//! The image header and the memory map, shared by everything that builds or reads an
//! image: the control tool (`driver/ctl`) and the hypervisor (and later the RTOS),
//! which put this header in their first 64 bytes. Mirrors `driver/include/crtos.h`;
//! the sizes are checked at compile time.
#![no_std]

pub mod rtos;
pub mod uintr;

/// The line a guest prints to end a run (then it powers off): `[exit] code=N`, with
/// N = 0 for success. Kernels print it (crates/baremetal), the machine runner reads it.
pub const EXIT_MARKER: &str = "[exit] code=";

/// Header magic of a hypervisor image.
pub const HV_MAGIC: [u8; 8] = *b"CRTOS-HV";
/// Header magic of an RTOS image.
pub const RTOS_MAGIC: [u8; 8] = *b"CRTOS-RT";
pub const IMAGE_VERSION: u32 = 1;
pub const HEADER_SIZE: usize = 64;
pub const CHECKSUM_OFFSET: usize = 40;

pub const HV_SIZE: u64 = 16 << 20;
pub const RTOS_SIZE: u64 = 32 << 20;

/// `struct crtos_image_header`: the first 64 bytes of every image.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageHeader {
    pub magic: [u8; 8],
    pub version: u32,
    pub header_size: u32,
    pub image_size: u64,
    pub entry_offset: u64,
    pub percpu_size: u64,
    pub checksum: u32,
    pub flags: u32,
    pub reserved: [u64; 2],
}
const _: () = assert!(core::mem::size_of::<ImageHeader>() == HEADER_SIZE);

impl ImageHeader {
    pub fn to_bytes(self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(&self.magic);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.header_size.to_le_bytes());
        b[16..24].copy_from_slice(&self.image_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.entry_offset.to_le_bytes());
        b[32..40].copy_from_slice(&self.percpu_size.to_le_bytes());
        b[40..44].copy_from_slice(&self.checksum.to_le_bytes());
        b[44..48].copy_from_slice(&self.flags.to_le_bytes());
        b[48..56].copy_from_slice(&self.reserved[0].to_le_bytes());
        b[56..64].copy_from_slice(&self.reserved[1].to_le_bytes());
        b
    }
}

/// The shared region follows the RTOS's range (crtos.h: CRTOS_SHARED_SIZE).
pub const SHARED_SIZE: u64 = 4 << 20;

/// Number of basic VM-exit reasons counted per CPU (SDM Vol. 3C, Appendix C).
pub const EXIT_REASONS: usize = 80;

/// What the QUERY hypercall writes at the guest address in RDI (when not 0): the
/// calling CPU's view of the hypervisor.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HvStats {
    pub version: u64,
    pub cpu: u64,
    pub online_cpus: u64,
    /// Linux accesses to memory closed to it, each denied.
    pub denied_accesses: u64,
    /// VM exits of this CPU by basic exit reason.
    pub exits: [u64; EXIT_REASONS],
}

/// Names of the exit reasons the hypervisor sees in practice, by number.
pub fn exit_reason_name(reason: usize) -> Option<&'static str> {
    Some(match reason {
        0 => "exception or NMI",
        1 => "external interrupt",
        2 => "triple fault",
        3 => "INIT signal",
        10 => "CPUID",
        12 => "HLT",
        18 => "VMCALL",
        28 => "control-register access",
        30 => "I/O instruction",
        31 => "RDMSR",
        32 => "WRMSR",
        37 => "monitor trap flag",
        48 => "EPT violation",
        49 => "EPT misconfiguration",
        55 => "XSETBV",
        _ => return None,
    })
}
