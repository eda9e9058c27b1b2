//! The RTOS alone (`make rtos`): the kernel boots standalone, starts a dozen static musl
//! programs from one command line, and the checks read what the kernel (COM2, lines
//! prefixed `[rtos] ` by the runner) and the programs print. Lines it relies on:
//!
//! ```text
//! [rtos] rtos: crtos-rtos 0.1.0 apic_id=0 cpus=2 tsc_khz=199998 mode=standalone nonce=3f9c0e1a
//! [rtos] rtos: timer one-shot apic_timer_hz=… check: periodic ticks=20 … error=+0.01% nonce=3f9c0e1a
//! [rtos] rtos: task 6 fault killed: #PF page fault rip=0x401084 addr=0x0 nonce=3f9c0e1a
//! [rtos] spin: name=A round=0 nonce=3f9c0e1a
//! ```
//!
//! Two labs, one run: `rtos` checks everything and is meant for Bochs, whose time is
//! emulated (derived from executed instructions), so latencies are the kernel's own;
//! `rtos-qemu` is the fast run on QEMU without the two timing checks: QEMU's TCG follows
//! the host's clock, and on a loaded host a timer interrupt can come 10 ms late
//! (measured: a wake-up 12 ms late with five other jobs on two cores), which says
//! nothing about the kernel. `make rtos-test` runs both.

use std::time::Duration;

use regex::Regex;

use crate::check::{check, exits_with_zero, Check, Transcript, Verdict};
use crate::lab::{Lab, LabImage, Needs};

/// What the RTOS is asked to run:  and the no_std Rust one; two equal-priority spinners that yield;
/// user interrupts first (tids 1-6, which the programs name their peers by: pong and
/// ping, a sleeper and its waker, a SENDUIPI with a bad index, one through an entry
/// whose receiver is gone); a busy low-priority spinner under a high-priority periodic task; the sleep checker;
/// four faulting programs; bad system calls (badcall, and abuse: every kind of bad
/// argument, a 1 TiB mapping, memory until ENOMEM); the periodic latency program; a program
/// with a broken ELF header and a name that does not exist (both refused).
macro_rules! run_list {
    () => {
        "run=uintr@60:pong:2:1000 run=uintr@60:ping:1:1000 run=uintr@60:sleeper \
    run=uintr@60:waker:3 run=uintr@60:bad run=uintr@60:stale \
    run=hello@40:a:b run=rust-hello@40 run=spin@10:A:3:yield run=spin@10:B:3:yield \
    run=spin@5:C:20:busy run=preempt@20:80:2000:100 run=sleep-check@30 \
    run=fault@50:null run=fault@50:ud run=fault@50:div run=fault@50:gp run=badcall@50 \
    run=rt-periodic@20:--side:rtos:--period-us:1000:--count:200:--prio:70 \
    run=abuse@45 run=bad-elf run=no-such-program nonce={nonce}"
    };
}
const CMDLINE: &str = run_list!();
/// The QEMU run enters through the image's 64-bit entry, as the hypervisor will (lab 2).
const CMDLINE_IMAGE_ENTRY: &str = concat!("entry=image ", run_list!());

/// "Within one tick": 1 ms, the tick of a 1 kHz periodic timer (this kernel has none:
/// it arms a one-shot deadline, so a wake-up should come well within it).
const TICK_NS: u64 = 1_000_000;
/// The timer's measured rate may differ from the TSC's by this much, in hundredths of %.
const TIMER_TOLERANCE_CENTI_PERCENT: u64 = 200;

/// Each capture group of every line (from COM2, with this run's nonce) matching
/// `pattern` (written without the `[rtos] ` prefix and the nonce), as numbers.
fn numbers(t: &Transcript, pattern: &str) -> Vec<Vec<i64>> {
    let re = Regex::new(&format!(
        r"^\[rtos\] {pattern} nonce={}$",
        regex::escape(t.nonce)
    ))
    .expect("a valid pattern");
    t.lines
        .iter()
        .filter_map(|l| re.captures(l))
        .map(|c| {
            c.iter()
                .skip(1)
                .map(|m| m.map_or(0, |m| m.as_str().parse().unwrap_or(i64::MIN)))
                .collect()
        })
        .collect()
}

/// Pending until the run ends, then `Fail(why)`.
fn missing(t: &Transcript, why: &str) -> Verdict {
    if t.ended.is_some() {
        Verdict::Fail(why.into())
    } else {
        Verdict::Pending
    }
}

fn timer_rate(t: &Transcript) -> Verdict {
    let found = numbers(t, r"rtos: timer one-shot .* error=[+-](\d+)\.(\d+)%");
    let Some(v) = found.first() else {
        return missing(t, "no `rtos: timer` line with this run's nonce");
    };
    let centi = (v[0] * 100 + v[1]) as u64;
    if centi <= TIMER_TOLERANCE_CENTI_PERCENT {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "the timer is off by {}.{:02}% (at most 2% allowed)",
            centi / 100,
            centi % 100
        ))
    }
}

fn preempt_within_tick(t: &Transcript) -> Verdict {
    if numbers(t, r"preempt: n=(\d+) max_late_ns=(\d+)").is_empty() {
        return missing(t, "preempt never printed its summary line");
    }
    let mut late: Vec<i64> = numbers(t, r"preempt: late_ns=(-?\d+)")
        .into_iter()
        .map(|v| v[0])
        .collect();
    late.sort_unstable();
    let (n, median) = (
        late.len(),
        late.get(late.len() / 2).copied().unwrap_or(i64::MAX),
    );
    let within = late
        .iter()
        .filter(|&&l| (0..=TICK_NS as i64).contains(&l))
        .count();
    if late.first().is_some_and(|&l| l < 0) {
        Verdict::Fail(format!("a wake-up came {} ns early", -late[0]))
    } else if median <= TICK_NS as i64 && within * 10 >= n * 9 {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "{within} of {n} wake-ups within 1 ms; median {median} ns"
        ))
    }
}

/// The busy task never yields: a wake-up line of `preempt` between two of its rounds
/// means the higher-priority task took the CPU from it.
fn preempts_busy_task(t: &Transcript) -> Verdict {
    let busy = Regex::new(r"^\[rtos\] spin: name=C round=\d+ nonce=").unwrap();
    let woke = Regex::new(r"^\[rtos\] preempt: late_ns=").unwrap();
    let nonce = format!("nonce={}", t.nonce);
    let mut seen_busy = false;
    let mut woke_after_busy = false;
    for line in t.lines.iter().filter(|l| l.ends_with(&nonce)) {
        if busy.is_match(line) {
            if woke_after_busy {
                return Verdict::Pass;
            }
            seen_busy = true;
        } else if seen_busy && woke.is_match(line) {
            woke_after_busy = true;
        }
    }
    missing(t, "no preempt wake-up between two rounds of the busy task")
}

fn sleeps_not_early(t: &Transcript) -> Verdict {
    let sleeps = numbers(
        t,
        r"sleep-check: call=\w+ asked_ns=(\d+) got_ns=(\d+) ok=(\d)",
    );
    if let Some(v) = sleeps.iter().find(|v| v[1] < v[0] || v[2] != 1) {
        return Verdict::Fail(format!("asked {} ns, woke after {} ns", v[0], v[1]));
    }
    match sleeps.len() {
        6 => Verdict::Pass,
        n => missing(t, &format!("{n} of 6 sleeps reported")),
    }
}

fn killed(fault: &'static str) -> &'static str {
    match fault {
        "null" => {
            r"^\[rtos\] rtos: task \d+ fault killed: #PF page fault rip=0x[0-9a-f]+ addr=0x0 nonce={nonce}$"
        }
        "ud" => {
            r"^\[rtos\] rtos: task \d+ fault killed: #UD invalid opcode rip=0x[0-9a-f]+ addr=0x[0-9a-f]+ nonce={nonce}$"
        }
        "div" => {
            r"^\[rtos\] rtos: task \d+ fault killed: #DE divide error rip=0x[0-9a-f]+ addr=0x[0-9a-f]+ nonce={nonce}$"
        }
        _ => {
            r"^\[rtos\] rtos: task \d+ fault killed: #GP general protection rip=0x[0-9a-f]+ addr=0x[0-9a-f]+ nonce={nonce}$"
        }
    }
}

/// Every check; on Bochs (`grader rtos --machine bochs`), which has user interrupts.
pub fn lab() -> Lab {
    let mut checks = checks(true);
    checks.extend(uintr_checks());
    Lab {
        name: "rtos",
        title: "the RTOS alone, timing included (grade it on Bochs): static Linux programs under a SCHED_FIFO kernel",
        checks,
        ..lab_without_checks()
    }
}

/// The fast run on QEMU: the same, without the checks that time the host's clock.
pub fn lab_qemu() -> Lab {
    Lab {
        name: "rtos-qemu",
        title:
            "the RTOS alone on QEMU, in a second, entered like lab 2 will: everything but timing",
        cmdline: CMDLINE_IMAGE_ENTRY,
        checks: {
            let mut checks = checks(false);
            checks.push(
                check("without UINTR (QEMU), the uintr programs say so and end", 1)
                    .parent("the RTOS boots and prints its banner")
                    .lines(&[
                        r"^\[rtos\] rtos: user interrupts: no UINTR on this CPU \(the uintr_\* calls fail\) nonce={nonce}$",
                        r"^\[rtos\] uintr: no UINTR \(cpu\) mode=ping nonce={nonce}$",
                    ])
                    .hint("arch/uintr.rs: CR4.UINTR only where CPUID.(7,0):EDX[5] says so"),
            );
            checks
        },
        ..lab_without_checks()
    }
}

fn lab_without_checks() -> Lab {
    Lab {
        name: "",
        title: "",
        host_tests: &[],
        checks: Vec::new(),
        image: LabImage::Multiboot("target/release/rtos"),
        build: "make rtos",
        student_dir: None,
        cmdline: CMDLINE,
        cpus: 1,
        memory_mib: 512,
        timeout: Duration::from_secs(300),
        needs: Needs::default(),
    }
}

/// The checks; `timing`: also the two that measure time (the timer's rate, the
/// preempting task's lateness).
fn checks(timing: bool) -> Vec<Check> {
    let mut checks = vec![
            check("the RTOS boots and prints its banner", 2)
                .lines(&[r"^\[rtos\] rtos: crtos-rtos \S+ apic_id=\d+ cpus=\d+ tsc_khz=[1-9]\d* mode=standalone nonce={nonce}$"])
                .hint("no banner on COM2: is `make rtos` built, and does the runner capture COM2?"),
            check("the static musl hello prints its arguments", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[r"^\[rtos\] hello: pid=\d+ argc=3 args=a,b nonce={nonce}$"])
                .hint("the ELF loader, the initial stack (argv, envp, auxv) or writev"),
            check("a no_std Rust program on its own _start prints", 1)
                .parent("the RTOS boots and prints its banner")
                .lines(&[r"^\[rtos\] rust-hello: pid=\d+ nonce={nonce}$"])
                .hint("rtos/user/rust-hello: raw syscalls, no libc"),
            check("two tasks of equal priority interleave", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] spin: name=A round=0 nonce={nonce}$",
                    r"^\[rtos\] spin: name=B round=0 nonce={nonce}$",
                    r"^\[rtos\] spin: name=A round=1 nonce={nonce}$",
                    r"^\[rtos\] spin: name=B round=1 nonce={nonce}$",
                    r"^\[rtos\] spin: name=A round=2 nonce={nonce}$",
                    r"^\[rtos\] spin: name=B round=2 nonce={nonce}$",
                ])
                .hint("sched_yield must put the caller at the tail of its priority level"),
            check("a higher-priority wake-up preempts a busy lower task", 2)
                .parent("the RTOS boots and prints its banner")
                .predicate(preempts_busy_task)
                .hint("the timer interrupt's scheduling decision must switch to a woken higher-priority task"),
            check("sleeps wake no earlier than asked", 2)
                .parent("the RTOS boots and prints its banner")
                .predicate(sleeps_not_early)
                .hint("nanosleep/clock_nanosleep: round the deadline up, wake when the TSC reaches it"),
            check("faulting tasks are killed, each with its fault", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[killed("null"), killed("ud"), killed("div"), killed("gp")])
                .hint("arch/trap.rs: a user-mode exception kills the current task and schedules the next"),
            check("a faulting task never goes on", 1)
                .parent("faulting tasks are killed, each with its fault")
                .absent(r"^\[rtos\] fault: survived")
                .hint("the killed task must never be resumed"),
            check("a bad pointer gives -EFAULT", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] badcall: write=-14 expect=-14 ok=1 nonce={nonce}$",
                    r"^\[rtos\] badcall: read=-14 expect=-14 ok=1 nonce={nonce}$",
                ])
                .hint("mm/user_memory.rs: check user pointers against the task's regions"),
            check("an unknown system call gives -ENOSYS and a log line", 1)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] rtos: task \d+ badcall syscall 999 \(\?\) not supported -> ENOSYS nonce={nonce}$",
                    r"^\[rtos\] badcall: syscall999=-38 expect=-38 ok=1 nonce={nonce}$",
                ])
                .hint("syscall/mod.rs: the dispatcher's default arm"),
            check("bad arguments of every kind give errors, not kernel faults", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] abuse: getpid_with_nt_flag=1 expect=1 ok=1 nonce={nonce}$",
                    r"^\[rtos\] abuse: mmap_until_enomem=-12 expect=-12 ok=1 nonce={nonce}$",
                    r"^\[rtos\] abuse: done all_ok=1 nonce={nonce}$",
                ])
                .hint("rtos/tests/abuse.c: the line with ok=0 names the call and the answer expected"),
            check("a bad ELF and an unknown name are refused with a message", 1)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] rtos: run=bad-elf: not started: bad ELF: not x86-64 \(e_machine\) nonce={nonce}$",
                    r"^\[rtos\] rtos: run=no-such-program: not started: no such program .* nonce={nonce}$",
                ])
                .hint("task/elf_loader.rs checks every header field before mapping anything"),
            check("rt-periodic prints its jitter line", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] rt-periodic: histogram_us <1:\d+ .* nonce={nonce}$",
                    r"^\[rtos\] jitter: side=rtos period_us=1000 n=200 median_ns=\d+ p99_ns=\d+ max_ns=\d+ nonce={nonce}$",
                ])
                .hint("clock_nanosleep(TIMER_ABSTIME) and sched_setscheduler(SCHED_FIFO) by raw syscall"),
            check("every task ends and its memory comes back", 2)
                .parent("the RTOS boots and prints its banner")
                .lines(&[
                    r"^\[rtos\] rtos: all tasks done refused=2 nonce={nonce}$",
                    r"^\[rtos\] rtos: memory: \d+ of \d+ frames free, \d+ before the first task: returned=true nonce={nonce}$",
                ])
                .hint("a task's address space must free every frame when it ends"),
            check("the RTOS exits cleanly (code 0)", 1)
                .parent("the RTOS boots and prints its banner")
                .predicate(exits_with_zero)
                .hint("a kernel panic ends the run with code 101: the transcript says where"),
            check("no kernel panic", 1)
                .parent("the RTOS boots and prints its banner")
                .absent(r"\[panic\]")
                .hint("the transcript's [panic] line names the file and line"),
    ];
    if !timing {
        checks.push(
            check("the kernel comes in through the image's 64-bit entry", 1)
                .parent("the RTOS boots and prints its banner")
                .lines(&[r"^\[rtos\] rtos: entered through the image entry, boot block at 0x[0-9a-f]+ nonce={nonce}$"])
                .hint("boot/started.rs: the image header's entry_offset and rtos_started_entry"),
        );
    }
    if timing {
        checks.extend([
            check(
                "the timer ticks at the calibrated rate (within 2% of the TSC)",
                2,
            )
            .parent("the RTOS boots and prints its banner")
            .predicate(timer_rate)
            .hint(
                "drivers/apic_timer.rs: the rate measured against the TSC, or the divide setting",
            ),
            check("the preempting task wakes within one tick (1 ms)", 2)
                .parent("a higher-priority wake-up preempts a busy lower task")
                .predicate(preempt_within_tick)
                .hint("the one-shot timer must be armed for the earliest sleeper's deadline"),
        ]);
    }
    checks
}

/// User interrupts between tasks (lab 4's RTOS side; rtos/user/uintr.c).
fn uintr_checks() -> Vec<Check> {
    vec![
        check("the RTOS turns user interrupts on (CR4.UINTR)", 1)
            .parent("the RTOS boots and prints its banner")
            .lines(&[r"^\[rtos\] rtos: user interrupts: UINTR on, notification vector 0x[0-9a-f]+, wake vector 0x[0-9a-f]+ nonce={nonce}$"])
            .hint("arch/uintr.rs: CPUID.(7,0):EDX[5], then CR4 bit 25"),
        check("two tasks ping-pong by SENDUIPI, each in its own handler", 3)
            .parent("the RTOS turns user interrupts on (CR4.UINTR)")
            .lines(&[
                r"^\[rtos\] uintr-pong: n=1000 received=1000 nonce={nonce}$",
                r"^\[rtos\] uintr-pingpong: n=1000 median=\d+ p99=\d+ nonce={nonce}$",
            ])
            .hint("arch/uintr.rs: the switch out (SN, UIF, CLUI, the MSRs) and in (MSRs, NDST, SN clear, self-IPI for PIR, STUI)"),
        check("a task blocked in uintr_wait is woken by a user interrupt", 2)
            .parent("the RTOS turns user interrupts on (CR4.UINTR)")
            .lines(&[r"^\[rtos\] uintr-wait: woken ret=-4 received=1 vector=5 ok=1 nonce={nonce}$"])
            .hint("syscall/uintr.rs: while blocked the UPID names the wake vector; its handler wakes the task"),
        check("bad UINTR requests get an errno", 1)
            .parent("the RTOS turns user interrupts on (CR4.UINTR)")
            .lines(&[r"^\[rtos\] uintr-bad: kernel_handler=-14 register_again=-16 create_fd_64=-22 sender_to_nobody=-22 ok=1 nonce={nonce}$"])
            .hint("syscall/uintr.rs: check every address, vector and handle before using it"),
        check("a SENDUIPI past the UITT kills its sender alone", 2)
            .parent("bad UINTR requests get an errno")
            .lines(&[
                r"^\[rtos\] uintr-bad: senduipi index=4096 nonce={nonce}$",
                r"^\[rtos\] rtos: task 5 uintr killed: #GP general protection rip=0x[0-9a-f]+ addr=0x[0-9a-f]+ nonce={nonce}$",
            ])
            .hint("the #GP of SENDUIPI is a user-mode fault like any other"),
        check("the task that sent to a bad index never goes on", 1)
            .parent("a SENDUIPI past the UITT kills its sender alone")
            .absent(r"^\[rtos\] uintr-bad: survived")
            .hint("the killed task must never be resumed"),
        check("a gone receiver's UITT entries are gone: a send through one faults", 2)
            .parent("the RTOS turns user interrupts on (CR4.UINTR)")
            .lines(&[
                r"^\[rtos\] uintr-stale: unregister=0 register=0 senduipi index=0 nonce={nonce}$",
                r"^\[rtos\] rtos: task 6 uintr killed: #GP general protection rip=0x[0-9a-f]+ addr=0x[0-9a-f]+ nonce={nonce}$",
            ])
            .hint("syscall/uintr.rs: every UITT entry naming a freed UPID must be invalidated (its memory may be the next receiver's)"),
        check("the send through a gone receiver's entry never reaches the new one", 1)
            .parent("a gone receiver's UITT entries are gone: a send through one faults")
            .absent(r"^\[rtos\] uintr-stale: survived")
            .hint("the UITT entry must be invalid, not pointing at the new UPID"),
    ]
}
