//! The hypervisor's bare-metal self-test. This kernel plays Linux's part: on every CPU
//! it calls `hv_entry` exactly as the driver does, then checks from inside the guest
//! that the hypervisor answers (CPUID leaf 0x4000_0000, hypercalls), that its memory is
//! closed (reads give all-ones, writes are dropped) while the shared region is open,
//! and that DISABLE returns every
//! CPU to bare metal, three times in a row. One boot takes about a second on Bochs, so
//! a bug shows up long before a 30 s Linux boot would show it.
//!
//! It prints facts, not verdicts: what each step returned or read, tagged with the cycle
//! (`selftest: cycle 1: cpu 0: CPUID 0x40000000 = "crtos-lab-hv" nonce=...`). What each
//! fact must be is written once, in the grader's `grader/src/labs/lab1_selftest.rs`.
//! Only the exit code, which `make test-hv` runs on, is decided here, from the same
//! facts. Every line carries the run's `nonce=` from the command line.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use baremetal::{println, smp};
use crtos_abi::{Errno, ExitReason, HvStats, HypercallCode};
use hypervisor::config::CPUID_SIGNATURE;

baremetal::entry!(main);

/// The hypervisor's range: the same physical address the Linux guest reserves.
const HV_PHYS: u64 = crtos_abi::RESERVED_BASE;
const HV_SIZE: u64 = crtos_abi::HV_SIZE;
const CYCLES: usize = 3;

extern "C" {
    fn hv_entry(
        cpu: u64,
        online: u64,
        max: u64,
        phys: u64,
        size: u64,
        virt: u64,
        power_off: u64,
    ) -> i64;
}

/// A tiny "run this on every CPU" for the test (the driver uses Linux's on_each_cpu).
static WORK: AtomicUsize = AtomicUsize::new(0);
static GENERATION: AtomicU64 = AtomicU64::new(0);
static DONE: AtomicU64 = AtomicU64::new(0);
static RESULTS: [AtomicI64; 8] = [const { AtomicI64::new(0) }; 8];

fn on_each_cpu(work: fn(usize) -> i64, cpus: usize) -> [i64; 8] {
    WORK.store(work as *const () as usize, Ordering::Release);
    DONE.store(0, Ordering::Release);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    RESULTS[0].store(work(0), Ordering::Release);
    while DONE.load(Ordering::Acquire) < cpus as u64 - 1 {
        core::hint::spin_loop();
    }
    core::array::from_fn(|i| RESULTS[i].load(Ordering::Acquire))
}

fn ap_main(cpu: usize) -> ! {
    let mut seen = GENERATION.load(Ordering::Acquire);
    loop {
        let g = GENERATION.load(Ordering::Acquire);
        if g != seen {
            seen = g;
            // SAFETY: on_each_cpu stored a fn(usize) -> i64.
            let work: fn(usize) -> i64 =
                unsafe { core::mem::transmute(WORK.load(Ordering::Acquire)) };
            RESULTS[cpu].store(work(cpu), Ordering::Release);
            DONE.fetch_add(1, Ordering::AcqRel);
        }
        core::hint::spin_loop();
    }
}

static ONLINE: AtomicU64 = AtomicU64::new(1);

fn enable(cpu: usize) -> i64 {
    let online = ONLINE.load(Ordering::Acquire);
    // SAFETY: the hypervisor's entry, called as the driver calls it; the range is free RAM.
    unsafe {
        hv_entry(
            cpu as u64,
            online,
            online,
            HV_PHYS,
            HV_SIZE,
            HV_PHYS,
            power_off(),
        )
    }
}

/// What the driver passes as `power_off`: from the firmware's tables, as Linux has it.
fn power_off() -> u64 {
    baremetal::platform().map_or(0, |p| {
        let value = (p.s5_sleep_type << 10) | (1 << 13);
        crtos_abi::PowerOff {
            port: p.pm1a_control,
            value,
        }
        .to_entry_arg()
    })
}

#[inline(always)] // the bench times the hypercall, not a call around it
fn vmcall(code: HypercallCode, a0: u64) -> i64 {
    raw_vmcall(code.into(), a0)
}

#[inline(always)]
fn raw_vmcall(nr: u64, a0: u64) -> i64 {
    let ret: i64;
    // SAFETY: VMCALL under the hypervisor: a VM exit, answered in RAX.
    unsafe {
        asm!("vmcall", inlateout("rax") nr as i64 => ret, in("rdi") a0, in("rsi") 0, in("rdx") 0, options(nostack))
    };
    ret
}

fn disable(_cpu: usize) -> i64 {
    vmcall(HypercallCode::Disable, 0)
}

/// This CPU's statistics (QUERY with a buffer).
fn stats() -> Option<HvStats> {
    let mut stats = HvStats::default();
    let ok = vmcall(HypercallCode::Query, &mut stats as *mut HvStats as u64) >= 0;
    ok.then_some(stats)
}

fn signature() -> [u8; 12] {
    let r = core::arch::x86_64::__cpuid(0x4000_0000);
    let mut s = [0u8; 12];
    s[..4].copy_from_slice(&r.ebx.to_le_bytes());
    s[4..8].copy_from_slice(&r.ecx.to_le_bytes());
    s[8..].copy_from_slice(&r.edx.to_le_bytes());
    s
}

/// Each CPU's CPUID 0x4000_0000 signature, as seen from the guest: bytes 0..8, 8..12.
static SIGNATURES: [[AtomicU64; 2]; 8] = [const { [const { AtomicU64::new(0) }; 2] }; 8];

fn signature_on_this_cpu(cpu: usize) -> i64 {
    let s = signature();
    let word = |b: &[u8]| b.iter().rev().fold(0u64, |w, &x| w << 8 | x as u64);
    SIGNATURES[cpu][0].store(word(&s[..8]), Ordering::Release);
    SIGNATURES[cpu][1].store(word(&s[8..]), Ordering::Release);
    0 // the signature is in SIGNATURES
}

fn signature_of(cpu: usize) -> [u8; 12] {
    let mut s = [0u8; 12];
    s[..8].copy_from_slice(&SIGNATURES[cpu][0].load(Ordering::Acquire).to_le_bytes());
    s[8..].copy_from_slice(&SIGNATURES[cpu][1].load(Ordering::Acquire).to_le_bytes()[..4]);
    s
}

/// A signature as a quoted string: printable ASCII as it is, other bytes as `\xNN`.
struct Quoted([u8; 12]);

impl core::fmt::Display for Quoted {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str("\"")?;
        for &b in &self.0 {
            match b {
                b'"' | b'\\' => write!(f, "\\{}", b as char)?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Average TSC cycles of `f` over `n` runs.
fn cycles(n: u64, mut f: impl FnMut()) -> u64 {
    // SAFETY: RDTSC is always allowed at CPL 0.
    let start = unsafe { core::arch::x86_64::_rdtsc() };
    for _ in 0..n {
        f();
    }
    (unsafe { core::arch::x86_64::_rdtsc() } - start) / n
}

/// `bench` on the command line: the cost of CPUID on bare metal and under the
/// hypervisor, and of a null hypercall, in TSC cycles of the emulated machine; then the
/// VM exits by reason that this run caused on CPU 0.
fn bench(cpus: usize, nonce: &str) {
    const N: u64 = 2000;
    let bare = cycles(N, || {
        core::hint::black_box(core::arch::x86_64::__cpuid(0));
    });
    on_each_cpu(enable, cpus);
    let guest = cycles(N, || {
        core::hint::black_box(core::arch::x86_64::__cpuid(0));
    });
    let hypercall = cycles(N, || {
        core::hint::black_box(vmcall(HypercallCode::Query, 0));
    });
    println!("bench: CPUID on bare metal: {bare} cycles nonce={nonce}");
    println!(
        "bench: CPUID under the hypervisor: {guest} cycles ({:.1}x) nonce={nonce}",
        guest as f64 / bare.max(1) as f64
    );
    println!("bench: null hypercall (QUERY): {hypercall} cycles nonce={nonce}");
    let stats = stats().unwrap_or_default();
    for (reason, &count) in stats.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
        let name = crtos_abi::exit_reason_name(reason).unwrap_or("other");
        println!("bench: VM exits on cpu 0, {name}: {count} nonce={nonce}");
    }
    on_each_cpu(disable, cpus);
}

// ---------------------------------------------------------------- closed memory
// Every CPU reads and writes closed memory at the same time, so that one CPU's denied
// access is served while another's is. Each access must read all-ones, be denied
// (counted in that CPU's statistics) and leave memory as it was.

const HAMMER_ROUNDS: u64 = 64;
/// What the writes store: a tag no hypervisor or firmware value carries.
const HAMMER_TAG: u64 = 0x5EED_0000_0000_0000;

/// The closed words CPU `cpu` touches: one every CPU shares in the hypervisor's range,
/// one shared in the RTOS's range (closed, never written by anyone), and its own.
fn closed_words(cpu: usize) -> [*mut u64; 3] {
    let rtos = HV_PHYS + HV_SIZE;
    [
        (HV_PHYS + HV_SIZE - 0x1000 + 0x80) as *mut u64,
        (rtos + 0x100) as *mut u64,
        (rtos + 0x1000 * (cpu as u64 + 1) + 0x10) as *mut u64,
    ]
}

/// The closed words' contents before enable, read on bare metal.
static BEFORE: [[AtomicU64; 3]; 8] = [const { [const { AtomicU64::new(0) }; 3] }; 8];

fn snapshot_closed_words(cpus: usize) {
    for (cpu, words) in BEFORE.iter().enumerate().take(cpus) {
        for (slot, p) in words.iter().zip(closed_words(cpu)) {
            // SAFETY: bare metal, identity-mapped RAM.
            slot.store(unsafe { p.read_volatile() }, Ordering::Relaxed);
        }
    }
}

/// Per CPU: reads that did not give all-ones, and accesses the hypervisor counted.
static BAD_READS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static DENIED: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// Accesses each CPU makes: a read and a write per word per round.
const HAMMER_ACCESSES: u64 = HAMMER_ROUNDS * 3 * 2;

fn hammer_closed_memory(cpu: usize) -> i64 {
    let denied = || stats().map_or(0, |s| s.denied_accesses);
    let before = denied();
    let mut bad_reads = 0;
    let mut seed = cpu as u64 + 1;
    for round in 0..HAMMER_ROUNDS {
        for p in closed_words(cpu) {
            // CPUs running the same loop would stay in step, each access meeting the
            // others' at the same moment: a random pause lets them overlap every way.
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..(seed >> 58) * 8 {
                core::hint::spin_loop();
            }
            // SAFETY: closed memory: the hypervisor denies both accesses.
            unsafe {
                bad_reads += (p.read_volatile() != u64::MAX) as u64;
                p.write_volatile(HAMMER_TAG | (cpu as u64) << 32 | round);
            }
        }
    }
    BAD_READS[cpu].store(bad_reads, Ordering::Release);
    DENIED[cpu].store(denied() - before, Ordering::Release);
    0 // the results are in BAD_READS and DENIED
}

/// Runs the hammer on every CPU and prints what each saw (in cycle `cycle`); true if
/// all is as it must be (for the exit code).
fn closed_memory_from_every_cpu(cycle: usize, cpus: usize, nonce: &str) -> bool {
    on_each_cpu(hammer_closed_memory, cpus);
    (0..cpus).fold(true, |ok, cpu| {
        let bad = BAD_READS[cpu].load(Ordering::Acquire);
        let denied = DENIED[cpu].load(Ordering::Acquire);
        let reads = HAMMER_ACCESSES / 2;
        println!(
            "selftest: cycle {cycle}: cpu {cpu}: closed reads {reads}, all-ones {}; accesses {HAMMER_ACCESSES}, denied {denied} nonce={nonce}",
            reads - bad,
        );
        ok && bad == 0 && denied == HAMMER_ACCESSES
    })
}

/// How many closed words differ, read back on bare metal, from what they held before.
fn closed_words_changed(cpus: usize) -> usize {
    (0..cpus)
        .map(|cpu| {
            closed_words(cpu)
                .iter()
                .zip(&BEFORE[cpu])
                .filter(|(p, before)| {
                    // SAFETY: bare metal again, identity-mapped RAM.
                    unsafe { p.read_volatile() != before.load(Ordering::Relaxed) }
                })
                .count()
        })
        .sum()
}

/// `panic` on the command line: make the hypervisor panic, to check that the machine
/// then powers off by itself (`make test-hv` looks for Bochs's power-off line). INVD
/// exits unconditionally (SDM Vol. 3C §26.1.2) and no exit handler takes it; should
/// one ever, this needs another unhandled exit.
fn panic_in_the_hypervisor(cpus: usize, nonce: &str) -> ! {
    on_each_cpu(enable, cpus);
    println!("selftest: INVD under the hypervisor: it must panic and power off nonce={nonce}");
    // SAFETY: INVD at CPL 0 in the guest: a VM exit, never executed here.
    unsafe { asm!("invd", options(nostack)) };
    println!("selftest: still running after INVD nonce={nonce}");
    baremetal::exit(1)
}

fn main(boot: &'static baremetal::BootInfo) -> ! {
    let nonce = baremetal::cmdline_value(boot.cmdline, "nonce").unwrap_or("-");
    let aps = smp::start_aps(ap_main).unwrap_or(0);
    let cpus = aps + 1;
    ONLINE.store(cpus as u64, Ordering::Release);
    println!("selftest: {cpus} CPUs, hypervisor range {HV_PHYS:#x}+{HV_SIZE:#x} nonce={nonce}");
    if boot.cmdline.split_ascii_whitespace().any(|w| w == "bench") {
        bench(cpus, nonce);
        baremetal::exit(0);
    }
    if boot.cmdline.split_ascii_whitespace().any(|w| w == "panic") {
        panic_in_the_hypervisor(cpus, nonce);
    }

    snapshot_closed_words(cpus);
    // The exit code for `make test-hv`, from the facts printed; the grader reads the
    // facts themselves.
    let mut failures = 0;
    let mut expect = |ok: bool| failures += !ok as u32;
    let mut cycles_run = 0;
    for cycle in 1..=CYCLES {
        let say = |fact: core::fmt::Arguments| {
            println!("selftest: cycle {cycle}: {fact} nonce={nonce}");
        };
        let results = on_each_cpu(enable, cpus);
        say(format_args!("hv_entry returned {:?}", &results[..cpus]));
        let entered = results[..cpus].iter().all(|&r| r == 0);
        expect(entered);
        if !entered {
            break;
        }
        cycles_run = cycle;
        on_each_cpu(signature_on_this_cpu, cpus);
        for cpu in 0..cpus {
            let sig = signature_of(cpu);
            say(format_args!(
                "cpu {cpu}: CPUID 0x40000000 = {}",
                Quoted(sig)
            ));
            expect(sig == *CPUID_SIGNATURE);
        }
        let vmx = core::arch::x86_64::__cpuid(1).ecx >> 5 & 1;
        say(format_args!("CPUID 1: ECX bit 5 (VMX) = {vmx}"));
        expect(vmx == 0);
        let version = vmcall(HypercallCode::Query, 0);
        say(format_args!("QUERY(0) = {version}"));
        expect(version == 1);
        let unknown = raw_vmcall(0x999, 0);
        say(format_args!("hypercall 0x999 = {unknown}"));
        expect(unknown == Errno::NoSys.negative());
        let into_hv = vmcall(HypercallCode::Query, HV_PHYS);
        say(format_args!("QUERY({HV_PHYS:#x}) = {into_hv}"));
        expect(into_hv == Errno::Fault.negative());
        let mut s = HvStats::default();
        let filled = vmcall(HypercallCode::Query, &mut s as *mut HvStats as u64);
        let count = |r: ExitReason| s.exits[r.number() as usize];
        let (cpuid, vmcalls) = (count(ExitReason::Cpuid), count(ExitReason::Vmcall));
        say(format_args!(
            "QUERY(buffer) = {filled}, exits counted: CPUID {cpuid}, VMCALL {vmcalls}"
        ));
        expect(filled >= 0 && cpuid >= 1 && vmcalls >= 1);
        // SAFETY: reading and writing memory that EPT closes: the hypervisor must deny it.
        let closed = HV_PHYS + 0x100;
        let (before, after) = unsafe {
            let p = closed as *mut u64;
            let before = p.read_volatile();
            p.write_volatile(0x1234_5678);
            (before, p.read_volatile())
        };
        say(format_args!(
            "closed {closed:#x}: read {before:#x}, wrote 0x12345678, read back {after:#x}"
        ));
        expect(before == u64::MAX && after == u64::MAX);
        // SAFETY: the shared region, after the RTOS's range: open to Linux (lab 3), RAM
        // nobody else uses while the self-test runs.
        let shared = HV_PHYS + HV_SIZE + crtos_abi::RTOS_SIZE + 0x100;
        let (wrote, read) = unsafe {
            let p = shared as *mut u64;
            let wrote = HAMMER_TAG | cycle as u64;
            p.write_volatile(wrote);
            (wrote, p.read_volatile())
        };
        say(format_args!(
            "shared {shared:#x}: wrote {wrote:#x}, read back {read:#x}"
        ));
        expect(read == wrote);
        // Once: it is the slowest step (two VM exits per access), and the
        // self-test is what students run while they work.
        if cycle == 1 {
            expect(closed_memory_from_every_cpu(cycle, cpus, nonce));
        }
        let left = on_each_cpu(disable, cpus);
        say(format_args!("DISABLE returned {:?}", &left[..cpus]));
        expect(left[..cpus].iter().all(|&r| r == 0));
        let sig = signature();
        say(format_args!(
            "cpu 0: after DISABLE: CPUID 0x40000000 = {}",
            Quoted(sig)
        ));
        expect(sig != *CPUID_SIGNATURE);
        let changed = closed_words_changed(cpus);
        say(format_args!(
            "closed words changed, read back on bare metal: {changed} of {}",
            cpus * 3
        ));
        expect(changed == 0);
    }
    println!("selftest: done after {cycles_run} cycles nonce={nonce}");
    baremetal::exit(if failures == 0 { 0 } else { 1 })
}
