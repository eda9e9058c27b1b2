//! The RTOS's side of the stack: where its image lives and the boot-information block
//! its starter fills. Two starters fill the same block: the hypervisor (lab 2), which
//! starts the RTOS on a CPU taken from Linux, and the RTOS's own standalone path, which
//! builds it from multiboot, ACPI and the PIT before it enters the same kernel main.

use crate::{HV_SIZE, RESERVED_BASE, RTOS_SIZE, SHARED_SIZE};
/// Where the RTOS image is loaded and linked: the reserved range after the hypervisor's.
pub const RTOS_BASE: u64 = RESERVED_BASE + HV_SIZE;
/// The shared region (ring, payload buffers) right after the RTOS's range.
pub const SHARED_BASE: u64 = RTOS_BASE + RTOS_SIZE;

/// `BootBlock::magic`: "CRTOSBB1".
pub const BOOT_BLOCK_MAGIC: [u8; 8] = *b"CRTOSBB1";
pub const BOOT_BLOCK_VERSION: u32 = 1;
/// Room for the run list in [`BootBlock::cmdline`], NUL-padded.
pub const BOOT_CMDLINE_LEN: usize = 1024;

/// How the RTOS was started ([`BootBlock::run_mode`]).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Booted alone by a multiboot loader (QEMU, Bochs): it owns the machine, and ends
    /// the run by powering it off.
    Standalone = 1,
    /// Started by the hypervisor on a CPU taken from Linux: no BIOS, no ACPI scan, no
    /// PIT (Linux owns them); when done it halts its CPU.
    Started = 2,
}

impl RunMode {
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            1 => Some(Self::Standalone),
            2 => Some(Self::Started),
            _ => None,
        }
    }
}

// ANCHOR: boot_block
/// The boot-information block: what the starter tells the RTOS. Its physical address
/// is in RDI at the 64-bit entry ([`crate::ImageHeader::entry_offset`]).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BootBlock {
    pub magic: [u8; 8],
    pub version: u32,
    /// `size_of::<BootBlock>()`: the RTOS refuses other sizes.
    pub size: u32,
    /// `RunMode` as a number.
    pub run_mode: u32,
    /// The local APIC ID of the CPU the RTOS runs on.
    pub apic_id: u32,
    /// The TSC rate in kHz (Linux knows it; the PIT belongs to Linux then).
    pub tsc_khz: u64,
    /// Physical address of the local APIC's registers.
    pub local_apic_base: u64,
    /// The RTOS's own physical range: image, heap, frames. It touches nothing else
    /// but the shared region, its console and its local APIC.
    pub rtos_base: u64,
    pub rtos_size: u64,
    pub shared_base: u64,
    pub shared_size: u64,
    /// Number of CPUs of the machine (the RTOS itself uses one).
    pub machine_cpus: u32,
    /// I/O port base of the console UART (0x2F8, COM2).
    pub console_port: u16,
    /// Set to 1 by the RTOS once it runs its own code: from then on the starter may
    /// restore the start-up page the trampoline borrowed.
    pub entered: u16,
    /// Wall-clock time at boot, ns since the Unix epoch (0 when unknown): the base of
    /// `CLOCK_REALTIME`.
    pub realtime_at_boot_ns: u64,
    /// Which programs to start with which arguments, and the run's options, as words:
    /// `run=<name>[@<prio>][:<arg>...] ... nonce=<hex>` (NUL-padded ASCII).
    pub cmdline: [u8; BOOT_CMDLINE_LEN],
}
// ANCHOR_END: boot_block
const _: () = assert!(core::mem::size_of::<BootBlock>() == 88 + BOOT_CMDLINE_LEN);
const _: () = assert!(RTOS_BASE.is_multiple_of(2 << 20) && SHARED_SIZE.is_multiple_of(2 << 20));

impl BootBlock {
    /// An empty block of this version, to be filled by a starter.
    pub const fn new(run_mode: RunMode) -> Self {
        BootBlock {
            magic: BOOT_BLOCK_MAGIC,
            version: BOOT_BLOCK_VERSION,
            size: core::mem::size_of::<BootBlock>() as u32,
            run_mode: run_mode as u32,
            apic_id: 0,
            tsc_khz: 0,
            local_apic_base: 0xFEE0_0000,
            rtos_base: RTOS_BASE,
            rtos_size: RTOS_SIZE,
            shared_base: SHARED_BASE,
            shared_size: SHARED_SIZE,
            machine_cpus: 1,
            console_port: 0x2F8,
            entered: 0,
            realtime_at_boot_ns: 0,
            cmdline: [0; BOOT_CMDLINE_LEN],
        }
    }

    /// The command line, up to its first NUL (empty if it is not ASCII).
    pub fn cmdline(&self) -> &str {
        let len = self
            .cmdline
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(BOOT_CMDLINE_LEN);
        core::str::from_utf8(&self.cmdline[..len]).unwrap_or("")
    }

    /// Copies `text` into the command line; `Err` when it does not fit (with its NUL).
    pub fn set_cmdline(&mut self, text: &str) -> Result<(), usize> {
        if text.len() >= BOOT_CMDLINE_LEN {
            return Err(text.len());
        }
        self.cmdline = [0; BOOT_CMDLINE_LEN];
        self.cmdline[..text.len()].copy_from_slice(text.as_bytes());
        Ok(())
    }
}

/// Room for the run list in [`StartRequest::cmdline`] (the boot block's, less its NUL).
pub const START_CMDLINE_LEN: usize = 512;

// ANCHOR: start_request
/// `struct crtos_start_request` (driver/include/crtos.h): what the driver hands the
/// START_RTOS hypercall, at a guest-virtual address in RSI. The hypervisor reads it
/// (and the image) through Linux's page tables and checks every field.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StartRequest {
    /// Guest-virtual address and length of the RTOS image (header first).
    pub image_addr: u64,
    pub image_size: u64,
    /// Linux's TSC rate (`tsc_khz`): the RTOS's clock, and the start-up delays.
    pub tsc_khz: u64,
    /// Wall-clock time now, ns since the Unix epoch.
    pub realtime_ns: u64,
    /// The RTOS's run list (`run=<name>... nonce=<hex>`), NUL-padded.
    pub cmdline: [u8; START_CMDLINE_LEN],
}
// ANCHOR_END: start_request
const _: () = assert!(core::mem::size_of::<StartRequest>() == 32 + START_CMDLINE_LEN);
