//! Hypercalls: `VMCALL` with RAX = number, RDI/RSI/RDX = arguments; the result in RAX
//! (a negative errno on error). The numbers are `crtos_abi::HypercallCode`, the C side
//! `enum crtos_hypercall` in driver/include/crtos.h.
//! A bad hypercall never stops the hypervisor: it gets an error code and Linux goes on.

use crtos_abi::{Errno, HypercallCode};
use x86::vmx::vmcs::guest;

use crate::config::HV_VERSION;
use crate::percpu::PerCpu;
use crate::vmx::vmcs;
pub use crtos_abi::HvStats;

/// What the VMCALL exit handler does after a hypercall.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Put this value in the guest's RAX and resume it after the VMCALL.
    Return(u64),
    /// Leave VMX on this CPU: Linux continues on bare metal after the VMCALL.
    Disable,
}

impl From<Result<u64, Errno>> for Outcome {
    fn from(r: Result<u64, Errno>) -> Outcome {
        Outcome::Return(r.unwrap_or_else(Errno::as_return))
    }
}

/// Runs hypercall `nr` with `args` for a guest running at privilege level `cpl`.
pub fn dispatch(cpu: &mut PerCpu, nr: u64, args: [u64; 3], cpl: u8) -> Outcome {
    // User programs can execute VMCALL too (it exits at any CPL): only the kernel may call.
    if cpl != 0 {
        return Err(Errno::Perm).into();
    }
    let Ok(code) = HypercallCode::try_from(nr) else {
        return Err(Errno::NoSys).into();
    };
    match code {
        HypercallCode::Disable => Outcome::Disable,
        HypercallCode::Query => query(cpu, args[0]).map(|()| HV_VERSION).into(),
        HypercallCode::StartRtos => crate::rtos::start(cpu, args[0], args[1]).into(),
        HypercallCode::StopRtos => crate::rtos::stop(cpu).into(),
        // Lab 3 adds this one.
        HypercallCode::Notify => Err(Errno::NoSys).into(),
    }
}

/// QUERY: with a buffer, writes this CPU's [`HvStats`] there.
fn query(cpu: &PerCpu, buffer: u64) -> Result<(), Errno> {
    if buffer == 0 {
        return Ok(());
    }
    let stats = HvStats {
        version: HV_VERSION,
        cpu: cpu.cpu,
        online_cpus: cpu.entry.online_cpus,
        denied_accesses: cpu.denied_accesses,
        exits: cpu.exits,
    };
    // SAFETY: HvStats is plain data.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            &stats as *const HvStats as *const u8,
            core::mem::size_of::<HvStats>(),
        )
    };
    let cr3 = vmcs::read(guest::CR3);
    cpu.guest_memory
        .write(cr3, buffer, bytes)
        .map_err(|_| Errno::Fault)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_memory::synthetic::{Guest, CR3, RO, RW};

    /// A CPU whose guest is `guest`, in the state `enter` leaves it.
    fn cpu_of(guest: &mut Guest) -> Box<PerCpu> {
        // SAFETY: PerCpu is plain data, all-zero is a valid (fresh) state.
        let mut cpu: Box<PerCpu> = unsafe { Box::new_zeroed().assume_init() };
        cpu.cpu = 1;
        cpu.entry.online_cpus = 2;
        cpu.denied_accesses = 7;
        cpu.exits[10] = 3;
        cpu.guest_memory = guest.phys();
        vmcs::fake::set(guest::CR3, CR3);
        cpu
    }

    fn ret(e: Errno) -> Outcome {
        Outcome::Return(e.as_return())
    }

    #[test]
    fn only_the_kernel_may_call() {
        let mut g = Guest::new();
        let mut cpu = cpu_of(&mut g);
        for cpl in 1..=3 {
            assert_eq!(dispatch(&mut cpu, 3, [0; 3], cpl), ret(Errno::Perm));
            assert_eq!(
                dispatch(&mut cpu, 0, [0; 3], cpl),
                ret(Errno::Perm),
                "not even DISABLE"
            );
        }
    }

    #[test]
    fn unknown_and_future_numbers_return_enosys() {
        let mut g = Guest::new();
        let mut cpu = cpu_of(&mut g);
        for nr in [5, 0x999, u64::MAX, HypercallCode::Notify.into()] {
            assert_eq!(
                dispatch(&mut cpu, nr, [0; 3], 0),
                ret(Errno::NoSys),
                "{nr:#x}"
            );
        }
    }

    #[test]
    fn start_rtos_refuses_bad_cpus_and_stop_needs_a_running_rtos() {
        let mut g = Guest::new();
        let mut cpu = cpu_of(&mut g);
        let start: u64 = HypercallCode::StartRtos.into();
        // The caller's own CPU, and a CPU that never entered the hypervisor.
        assert_eq!(
            dispatch(&mut cpu, start, [1, 0x1000, 0], 0),
            ret(Errno::Inval)
        );
        assert_eq!(
            dispatch(&mut cpu, start, [7, 0x1000, 0], 0),
            ret(Errno::Inval)
        );
        let stop: u64 = HypercallCode::StopRtos.into();
        assert_eq!(dispatch(&mut cpu, stop, [0; 3], 0), ret(Errno::Srch));
    }

    #[test]
    fn disable_and_query_without_a_buffer() {
        let mut g = Guest::new();
        let mut cpu = cpu_of(&mut g);
        assert_eq!(dispatch(&mut cpu, 0, [0; 3], 0), Outcome::Disable);
        assert_eq!(
            dispatch(&mut cpu, 3, [0; 3], 0),
            Outcome::Return(HV_VERSION)
        );
    }

    #[test]
    fn query_fills_a_good_buffer() {
        let mut g = Guest::new();
        g.map(0x7000_0000, 0x30_0000, 1, RW);
        g.map(0x7000_1000, 0x50_0000, 1, RW);
        let mut cpu = cpu_of(&mut g);
        let gva = 0x7000_0F00; // crosses into the second page
        assert_eq!(
            dispatch(&mut cpu, 3, [gva, 0, 0], 0),
            Outcome::Return(HV_VERSION)
        );
        let mut stats = HvStats::default();
        let size = core::mem::size_of::<HvStats>();
        // SAFETY: HvStats is plain data.
        let out = unsafe { core::slice::from_raw_parts_mut(&mut stats as *mut _ as *mut u8, size) };
        out[..0x100].copy_from_slice(&g.memory[0x30_0F00..0x30_1000]);
        out[0x100..].copy_from_slice(&g.memory[0x50_0000..0x50_0000 + size - 0x100]);
        assert_eq!(
            (stats.version, stats.cpu, stats.online_cpus),
            (HV_VERSION, 1, 2)
        );
        assert_eq!((stats.denied_accesses, stats.exits[10]), (7, 3));
    }

    #[test]
    fn query_into_a_bad_buffer_returns_efault() {
        let mut g = Guest::new();
        g.map(0x7000_0000, 0x30_0000, 1, RO);
        let mut cpu = cpu_of(&mut g);
        for gva in [0x7000_0000, 0x6000_0000, u64::MAX - 8] {
            assert_eq!(
                dispatch(&mut cpu, 3, [gva, 0, 0], 0),
                ret(Errno::Fault),
                "{gva:#x}"
            );
        }
        assert!(
            g.memory[0x30_0000..0x30_1000].iter().all(|&b| b == 0),
            "nothing written"
        );
    }
}
