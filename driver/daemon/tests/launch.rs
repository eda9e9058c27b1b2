//! `crtosctl run` end to end on the host: the real crtosctl and crtosd binaries, with
//! the test playing the driver and the RTOS (tests/support/simulated.rs) over a
//! region file. Covers output through the task's fd 1 and 2, exit and kill statuses,
//! launches that fail (not found, not ELF, too large, refused by the RTOS, no daemon),
//! the shadow's fds closed at exit, and a daemon killed and started again.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use support::simulated::{fnv, Machine};

/// An "ELF" the simulated RTOS only hashes: the magic, then random bytes.
fn program(machine: &Machine, len: usize) -> (PathBuf, Vec<u8>) {
    let mut image = b"\x7fELF\x02\x01\x01".to_vec();
    image.extend(support::nonce_bytes(len - image.len()));
    let path = machine.dir.path().join("prog.elf");
    std::fs::write(&path, &image).unwrap();
    (path, image)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_prints_the_tasks_output_and_exits_with_its_status() {
    let machine = Machine::new();
    let _rtos = machine.start_rtos();
    let daemon = machine.start_daemon(machine.driver_attach());
    let (path, image) = program(&machine, 100_000);
    let word = format!("{:x}", fnv(&support::nonce_bytes(8)));
    let path = path.to_str().unwrap();

    let out = machine.crtosctl_run(&[path, "image", "say", &word, "err", "oops", "exit", "42"]);
    let expected = format!("image {} fnv {:016x}\n{word}\n", image.len(), fnv(&image));
    assert_eq!(text(&out.stdout), expected, "{}", daemon.log());
    assert_eq!(
        text(&out.stderr),
        "oops\n",
        "crtosctl adds nothing of its own"
    );
    assert_eq!(out.status.code(), Some(42));

    let out = machine.crtosctl_run(&[path, "say", "dying", "kill"]);
    assert_eq!(text(&out.stdout), "dying\n");
    assert_eq!(out.status.code(), Some(139), "killed by SIGSEGV: 128 + 11");
    assert_eq!(out.status.signal(), None, "crtosctl itself is not killed");

    // What the daemon says, for the lab 3 stage script and for people.
    for line in [
        "crtosd: launch 1: ",
        "crtosd: launch 1: task 100",
        "crtosd: task 100 exited with status 42",
        "crtosd: task 101 exited with status 139",
    ] {
        assert!(
            daemon.log_with(line).contains(line),
            "{line}\n{}",
            daemon.log()
        );
    }
    let expected = [
        " launches=2 launches_failed=0 ",
        " tasks_started=2 tasks_exited=2 ",
    ];
    let status = machine.status_with(&expected);
    assert!(
        expected.iter().all(|part| status.contains(part)),
        "{status}"
    );
}

#[test]
fn launches_at_once_go_one_at_a_time_and_each_gets_its_own_output() {
    let machine = Machine::new();
    let _rtos = machine.start_rtos();
    let _daemon = machine.start_daemon(machine.driver_attach());
    let (path, _) = program(&machine, 4096);
    let path = path.to_str().unwrap();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..6)
            .map(|i| {
                let machine = &machine;
                scope.spawn(move || {
                    let word = format!("run{i}");
                    let out = machine.crtosctl_run(&[path, "say", &word, "exit", &i.to_string()]);
                    (i, word, out)
                })
            })
            .collect();
        for run in runs {
            let (i, word, out) = run.join().unwrap();
            assert_eq!(
                text(&out.stdout),
                format!("{word}\n"),
                "{}",
                text(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(i));
        }
    });
}

#[test]
fn failed_launches_say_why_and_exit_126_or_127() {
    let machine = Machine::new();
    let _rtos = machine.start_rtos();

    // No daemon yet.
    let out = machine.crtosctl_run(&["/bin/true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is crtosd running?"),
        "{}",
        text(&out.stderr)
    );

    let daemon = machine.start_daemon(machine.driver_attach());
    let missing = machine.dir.path().join("no-such-program");
    let out = machine.crtosctl_run(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        text(&out.stderr).contains("No such file"),
        "{}",
        text(&out.stderr)
    );

    let script = machine.dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let out = machine.crtosctl_run(&[script.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("script.sh: not an ELF executable"),
        "{}",
        text(&out.stderr)
    );

    let (big, _) = program(
        &machine,
        crtos_abi::forwarding::LAUNCH_MAX_SIZE as usize + 1,
    );
    let out = machine.crtosctl_run(&[big.to_str().unwrap(), "exit", "0"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("too large"),
        "{}",
        text(&out.stderr)
    );

    let (path, _) = program(&machine, 4096);
    let out = machine.crtosctl_run(&[path.to_str().unwrap(), "refuse"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("the RTOS refused to start it"),
        "{}",
        text(&out.stderr)
    );

    // After all that, a good launch still works.
    let out = machine.crtosctl_run(&[path.to_str().unwrap(), "say", "still", "exit", "0"]);
    assert_eq!(
        (text(&out.stdout).as_str(), out.status.code()),
        ("still\n", Some(0))
    );
    drop(daemon);
}

#[test]
fn task_exit_closes_every_fd_of_its_shadow() {
    let machine = Machine::new();
    let _rtos = machine.start_rtos();
    let daemon = machine.start_daemon(machine.driver_attach());
    let (path, _) = program(&machine, 4096);
    let path = path.to_str().unwrap();
    let baseline = daemon.open_fds();

    let out = machine.crtosctl_run(&[path, "open", "open", "open", "exit", "7"]);
    assert_eq!(out.status.code(), Some(7));
    let opened: Vec<i64> = text(&out.stdout)
        .lines()
        .map(|l| l.strip_prefix("opened ").unwrap().parse().unwrap())
        .collect();
    assert_eq!(opened.len(), 3);
    assert!(opened.iter().all(|&fd| fd >= 3), "{opened:?}");
    // The daemon closes the client's socket just after sending it the status: give
    // it a moment (a leaked fd never goes away, so it still fails).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while daemon.open_fds() != baseline && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        daemon.open_fds(),
        baseline,
        "every fd of the task closed at its exit"
    );
}

#[test]
fn a_daemon_killed_and_started_again_serves_a_new_generation() {
    let machine = Machine::new();
    let _rtos = machine.start_rtos();
    let first = machine.driver_attach();
    let daemon = machine.start_daemon(first);
    let (path, _) = program(&machine, 4096);
    let path = path.to_str().unwrap();
    let out = machine.crtosctl_run(&[path, "say", "one", "exit", "1"]);
    assert_eq!(
        (text(&out.stdout).as_str(), out.status.code()),
        ("one\n", Some(1))
    );

    daemon.kill();
    machine.driver_daemon_closed();
    let out = machine.crtosctl_run(&[path, "exit", "0"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nobody listens: {}",
        text(&out.stderr)
    );

    let second = machine.driver_attach();
    assert_eq!(second, first + 1);
    let daemon = machine.start_daemon(second);
    let out = machine.crtosctl_run(&[path, "say", "two", "exit", "2"]);
    assert_eq!(
        (text(&out.stdout).as_str(), out.status.code()),
        ("two\n", Some(2)),
        "{}",
        daemon.log()
    );
    let ring = machine
        .control()
        .ring_generation
        .load(std::sync::atomic::Ordering::Acquire);
    assert_eq!(ring, second);
}

#[test]
fn a_launch_the_rtos_never_answers_fails_after_the_timeout_and_blocks_the_next() {
    let machine = Machine::new();
    let generation = machine.driver_attach();
    machine.ring_without_rtos(generation);
    let daemon = machine.start_daemon(generation);
    let (path, _) = program(&machine, 4096);
    let path = path.to_str().unwrap();

    let started = std::time::Instant::now();
    let out = machine.crtosctl_run(&[path, "exit", "0"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("did not answer launch 1 within 5 s"),
        "{}",
        text(&out.stderr)
    );
    assert!(started.elapsed() >= crtosd::launcher::LAUNCH_TIMEOUT);

    // The RTOS may still be reading the launch area: no second launch overwrites it.
    let out = machine.crtosctl_run(&[path, "exit", "0"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("has not answered launch 1 yet"),
        "{}",
        text(&out.stderr)
    );
    let status = machine.status_with(&["launches=1 launches_failed=2 "]);
    assert!(
        status.contains("launches=1 launches_failed=2 "),
        "{status}\n{}",
        daemon.log()
    );
}
