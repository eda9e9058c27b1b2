//! Lab 2: the hypervisor starts the RTOS on a CPU Linux gave up (after RVM1.5's
//! `start_rt_cpus`), and stops it again.
//!
//! ```text
//! driver: remove_cpu(1) ─► VMCALL START_RTOS(cpu 1, request) on CPU 0
//!   CPU 0 (this file): check the caller, the target and the request
//!         ─► park CPU 1 (park.rs: INIT ─► its INIT exit ─► VMXOFF, halt)
//!         ─► check and copy the image ─► boot block, boot page tables (lab 2)
//!         ─► start_rtos (lab 2: save the page, trampoline, INIT-SIPI-SIPI, wait for
//!            "entered", restore the page); any failure from the park on: INIT, and
//!            Linux starts the CPU again
//!   CPU 1: real mode ─► protected ─► long mode (the trampoline) ─► RTOS entry
//! ```
//!
//! The RTOS runs natively on its CPU, outside VMX: nothing isolates the hypervisor
//! or Linux from it (the book's lab 2 chapter, "what this trusts").

pub mod cpus;
mod image;
pub mod park;
pub mod tsc;

// LAB 2: the student's files or the solution's, as build.rs chooses (`make lab2` or
// `make lab2 SOLUTION=1`), like lab 1's (vmx/mod.rs).
#[cfg_attr(lab_tree = "student", path = "../../../labs/lab2/boot_page_tables.rs")]
#[cfg_attr(
    lab_tree = "solution",
    path = "../../../solutions/lab2/boot_page_tables.rs"
)]
pub mod boot_page_tables;

#[cfg_attr(lab_tree = "student", path = "../../../labs/lab2/ap_start.rs")]
#[cfg_attr(lab_tree = "solution", path = "../../../solutions/lab2/ap_start.rs")]
pub mod ap_start;

#[cfg_attr(lab_tree = "student", path = "../../../labs/lab2/start_rtos.rs")]
#[cfg_attr(lab_tree = "solution", path = "../../../solutions/lab2/start_rtos.rs")]
pub mod start_rtos;

use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use baremetal::apic::{send_ipi, Ipi};
use baremetal::println;
use baremetal::smp::ApParams;
use crtos_abi::rtos::{BootBlock, RunMode, StartRequest, RTOS_BASE};
use crtos_abi::{Errno, RTOS_SIZE, SHARED_SIZE, STARTUP_PAGE};
use spin::{Mutex, Once};
use x86::vmx::vmcs::guest;

use cpus::CpuState;
use tsc::Tsc;

use crate::percpu::PerCpu;
use crate::vmx::vmcs;

/// The CPU the RTOS runs on (Linux's number), or `NONE`.
static RTOS_CPU: AtomicU64 = AtomicU64::new(NONE);
const NONE: u64 = u64::MAX;
/// One START_RTOS or STOP_RTOS at a time.
static START_LOCK: Mutex<()> = Mutex::new(());

/// A page table in a frame of the hypervisor's: its physical address (what the entry
/// above it, or CR3, holds) and its 512 entries.
pub struct Table {
    pub phys: u64,
    pub entries: &'static mut [u64; 512],
}

/// The boot page tables: one PML4, one PDPT, and a page directory for each of the
/// first 4 GiB ([`boot_page_tables::build_boot_page_tables`] fills them).
pub struct BootPageTables {
    pub pml4: Table,
    pub pdpt: Table,
    pub pds: [Table; 4],
}

/// Frames of the hypervisor's that the started CPU uses until the RTOS runs on its
/// own page tables: the boot page tables, and one page holding the boot block with
/// the trampoline's stack at its top. Allocated once, never freed: a late-starting
/// CPU never finds them reused.
struct BootFrames {
    tables: BootPageTables,
    block_phys: u64,
    block: *mut BootBlock,
}
// SAFETY: used under START_LOCK only.
unsafe impl Send for BootFrames {}
unsafe impl Sync for BootFrames {}
static BOOT_FRAMES: Once<Option<Mutex<BootFrames>>> = Once::new();

// ANCHOR: plan
/// What [`start_rtos::start_rtos`] needs to start the RTOS's CPU.
pub struct StartPlan {
    /// The local APIC ID of the CPU to start.
    pub apic_id: u32,
    /// What the trampoline loads in 64-bit mode: the boot page tables, a stack, the
    /// RTOS's entry and the boot block's physical address (its argument).
    pub params: ApParams,
    /// The boot block; the RTOS sets its `entered` once it runs its own code.
    pub boot_block: *const BootBlock,
    pub tsc: Tsc,
}

impl StartPlan {
    /// Whether the RTOS has entered (it has left the start-up page for good).
    pub fn entered(&self) -> bool {
        // SAFETY: the boot block lives in a hypervisor frame for the whole run; the
        // RTOS writes the field from its CPU, hence the volatile read.
        unsafe { core::ptr::addr_of!((*self.boot_block).entered).read_volatile() != 0 }
    }
}
// ANCHOR_END: plan

/// The RTOS's physical range: right after the hypervisor's in the reservation.
fn rtos_range(cpu: &PerCpu) -> Range<u64> {
    let base = cpu.region.phys + cpu.region.size;
    base..base + RTOS_SIZE
}

/// START_RTOS on the calling CPU: `target` is the CPU Linux gave up, `request_gva`
/// the guest-virtual address of a `StartRequest`.
///
/// The target is parked first, once it is known to be a CPU Linux gave up: from then
/// on every failure (a bad image, boot page tables, a start that times out) resets it
/// with INIT, and Linux starts it again with its own INIT-SIPI-SIPI. Were it left in
/// Linux's offline loop instead, Linux's INIT would only be a VM exit, and the CPU
/// would never come back. (The driver checks the image before it gives the CPU up.)
pub fn start(cpu: &mut PerCpu, target: u64, request_gva: u64) -> Result<u64, Errno> {
    let _guard = START_LOCK.try_lock().ok_or(Errno::Busy)?;
    let apic_id = check_target(cpu, target)?;
    let request = image::read_request(&cpu.guest_memory, vmcs::read(guest::CR3), request_gva)?;
    if request.tsc_khz == 0 {
        return Err(Errno::Inval); // the delays and the RTOS's clock need it
    }
    let tsc = Tsc {
        khz: request.tsc_khz,
    };
    park::park(target, apic_id, &tsc).map_err(|state| {
        println!("[hv] START_RTOS: cpu {target} did not park ({state:?})");
        match state {
            CpuState::ParkRequested => Errno::TimedOut, // no INIT exit came
            _ => Errno::Busy,                           // Linux still runs there
        }
    })?;
    match load_and_boot(cpu, apic_id, request, tsc) {
        Ok(()) => {
            cpus::set(target, CpuState::Rtos);
            RTOS_CPU.store(target, Ordering::Release);
            Ok(0)
        }
        Err(e) => {
            send_ipi(apic_id as u8, Ipi::Init); // back to wait-for-SIPI, for Linux
            cpus::set(target, CpuState::Reset);
            println!("[hv] START_RTOS: the RTOS did not start on cpu {target}: {e:?}; the CPU is Linux's again");
            Err(e)
        }
    }
}

/// Checks that `target` is a CPU Linux may have given up; its local APIC ID.
fn check_target(cpu: &PerCpu, target: u64) -> Result<u32, Errno> {
    if RTOS_CPU.load(Ordering::Acquire) != NONE {
        return Err(Errno::Busy); // one RTOS at a time
    }
    if target == cpu.cpu {
        return Err(Errno::Inval); // the caller keeps running Linux
    }
    let apic_id = cpus::apic_id(target).ok_or(Errno::Inval)?;
    if cpus::state(target) != CpuState::Guest {
        return Err(Errno::Busy);
    }
    Ok(apic_id)
}

/// With the target parked: checks the image, copies it, fills the boot block and the
/// boot page tables, and boots.
fn load_and_boot(cpu: &PerCpu, apic_id: u32, request: StartRequest, tsc: Tsc) -> Result<(), Errno> {
    let range = rtos_range(cpu);
    if range.start != RTOS_BASE {
        println!(
            "[hv] START_RTOS: the RTOS range starts at {:#x}, the RTOS is linked at {RTOS_BASE:#x}",
            range.start
        );
        return Err(Errno::Inval);
    }
    let cr3 = vmcs::read(guest::CR3);
    let entry = image::check_header(&cpu.guest_memory, cr3, &request, &range)?;
    let frames = BOOT_FRAMES
        .call_once(alloc_boot_frames)
        .as_ref()
        .ok_or(Errno::NoMem)?;
    let mut frames = frames.lock();
    image::load(&cpu.guest_memory, cr3, &request, &range)?;
    let checked = CheckedRequest {
        apic_id,
        request,
        entry,
        range,
    };
    let plan = prepare(&mut frames, cpu, &checked, tsc);
    check_boot_page_tables(&frames.tables, &plan)?;
    boot(&plan)
}

/// A START_RTOS request that passed every check.
struct CheckedRequest {
    apic_id: u32,
    request: StartRequest,
    /// The RTOS's entry, a physical address in `range`.
    entry: u64,
    range: Range<u64>,
}

/// The student's boot page tables must map what the started CPU touches before the
/// RTOS loads its own: the start-up page, the RTOS's entry, the boot block.
fn check_boot_page_tables(tables: &BootPageTables, plan: &StartPlan) -> Result<(), Errno> {
    let used = [
        0,
        STARTUP_PAGE,
        plan.params.entry,
        plan.params.arg,
        (4 << 30) - 1,
    ];
    check_identity_map(tables, &used).map_err(|va| {
        println!("[hv] boot page tables: {va:#x} is not mapped to itself: the RTOS cannot start");
        Errno::Inval
    })?;
    println!("[hv] boot page tables: the first 4 GiB identity-mapped");
    Ok(())
}

/// Runs `start_rtos` (lab 2) and reports what it did to the start-up page and how long
/// the CPU took to enter.
fn boot(plan: &StartPlan) -> Result<(), Errno> {
    let page_before = startup_page_checksum();
    let t0 = Tsc::now();
    let started = start_rtos::start_rtos(plan);
    let took_us = plan.tsc.us_between(t0, Tsc::now());
    println!(
        "[hv] start-up page {STARTUP_PAGE:#x}: checksum before={page_before:08x} after={:08x}",
        startup_page_checksum()
    );
    if started.is_ok() {
        println!(
            "[hv] the RTOS runs on the CPU with APIC ID {}; start_rtos took {took_us} us",
            plan.apic_id
        );
    }
    started
}

/// STOP_RTOS: resets the RTOS's CPU with INIT; it waits for Linux's INIT-SIPI-SIPI.
pub fn stop(cpu: &PerCpu) -> Result<u64, Errno> {
    let _guard = START_LOCK.try_lock().ok_or(Errno::Busy)?;
    let target = RTOS_CPU.load(Ordering::Acquire);
    if target == NONE {
        return Err(Errno::Srch);
    }
    let apic_id = cpus::apic_id(target).ok_or(Errno::Srch)?;
    send_ipi(apic_id as u8, Ipi::Init);
    cpus::set(target, CpuState::Reset);
    RTOS_CPU.store(NONE, Ordering::Release);
    println!(
        "[hv] cpu {}: stopped the RTOS on cpu {target} (INIT); the CPU is Linux's again",
        cpu.cpu
    );
    Ok(target)
}

/// Whether `cpu` comes back from the RTOS (or a failed start) and may re-enter alone.
pub fn rejoining(cpu: u64) -> bool {
    cpus::state(cpu) == CpuState::Reset
}

fn alloc_boot_frames() -> Option<Mutex<BootFrames>> {
    let table = || {
        crate::memory::alloc_frame().map(|(phys, virt)| Table {
            phys,
            // SAFETY: a fresh, zeroed frame of ours, used only as this table.
            entries: unsafe { &mut *(virt as *mut [u64; 512]) },
        })
    };
    let tables = BootPageTables {
        pml4: table()?,
        pdpt: table()?,
        pds: [table()?, table()?, table()?, table()?],
    };
    let (block_phys, block) = crate::memory::alloc_frame()?;
    Some(Mutex::new(BootFrames {
        tables,
        block_phys,
        block: block as *mut BootBlock,
    }))
}

/// Fills the boot block and the boot page tables; the plan for `start_rtos`.
fn prepare(frames: &mut BootFrames, cpu: &PerCpu, checked: &CheckedRequest, tsc: Tsc) -> StartPlan {
    let req = &checked.request;
    // The defaults hold the console (COM2: Linux keeps COM1, its ttyS0); the rest is
    // this machine's.
    let mut block = BootBlock::new(RunMode::Started);
    block.apic_id = checked.apic_id;
    block.tsc_khz = req.tsc_khz;
    // SAFETY: reading IA32_APIC_BASE has no side effect.
    block.local_apic_base = unsafe { x86::msr::rdmsr(x86::msr::IA32_APIC_BASE) } & !0xFFF;
    block.rtos_base = checked.range.start;
    block.rtos_size = RTOS_SIZE;
    block.shared_base = checked.range.end;
    block.shared_size = SHARED_SIZE;
    block.machine_cpus = cpu.region.max_cpus as u32;
    block.realtime_at_boot_ns = req.realtime_ns;
    let len = req
        .cmdline
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(req.cmdline.len());
    let _ = block.set_cmdline(core::str::from_utf8(&req.cmdline[..len]).unwrap_or(""));
    // SAFETY: our frame, under START_LOCK; nothing else uses it now.
    unsafe { frames.block.write(block) };
    boot_page_tables::build_boot_page_tables(&mut frames.tables);
    StartPlan {
        apic_id: checked.apic_id,
        params: ApParams {
            cr3: frames.tables.pml4.phys,
            stack_top: frames.block_phys + 4096, // the top of the boot block's frame
            entry: checked.entry,
            arg: frames.block_phys,
        },
        boot_block: frames.block,
        tsc,
    }
}

/// Walks `tables` for each address of `addresses`: `Err(address)` for the first one
/// that does not translate to itself, or when an entry past the first 4 GiB is present.
fn check_identity_map(tables: &BootPageTables, addresses: &[u64]) -> Result<(), u64> {
    const PRESENT: u64 = 1;
    const HUGE: u64 = 1 << 7;
    const ADDR: u64 = 0x000F_FFFF_FFFF_F000;
    let table_at = |phys: u64| -> Option<&[u64; 512]> {
        core::iter::once(&tables.pdpt)
            .chain(tables.pds.iter())
            .find(|t| t.phys == phys)
            .map(|t| &*t.entries)
    };
    let translate = |va: u64| -> Option<u64> {
        let pml4e = tables.pml4.entries[(va >> 39) as usize & 511];
        let pdpte =
            table_at(pml4e & ADDR).filter(|_| pml4e & PRESENT != 0)?[(va >> 30) as usize & 511];
        let pde = table_at(pdpte & ADDR).filter(|_| pdpte & PRESENT != 0 && pdpte & HUGE == 0)?
            [(va >> 21) as usize & 511];
        (pde & PRESENT != 0 && pde & HUGE != 0)
            .then_some((pde & ADDR & !0x1F_FFFF) | (va & 0x1F_FFFF))
    };
    if tables.pml4.entries[1..].iter().any(|&e| e & PRESENT != 0) {
        return Err(1 << 39);
    }
    match addresses.iter().find(|&&va| translate(va) != Some(va)) {
        Some(&va) => Err(va),
        None => Ok(()),
    }
}

/// A checksum (FNV-1a) of the start-up page: equal before and after `start_rtos` when
/// it restored what Linux had there.
pub fn startup_page_checksum() -> u32 {
    // SAFETY: low memory is identity-mapped in the host; reading it has no effect.
    let page = unsafe { core::slice::from_raw_parts(STARTUP_PAGE as *const u8, 4096) };
    page.iter().fold(0x811C_9DC5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Boot page tables in host memory, at made-up physical addresses.
    fn tables() -> BootPageTables {
        let table = |phys: u64| Table {
            phys,
            entries: Box::leak(Box::new([0u64; 512])),
        };
        BootPageTables {
            pml4: table(0x1000),
            pdpt: table(0x2000),
            pds: [table(0x3000), table(0x4000), table(0x5000), table(0x6000)],
        }
    }

    const ADDRESSES: [u64; 5] = [0, 0x6000, 0x1100_b150, 0xFEE0_0000, (4 << 30) - 1];

    #[test]
    fn the_boot_page_tables_identity_map_4_gib() {
        let mut t = tables();
        boot_page_tables::build_boot_page_tables(&mut t);
        assert_eq!(check_identity_map(&t, &ADDRESSES), Ok(()));
    }

    #[test]
    fn a_wrong_boot_page_table_entry_is_found() {
        let mut t = tables();
        boot_page_tables::build_boot_page_tables(&mut t);
        t.pds[3].entries[503] = 0; // the local APIC's 2 MiB page
        assert_eq!(check_identity_map(&t, &ADDRESSES), Err(0xFEE0_0000));
        let mut t = tables();
        boot_page_tables::build_boot_page_tables(&mut t);
        t.pml4.entries[1] = t.pdpt.phys | 1; // something above the first 512 GiB
        assert_eq!(check_identity_map(&t, &ADDRESSES), Err(1 << 39));
    }

    #[test]
    fn a_cpu_parks_only_from_the_guest_state() {
        cpus::entered(5, 5);
        assert!(cpus::transition(
            5,
            CpuState::Guest,
            CpuState::ParkRequested
        ));
        assert!(!cpus::transition(
            5,
            CpuState::Guest,
            CpuState::ParkRequested
        ));
        cpus::set(5, CpuState::Reset);
        assert!(rejoining(5));
        assert_eq!(cpus::apic_id(6), None);
    }
}
