//! Hypercalls: `VMCALL` with RAX = number, RDI/RSI/RDX = arguments; the result in RAX
//! (a negative errno on error). Numbers mirror `enum crtos_hypercall` in the driver.
//! A bad hypercall never stops the hypervisor: it gets an error code and Linux goes on.

use crate::config::HV_VERSION;
use crate::guest_memory;
pub use crtos_abi::HvStats;

use crate::percpu::PerCpu;

/// Linux's errno values that hypercalls return (negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum Errno {
    Perm = 1,
    Fault = 14,
    Inval = 22,
    NoSys = 38,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum HypercallCode {
    /// Leave VMX on the calling CPU and return it to bare metal.
    Disable = 0,
    /// Start the RTOS on a CPU Linux gave up (lab 2).
    StartRtos = 1,
    /// Notify the other cell (lab 3).
    Notify = 2,
    /// The version in RAX; with RDI != 0, also [`HvStats`] written at guest address RDI.
    Query = 3,
}

impl TryFrom<u64> for HypercallCode {
    type Error = Errno;
    fn try_from(n: u64) -> Result<Self, Errno> {
        Ok(match n {
            0 => HypercallCode::Disable,
            1 => HypercallCode::StartRtos,
            2 => HypercallCode::Notify,
            3 => HypercallCode::Query,
            _ => return Err(Errno::NoSys),
        })
    }
}

/// What the VMCALL exit handler does after a hypercall.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Put this value in the guest's RAX and resume it after the VMCALL.
    Return(u64),
    /// Leave VMX on this CPU: Linux continues on bare metal after the VMCALL.
    Disable,
}

fn errno(e: Errno) -> u64 {
    (-(e as i64)) as u64
}

/// Runs hypercall `nr` with `args` for a guest running at privilege level `cpl`.
pub fn dispatch(cpu: &mut PerCpu, nr: u64, args: [u64; 3], cpl: u8) -> Outcome {
    // User programs can execute VMCALL too (it exits at any CPL): only the kernel may call.
    if cpl != 0 {
        return Outcome::Return(errno(Errno::Perm));
    }
    let code = match HypercallCode::try_from(nr) {
        Ok(code) => code,
        Err(e) => return Outcome::Return(errno(e)),
    };
    match code {
        HypercallCode::Disable => Outcome::Disable,
        HypercallCode::Query => Outcome::Return(match query(cpu, args[0]) {
            Ok(()) => HV_VERSION,
            Err(e) => errno(e),
        }),
        // Labs 2 and 3 add these.
        HypercallCode::StartRtos | HypercallCode::Notify => Outcome::Return(errno(Errno::NoSys)),
    }
}

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
    guest_memory::write(cpu, buffer, bytes).map_err(|_| Errno::Fault)
}
