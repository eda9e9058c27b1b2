//! A broken or hostile RTOS: malformed entries are rejected, counted and logged, and
//! the daemon goes on serving; garbage over the whole region never crashes it.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};

use crtosd::{Daemon, Jail, PollNotifier, Refusal, RegionMapping};
use support::{c_path, err, nonce_bytes, region_file, with_daemon, Stdio, Tree, CONFIG, TASK};
use syscall_ring::{Call, Descriptor, RingError, RingLayout, SharedRegion, Status};

/// Overwrites the descriptor in request slot `slot` (a peer breaking the protocol).
fn poke_request(base: *mut u8, slot: u32, change: impl FnOnce(&mut Descriptor)) {
    let layout = RingLayout::new(CONFIG).unwrap();
    let offset = layout.request_slots as usize + slot as usize * size_of::<Descriptor>();
    // SAFETY: inside the mapping; the daemon is not running while the test pokes.
    unsafe {
        let descriptor = base.add(offset).cast::<Descriptor>();
        let mut copy = descriptor.read_volatile();
        change(&mut copy);
        descriptor.write_volatile(copy);
    }
}

#[test]
fn refused_requests_get_an_errno_and_are_counted() {
    let tree = Tree::new();
    let (_, stats) = with_daemon(&tree.jail(), &Stdio::in_dir(tree.dir.path()), |rtos| {
        let none = [0u64; 6];
        // A task that was never started.
        assert_eq!(
            rtos.syscall(libc::SYS_getcwd, [0, 4096, 0, 0, 0, 0], b""),
            err(libc::ESRCH)
        );
        rtos.start();
        // Started again (an RTOS restarted under this daemon): a fresh shadow, not an
        // error; the old one's fds are closed.
        assert_eq!(rtos.call(Call::task_start(TASK, 0), b"").ret, 0);
        // An fd not in the task's table.
        assert_eq!(
            rtos.syscall(libc::SYS_fstat, [77, 0, 0, 0, 0, 0], b""),
            err(libc::EBADF)
        );
        // A path without its NUL; a count that disagrees with the payload; a read
        // larger than a payload buffer (the client must split it).
        assert_eq!(
            rtos.syscall(libc::SYS_mkdir, none, b"no-nul"),
            err(libc::EFAULT)
        );
        assert_eq!(
            rtos.syscall(libc::SYS_pwrite64, [1, 0, 99, 0, 0, 0], b"abc"),
            err(libc::EINVAL)
        );
        assert_eq!(
            rtos.syscall(libc::SYS_pread64, [0, 0, 1 << 20, 0, 0, 0], b""),
            err(libc::EINVAL)
        );
        // Still serving.
        assert_eq!(
            rtos.syscall(libc::SYS_mkdir, [0, 0o700, 0, 0, 0, 0], &c_path("ok")),
            0
        );
    });
    assert_eq!(stats.refusals(Refusal::UnknownTask), 1, "{stats}");
    assert_eq!((stats.tasks_started, stats.tasks_exited), (2, 1), "{stats}");
    assert_eq!(stats.refusals(Refusal::BadFd), 1, "{stats}");
    assert_eq!(stats.refusals(Refusal::BadPayload), 1, "{stats}");
    assert_eq!(stats.refusals(Refusal::BadCount), 2, "{stats}");
    assert!(tree.jail().join("ok").is_dir());
}

#[test]
fn malformed_ring_entries_are_rejected_and_counted() {
    let tree = Tree::new();
    let file = region_file();
    let rtos_side = RegionMapping::map(&file, None).unwrap();
    let mut linux_side = RegionMapping::map(&file, None).unwrap();
    let base = rtos_side.as_ptr();
    // SAFETY: the mapping outlives the region; the daemon attaches after this.
    let mut region = unsafe { SharedRegion::init(base, rtos_side.len(), CONFIG).unwrap() };
    let mut client = region.client().unwrap();
    // Three requests, then spoiled in place before the daemon looks.
    for _ in 0..3 {
        client.submit(Call::task_start(TASK, 0), b"").unwrap();
    }
    poke_request(base, 0, |d| d.opcode = 0xdead);
    poke_request(base, 1, |d| d.payload_len = 1 << 20);
    poke_request(base, 2, |d| d.status = Status::Done as u32);
    let mut server_region = linux_side.attach().unwrap();
    let server = server_region.server().unwrap();
    let mut daemon = daemon_for(server, &tree);
    assert_eq!(daemon.drain(), 3);
    let stats = daemon.stats();
    assert_eq!(stats.ring_errors(RingError::UnknownOpcode), 1, "{stats}");
    assert_eq!(
        stats.ring_errors(RingError::PayloadOutOfBounds),
        1,
        "{stats}"
    );
    assert_eq!(stats.ring_errors(RingError::BadStatus), 1, "{stats}");
    assert_eq!(stats.served, 0);
    // Each was answered `Rejected`, so the client got its tags back.
    for _ in 0..3 {
        assert_eq!(client.poll(&mut []).unwrap().status, Status::Rejected);
    }
    assert_eq!(client.in_flight(), 0);
    // And the daemon serves the next, well-formed request.
    client.submit(Call::task_start(TASK, 0), b"").unwrap();
    assert_eq!(daemon.drain(), 1);
    assert_eq!(client.poll(&mut []).unwrap().ret, 0);
}

#[test]
fn garbage_over_the_whole_ring_never_crashes_the_daemon() {
    let tree = Tree::new();
    let file = region_file();
    let rtos_side = RegionMapping::map(&file, None).unwrap();
    let mut linux_side = RegionMapping::map(&file, None).unwrap();
    let base = rtos_side.as_ptr();
    let layout = RingLayout::new(CONFIG).unwrap();
    // SAFETY: as above.
    unsafe { SharedRegion::init(base, rtos_side.len(), CONFIG).unwrap() };
    let mut server_region = linux_side.attach().unwrap();
    let server = server_region.server().unwrap();
    let mut daemon = daemon_for(server, &tree);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let serving = scope.spawn(|| {
            daemon.serve(&mut PollNotifier::default(), &stop, |_| {});
        });
        // Everything after the header, again and again, while the daemon runs.
        let queues = layout.request_indices as usize..layout.payload_area as usize + 4096;
        for round in 0..200 {
            let garbage = nonce_bytes(queues.len());
            // SAFETY: inside the mapping; racing the daemon is the point (it only ever
            // copies the region's bytes through volatile or atomic accesses).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    garbage.as_ptr(),
                    base.add(queues.start),
                    garbage.len(),
                )
            };
            if round % 20 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!serving.is_finished(), "the daemon stopped on garbage");
        stop.store(true, Ordering::Relaxed);
        serving.join().expect("the daemon panicked on garbage");
    });
    let stats = daemon.stats();
    assert!(stats.rejected() > 0, "garbage went unnoticed: {stats}");
}

/// A daemon serving `server`, jailed in `tree`, its own stdio /dev/null.
fn daemon_for<'r>(server: syscall_ring::Server<'r>, tree: &Tree) -> Daemon<'r> {
    let stdio = std::array::from_fn(|_| std::fs::File::open("/dev/null").unwrap().into());
    Daemon::new(
        server,
        CONFIG.payload_slot_size,
        Jail::new(&tree.jail()).unwrap(),
        stdio,
    )
}
