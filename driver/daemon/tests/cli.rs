//! The `crtosd` binary itself, in its own process: `--region FILE` maps the whole
//! shared region the test (playing the driver and the RTOS) laid out, so the two sides
//! are two address spaces, as in production. Here the RTOS side is driven by hand: a
//! task of the run list (launch 0), whose fds 0, 1, 2 are the daemon's.

mod support;

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crtos_abi::forwarding::{RING_MAX_SIZE, RING_OFFSET};
use crtosd::RegionMapping;
use support::simulated::Machine;
use support::{c_path, CONFIG, TASK};
use syscall_ring::{Call, Client, RingError, SharedRegion};

/// Waits for the next completion (the daemon runs in another process).
fn wait(client: &mut Client) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match client.poll(&mut []) {
            Ok(done) => return done.ret,
            Err(RingError::Empty) if Instant::now() < deadline => std::thread::yield_now(),
            Err(error) => panic!("no answer from crtosd: {error}"),
        }
    }
}

#[test]
fn the_daemon_binary_serves_a_region_file_and_writes_its_status() {
    let machine = Machine::new();
    let status_path = machine.dir.path().join("status");
    let generation = machine.driver_attach();
    let mapping = RegionMapping::open(&machine.region, None).unwrap();
    // SAFETY: the ring area is inside the mapping, which outlives the region; the
    // daemon attaches only once ring_generation says this ring is its own.
    let mut region = unsafe {
        let base = mapping.as_ptr().add(RING_OFFSET as usize);
        SharedRegion::init(base, RING_MAX_SIZE as usize, CONFIG).unwrap()
    };
    let mut client = region.client().unwrap();

    let mut daemon = machine
        .daemon_command()
        .arg("--status-file")
        .arg(&status_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The daemon waits for its ring; the request may be queued before it attaches.
    std::thread::sleep(Duration::from_millis(50));
    machine
        .control()
        .ring_generation
        .store(generation, Ordering::Release);
    client.submit(Call::task_start(TASK, 0), b"").unwrap();
    assert_eq!(wait(&mut client), 0);
    let args = [
        libc::AT_FDCWD as u64,
        0,
        (libc::O_CREAT | libc::O_WRONLY) as u64,
        0o644,
        0,
        0,
    ];
    client
        .submit(
            Call::syscall(TASK, libc::SYS_openat as u32, args),
            &c_path("/made-by-rtos"),
        )
        .unwrap();
    assert_eq!(wait(&mut client), 3);
    client
        .submit(
            Call::syscall(TASK, libc::SYS_write as u32, [1, 0, 6, 0, 0, 0]),
            b"hello\n",
        )
        .unwrap();
    assert_eq!(wait(&mut client), 6);
    // The status file is rewritten after each batch; the last one counts all three.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = std::fs::read_to_string(&status_path).unwrap_or_default();
        if status.contains("served=3 ") || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    daemon.kill().unwrap();
    let output = daemon.wait_with_output().unwrap();
    assert!(
        status.contains("served=3 ") && status.contains("rejected=0 "),
        "{status}"
    );
    assert_eq!(
        output.stdout, b"hello\n",
        "the task's fd 1 is the daemon's stdout"
    );
    assert!(machine.jail().join("made-by-rtos").exists());
}

/// `--notify uintr` needs the driver's user interrupts: with a region file there is
/// none, and the daemon says so and exits 1 at once (it never waits for a ring).
#[test]
fn notify_uintr_without_the_driver_is_a_clear_error() {
    let machine = Machine::new();
    machine.driver_attach();
    let output = machine
        .daemon_command()
        .args(["--notify", "uintr"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--notify uintr needs the driver"),
        "{stderr}"
    );
}
