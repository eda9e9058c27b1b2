//! The test bench: a daemon thread serving a real shared mapping, and a client
//! playing the RTOS through a second mapping of the same memfd (so the two sides see
//! the region at different addresses, as they do across the two OSes).
#![allow(dead_code)]

use std::ffi::CString;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ScopedJoinHandle;

use crtosd::{Daemon, Jail, PollNotifier, RegionMapping, Stats};
use syscall_ring::{Call, Client, RingConfig, RingLayout, SharedRegion, Status, Transfer};

pub mod simulated;

/// A small ring, so that tests cross many payload buffers and wrap the queues.
pub const CONFIG: RingConfig = RingConfig {
    capacity: 8,
    payload_slot_size: 4096,
};
pub const TASK: u32 = 7;

/// A temporary tree: `jail/` (the daemon's root) and `outside/secret` next to it.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("jail")).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/secret"), b"outside the jail").unwrap();
        Self { dir }
    }

    pub fn jail(&self) -> PathBuf {
        self.dir.path().join("jail")
    }

    pub fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
}

/// The shared region, in a memfd.
pub fn region_file() -> File {
    let layout = RingLayout::new(CONFIG).unwrap();
    let fd = rustix::fs::memfd_create("crtos-ring", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    let file = File::from(fd);
    file.set_len(layout.region_len as u64).unwrap();
    file
}

/// What a task's fds 0, 1, 2 are: /dev/null, then two files the test can read.
pub struct Stdio {
    pub out: PathBuf,
    pub err: PathBuf,
}

impl Stdio {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            out: dir.join("stdout"),
            err: dir.join("stderr"),
        }
    }

    fn fds(&self) -> [OwnedFd; 3] {
        [
            File::open("/dev/null").unwrap().into(),
            File::create(&self.out).unwrap().into(),
            File::create(&self.err).unwrap().into(),
        ]
    }
}

/// Runs `test` as the RTOS against a daemon serving `jail`; returns the daemon's
/// counters at the end. A panic in the daemon fails the test with its own message.
pub fn with_daemon<R>(jail: &Path, stdio: &Stdio, test: impl FnOnce(&mut Rtos) -> R) -> (R, Stats) {
    let file = region_file();
    let rtos_side = RegionMapping::map(&file, None).unwrap();
    let mut linux_side = RegionMapping::map(&file, None).unwrap();
    assert_ne!(rtos_side.as_ptr(), linux_side.as_ptr());
    // SAFETY: the mapping is the region's length and outlives the region value; the
    // daemon attaches to it only after this init (it is spawned below).
    let mut rtos_region =
        unsafe { SharedRegion::init(rtos_side.as_ptr(), rtos_side.len(), CONFIG).unwrap() };
    let stop = AtomicBool::new(false);
    let jail = Jail::new(jail).unwrap();
    let stdio = stdio.fds();
    std::thread::scope(|scope| {
        let daemon = scope.spawn(|| {
            let mut region = linux_side.attach().unwrap();
            let server = region.server().unwrap();
            let mut daemon = Daemon::new(server, CONFIG.payload_slot_size, jail, stdio);
            daemon.serve(&mut PollNotifier::default(), &stop, |_| {});
            daemon.stats().clone()
        });
        let mut rtos = Rtos {
            client: rtos_region.client().unwrap(),
            daemon: &daemon,
        };
        // Stops the daemon even when `test` panics, or the scope would wait forever.
        let _stop = StopOnDrop(&stop);
        let result = test(&mut rtos);
        drop(_stop);
        match daemon.join() {
            Ok(stats) => (result, stats),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The RTOS's side of forwarding, as a test drives it.
pub struct Rtos<'c, 's, 'd> {
    pub client: Client<'c>,
    daemon: &'d ScopedJoinHandle<'s, Stats>,
}

/// A finished call: Linux's result and the bytes that came back.
pub struct Answer {
    pub status: Status,
    pub ret: i64,
    pub data: Vec<u8>,
}

impl Rtos<'_, '_, '_> {
    /// Submits `call` and waits for its answer (the only request in flight).
    pub fn call(&mut self, call: Call, payload: &[u8]) -> Answer {
        self.client.submit(call, payload).unwrap();
        self.wait()
    }

    /// Waits for the next completion; fails the test if the daemon died meanwhile.
    pub fn wait(&mut self) -> Answer {
        let mut data = vec![0; CONFIG.payload_slot_size as usize];
        loop {
            match self.client.poll(&mut data) {
                Ok(done) => {
                    data.truncate(done.payload_len as usize);
                    return Answer {
                        status: done.status,
                        ret: done.ret,
                        data,
                    };
                }
                Err(syscall_ring::RingError::Empty) => {}
                Err(error) => panic!("bad response: {error}"),
            }
            if self.daemon.is_finished() {
                // The daemon panicked (or stopped): its join in `with_daemon` reports why.
                panic!("the daemon stopped while a call was in flight");
            }
            std::thread::yield_now();
        }
    }

    /// A system call with a payload; returns what the task's call returns.
    pub fn syscall(&mut self, nr: i64, args: [u64; 6], payload: &[u8]) -> i64 {
        self.call(Call::syscall(TASK, nr as u32, args), payload).ret
    }

    pub fn start(&mut self) {
        assert_eq!(self.call(Call::task_start(TASK, 0), b"").ret, 0);
    }

    pub fn exit(&mut self, status: i32) -> i64 {
        self.syscall(libc::SYS_exit_group, [status as u64, 0, 0, 0, 0, 0], b"")
    }

    pub fn open(&mut self, path: &str, flags: i32, mode: u32) -> i64 {
        let args = [libc::AT_FDCWD as u64, 0, flags as u64, mode as u64, 0, 0];
        self.syscall(libc::SYS_openat, args, &c_path(path))
    }

    pub fn close(&mut self, fd: i64) -> i64 {
        self.syscall(libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0], b"")
    }

    /// `write(fd, data)` of any length, split by the ring's `Transfer`.
    pub fn write(&mut self, fd: i64, data: &[u8]) -> i64 {
        let slot = self.client.payload_slot_size();
        let mut transfer = Transfer::new(
            TASK,
            libc::SYS_write as u32,
            fd as u64,
            None,
            data.len(),
            slot,
        );
        while let Some(chunk) = transfer.next_chunk() {
            let ret = self.call(chunk.call, &data[chunk.range]).ret;
            if let Some(ret) = transfer.complete(ret).unwrap() {
                return ret;
            }
        }
        unreachable!("a transfer ends with a result")
    }

    /// `read(fd, buf)` of `len` bytes (a call Linux may answer short), split likewise.
    pub fn read(&mut self, fd: i64, len: usize) -> (i64, Vec<u8>) {
        self.read_with(libc::SYS_read, fd, None, len)
    }

    pub fn read_with(
        &mut self,
        nr: i64,
        fd: i64,
        offset: Option<u64>,
        len: usize,
    ) -> (i64, Vec<u8>) {
        let slot = self.client.payload_slot_size();
        let mut buffer = vec![0; len];
        let mut transfer = Transfer::new(TASK, nr as u32, fd as u64, offset, len, slot);
        while let Some(chunk) = transfer.next_chunk() {
            let answer = self.call(chunk.call, b"");
            buffer[chunk.range.start..][..answer.data.len()].copy_from_slice(&answer.data);
            if let Some(ret) = transfer.complete(answer.ret).unwrap() {
                buffer.truncate(ret.max(0) as usize);
                return (ret, buffer);
            }
        }
        unreachable!("a transfer ends with a result")
    }

    /// Reads `fd` to its end.
    pub fn read_to_end(&mut self, fd: i64) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let (ret, bytes) = self.read(fd, 10_000);
            assert!(ret >= 0, "read failed: {ret}");
            if ret == 0 {
                return all;
            }
            all.extend_from_slice(&bytes);
        }
    }
}

/// A path as it travels: its bytes and a NUL.
pub fn c_path(path: &str) -> Vec<u8> {
    CString::new(path).unwrap().into_bytes_with_nul()
}

/// A negative errno, as a task's system call returns it.
pub fn err(errno: i32) -> i64 {
    -i64::from(errno)
}

/// Bytes derived from a fresh random nonce, so no fixed content can pass.
pub fn nonce_bytes(len: usize) -> Vec<u8> {
    let mut nonce = [0u8; 8];
    File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut nonce))
        .unwrap();
    let mut state = u64::from_le_bytes(nonce) | 1;
    (0..len)
        .map(|_| {
            // xorshift64: cheap, and every byte depends on the nonce.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
