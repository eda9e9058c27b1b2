//! The Type-1.5 hypervisor of the lab (after RVM1.5 and Jailhouse).
//!
//! Linux is already running when the driver calls [`entry`]'s `hv_entry` on every
//! online CPU. Each CPU turns VMX on, builds a VMCS from its own live state and
//! VMLAUNCHes, and Linux goes on as a guest that never noticed. From then on CPUID and
//! VMCALL reach the hypervisor, and EPT keeps Linux out of the memory it must not touch.
//!
//! ```text
//! hv_entry (entry.rs) ─► hv_main: first CPU: console, heap, host page table, EPT
//!                               each CPU: check VMX + VMXON (lab 1)    ─┐ barrier: all or none
//!                               each CPU: VMCS guest state (lab 1), host state, controls
//!                               VMLAUNCH ─► Linux resumes as a guest
//! VM exit ─► vmexit_handler (vmx/vmexit.rs) ─► CPUID / VMCALL (lab 1) / CR / MSR / EPT ...
//! START_RTOS ─► rtos/ (lab 2): park the CPU Linux gave up, start the RTOS on it natively
//! ```
// Unit tests of the logic that needs no VMX run on the host, with std
// (`cargo test -p hypervisor --no-default-features --lib`).
#![cfg_attr(not(test), no_std)]
// The exit and entry paths are reached only from the image's assembly.
#![cfg_attr(test, allow(dead_code))]

#[macro_use]
pub mod regs;
pub mod config;
pub mod entry;
pub mod guest_memory;
mod header;
pub mod hypercall;
pub mod layout;
pub mod memory;
pub mod paging;
pub mod percpu;
pub mod rtos;
pub mod vmx;

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use baremetal::println;
use crtos_abi::Errno;
use entry::EntryArgs;
use layout::Region;
use percpu::PerCpu;
use spin::Mutex;
use vmx::vcpu::{hv_vmexit_entry, hv_vmlaunch};
use vmx::{ept, guest_state, vmcs, vmexit, vmx_off, vmxon, VmxError};

/// What the first CPU sets up for all of them.
#[derive(Clone, Copy, Default)]
pub struct Globals {
    pub host_cr3: u64,
}

static GLOBALS: Mutex<Globals> = Mutex::new(Globals { host_cr3: 0 });

pub fn globals() -> Globals {
    *GLOBALS.lock()
}

/// Progress of one enable, shared by the CPUs entering together.
static ARRIVED: AtomicU64 = AtomicU64::new(0);
static INIT_STATE: AtomicU8 = AtomicU8::new(INIT_PENDING);
const INIT_PENDING: u8 = 0;
const INIT_DONE: u8 = 1;
const INIT_FAILED: u8 = 2;
static VMX_ON_COUNT: AtomicU64 = AtomicU64::new(0);
static VMX_FAILED: AtomicBool = AtomicBool::new(false);
static DEPARTED: AtomicU64 = AtomicU64::new(0);
static ONLINE: AtomicU64 = AtomicU64::new(0);

/// Spins until `done()` or about a minute of emulated work has passed.
fn wait_for(done: impl Fn() -> bool) -> bool {
    for _ in 0..2_000_000_000u64 {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

// The two functions `hv_entry` calls (entry.rs), which exists in the image only.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn hv_stack_top(args: &EntryArgs) -> u64 {
    Region::from_args(args).map_or(0, |r| PerCpu::entry_stack_top(&r, args.cpu))
}

/// Called by `hv_entry` on this CPU's hypervisor stack. Returns only on failure.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn hv_main(args: &EntryArgs) -> i64 {
    let region = Region::from_args(args).expect("checked by hv_stack_top");
    // SAFETY: this CPU's own area of the live range.
    let cpu = unsafe { PerCpu::of(&region, args.cpu) };
    let error = enter(cpu, &region, args);
    depart();
    error.negative()
}

/// Every CPU that leaves (failure or DISABLE) passes here; the last one resets the
/// shared progress for the next enable.
pub(crate) fn depart() {
    let online = ONLINE.load(Ordering::Acquire);
    if DEPARTED.fetch_add(1, Ordering::AcqRel) + 1 == online {
        ARRIVED.store(0, Ordering::Release);
        VMX_ON_COUNT.store(0, Ordering::Release);
        VMX_FAILED.store(false, Ordering::Release);
        INIT_STATE.store(INIT_PENDING, Ordering::Release);
        DEPARTED.store(0, Ordering::Release);
    }
}

// ANCHOR: enter
/// Turns VMX on and launches Linux as a guest; returns an errno if anything fails.
fn enter(cpu: &mut PerCpu, region: &Region, args: &EntryArgs) -> Errno {
    if rtos::rejoining(args.cpu) {
        return rejoin(cpu, region, args);
    }
    if ARRIVED.fetch_add(1, Ordering::AcqRel) == 0 {
        ONLINE.store(args.online_cpus, Ordering::Release);
        let state = match global_init(region, args) {
            Ok(()) => INIT_DONE,
            Err(why) => {
                println!("[hv] set-up failed: {why}");
                INIT_FAILED
            }
        };
        INIT_STATE.store(state, Ordering::Release);
    } else if !wait_for(|| INIT_STATE.load(Ordering::Acquire) != INIT_PENDING) {
        return Errno::TimedOut;
    }
    if INIT_STATE.load(Ordering::Acquire) != INIT_DONE {
        return Errno::NoMem;
    }

    init_cpu(cpu, region, args);

    // Phase 1, every CPU: its EPT, then VMX on. All CPUs or none: one that cannot
    // makes all back out.
    let on = vmx_on(cpu, region, args.cpu);
    if let Err(e) = on {
        println!("[hv] cpu {}: cannot turn VMX on: {e:?}", args.cpu);
        VMX_FAILED.store(true, Ordering::Release);
    }
    VMX_ON_COUNT.fetch_add(1, Ordering::AcqRel);
    if !wait_for(|| VMX_ON_COUNT.load(Ordering::Acquire) == args.online_cpus) {
        VMX_FAILED.store(true, Ordering::Release);
    }
    if VMX_FAILED.load(Ordering::Acquire) {
        if on.is_ok() {
            vmx_off();
        }
        return match on {
            Err(VmxError::NotSupported) | Err(VmxError::DisabledByFirmware) => Errno::NoDev,
            Err(VmxError::OutOfMemory(_)) => Errno::NoMem,
            _ => Errno::Io,
        };
    }

    // Phase 2, every CPU: its VMCS, then launch.
    if let Err(e) = setup_vmcs(cpu, args) {
        println!("[hv] cpu {}: VMCS set-up failed: {e:?}", args.cpu);
        vmx_off();
        return Errno::Io;
    }
    launch(cpu, args)
}
// ANCHOR_END: enter

/// Resumes Linux as a guest on this CPU, its VMCS complete.
fn launch(cpu: &mut PerCpu, args: &EntryArgs) -> ! {
    println!("[hv] cpu {}: VMX on, resuming Linux as a guest", args.cpu);
    // Linux's registers at the call, and RAX = 0: for the driver, hv_entry returned 0.
    // They go at the top of this CPU's host stack, where the VM-exit stub keeps them.
    let regs = cpu.guest_registers();
    *regs = args.linux_regs;
    regs.rax = 0;
    // SAFETY: the VMCS is complete; a failed VMLAUNCH ends in vmlaunch_failed.
    unsafe { hv_vmlaunch(regs) }
}

/// This CPU's EPT, then VMX on: what entering at ENABLE (`enter`, every CPU) and coming
/// back from the RTOS (`rejoin`, one CPU) share. The two `[hv]` lines are facts the
/// lab 1 graders check, one per student function.
fn vmx_on(cpu: &mut PerCpu, region: &Region, cpu_index: u64) -> Result<(), VmxError> {
    let vmxon_phys = cpu.phys(cpu.vmxon_region.as_ptr());
    ept::Ept::build(region, layout::closed_to_linux(region))
        .map(|ept| cpu.ept = ept)
        .map_err(VmxError::OutOfMemory)
        .and_then(|()| vmxon::check_vmx_support())
        .inspect(|()| println!("[hv] cpu {cpu_index}: VMX is supported and allowed"))
        // SAFETY: this CPU's own VMXON region.
        .and_then(|()| unsafe { vmxon::enter_vmx_operation(&mut cpu.vmxon_region, vmxon_phys) })
        .inspect(|()| println!("[hv] cpu {cpu_index}: VMXON succeeded"))
}

/// Lab 2: a CPU the RTOS had (or a failed start reset) comes back, Linux having started
/// it again: it enters alone, without the barriers of an enable. It counted as
/// departed when it parked; now it counts as present again.
fn rejoin(cpu: &mut PerCpu, region: &Region, args: &EntryArgs) -> Errno {
    init_cpu(cpu, region, args);
    let on = vmx_on(cpu, region, args.cpu)
        .and_then(|()| setup_vmcs(cpu, args).inspect_err(|_| vmx_off()));
    if let Err(e) = on {
        println!("[hv] cpu {}: cannot re-enter: {e:?}", args.cpu);
        rtos::cpus::set(args.cpu, rtos::cpus::CpuState::Absent);
        DEPARTED.fetch_sub(1, Ordering::AcqRel); // hv_main's depart() counts it again
        return Errno::Io;
    }
    DEPARTED.fetch_sub(1, Ordering::AcqRel);
    println!(
        "[hv] cpu {}: back from the RTOS, Linux's guest again",
        args.cpu
    );
    launch(cpu, args)
}

/// This CPU's record, fresh for this enable.
fn init_cpu(cpu: &mut PerCpu, region: &Region, args: &EntryArgs) {
    cpu.cpu = args.cpu;
    cpu.region = *region;
    cpu.entry = *args;
    cpu.guest_memory = guest_memory::GuestPhysMemory::of_linux(region);
    cpu.scratch.fill(0xFF);
    cpu.exits = [0; percpu::EXIT_REASONS];
    cpu.denied_accesses = 0;
    cpu.lent_pages = [None; percpu::LENT_PAGES];
    rtos::cpus::entered(args.cpu, rtos::cpus::this_apic_id());
}

/// The first CPU: console, power-off path, heap and frames, host page table.
fn global_init(region: &Region, args: &EntryArgs) -> Result<(), &'static str> {
    baremetal::serial::attach();
    match crtos_abi::PowerOff::from_entry_arg(args.power_off) {
        // A panic of the hypervisor then still powers the machine off.
        Some(p) => {
            baremetal::exit::set_power_off(p.port, p.value);
            println!(
                "[hv] after a panic: power-off through ACPI port {:#x}",
                p.port
            );
        }
        None => println!("[hv] after a panic: halt (no ACPI power-off port was given)"),
    }
    memory::init(region)?;
    let host_cr3 = paging::build_host_page_table(region)?;
    *GLOBALS.lock() = Globals { host_cr3 };
    println!(
        "[hv] crtos-lab hypervisor v{}: range {:#x}+{:#x}, {} frames left",
        config::HV_VERSION,
        region.phys,
        region.size,
        memory::frames_left()
    );
    Ok(())
}

fn setup_vmcs(cpu: &mut PerCpu, args: &EntryArgs) -> Result<(), VmxError> {
    let vmcs_phys = cpu.phys(cpu.vmcs.as_ptr());
    cpu.vmcs[..4].copy_from_slice(&vmcs::revision_id().to_le_bytes());
    // SAFETY: this CPU's own VMCS region, in VMX operation.
    unsafe {
        x86::bits64::vmx::vmclear(vmcs_phys).map_err(|_| VmxError::InstructionFailed("VMCLEAR"))?;
        x86::bits64::vmx::vmptrld(vmcs_phys).map_err(|_| VmxError::InstructionFailed("VMPTRLD"))?;
    }
    // The guest state first: it reads Linux's GDT, IDT and TR, which the next line
    // replaces with the hypervisor's own (the host state).
    guest_state::setup_guest_state(args.linux_rsp, args.linux_rip)?;
    // From the next line on, an NMI reaches the hypervisor's IDT, not Linux's: it is
    // recorded and handed back.
    baremetal::interrupts::set_nmi_handler(vmx::nmi::on_host_nmi);
    baremetal::interrupts::init_cpu(args.cpu as usize);

    vmexit::fill_msr_bitmap(&mut cpu.msr_bitmap);
    let g = globals();
    vmcs::setup_controls(cpu.phys(cpu.msr_bitmap.as_ptr()), cpu.ept.pointer())?;
    let stack_top = PerCpu::stack_top(&cpu.region, cpu.cpu);
    // SAFETY: the slot above the host stack holds this CPU's PerCpu for the exit stub.
    unsafe { (stack_top as *mut u64).write(cpu as *mut PerCpu as u64) };
    vmcs::setup_host_state(&vmcs::HostState {
        cpu: args.cpu as usize,
        cr3: g.host_cr3,
        rsp: stack_top,
        rip: hv_vmexit_entry as *const () as u64,
    })
}
