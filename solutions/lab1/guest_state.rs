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

fn selectors() -> [u16; 8] {
    let (es, cs, ss, ds, fs, gs, ldtr, tr): (u16, u16, u16, u16, u16, u16, u16, u16);
    // SAFETY: reading segment registers has no side effect.
    unsafe {
        asm!("mov {0:x}, es", "mov {1:x}, cs", "mov {2:x}, ss", "mov {3:x}, ds",
             "mov {4:x}, fs", "mov {5:x}, gs", "sldt {6:x}", "str {7:x}",
             out(reg) es, out(reg) cs, out(reg) ss, out(reg) ds, out(reg) fs, out(reg) gs,
             out(reg) ldtr, out(reg) tr, options(nomem, nostack, preserves_flags));
    }
    [es, cs, ss, ds, fs, gs, ldtr, tr]
}

/// Fills the guest-state area from this CPU's registers, so that the guest resumes at
/// `rip` with stack `rsp` in exactly the state the CPU has now.
pub fn setup_guest_state(rsp: u64, rip: u64) -> Result<(), VmxError> {
    vmcs::write(guest::CR0, Cr0::read_raw())?;
    vmcs::write(
        guest::CR3,
        Cr3::read_raw().0.start_address().as_u64() | Cr3::read_raw().1 as u64,
    )?;
    vmcs::write(guest::CR4, Cr4::read_raw())?; // VMXE included: VMX requires it
                                               // SAFETY: reading DR7 has no side effect.
    vmcs::write(guest::DR7, unsafe { x86::debugregs::dr7() }.0 as u64)?;
    vmcs::write(guest::RSP, rsp)?;
    vmcs::write(guest::RIP, rip)?;
    vmcs::write(guest::RFLAGS, x86_64::registers::rflags::read_raw())?;

    let gdt = sgdt();
    let fields = [
        (
            guest::ES_SELECTOR,
            guest::ES_BASE,
            guest::ES_LIMIT,
            guest::ES_ACCESS_RIGHTS,
        ),
        (
            guest::CS_SELECTOR,
            guest::CS_BASE,
            guest::CS_LIMIT,
            guest::CS_ACCESS_RIGHTS,
        ),
        (
            guest::SS_SELECTOR,
            guest::SS_BASE,
            guest::SS_LIMIT,
            guest::SS_ACCESS_RIGHTS,
        ),
        (
            guest::DS_SELECTOR,
            guest::DS_BASE,
            guest::DS_LIMIT,
            guest::DS_ACCESS_RIGHTS,
        ),
        (
            guest::FS_SELECTOR,
            guest::FS_BASE,
            guest::FS_LIMIT,
            guest::FS_ACCESS_RIGHTS,
        ),
        (
            guest::GS_SELECTOR,
            guest::GS_BASE,
            guest::GS_LIMIT,
            guest::GS_ACCESS_RIGHTS,
        ),
        (
            guest::LDTR_SELECTOR,
            guest::LDTR_BASE,
            guest::LDTR_LIMIT,
            guest::LDTR_ACCESS_RIGHTS,
        ),
        (
            guest::TR_SELECTOR,
            guest::TR_BASE,
            guest::TR_LIMIT,
            guest::TR_ACCESS_RIGHTS,
        ),
    ];
    for ((sel_f, base_f, limit_f, ar_f), selector) in fields.into_iter().zip(selectors()) {
        let s = segment(selector, gdt.base.as_u64());
        vmcs::write(sel_f, s.selector as u64)?;
        vmcs::write(base_f, s.base)?;
        vmcs::write(limit_f, s.limit as u64)?;
        vmcs::write(ar_f, s.access_rights)?;
    }
    // In 64-bit mode FS and GS bases live in MSRs, not in the descriptors.
    // SAFETY: reading architectural MSRs.
    unsafe {
        vmcs::write(guest::FS_BASE, rdmsr(IA32_FS_BASE))?;
        vmcs::write(guest::GS_BASE, rdmsr(IA32_GS_BASE))?;
    }

    vmcs::write(guest::GDTR_BASE, gdt.base.as_u64())?;
    vmcs::write(guest::GDTR_LIMIT, gdt.limit as u64)?;
    let idt = sidt();
    vmcs::write(guest::IDTR_BASE, idt.base.as_u64())?;
    vmcs::write(guest::IDTR_LIMIT, idt.limit as u64)?;

    // SAFETY: reading architectural MSRs.
    unsafe {
        vmcs::write(guest::IA32_EFER_FULL, rdmsr(IA32_EFER))?;
        vmcs::write(guest::IA32_PAT_FULL, rdmsr(IA32_PAT))?;
        vmcs::write(guest::IA32_DEBUGCTL_FULL, rdmsr(IA32_DEBUGCTL))?;
        vmcs::write(guest::IA32_SYSENTER_CS, rdmsr(IA32_SYSENTER_CS))?;
        vmcs::write(guest::IA32_SYSENTER_ESP, rdmsr(IA32_SYSENTER_ESP))?;
        vmcs::write(guest::IA32_SYSENTER_EIP, rdmsr(IA32_SYSENTER_EIP))?;
    }

    vmcs::write(guest::ACTIVITY_STATE, 0)?; // active
    vmcs::write(guest::INTERRUPTIBILITY_STATE, 0)?;
    vmcs::write(guest::PENDING_DBG_EXCEPTIONS, 0)?;
    vmcs::write(guest::LINK_PTR_FULL, u64::MAX)?; // no shadow VMCS
    Ok(())
}
