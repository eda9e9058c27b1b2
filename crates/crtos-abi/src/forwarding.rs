//! Lab 3's shared region: what lies where in it, and the control page through which
//! the driver, the daemon and the RTOS find each other (crtos.h: "shared region").
//!
//! ```text
//! offset     size
//! 0          4 KiB    ControlPage: vectors, APIC IDs, daemon liveness, launch mailbox
//! 4 KiB      60 KiB   UPIDs (lab 4)
//! 64 KiB     <= 1984 KiB  the ring (crates/ring: header, queues, payload buffers)
//! 2 MiB      2 MiB    launch area: the ELF image of the program `crtosctl run` starts
//! ```
//!
//! Every field of the control page has exactly one writer (named on its group), and
//! each writer's fields sit in their own cache lines: nobody ever writes a line the
//! other side writes too. Fields read by the other side are atomics.

use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};

pub const CONTROL_OFFSET: u64 = 0;
pub const CONTROL_SIZE: u64 = 0x1000;
/// Lab 4: user-interrupt posted descriptors both sides can address.
pub const UPID_OFFSET: u64 = 0x1000;
pub const UPID_AREA_SIZE: u64 = 0xF000;
pub const RING_OFFSET: u64 = 0x1_0000;
pub const RING_MAX_SIZE: u64 = LAUNCH_OFFSET - RING_OFFSET;
pub const LAUNCH_OFFSET: u64 = 0x20_0000;
pub const LAUNCH_MAX_SIZE: u64 = crate::SHARED_SIZE - LAUNCH_OFFSET;

/// `ControlPage::magic`: "CRTOSCP1", written by the driver when it claims the region.
pub const CONTROL_MAGIC: [u8; 8] = *b"CRTOSCP1";
pub const CONTROL_VERSION: u32 = 1;
/// Room for a launched program's argv, NUL-separated.
pub const LAUNCH_ARGV_LEN: usize = 1024;

numeric_enum! {
    /// How each side wakes the other ([`ControlPage::notify_mode`]), chosen by the
    /// daemon when it attaches (`crtosd --notify`).
    pub enum NotifyMode: u32 {
        /// Both sides poll: the daemon with a bounded back-off, the RTOS's idle loop
        /// spinning on the response queue. No interrupts.
        Poll = 0 => "poll",
        /// IPIs: RTOS -> Linux on `linux_vector`, Linux -> RTOS on `rtos_vector`, each
        /// sent only when the peer said it is about to sleep (`*_waiting`).
        Ipi = 1 => "ipi",
        /// Lab 4: user interrupts (SENDUIPI) both ways.
        Uintr = 2 => "uintr",
    }
}

// ANCHOR: control_page
/// The first 4 KiB of the shared region.
#[repr(C, align(64))]
pub struct ControlPage {
    // ---- written by the driver (at claim and on daemon attach/exit)
    /// [`CONTROL_MAGIC`]; the RTOS refuses to forward until it sees it.
    pub magic: [u8; 8],
    pub version: u32,
    /// `size_of::<ControlPage>()`.
    pub size: u32,
    /// The vector Linux takes RTOS -> Linux notifications on, and the APIC ID to send
    /// them to (0 while none is allocated).
    pub linux_vector: AtomicU32,
    pub linux_apic_id: AtomicU32,
    /// Bumped each time a daemon attaches (CRTOS_DAEMON_ATTACH).
    pub daemon_generation: AtomicU32,
    /// 1 while the attached daemon's file is open; the driver clears it when the
    /// daemon exits (killed or not) and then sends the RTOS a notification.
    pub daemon_alive: AtomicU32,
    /// A [`NotifyMode`], the attached daemon's choice.
    pub notify_mode: AtomicU32,
    _driver_reserved: [u32; 7],

    // ---- written by the daemon
    /// 1 while the daemon is about to sleep in the driver (set before its last look at
    /// the request queue): the RTOS sends `linux_vector` after posting a request.
    pub daemon_waiting: AtomicU32,
    /// Launch mailbox: the daemon fills `launch_*`, then bumps `launch_seq`.
    pub launch_seq: AtomicU32,
    /// Bytes of the ELF image at [`LAUNCH_OFFSET`].
    pub launch_image_len: AtomicU32,
    /// Number of NUL-terminated strings in `launch_argv` (argv[0] included).
    pub launch_argc: AtomicU32,
    /// Lab 4, `uintr` mode: the daemon's receiver UPID slot (the driver's
    /// CRTOS_UINTR_REGISTER_RECEIVER answer) and the user vector the RTOS posts there.
    /// Valid once `daemon_uintr_ready` is 1 (release after both).
    pub daemon_upid_slot: AtomicU32,
    pub daemon_user_vector: AtomicU32,
    pub daemon_uintr_ready: AtomicU32,
    _daemon_reserved: [u32; 9],
    pub launch_argv: [u8; LAUNCH_ARGV_LEN],

    // ---- written by the RTOS
    /// The vector the RTOS takes Linux -> RTOS notifications on, and its APIC ID.
    pub rtos_vector: AtomicU32,
    pub rtos_apic_id: AtomicU32,
    /// The `daemon_generation` the ring was laid out for: a daemon attaches to the
    /// ring only once this equals its own generation.
    pub ring_generation: AtomicU32,
    /// 1 while the RTOS is about to halt with tasks waiting for responses: the daemon
    /// asks the driver to notify it (CRTOS_NOTIFY_RTOS) after responding.
    pub rtos_waiting: AtomicU32,
    /// Launch mailbox answer: `launch_seq` of the launch taken, then its result (the
    /// new task's id, or a negative errno).
    pub launch_done_seq: AtomicU32,
    pub launch_result: AtomicI32,
    /// Forwarded calls sent, calls failed with -EIO because no daemon was there, and
    /// malformed responses rejected.
    pub forwarded: AtomicU64,
    pub failed_no_daemon: AtomicU64,
    pub rejected: AtomicU64,
    /// Lab 4, `uintr` mode: the slot of the RTOS forwarder's UPID, a *kernel* UPID
    /// whose NV is `rtos_vector` (so a daemon's SENDUIPI to it arrives as the ordinary
    /// Linux -> RTOS notification), and the user vector to post there. Valid once
    /// `rtos_uintr_ready` is 1 (release after both); 0 when the RTOS has no UINTR.
    pub rtos_upid_slot: AtomicU32,
    pub rtos_user_vector: AtomicU32,
    pub rtos_uintr_ready: AtomicU32,
    _rtos_reserved: [u32; 1],
}
// ANCHOR_END: control_page

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(ControlPage, linux_vector) == 16);
    assert!(offset_of!(ControlPage, daemon_waiting) == 64);
    assert!(offset_of!(ControlPage, launch_argv) == 128);
    assert!(offset_of!(ControlPage, rtos_vector) == 1152);
    assert!(offset_of!(ControlPage, forwarded) == 1176);
    assert!(size_of::<ControlPage>() == 1216);
    assert!(size_of::<ControlPage>() as u64 <= CONTROL_SIZE);
    assert!(RING_OFFSET >= UPID_OFFSET + UPID_AREA_SIZE);
};

impl ControlPage {
    /// Whether the driver has initialised this page (magic, version and size).
    pub fn is_valid(&self) -> bool {
        self.magic == CONTROL_MAGIC
            && self.version == CONTROL_VERSION
            && self.size as usize == core::mem::size_of::<ControlPage>()
    }
}

/// A task killed by a fault exits with this status plus the signal Linux would send
/// (SIGSEGV 11 -> 139), as a shell reports it.
pub const KILLED_STATUS_BASE: i32 = 128;
