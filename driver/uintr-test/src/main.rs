//! uintr-test: user interrupts between Linux threads through the crtos driver, on
//! Debian's stock kernel (driver/module/uintr.c). One line per result, for the guest
//! stage guest/stages/uintr.sh and its checker:
//!
//!   uintr-test pingpong N    A (CPU 0) and B (CPU 1) bounce N SENDUIPIs, no system call:
//!                            uintr-pingpong: n=<N> median=<cycles> p99=<cycles>
//!   uintr-test wait          A blocks in CRTOS_UINTR_WAIT, B's SENDUIPI wakes it
//!   uintr-test bad-index     a child's SENDUIPI with an index past its UITT: the child
//!                            alone dies (SIGSEGV); bad slots and vectors are refused
//!   uintr-test bystander N   another process shares A's CPU through N notifications
//!                            and never sees UIF set or a handler run
//!   uintr-test exits N       VM exits during N round trips vs the same time idle
//!                            (under the hypervisor)
//!   uintr-test thread-exit   a thread notifies itself, then exits still registered
//!   uintr-test testui        UIF by TESTUI: #UD (SIGILL) unless CR4.UINTR is set
//!   uintr-test cross DIR N   lab 4's cross pair with an RTOS task (cross.rs)
//!   uintr-test eventfd-pingpong N   the same ping-pong through two eventfds, blocking
//!                            read(2)/write(2): what the kernel path costs
//! Cycles are TSC ticks; under Bochs they are its emulated TSC (the book says what
//! they mean). Exit status 0 when the test ran; the checker judges the numbers.

mod cpu;
mod cross;
mod eventfd;
mod pair;

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use pair::Side;
use uintr_user::{self as uintr, Device};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |default: u64| args.get(1).and_then(|n| n.parse().ok()).unwrap_or(default);
    let result = match args.first().map(String::as_str) {
        Some("pingpong") => pingpong(count(1000)),
        Some("wait") => wait(),
        Some("bad-index") => bad_index(),
        Some("bystander") => bystander(count(400)),
        Some("exits") => exits(count(1000)),
        Some("thread-exit") => thread_exit(),
        Some("cross") => cross::main(&args[1..]),
        Some("eventfd-pingpong") => eventfd::pingpong(count(1000)).map(|samples| {
            print_latency("eventfd-pingpong", samples);
        }),
        Some("testui") => {
            println!("uintr-testui: uif={}", uintr::uif() as u8);
            Ok(())
        }
        _ => Err(io::Error::other(
            "usage: uintr-test pingpong N | wait | bad-index | bystander N | exits N | \
             thread-exit | testui | cross DIR N | eventfd-pingpong N",
        )),
    };
    if let Err(e) = result {
        println!("uintr-test: error: {e}");
        std::process::exit(1);
    }
}

/// A's side of one round trip: SENDUIPI to B, spin until B's SENDUIPI comes back.
fn round_trip(a: &Side) -> io::Result<u64> {
    let seen = uintr::hits(a.vector);
    let start = cpu::rdtsc();
    uintr::senduipi(a.to_peer);
    if !a.spin_for_hit(seen) {
        return Err(io::Error::other("a user interrupt was lost"));
    }
    Ok(cpu::rdtsc() - start)
}

/// B's side: answer every interrupt with one, until A stops.
fn echo(b: &Side) {
    let mut seen = 0;
    while b.spin_for_hit(seen) && !b.stop.load(Ordering::SeqCst) {
        seen = uintr::hits(b.vector);
        uintr::senduipi(b.to_peer);
    }
}

fn round_trips(a: &Side, n: u64) -> io::Result<Vec<u64>> {
    (0..n).map(|_| round_trip(a)).collect()
}

fn print_latency(name: &str, mut samples: Vec<u64>) {
    samples.sort_unstable();
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    println!(
        "{name}: n={} median={} p99={}",
        samples.len(),
        at(50),
        at(99)
    );
}

fn pingpong(n: u64) -> io::Result<()> {
    let samples = pair::run(|a| round_trips(a, n), echo)??;
    print_latency("uintr-pingpong", samples);
    Ok(())
}

/// A announces it is about to block (the barrier), B gives it time to get there
/// (a sleep), then sends once. WAIT says whether A really slept.
fn wait() -> io::Result<()> {
    let (slept, handled) = pair::run(
        |a| {
            let before = uintr::hits(a.vector);
            a.barrier.wait();
            let slept = a.dev.wait();
            (slept, uintr::hits(a.vector) - before)
        },
        |b| {
            b.barrier.wait();
            std::thread::sleep(std::time::Duration::from_millis(50));
            uintr::senduipi(b.to_peer);
        },
    )?;
    println!("uintr-wait: slept={} handled={handled}", slept? as u8);
    Ok(())
}

fn bad_index() -> io::Result<()> {
    // Refused at registration: a slot outside the UPID area, a vector >= 64.
    let dev = Device::open()?;
    let slots = crtos_abi::uintr::UPID_SLOTS as u32;
    for (what, slot, vector) in [("slot", slots, 1), ("vector", 0, 64)] {
        let r = dev.register_sender(slot, vector);
        println!(
            "uintr-bad-register: {what}: slot={slot} vector={vector}: {}",
            match r {
                Ok(i) => format!("accepted as index {i}"),
                Err(e) => format!("refused: {}", errno_name(&e)),
            }
        );
    }
    // SAFETY: the child only makes system calls and SENDUIPI, then exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let e = bad_send(&dev);
        println!("uintr-bad-index: child survived: {e:?}");
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        println!(
            "uintr-bad-index: child killed by signal {}",
            libc::WTERMSIG(status)
        );
    } else {
        println!(
            "uintr-bad-index: child exited with {}",
            libc::WEXITSTATUS(status)
        );
    }
    // Nothing else disturbed: the next ping-pong works.
    let samples = pair::run(|a| round_trips(a, 50), echo)??;
    print_latency("uintr-bad-index: ping-pong after", samples);
    Ok(())
}

/// One valid UITT entry (index 0), then SENDUIPI with index 5: #GP, so SIGSEGV.
fn bad_send(dev: &Device) -> io::Result<()> {
    let slot = dev.register_receiver(uintr::handler())?;
    dev.register_sender(slot, 3)?;
    uintr::senduipi(5);
    Ok(())
}

fn errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EINVAL) => "EINVAL".into(),
        _ => e.to_string(),
    }
}

/// Bytes one page shared with the bystander child: [go, stop, uif_seen, hits, loops].
struct Shared(*mut u64);

impl Shared {
    fn new() -> io::Result<Shared> {
        // SAFETY: a fresh anonymous shared mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Shared(p.cast()))
    }
    fn cell(&self, i: usize) -> &std::sync::atomic::AtomicU64 {
        // SAFETY: the page holds 512 u64s, shared by two processes through atomics.
        unsafe { std::sync::atomic::AtomicU64::from_ptr(self.0.add(i)) }
    }
}
const STOP: usize = 0;
const UIF_SEEN: usize = 1;
const HITS_SEEN: usize = 2;
const LOOPS: usize = 3;
const SWITCHES: usize = 4;

/// The bystander: on CPU 0 with A, a busy loop reading UIF and its own handler count,
/// until told to stop; then its involuntary context switches.
fn bystander_loop(sh: &Shared) -> io::Result<()> {
    cpu::pin_to(0)?;
    while sh.cell(STOP).load(Ordering::SeqCst) == 0 {
        if uintr::uif() {
            sh.cell(UIF_SEEN).fetch_add(1, Ordering::SeqCst);
        }
        let hits: u64 = (0..crtos_abi::uintr::USER_VECTORS).map(uintr::hits).sum();
        sh.cell(HITS_SEEN).store(hits, Ordering::SeqCst);
        sh.cell(LOOPS).fetch_add(1, Ordering::SeqCst);
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let switches = status
        .lines()
        .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    sh.cell(SWITCHES).store(switches, Ordering::SeqCst);
    Ok(())
}

fn bystander(n: u64) -> io::Result<()> {
    let sh = Shared::new()?;
    // Forked before anything registers: it owns no UINTR state at all.
    // SAFETY: the child runs its loop and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = i32::from(bystander_loop(&sh).is_err());
        std::process::exit(code);
    }
    let gap = 50_000; // TSC ticks between sends: the storm spans many time slices
    let storm_over = std::sync::atomic::AtomicBool::new(false);
    let received = pair::run(
        |a| {
            a.barrier.wait();
            // Busy at CPL 3 on CPU 0, sharing it with the bystander, until B is done.
            while !storm_over.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            uintr::hits(a.vector)
        },
        |b| {
            b.barrier.wait();
            for _ in 0..n {
                uintr::senduipi(b.to_peer);
                let t = cpu::rdtsc();
                while cpu::rdtsc() - t < gap {
                    std::hint::spin_loop();
                }
            }
            storm_over.store(true, Ordering::SeqCst);
        },
    )?;
    sh.cell(STOP).store(1, Ordering::SeqCst);
    let mut status = 0;
    // SAFETY: our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let ended = if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("exit {}", libc::WEXITSTATUS(status))
    };
    println!(
        "uintr-bystander: sent={n} received={received} bystander_uif={} bystander_handled={} \
         bystander_loops={} bystander_switches={} bystander_{ended}",
        sh.cell(UIF_SEEN).load(Ordering::SeqCst),
        sh.cell(HITS_SEEN).load(Ordering::SeqCst),
        sh.cell(LOOPS).load(Ordering::SeqCst),
        sh.cell(SWITCHES).load(Ordering::SeqCst),
    );
    Ok(())
}

/// The calling CPU's VM exits so far (all reasons), from the QUERY hypercall.
fn vm_exits(dev: &Device) -> io::Result<u64> {
    use crtos_abi::ioctl::{HypercallArg, IOCTL_HYPERCALL};
    let mut stats = crtos_abi::HvStats::default();
    let mut a = HypercallArg {
        nr: crtos_abi::HypercallCode::Query.into(),
        args: [&mut stats as *mut _ as u64, 0, 0],
        ret: 0,
    };
    // SAFETY: the request's size is HypercallArg's; `stats` outlives the call.
    let rc = unsafe {
        libc::ioctl(
            dev.file().as_raw_fd(),
            IOCTL_HYPERCALL as libc::c_ulong,
            &mut a as *mut HypercallArg,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if a.ret < 0 {
        return Err(io::Error::from_raw_os_error(-a.ret as i32));
    }
    Ok(stats.exits.iter().sum())
}

/// Under the hypervisor: each CPU's VM exits during N round trips, and during an
/// interval as long in which both threads spin without sending.
fn exits(n: u64) -> io::Result<()> {
    let (a_exits, ticks) = pair::run(
        |a| -> io::Result<([u64; 3], u64)> {
            let e0 = vm_exits(a.dev)?;
            a.barrier.wait();
            let start = cpu::rdtsc();
            round_trips(a, n)?;
            let ticks = cpu::rdtsc() - start;
            let e1 = vm_exits(a.dev)?;
            let t = cpu::rdtsc();
            while cpu::rdtsc() - t < ticks {
                std::hint::spin_loop();
            }
            let e2 = vm_exits(a.dev)?;
            Ok(([e0, e1, e2], ticks))
        },
        |b| {
            let e0 = vm_exits(b.dev).unwrap_or(0);
            b.barrier.wait();
            echo(b);
            let e1 = vm_exits(b.dev).unwrap_or(0);
            println!("uintr-exits: cpu=1 pingpong_and_idle_exits={}", e1 - e0);
        },
    )??;
    let [e0, e1, e2] = a_exits;
    println!(
        "uintr-exits: cpu=0 round_trips={n} ticks={ticks} pingpong_exits={} idle_exits={}",
        e1 - e0,
        e2 - e1
    );
    Ok(())
}

/// A thread that is its own sender (a UITT entry naming its own UPID) takes one user
/// interrupt, then exits without unregistering: the driver cleans up after it (its
/// last switch-out clears the CPU; the file's release frees the rest), and the next
/// ping-pong in this process works.
fn thread_exit() -> io::Result<()> {
    const SELF_VECTOR: u8 = 7;
    let handled = std::thread::spawn(|| -> io::Result<u64> {
        let dev = Device::open()?;
        let slot = dev.register_receiver(uintr::handler())?;
        let index = dev.register_sender(slot, SELF_VECTOR.into())?;
        uintr::enable();
        uintr::senduipi(index);
        let start = cpu::rdtsc();
        while uintr::hits(SELF_VECTOR) == 0 && cpu::rdtsc() - start < pair::LOST_AFTER_TICKS {
            std::hint::spin_loop();
        }
        std::mem::forget(dev); // the file stays open: only the thread goes
        Ok(uintr::hits(SELF_VECTOR))
    })
    .join()
    .expect("the thread panicked")?;
    println!("uintr-thread-exit: self-notified={handled}, exited registered");
    let samples = pair::run(|a| round_trips(a, 50), echo)??;
    print_latency("uintr-thread-exit: ping-pong after", samples);
    Ok(())
}
