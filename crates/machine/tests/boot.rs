//! Real boots of the smoke kernel on the real emulators (`make test` runs them; they
//! need `make setup` and the kernel built by `make hello-kernel`).

use std::path::PathBuf;
use std::time::Duration;

use machine::{group_alive, run, Emulator, Ended, Flow, Image, Spec};

fn smoke_kernel() -> PathBuf {
    let k = machine::paths::repo_root().join("target/release/hello");
    assert!(
        k.is_file(),
        "{} is missing: build it with `make hello-kernel`",
        k.display()
    );
    k
}

fn boot(
    emulator: Emulator,
    cmdline: &str,
    timeout: u64,
    name: &str,
) -> (machine::Outcome, Vec<String>) {
    let dir = machine::paths::repo_root()
        .join("build/test-runs")
        .join(name);
    let mut spec = Spec::new(emulator, Image::Multiboot(smoke_kernel()), dir);
    spec.cmdline = cmdline.into();
    spec.timeout = Duration::from_secs(timeout);
    let mut lines = Vec::new();
    let outcome = run(&spec, |l, _| {
        lines.push(l.to_string());
        Flow::Continue
    })
    .expect("the machine runner failed");
    assert!(
        !group_alive(outcome.pgid),
        "an emulator process of this run is still alive"
    );
    (outcome, lines)
}

fn report_line(lines: &[String]) -> &str {
    lines
        .iter()
        .find(|l| l.contains("hello: vmx="))
        .map(String::as_str)
        .unwrap_or("")
}

#[test]
#[ignore = "boots Bochs: run with `make test`"]
fn bochs_has_vmx_uintr_and_two_running_cpus() {
    let (outcome, lines) = boot(Emulator::Bochs, "nonce=b0c5", 60, "bochs-smoke");
    assert_eq!(outcome.ended, Ended::GuestExit(0), "{lines:#?}");
    assert!(
        report_line(&lines).contains("vmx=1 uintr=1 cpus=2 (madt=2) nonce=b0c5"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("cpu 1 (APIC ID 1) is up")),
        "{lines:#?}"
    );
}

#[test]
#[ignore = "boots QEMU: run with `make test`"]
fn qemu_has_neither_vmx_nor_uintr() {
    let (outcome, lines) = boot(Emulator::Qemu, "nonce=9e3a", 30, "qemu-smoke");
    assert_eq!(outcome.ended, Ended::GuestExit(0), "{lines:#?}");
    assert!(
        report_line(&lines).contains("vmx=0 uintr=0 cpus=2 (madt=2) nonce=9e3a"),
        "{lines:#?}"
    );
}

#[test]
#[ignore = "boots Bochs: run with `make test`"]
fn a_hung_guest_is_killed_at_its_timeout() {
    // 10 s: Bochs reaches the kernel in about 1 s, but under `make -j2 test` on 2 busy
    // cores a 3 s limit passed before the kernel printed anything.
    const LIMIT: u64 = 10;
    let (outcome, lines) = boot(Emulator::Bochs, "hang", LIMIT, "bochs-hang");
    assert!(
        lines.iter().any(|l| l.contains("hanging as requested")),
        "{lines:#?}"
    );
    assert_eq!(outcome.ended, Ended::Timeout(Duration::from_secs(LIMIT)));
    assert!(
        outcome.elapsed < Duration::from_secs(LIMIT + 3),
        "took {:?}",
        outcome.elapsed
    );
}

#[test]
#[ignore = "boots QEMU: run with `make test`"]
fn a_kernel_panic_ends_the_run_with_code_101() {
    let (outcome, lines) = boot(Emulator::Qemu, "panic", 30, "qemu-panic");
    assert_eq!(outcome.ended, Ended::GuestExit(101));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[panic] cpu 0: panicked at")),
        "{lines:#?}"
    );
}

#[test]
#[ignore = "boots QEMU: run with `make test`"]
fn until_ends_the_run_on_a_pattern_and_kills_the_emulator() {
    let dir = machine::paths::repo_root().join("build/test-runs/qemu-until");
    let mut spec = Spec::new(Emulator::Qemu, Image::Multiboot(smoke_kernel()), dir);
    spec.cmdline = "hang".into();
    spec.until = vec!["hanging as requested".into()];
    spec.timeout = Duration::from_secs(30);
    let outcome = run(&spec, |_, _| Flow::Continue).unwrap();
    assert_eq!(outcome.ended, Ended::Pattern("hanging as requested".into()));
    assert!(
        outcome.elapsed < Duration::from_secs(10),
        "took {:?}",
        outcome.elapsed
    );
    assert!(
        !group_alive(outcome.pgid),
        "the hung emulator is still alive"
    );
}

/// COM2 (the RTOS's console) reaches the observer with its prefix, and lands in its own
/// file and in the merged transcript, on both emulators.
fn com2_line_arrives_prefixed(emulator: Emulator, name: &str) {
    let nonce = format!("c2{}", std::process::id());
    let (outcome, lines) = boot(emulator, &format!("nonce={nonce} com2-test"), 60, name);
    assert_eq!(outcome.ended, Ended::GuestExit(0), "{lines:#?}");
    let want = format!("hello: com2 works nonce={nonce}");
    let prefixed = format!("{}{want}", machine::COM2_PREFIX);
    assert!(lines.contains(&prefixed), "no `{prefixed}` in {lines:#?}");
    // COM1 is still the exit port, and its own file holds no COM2 line.
    let com1 = std::fs::read_to_string(&outcome.transcript).unwrap();
    assert!(
        !com1.contains(&want),
        "COM2's line leaked into COM1: {com1}"
    );
    let com2 = std::fs::read_to_string(&outcome.com2).unwrap();
    assert_eq!(com2.replace('\r', ""), format!("{want}\n"));
    let merged = std::fs::read_to_string(&outcome.merged).unwrap();
    let at = |needle: &str| {
        merged
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}: {merged}"))
    };
    assert!(at(&prefixed) < at("[exit] code=0"), "{merged}");
}

#[test]
#[ignore = "boots Bochs: run with `make test`"]
fn bochs_com2_lines_arrive_prefixed() {
    com2_line_arrives_prefixed(Emulator::Bochs, "bochs-com2");
}

#[test]
#[ignore = "boots QEMU: run with `make test`"]
fn qemu_com2_lines_arrive_prefixed() {
    com2_line_arrives_prefixed(Emulator::Qemu, "qemu-com2");
}
