//! `uintr-test cross DIR N`: the Linux side of lab 4's cross pair, user interrupts
//! between this process and an RTOS task (rtos/user/uintr-cross.c, run with
//! `crtosctl run /rtos-bin/uintr-cross DIR N` once this one is started). Both UPIDs
//! lie in the shared region, so each side names its receiver with a
//! [`SharedHandle`]; they swap them through DIR/<side>.handle (decimal, written to
//! .tmp and renamed). Linux receives vector 4, the RTOS vector 3.
//!
//! 1. receive; a sender entry for slot 960 (past the UPID area) must be refused;
//!    wait for DIR/rtos.handle, register a sender to it, then write DIR/linux.handle
//!    (last: when the RTOS sees it, this side can already send)
//! 2. once the RTOS task blocks in uintr_wait, send it vector 3
//! 3. block in CRTOS_UINTR_WAIT until the RTOS's vector 4:
//!    `uintr-cross: linux woken by rtos vector=4`; say so with vector 3 (else the
//!    RTOS's first ping could fold into the still-pending wake-up: one PIR bit)
//! 4. answer each of the RTOS's N pings (the RTOS measures the round trips)
//! 5. `uintr-cross: linux done`
//!
//! Any timeout or failure: `uintr-cross: linux error: <what>`, exit 1. Without UINTR
//! in the CPU: `uintr-cross: no UINTR`, exit 0.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crtos_abi::uintr::{SharedHandle, CPUID7_EDX_UINTR, UPID_SLOTS};
use uintr_user::Device;

const RTOS_VECTOR: u8 = 3;
const LINUX_VECTOR: u8 = 4;
/// How often to look for the peer's file, and for how long.
const POLL: Duration = Duration::from_millis(5);
const PEER_TIMEOUT: Duration = Duration::from_secs(30);
/// Time for the RTOS task to read our file (forwarded calls) and block in uintr_wait.
const RTOS_BLOCKS: Duration = Duration::from_millis(500);
/// How long this side waits for the RTOS's vector 4, blocked or spinning.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the Linux side; prints its lines and exits 1 on the first failure.
pub fn main(args: &[String]) -> ! {
    let parsed = match args {
        [dir, n] => n
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| (Path::new(dir), n)),
        _ => None,
    };
    let Some((dir, n)) = parsed else {
        println!("uintr-cross: usage: uintr-test cross DIR N (N > 0)");
        std::process::exit(2);
    };
    let edx = core::arch::x86_64::__cpuid_count(7, 0).edx;
    if edx & CPUID7_EDX_UINTR == 0 {
        println!("uintr-cross: no UINTR");
        std::process::exit(0);
    }
    if let Err(e) = run(dir, n) {
        println!("uintr-cross: linux error: {e}");
        std::process::exit(1);
    }
    println!("uintr-cross: linux done");
    std::process::exit(0);
}

// ANCHOR: linux_side
fn run(dir: &Path, n: u64) -> io::Result<()> {
    let dev = Device::open()?;
    let slot = dev.register_receiver(uintr_user::handler())?;
    let own = SharedHandle::new(slot, LINUX_VECTOR)
        .ok_or_else(|| io::Error::other(format!("the driver gave slot {slot}")))?;
    refused_slot(&dev);
    let rtos = peer_handle(dir)?;
    let to_rtos = dev.register_sender(rtos.slot, rtos.vector.into())?;
    publish(dir, own)?;
    uintr_user::enable();

    std::thread::sleep(RTOS_BLOCKS);
    uintr_user::senduipi(to_rtos);
    let slept = wait_blocked(&dev)?;
    println!("uintr-cross: linux woken by rtos vector={LINUX_VECTOR}");
    println!("uintr-cross: linux wait: slept={}", slept as u8);
    uintr_user::senduipi(to_rtos);

    answer(to_rtos, n)?;
    println!("uintr-cross: linux answered n={n}");
    dev.unregister()
}
// ANCHOR_END: linux_side

/// REGISTER_SENDER for the first slot past the UPID area: EINVAL.
fn refused_slot(dev: &Device) {
    let slot = UPID_SLOTS as u32;
    let what = match dev.register_sender(slot, RTOS_VECTOR.into()) {
        Ok(i) => format!("accepted as index {i}"),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => "EINVAL".into(),
        Err(e) => e.to_string(),
    };
    println!("uintr-cross: linux bad sender slot={slot}: {what}");
}

/// The RTOS's handle, once DIR/rtos.handle exists.
fn peer_handle(dir: &Path) -> io::Result<SharedHandle> {
    let path = dir.join("rtos.handle");
    let start = Instant::now();
    let text = loop {
        match std::fs::read_to_string(&path) {
            Ok(text) => break text,
            Err(e) if e.kind() == io::ErrorKind::NotFound && start.elapsed() < PEER_TIMEOUT => {
                std::thread::sleep(POLL)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(io::Error::other(format!(
                    "no {} after {} s",
                    path.display(),
                    PEER_TIMEOUT.as_secs()
                )))
            }
            Err(e) => return Err(e),
        }
    };
    text.trim_end()
        .parse()
        .ok()
        .and_then(SharedHandle::from_number)
        .ok_or_else(|| {
            io::Error::other(format!(
                "{} holds no shared handle: {text:?}",
                path.display()
            ))
        })
}

fn publish(dir: &Path, own: SharedHandle) -> io::Result<()> {
    let tmp = dir.join("linux.handle.tmp");
    std::fs::write(&tmp, format!("{}\n", own.number()))?;
    std::fs::rename(&tmp, dir.join("linux.handle"))
}

/// Blocks in CRTOS_UINTR_WAIT until the handler has seen LINUX_VECTOR; true if a wait
/// really slept. UIF is clear around the test and the call, so a vector that comes in
/// between stays in UIRR, where the driver looks, instead of running the handler just
/// before a wait that would never end. SIGALRM ends a wait that lasts too long (EINTR).
fn wait_blocked(dev: &Device) -> io::Result<bool> {
    arm_alarm(ANSWER_TIMEOUT)?;
    let mut slept = false;
    uintr_user::disable();
    let result = loop {
        if uintr_user::hits(LINUX_VECTOR) > 0 {
            break Ok(slept);
        }
        match dev.wait() {
            Ok(s) => slept |= s,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                break Err(io::Error::other(
                    "the RTOS's vector 4 never came (blocked wait)",
                ))
            }
            Err(e) => break Err(e),
        }
        uintr_user::enable(); // the handler runs here
        uintr_user::disable();
    };
    uintr_user::enable();
    arm_alarm(Duration::ZERO)?;
    result
}

/// A SIGALRM after `after` (zero: none) whose handler does nothing, installed without
/// SA_RESTART so that it interrupts a blocked ioctl.
fn arm_alarm(after: Duration) -> io::Result<()> {
    extern "C" fn on_alarm(_: libc::c_int) {}
    // SAFETY: a zeroed sigaction with a handler that does nothing; alarm has no
    // memory effects.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
        if libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::alarm(after.as_secs() as libc::c_uint);
    }
    Ok(())
}

/// Answers each of the RTOS's `n` pings (vector 4) with vector 3, spinning (UIF set)
/// on the handler's count; a ping counts before this loop reaches it too.
fn answer(to_rtos: u64, n: u64) -> io::Result<()> {
    let before = uintr_user::hits(LINUX_VECTOR);
    for i in 0..n {
        let seen = before + i;
        let start = Instant::now();
        // The clock now and then only: the spin is part of the round trip measured.
        for spins in 1u64.. {
            if uintr_user::hits(LINUX_VECTOR) > seen {
                break;
            }
            if spins % 4096 == 0 && start.elapsed() > ANSWER_TIMEOUT {
                return Err(io::Error::other(format!("ping {i} of {n} never came")));
            }
            std::hint::spin_loop();
        }
        uintr_user::senduipi(to_rtos);
    }
    Ok(())
}
