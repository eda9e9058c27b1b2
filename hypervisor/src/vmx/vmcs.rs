//! The VMCS: reading and writing fields, the execution controls (within what the VMX
//! capability MSRs allow), and the host state the CPU loads on every VM exit.
//!
//! Field encodings and control bits come from the `x86` crate (`x86::vmx::vmcs`).

use x86::msr::{self, rdmsr};
use x86::vmx::vmcs::control::{EntryControls, ExitControls, PrimaryControls, SecondaryControls};
use x86::vmx::vmcs::{control, host};

use super::VmxError;

/// Reads a VMCS field of the current VMCS.
#[cfg(not(test))]
pub fn read(field: u32) -> u64 {
    // SAFETY: only called in VMX root operation with a current VMCS; a bad field
    // encoding is a bug of ours, reported loudly.
    unsafe { x86::bits64::vmx::vmread(field) }
        .unwrap_or_else(|e| panic!("vmread of VMCS field {field:#x} failed: {e:?}"))
}

/// Writes a VMCS field of the current VMCS.
#[cfg(not(test))]
pub fn write(field: u32, value: u64) -> Result<(), VmxError> {
    // SAFETY: as for `read`.
    unsafe { x86::bits64::vmx::vmwrite(field, value) }.map_err(|_| VmxError::VmcsField(field))
}

#[cfg(test)]
pub use fake::{read, write};

/// The host unit tests' VMCS: one per test thread, fields in a map, so that code which
/// reads the guest's state (its CR3, its RIP) runs without VMX.
#[cfg(test)]
pub mod fake {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::VmxError;

    thread_local! {
        static FIELDS: RefCell<BTreeMap<u32, u64>> = const { RefCell::new(BTreeMap::new()) };
    }

    /// Reads a field; one never written reads as 0.
    pub fn read(field: u32) -> u64 {
        FIELDS.with(|f| f.borrow().get(&field).copied().unwrap_or(0))
    }

    pub fn write(field: u32, value: u64) -> Result<(), VmxError> {
        set(field, value);
        Ok(())
    }

    pub fn set(field: u32, value: u64) {
        FIELDS.with(|f| f.borrow_mut().insert(field, value));
    }
}

/// The VMCS revision identifier: bits 30:0 of IA32_VMX_BASIC (SDM Vol. 3C §25.2).
pub fn revision_id() -> u32 {
    // SAFETY: IA32_VMX_BASIC exists on every CPU with VMX.
    (unsafe { rdmsr(msr::IA32_VMX_BASIC) } & 0x7FFF_FFFF) as u32
}

/// Bit 55 of IA32_VMX_BASIC: the "true" control MSRs exist and may clear more bits.
fn has_true_controls() -> bool {
    // SAFETY: as above.
    (unsafe { rdmsr(msr::IA32_VMX_BASIC) } & (1 << 55)) != 0
}

/// A control value: `required` bits we need, `optional` bits we take when the CPU
/// allows them, all within the capability MSR value `cap`'s rule (SDM Vol. 3C §A.3):
/// bits set in its low half must be 1, bits clear in its high half must be 0.
pub fn adjust(cap: u64, name: &'static str, required: u32, optional: u32) -> Result<u32, VmxError> {
    let (must_be_one, may_be_one) = (cap as u32, (cap >> 32) as u32);
    if required & !may_be_one != 0 {
        return Err(VmxError::UnsupportedControl(name, required & !may_be_one));
    }
    if must_be_one & !may_be_one != 0 {
        return Err(VmxError::UnsupportedControl(
            name,
            must_be_one & !may_be_one,
        ));
    }
    Ok(required | (optional & may_be_one) | must_be_one)
}

/// [`adjust`] against the capability MSR `cap_msr` of this CPU.
fn adjust_to(
    cap_msr: u32,
    name: &'static str,
    required: u32,
    optional: u32,
) -> Result<u32, VmxError> {
    // SAFETY: the capability MSRs exist on every CPU with VMX.
    adjust(unsafe { rdmsr(cap_msr) }, name, required, optional)
}

/// Execution, exit and entry controls for resuming a 64-bit Linux as it runs:
/// nothing is intercepted but what the exit handlers need.
pub fn setup_controls(msr_bitmap_phys: u64, eptp: u64) -> Result<(), VmxError> {
    let t = has_true_controls();
    let pick = |true_msr, plain| if t { true_msr } else { plain };

    let pin = adjust_to(
        pick(
            msr::IA32_VMX_TRUE_PINBASED_CTLS,
            msr::IA32_VMX_PINBASED_CTLS,
        ),
        "pin-based",
        0,
        0,
    )?;
    let primary = adjust_to(
        pick(
            msr::IA32_VMX_TRUE_PROCBASED_CTLS,
            msr::IA32_VMX_PROCBASED_CTLS,
        ),
        "primary processor-based",
        (PrimaryControls::USE_MSR_BITMAPS | PrimaryControls::SECONDARY_CONTROLS).bits(),
        0,
    )?;
    // Linux already decided at boot to use RDTSCP, INVPCID, XSAVES and TPAUSE where
    // CPUID offered them; without these controls each would raise #UD in the guest.
    let secondary = adjust_to(
        msr::IA32_VMX_PROCBASED_CTLS2,
        "secondary processor-based",
        SecondaryControls::ENABLE_EPT.bits(),
        (SecondaryControls::ENABLE_RDTSCP
            | SecondaryControls::ENABLE_INVPCID
            | SecondaryControls::ENABLE_XSAVES_XRSTORS
            | SecondaryControls::ENABLE_USER_WAIT_PAUSE)
            .bits(),
    )?;
    let exit = adjust_to(
        pick(msr::IA32_VMX_TRUE_EXIT_CTLS, msr::IA32_VMX_EXIT_CTLS),
        "VM-exit",
        (ExitControls::HOST_ADDRESS_SPACE_SIZE
            | ExitControls::SAVE_IA32_PAT
            | ExitControls::LOAD_IA32_PAT
            | ExitControls::SAVE_IA32_EFER
            | ExitControls::LOAD_IA32_EFER)
            .bits(),
        0,
    )?;
    let entry = adjust_to(
        pick(msr::IA32_VMX_TRUE_ENTRY_CTLS, msr::IA32_VMX_ENTRY_CTLS),
        "VM-entry",
        (EntryControls::IA32E_MODE_GUEST
            | EntryControls::LOAD_IA32_PAT
            | EntryControls::LOAD_IA32_EFER)
            .bits(),
        0,
    )?;

    write(control::PINBASED_EXEC_CONTROLS, pin as u64)?;
    write(control::PRIMARY_PROCBASED_EXEC_CONTROLS, primary as u64)?;
    write(control::SECONDARY_PROCBASED_EXEC_CONTROLS, secondary as u64)?;
    write(control::VMEXIT_CONTROLS, exit as u64)?;
    write(control::VMENTRY_CONTROLS, entry as u64)?;
    write(control::EXCEPTION_BITMAP, 0)?;
    write(control::CR3_TARGET_COUNT, 0)?;
    write(control::MSR_BITMAPS_ADDR_FULL, msr_bitmap_phys)?;
    write(control::EPTP_FULL, eptp)?;
    write(control::VMEXIT_MSR_STORE_COUNT, 0)?;
    write(control::VMEXIT_MSR_LOAD_COUNT, 0)?;
    write(control::VMENTRY_MSR_LOAD_COUNT, 0)?;
    write(control::VMENTRY_INTERRUPTION_INFO_FIELD, 0)?;
    // CR0: Linux never clears PE, PG or NE, which VMX requires: no interception.
    write(control::CR0_GUEST_HOST_MASK, 0)?;
    // CR4.VMXE must stay set while the guest runs, but the guest must not see it: the
    // hypervisor owns that bit, and guest reads of CR4 return the shadow (VMXE clear).
    let vmxe = x86_64::registers::control::Cr4Flags::VIRTUAL_MACHINE_EXTENSIONS.bits();
    write(control::CR4_GUEST_HOST_MASK, vmxe)?;
    write(
        control::CR4_READ_SHADOW,
        x86_64::registers::control::Cr4::read_raw() & !vmxe,
    )?;
    Ok(())
}

/// Toggles the monitor trap flag: a VM exit after the guest's next instruction.
pub fn set_monitor_trap(on: bool) -> Result<(), VmxError> {
    let mut v = read(control::PRIMARY_PROCBASED_EXEC_CONTROLS);
    if on {
        v |= PrimaryControls::MONITOR_TRAP_FLAG.bits() as u64;
    } else {
        v &= !(PrimaryControls::MONITOR_TRAP_FLAG.bits() as u64);
    }
    write(control::PRIMARY_PROCBASED_EXEC_CONTROLS, v)
}

/// What the CPU loads on every VM exit: the hypervisor's own control registers,
/// segments, descriptor tables (from `baremetal::interrupts`) and stack.
pub struct HostState {
    pub cpu: usize,
    pub cr3: u64,
    pub rsp: u64,
    pub rip: u64,
}

pub fn setup_host_state(h: &HostState) -> Result<(), VmxError> {
    use x86_64::instructions::tables::{sgdt, sidt};
    use x86_64::registers::control::{Cr0, Cr4};

    write(host::CR0, Cr0::read_raw())?;
    write(host::CR3, h.cr3)?;
    write(host::CR4, Cr4::read_raw())?;
    let (code, data, tss) = baremetal::interrupts::selectors(h.cpu);
    write(host::CS_SELECTOR, code as u64)?;
    write(host::SS_SELECTOR, data as u64)?;
    for field in [
        host::DS_SELECTOR,
        host::ES_SELECTOR,
        host::FS_SELECTOR,
        host::GS_SELECTOR,
    ] {
        write(field, 0)?;
    }
    write(host::TR_SELECTOR, tss as u64)?;
    write(host::FS_BASE, 0)?;
    write(host::GS_BASE, 0)?;
    write(host::TR_BASE, baremetal::interrupts::tss_base(h.cpu))?;
    write(host::GDTR_BASE, sgdt().base.as_u64())?;
    write(host::IDTR_BASE, sidt().base.as_u64())?;
    write(host::IA32_SYSENTER_CS, 0)?;
    write(host::IA32_SYSENTER_ESP, 0)?;
    write(host::IA32_SYSENTER_EIP, 0)?;
    // SAFETY: reading architectural MSRs.
    unsafe {
        write(host::IA32_EFER_FULL, rdmsr(msr::IA32_EFER))?;
        write(host::IA32_PAT_FULL, rdmsr(msr::IA32_PAT))?;
    }
    write(host::RSP, h.rsp)?;
    write(host::RIP, h.rip)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capability MSR value: `must_be_one` in the low half, `may_be_one` in the high.
    fn cap(must_be_one: u32, may_be_one: u32) -> u64 {
        ((may_be_one as u64) << 32) | must_be_one as u64
    }

    #[test]
    fn required_bits_the_cpu_forbids_are_an_error_naming_them() {
        let e = adjust(cap(0, 0b0110), "test", 0b1010, 0);
        assert_eq!(e, Err(VmxError::UnsupportedControl("test", 0b1000)));
    }

    #[test]
    fn the_cpus_must_be_one_bits_are_added() {
        assert_eq!(adjust(cap(0b0001, 0b1111), "t", 0b0100, 0), Ok(0b0101));
    }

    #[test]
    fn optional_bits_are_taken_only_where_allowed() {
        assert_eq!(adjust(cap(0, 0b0011), "t", 0, 0b1110), Ok(0b0010));
        assert_eq!(adjust(cap(0, u32::MAX), "t", 0, 0b1110), Ok(0b1110));
    }

    #[test]
    fn a_contradictory_capability_is_refused() {
        // Must-be-one outside may-be-one: no value satisfies it.
        assert!(adjust(cap(0b1000, 0b0111), "t", 0, 0).is_err());
    }

    #[test]
    fn bochs_like_pin_based_defaults_are_kept() {
        // IA32_VMX_TRUE_PINBASED_CTLS as a typical CPU reports it: bits 1, 2, 4 fixed
        // to 1 (the default1 class), NMI exiting (3) and virtual NMIs (5) allowed.
        let value = adjust(cap(0x16, 0x7F), "pin-based", 0, 0).unwrap();
        assert_eq!(value, 0x16);
        let nmi = adjust(cap(0x16, 0x7F), "pin-based", 1 << 3, 1 << 5).unwrap();
        assert_eq!(nmi, 0x16 | 1 << 3 | 1 << 5);
    }
}
