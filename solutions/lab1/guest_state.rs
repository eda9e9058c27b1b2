//! LAB 1, part 2: the VMCS guest-state area, copied from the live state of the CPU.
//! This is what makes the hypervisor "type 1.5": the guest is not booted, it is the
//! Linux that is running right now, and VMLAUNCH resumes it where it called us.
//! (SDM Vol. 3C §25.4 "Guest-state area", §27.3 "Checks on the guest state".)

use core::arch::asm;

use x86::msr::{
    rdmsr, IA32_DEBUGCTL, IA32_EFER, IA32_FS_BASE, IA32_GS_BASE, IA32_PAT, IA32_SYSENTER_CS,
    IA32_SYSENTER_EIP, IA32_SYSENTER_ESP,
};
use x86::vmx::vmcs::guest;
use x86_64::instructions::tables::{sgdt, sidt};
use x86_64::registers::control::{Cr0, Cr3, Cr4};

use super::{vmcs, VmxError};

/// Access rights of a null selector: "unusable" (bit 16).
const UNUSABLE: u64 = 1 << 16;

/// A segment register as the VMCS stores it.
struct Segment {
    selector: u16,
    base: u64,
    limit: u32,
    access_rights: u64,
}

/// Decodes the descriptor that `selector` names in the GDT at `gdt_base`.
fn segment(selector: u16, gdt_base: u64) -> Segment {
    if selector & !3 == 0 {
        return Segment {
            selector,
            base: 0,
            limit: 0,
            access_rights: UNUSABLE,
        };
    }
    // SAFETY: the selector is loaded in a segment register, so its descriptor exists.
    let desc = unsafe { ((gdt_base + (selector as u64 & !7)) as *const u64).read() };
    let mut limit = ((desc & 0xFFFF) | ((desc >> 32) & 0xF_0000)) as u32;
    if desc & (1 << 55) != 0 {
        limit = (limit << 12) | 0xFFF; // granularity: 4 KiB units
    }
    let mut base = ((desc >> 16) & 0xFF_FFFF) | ((desc >> 32) & 0xFF00_0000);
    if desc & (1 << 44) == 0 {
        // A system descriptor (TSS, LDT) is 16 bytes: bits 63:32 of the base follow.
        // SAFETY: as above.
        let high = unsafe { ((gdt_base + (selector as u64 & !7) + 8) as *const u64).read() };
        base |= (high & 0xFFFF_FFFF) << 32;
    }
    // Bits 7:0 = type, S, DPL, P; bits 15:12 = AVL, L, D/B, G.
    let access_rights = (desc >> 40) & 0xF0FF;
    Segment {
        selector,
        base,
        limit,
        access_rights,
    }
}

/// Writes one segment register's four guest fields: `$read` is the instruction that
/// reads its live selector (`mov {0:x}, es`, `sldt {0:x}`, `str {0:x}`), and the four
/// fields are named next to it, so a register cannot be paired with another's fields.
/// (After RVM1.5's `set_guest_segment!`.)
macro_rules! set_guest_segment {
    ($read:literal => $selector:ident, $base:ident, $limit:ident, $rights:ident) => {{
        let selector: u16;
        // SAFETY: reading a segment register has no side effect.
        unsafe { asm!($read, out(reg) selector, options(nomem, nostack, preserves_flags)) };
        let s = segment(selector, sgdt().base.as_u64());
        vmcs::write(guest::$selector, s.selector as u64)?;
        vmcs::write(guest::$base, s.base)?;
        vmcs::write(guest::$limit, s.limit as u64)?;
        vmcs::write(guest::$rights, s.access_rights)?;
    }};
}

/// Fills the guest-state area from this CPU's registers, so that the guest resumes at
/// `rip` with stack `rsp` in exactly the state the CPU has now.
pub fn setup_guest_state(rsp: u64, rip: u64) -> Result<(), VmxError> {
    set_control_registers()?;
    vmcs::write(guest::RSP, rsp)?;
    vmcs::write(guest::RIP, rip)?;
    vmcs::write(guest::RFLAGS, x86_64::registers::rflags::read_raw())?;
    set_segments()?;
    set_descriptor_tables()?;
    set_msrs()?;
    set_non_register_state()
}

/// CR0, CR3 (with its PCID or flag bits), CR4 (VMXE included: VMX requires it), DR7.
fn set_control_registers() -> Result<(), VmxError> {
    vmcs::write(guest::CR0, Cr0::read_raw())?;
    let (frame, low_bits) = Cr3::read_raw();
    vmcs::write(guest::CR3, frame.start_address().as_u64() | low_bits as u64)?;
    vmcs::write(guest::CR4, Cr4::read_raw())?;
    // SAFETY: reading DR7 has no side effect.
    vmcs::write(guest::DR7, unsafe { x86::debugregs::dr7() }.0 as u64)
}

/// The eight segment registers, each decoded from its descriptor in the live GDT.
fn set_segments() -> Result<(), VmxError> {
    set_guest_segment! { "mov {0:x}, es" => ES_SELECTOR, ES_BASE, ES_LIMIT, ES_ACCESS_RIGHTS }
    set_guest_segment! { "mov {0:x}, cs" => CS_SELECTOR, CS_BASE, CS_LIMIT, CS_ACCESS_RIGHTS }
    set_guest_segment! { "mov {0:x}, ss" => SS_SELECTOR, SS_BASE, SS_LIMIT, SS_ACCESS_RIGHTS }
    set_guest_segment! { "mov {0:x}, ds" => DS_SELECTOR, DS_BASE, DS_LIMIT, DS_ACCESS_RIGHTS }
    set_guest_segment! { "mov {0:x}, fs" => FS_SELECTOR, FS_BASE, FS_LIMIT, FS_ACCESS_RIGHTS }
    set_guest_segment! { "mov {0:x}, gs" => GS_SELECTOR, GS_BASE, GS_LIMIT, GS_ACCESS_RIGHTS }
    set_guest_segment! { "sldt {0:x}" => LDTR_SELECTOR, LDTR_BASE, LDTR_LIMIT, LDTR_ACCESS_RIGHTS }
    set_guest_segment! { "str {0:x}" => TR_SELECTOR, TR_BASE, TR_LIMIT, TR_ACCESS_RIGHTS }
    // In 64-bit mode FS and GS bases live in MSRs, not in the descriptors.
    // SAFETY: reading architectural MSRs.
    unsafe {
        vmcs::write(guest::FS_BASE, rdmsr(IA32_FS_BASE))?;
        vmcs::write(guest::GS_BASE, rdmsr(IA32_GS_BASE))
    }
}

fn set_descriptor_tables() -> Result<(), VmxError> {
    let (gdt, idt) = (sgdt(), sidt());
    vmcs::write(guest::GDTR_BASE, gdt.base.as_u64())?;
    vmcs::write(guest::GDTR_LIMIT, gdt.limit as u64)?;
    vmcs::write(guest::IDTR_BASE, idt.base.as_u64())?;
    vmcs::write(guest::IDTR_LIMIT, idt.limit as u64)
}

fn set_msrs() -> Result<(), VmxError> {
    // SAFETY: reading architectural MSRs.
    unsafe {
        vmcs::write(guest::IA32_EFER_FULL, rdmsr(IA32_EFER))?;
        vmcs::write(guest::IA32_PAT_FULL, rdmsr(IA32_PAT))?;
        vmcs::write(guest::IA32_DEBUGCTL_FULL, rdmsr(IA32_DEBUGCTL))?;
        vmcs::write(guest::IA32_SYSENTER_CS, rdmsr(IA32_SYSENTER_CS))?;
        vmcs::write(guest::IA32_SYSENTER_ESP, rdmsr(IA32_SYSENTER_ESP))?;
        vmcs::write(guest::IA32_SYSENTER_EIP, rdmsr(IA32_SYSENTER_EIP))
    }
}

/// The guest is running, with nothing pending and no shadow VMCS (SDM Vol. 3C §25.4.2).
fn set_non_register_state() -> Result<(), VmxError> {
    vmcs::write(guest::ACTIVITY_STATE, 0)?; // active
    vmcs::write(guest::INTERRUPTIBILITY_STATE, 0)?;
    vmcs::write(guest::PENDING_DBG_EXCEPTIONS, 0)?;
    vmcs::write(guest::LINK_PTR_FULL, u64::MAX) // no shadow VMCS
}
