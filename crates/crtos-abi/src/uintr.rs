//! User interrupts (UINTR): the enable bit, the MSRs and the two in-memory structures,
//! as the Intel SDM (Vol. 3A, chapter "User Interrupts") defines them. One place for
//! every number, shared by the Bochs check kernel (crates/uintr-check) and, in lab 4,
//! the RTOS and the Linux driver.
//!
//! In short: a receiver's CPU points IA32_UINTR_PD at its [`Upid`]; a sender's CPU
//! points IA32_UINTR_TT at its table of [`UittEntry`]s. `senduipi idx` sets bit
//! `UV` of entry `idx` in the named UPID's PIR and, unless a notification is already
//! outstanding (ON) or suppressed (SN), sends an ordinary IPI with vector NV to NDST.
//! The receiving CPU recognises that vector as its UINV and moves PIR into UIRR
//! instead of going through its IDT; at CPL 3 with UIF = 1 the user handler runs.

use core::sync::atomic::AtomicU64;

/// CR4.UINTR (bit 25) enables the UINTR instructions and notification processing.
pub const CR4_UINTR: u64 = 1 << 25;

/// CPUID.(EAX=7,ECX=0):EDX bit 5: the CPU implements user interrupts.
pub const CPUID7_EDX_UINTR: u32 = 1 << 5;

/// IA32_UINTR_RR: UIRR, one bit per pending user vector.
pub const MSR_UINTR_RR: u32 = 0x985;
/// IA32_UINTR_HANDLER: the linear address of the user handler (canonical).
pub const MSR_UINTR_HANDLER: u32 = 0x986;
/// IA32_UINTR_STACKADJUST: bit 0 set loads RSP with the value, clear subtracts it
/// (e.g. to step over the red zone) before delivery pushes its frame.
pub const MSR_UINTR_STACKADJUST: u32 = 0x987;
/// IA32_UINTR_MISC: UITT size in bits 31:0, UINV in bits 39:32; see [`misc`].
pub const MSR_UINTR_MISC: u32 = 0x988;
/// IA32_UINTR_PD: the linear address of this CPU's receiver's [`Upid`].
pub const MSR_UINTR_PD: u32 = 0x989;
/// IA32_UINTR_TT: the linear address of the sender's UITT, bit 0 = SENDUIPI enabled;
/// see [`tt`].
pub const MSR_UINTR_TT: u32 = 0x98A;

/// User vectors are 0..64 (one bit each in PIR and UIRR).
pub const USER_VECTORS: u8 = 64;

/// The IA32_UINTR_MISC value: `uitt_size` is the highest valid UITT index (SENDUIPI
/// raises #GP for a larger one), `uinv` the notification vector this CPU recognises.
pub const fn misc(uitt_size: u32, uinv: u8) -> u64 {
    uitt_size as u64 | (uinv as u64) << 32
}

/// The IA32_UINTR_TT value for a UITT at `uitt` (16-byte aligned), SENDUIPI enabled.
pub const fn tt(uitt: u64) -> u64 {
    assert!(uitt.is_multiple_of(16), "the UITT must be 16-byte aligned");
    uitt | 1
}

/// The UPID alignment SENDUIPI requires (a UITT entry's UPID address has bits 5:0
/// clear; IA32_UINTR_PD too).
pub const UPID_ALIGN: usize = 64;

// ANCHOR: linux_side
/// The Linux driver's user interrupts (crtos.h: "user interrupts (lab 4, Linux side)").
/// The shared region's UPID area holds one UPID per 64-byte slot; the driver gives
/// slots `0..UPID_LINUX_SLOTS` to Linux threads, the rest are the RTOS's.
pub const UPID_SLOT_SIZE: u64 = UPID_ALIGN as u64;
pub const UPID_SLOTS: u64 = crate::forwarding::UPID_AREA_SIZE / UPID_SLOT_SIZE;
pub const UPID_LINUX_SLOTS: u64 = UPID_SLOTS / 2;
/// Entries of a Linux thread's UITT.
pub const UITT_ENTRIES: u64 = 64;
/// Bytes delivery steps below RSP before pushing its frame: the System V red zone.
pub const LINUX_STACK_ADJUST: u64 = 128;
/// UINV of a running Linux receiver: Linux 6.1's POSTED_INTR_VECTOR, KVM's, whose stock
/// handler only acknowledges (driver/module/uintr.c says why this one).
pub const LINUX_NOTIFY_VECTOR: u8 = 0xF2;
/// What a blocked Linux receiver's UPID names: POSTED_INTR_WAKEUP_VECTOR, whose stock
/// handler calls the hook the driver installs to wake it.
pub const LINUX_WAKE_VECTOR: u8 = 0xF1;
// ANCHOR_END: linux_side

// ANCHOR: shared_handle
/// A name for "user vector V of the UPID in shared slot S" that both OSes understand
/// (lab 4's cross-domain sends). The RTOS's `uintr_create_fd` returns one for a task
/// whose UPID lies in the shared region, and its `uintr_register_sender` takes one
/// naming any slot; a Linux thread makes one from CRTOS_UINTR_REGISTER_RECEIVER's
/// `upid_index`, and turns one into CRTOS_UINTR_REGISTER_SENDER's arguments. Bit 32
/// keeps them apart from the RTOS's local handles (`tid * 64 + vector`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedHandle {
    pub slot: u32,
    pub vector: u8,
}

/// Bit 32: set in every [`SharedHandle`]'s number.
pub const SHARED_HANDLE_FLAG: u64 = 1 << 32;

impl SharedHandle {
    /// `None` for a slot outside the UPID area or a vector >= 64.
    pub const fn new(slot: u32, vector: u8) -> Option<Self> {
        if (slot as u64) < UPID_SLOTS && vector < USER_VECTORS {
            Some(SharedHandle { slot, vector })
        } else {
            None
        }
    }

    /// The number a program passes around: `FLAG | slot * 64 + vector`.
    pub const fn number(self) -> u64 {
        SHARED_HANDLE_FLAG | ((self.slot as u64) * USER_VECTORS as u64 + self.vector as u64)
    }

    /// The handle a number names, if it is a valid shared handle.
    pub const fn from_number(n: u64) -> Option<Self> {
        if n & !(SHARED_HANDLE_FLAG | 0xFFFF_FFFF) != 0 || n & SHARED_HANDLE_FLAG == 0 {
            return None;
        }
        let low = n & 0xFFFF_FFFF;
        let slot = low / USER_VECTORS as u64;
        if slot >= UPID_SLOTS {
            return None;
        }
        SharedHandle::new(slot as u32, (low % USER_VECTORS as u64) as u8)
    }

    /// The slot's offset in the shared region.
    pub const fn upid_offset(self) -> u64 {
        crate::forwarding::UPID_OFFSET + self.slot as u64 * UPID_SLOT_SIZE
    }
}
// ANCHOR_END: shared_handle

/// User posted-interrupt descriptor: 16 bytes, 64-byte aligned (so Rust pads it).
/// The processor updates it with locked read-modify-writes, hence the atomics.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct Upid {
    /// ON (bit 0), SN (bit 1), NV (bits 23:16), NDST (bits 63:32); see [`upid_control`].
    pub control: AtomicU64,
    /// PIR: posted user vectors, one bit each, moved to UIRR by notification processing.
    pub pir: AtomicU64,
}
const _: () = assert!(core::mem::offset_of!(Upid, pir) == 8);
const _: () = assert!(core::mem::align_of::<Upid>() == UPID_ALIGN);

/// UPID.ON: a notification is outstanding (set by SENDUIPI, cleared by processing).
pub const UPID_ON: u64 = 1 << 0;
/// UPID.SN: suppress notification (SENDUIPI only posts the PIR bit).
pub const UPID_SN: u64 = 1 << 1;
const UPID_NV_SHIFT: u32 = 16;
const UPID_NDST_SHIFT: u32 = 32;

/// The destination of a notification in the format of the **sender's** APIC mode
/// (SENDUIPI uses NDST[15:8] in xAPIC mode, all of NDST[31:0] in x2APIC mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ndst {
    XApic(u8),
    X2Apic(u32),
}

impl Ndst {
    /// The 32-bit NDST field.
    pub const fn field(self) -> u32 {
        match self {
            Ndst::XApic(id) => (id as u32) << 8,
            Ndst::X2Apic(id) => id,
        }
    }
}

/// The UPID's first 8 bytes: ON and SN clear, notification vector `nv`, destination
/// `ndst`.
pub const fn upid_control(nv: u8, ndst: Ndst) -> u64 {
    (nv as u64) << UPID_NV_SHIFT | (ndst.field() as u64) << UPID_NDST_SHIFT
}

/// A UITT entry: 16 bytes, V (bit 0) and UV (bits 15:8), then the UPID address.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UittEntry {
    pub flags: u64,
    pub upid: u64,
}
const _: () = assert!(core::mem::size_of::<UittEntry>() == 16);

/// UITT entry bit V: the entry is valid (SENDUIPI raises #GP on an invalid one).
pub const UITT_VALID: u64 = 1 << 0;
const UITT_UV_SHIFT: u32 = 8;

impl UittEntry {
    /// A valid entry that posts user vector `uv` (< 64) into the UPID at `upid`.
    pub const fn new(uv: u8, upid: u64) -> Self {
        assert!(uv < USER_VECTORS, "user vectors are 0..64");
        assert!(
            upid.is_multiple_of(UPID_ALIGN as u64),
            "the UPID must be 64-byte aligned"
        );
        UittEntry {
            flags: UITT_VALID | (uv as u64) << UITT_UV_SHIFT,
            upid,
        }
    }

    /// The user vector this entry posts.
    pub const fn user_vector(&self) -> u8 {
        (self.flags >> UITT_UV_SHIFT) as u8
    }
}

/// The frame user-interrupt delivery pushes (SDM: after STACKADJUST and 16-byte
/// alignment, it pushes RSP, RFLAGS, RIP, then the vector), lowest address first.
/// A handler removes `vector` (`add rsp, 8`) and then UIRET pops the other three.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct UintrFrame {
    pub vector: u64,
    pub rip: u64,
    pub rflags: u64,
    pub rsp: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misc_puts_size_low_and_uinv_in_bits_39_32() {
        assert_eq!(misc(5, 0xF1), 0xF1_0000_0005);
    }

    #[test]
    fn ndst_follows_the_apic_mode() {
        assert_eq!(Ndst::XApic(1).field(), 0x100);
        assert_eq!(Ndst::X2Apic(1).field(), 1);
        assert_eq!(upid_control(0xF1, Ndst::XApic(1)), 0x0000_0100_00F1_0000);
    }

    #[test]
    fn uitt_entry_layout() {
        let e = UittEntry::new(45, 0x1000);
        assert_eq!(e.flags, 0x2D01);
        assert_eq!(e.user_vector(), 45);
        assert_eq!(tt(0x2000), 0x2001);
    }

    #[test]
    fn shared_handles_round_trip_and_reject_garbage() {
        let h = SharedHandle::new(481, 7).unwrap();
        assert_eq!(h.number(), (1 << 32) | (481 * 64 + 7));
        assert_eq!(SharedHandle::from_number(h.number()), Some(h));
        assert_eq!(SharedHandle::from_number(481 * 64 + 7), None); // a local handle
        assert_eq!(
            SharedHandle::from_number(SHARED_HANDLE_FLAG | (UPID_SLOTS * 64)),
            None
        );
        assert_eq!(SharedHandle::from_number(h.number() | 1 << 40), None);
        assert_eq!(SharedHandle::new(0, 64), None);
        assert_eq!(h.upid_offset(), 0x1000 + 481 * 64);
    }

    #[test]
    fn uintr_frame_has_the_vector_at_the_stack_top() {
        assert_eq!(core::mem::offset_of!(UintrFrame, rip), 8);
        assert_eq!(core::mem::size_of::<UintrFrame>(), 32);
    }
}
