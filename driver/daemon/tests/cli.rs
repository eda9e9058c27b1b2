//! The `crtosd` binary itself, in its own process: `--region FILE` maps the file the
//! test (playing the RTOS) laid the ring out in, so the two sides are two address
//! spaces, as in production.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crtosd::RegionMapping;
use support::{c_path, Tree, CONFIG, TASK};
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
    let tree = Tree::new();
    let region_path = tree.dir.path().join("region");
    let status_path = tree.dir.path().join("status");
    let file = std::fs::File::create_new(&region_path).unwrap();
    file.set_len(syscall_ring::RingLayout::new(CONFIG).unwrap().region_len as u64)
        .unwrap();
    let mapping = RegionMapping::map(
        &std::fs::File::options()
            .read(true)
            .write(true)
            .open(&region_path)
            .unwrap(),
        None,
    )
    .unwrap();
    // SAFETY: the mapping outlives the region; the daemon is started after this.
    let mut region =
        unsafe { SharedRegion::init(mapping.as_ptr(), mapping.len(), CONFIG).unwrap() };
    let mut client = region.client().unwrap();

    let mut daemon = Command::new(env!("CARGO_BIN_EXE_crtosd"))
        .arg("--root")
        .arg(tree.jail())
        .arg("--region")
        .arg(&region_path)
        .arg("--status-file")
        .arg(&status_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    assert!(tree.jail().join("made-by-rtos").exists());
}
