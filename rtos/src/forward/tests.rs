//! The packing of forwarded calls against the ring's real client and server over
//! one region. Linux's side is a small stand-in (files in a map) that records what
//! reached it; the task's memory is a byte array at a user address, with the checks
//! the kernel's `AddressSpace` makes. (No dev-dependency with `std` features, not
//! even the ring's own `HeapRegion` or the daemon library: features unify, and `std`
//! among the kernel's dependencies clashes with crates/baremetal's panic handler.)

use std::cell::RefCell;
use std::collections::HashMap;

use syscall_ring::{Client, Request, RingConfig, RingError, Server, SharedRegion};

use super::call::{is_forwarded, ForwardedCall, UserMemory, STAT_SIZE};
use crate::errno::Errno;
use crate::syscall_numbers as nr;

const TASK: u32 = 9;
/// A small payload slot, so that calls split into many requests.
const CONFIG: RingConfig = RingConfig {
    capacity: 8,
    payload_slot_size: 256,
};
const ENOENT: i64 = -2;
const EBADF: i64 = -9;
const O_CREAT: u64 = 0o100;

/// A task's memory: `len` bytes at `BASE`, all writable; everything else unmapped.
struct Memory(RefCell<Vec<u8>>);
const BASE: u64 = 0x40_0000;

impl Memory {
    fn new(len: usize) -> Self {
        Memory(RefCell::new(vec![0; len]))
    }
    fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, Errno> {
        let start = addr.checked_sub(BASE).ok_or(Errno::Fault)? as usize;
        let end = start.checked_add(len).ok_or(Errno::Fault)?;
        (end <= self.0.borrow().len())
            .then_some(start..end)
            .ok_or(Errno::Fault)
    }
    fn put(&self, addr: u64, data: &[u8]) {
        self.write(addr, data).unwrap();
    }
    fn get(&self, addr: u64, len: usize) -> Vec<u8> {
        self.0.borrow()[self.range(addr, len).unwrap()].to_vec()
    }
}

impl UserMemory for Memory {
    fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno> {
        out.copy_from_slice(&self.0.borrow()[self.range(addr, out.len())?]);
        Ok(())
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let range = self.range(addr, data.len())?;
        self.0.borrow_mut()[range].copy_from_slice(data);
        Ok(())
    }
    fn check(&self, addr: u64, len: u64, _write: bool) -> bool {
        self.range(addr, len as usize).is_ok()
    }
}

/// Linux's side: files by name, open fds (name, position) from 3, and every request
/// as it arrived (number, arguments, payload).
#[derive(Default)]
struct Linux {
    files: HashMap<Vec<u8>, Vec<u8>>,
    fds: HashMap<u64, (Vec<u8>, usize)>,
    seen: Vec<(u32, [u64; 6], Vec<u8>)>,
}

impl Linux {
    /// Runs one request; returns its result and reply.
    fn run(&mut self, number: u32, a: [u64; 6], payload: &[u8]) -> (i64, Vec<u8>) {
        self.seen.push((number, a, payload.to_vec()));
        let name = payload.split(|&b| b == 0).next().unwrap_or(b"").to_vec();
        match number as u64 {
            nr::OPEN | nr::OPENAT => {
                let flags = if number as u64 == nr::OPEN {
                    a[1]
                } else {
                    a[2]
                };
                if flags & O_CREAT != 0 {
                    self.files.insert(name.clone(), Vec::new());
                } else if !self.files.contains_key(&name) {
                    return (ENOENT, vec![]);
                }
                let fd = 3 + self.fds.len() as u64;
                self.fds.insert(fd, (name, 0));
                (fd as i64, vec![])
            }
            nr::CLOSE => (self.fds.remove(&a[0]).map_or(EBADF, |_| 0), vec![]),
            nr::WRITE => {
                let Some((name, pos)) = self.fds.get_mut(&a[0]) else {
                    return (EBADF, vec![]);
                };
                let file = self.files.get_mut(name).unwrap();
                file.truncate(*pos);
                file.extend_from_slice(payload);
                *pos += payload.len();
                (payload.len() as i64, vec![])
            }
            nr::READ | nr::READV | nr::PREAD64 => {
                let Some((name, pos)) = self.fds.get_mut(&a[0]) else {
                    return (EBADF, vec![]);
                };
                let file = &self.files[name];
                let at = if number as u64 == nr::PREAD64 {
                    a[3] as usize
                } else {
                    *pos
                };
                let data = file[at.min(file.len())..(at + a[2] as usize).min(file.len())].to_vec();
                if number as u64 != nr::PREAD64 {
                    *pos += data.len();
                }
                (data.len() as i64, data)
            }
            nr::STAT => match self.files.get(&name) {
                Some(file) => {
                    let mut st = vec![0u8; STAT_SIZE];
                    st[48..56].copy_from_slice(&(file.len() as i64).to_le_bytes());
                    (0, st)
                }
                None => (ENOENT, vec![]),
            },
            nr::GETCWD => (5, b"/sub\0".to_vec()),
            _ => (0, vec![]),
        }
    }
}

/// The RTOS's client and Linux's server over one region.
struct Bench {
    client: Client<'static>,
    server: Server<'static>,
    linux: Linux,
}

impl Bench {
    fn new() -> Self {
        let len = syscall_ring::RingLayout::new(CONFIG).unwrap().region_len as usize;
        let layout = std::alloc::Layout::from_size_align(len, syscall_ring::REGION_ALIGN).unwrap();
        // SAFETY: a non-zero size; the region is never freed (it lives for the test).
        let base = unsafe { std::alloc::alloc_zeroed(layout) };
        // SAFETY: `len` bytes at `base`, aligned, for good; one client, one server.
        unsafe { SharedRegion::init(base, len, CONFIG) }.unwrap();
        let client = unsafe { SharedRegion::attach(base, len) }
            .unwrap()
            .into_client()
            .unwrap();
        let server_side: &'static mut SharedRegion<'static> = Box::leak(Box::new(
            unsafe { SharedRegion::attach(base, len) }.unwrap(),
        ));
        let server = server_side.server().unwrap();
        Bench {
            client,
            server,
            linux: Linux::default(),
        }
    }

    /// Linux serves every request waiting.
    fn serve(&mut self) {
        let mut input = vec![0u8; CONFIG.payload_slot_size as usize];
        while let Ok(request) = self.server.next_request() {
            let request: Request = request;
            let len = self.server.read_payload(&request, &mut input).unwrap();
            let (ret, reply) = self
                .linux
                .run(request.call.nr, request.call.args, &input[..len]);
            self.server.respond(&request, ret, &reply).unwrap();
        }
    }

    /// Runs system call `number` as the kernel does: pack, send, wait, copy back.
    fn syscall(&mut self, mem: &Memory, number: u64, args: [u64; 6]) -> i64 {
        let mut call = match ForwardedCall::new(TASK, number, &args, mem, CONFIG.payload_slot_size)
        {
            Ok(Some(call)) => call,
            Ok(None) => panic!("syscall {number} is not forwarded"),
            Err(errno) => return errno.negative(),
        };
        let mut reply = vec![0u8; CONFIG.payload_slot_size as usize];
        loop {
            let (request, payload) = call.request(mem).unwrap().expect("a request to send");
            self.client.submit(request, payload).unwrap();
            self.serve();
            let done = self.client.poll(&mut reply).unwrap();
            let reply = &reply[..done.payload_len as usize];
            if let Some(ret) = call.complete(done.ret, reply, mem).unwrap() {
                return ret;
            }
        }
    }

    fn requests(&self) -> usize {
        self.linux.seen.len()
    }

    /// The last request Linux saw.
    fn last(&self) -> &(u32, [u64; 6], Vec<u8>) {
        self.linux.seen.last().unwrap()
    }
}

fn path(mem: &Memory, at: u64, text: &str) -> u64 {
    mem.put(at, text.as_bytes());
    mem.put(at + text.len() as u64, &[0]);
    at
}

#[test]
fn a_write_larger_than_a_slot_is_split_and_read_back_whole_with_pread_and_readv() {
    let mut bench = Bench::new();
    let mem = Memory::new(64 * 1024);
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let name = path(&mem, BASE, "big.bin");
    let buf = BASE + 0x1000;
    mem.put(buf, &data);
    let flags = 0o1101; // O_WRONLY | O_CREAT | O_TRUNC
    let fd = bench.syscall(&mem, nr::OPEN, [name, flags, 0o644, 0, 0, 0]);
    assert!(fd >= 3, "open: {fd}");
    let before = bench.requests();
    assert_eq!(
        bench.syscall(&mem, nr::WRITE, [fd as u64, buf, 5000, 0, 0, 0]),
        5000
    );
    assert_eq!(
        bench.requests() - before,
        20,
        "5000 bytes in 256-byte chunks"
    );
    assert_eq!(bench.last().1, [fd as u64, 0, 5000 - 19 * 256, 0, 0, 0]);
    assert_eq!(
        bench.syscall(&mem, nr::CLOSE, [fd as u64, 0, 0, 0, 0, 0]),
        0
    );
    assert_eq!(bench.linux.files[&b"big.bin"[..]], data);

    let fd = bench.syscall(&mem, nr::OPENAT, [(-100i64) as u64, name, 0, 0, 0, 0]) as u64;
    let into = BASE + 0x4000;
    assert_eq!(
        bench.syscall(&mem, nr::PREAD64, [fd, into, 4000, 1000, 0, 0]),
        4000
    );
    assert_eq!(mem.get(into, 4000), &data[1000..5000]);
    // readv into three buffers, the middle one empty; the file ends before the last.
    let (a, b) = (BASE + 0x8000, BASE + 0xA000);
    let iov = BASE + 0xC000;
    for (i, v) in [(a, 300u64), (b + 100, 0), (b, 9000)].iter().enumerate() {
        mem.put(iov + 16 * i as u64, &v.0.to_le_bytes());
        mem.put(iov + 16 * i as u64 + 8, &v.1.to_le_bytes());
    }
    assert_eq!(bench.syscall(&mem, nr::READV, [fd, iov, 3, 0, 0, 0]), 5000);
    assert_eq!(mem.get(a, 300), &data[..300]);
    assert_eq!(mem.get(b, 4700), &data[300..]);
    // At the end of the file: 0, and one request only.
    let before = bench.requests();
    assert_eq!(bench.syscall(&mem, nr::READ, [fd, into, 4000, 0, 0, 0]), 0);
    assert_eq!(bench.requests() - before, 1);
}

#[test]
fn paths_travel_nul_terminated_with_their_integer_arguments_and_replies_come_back() {
    let mut bench = Bench::new();
    let mem = Memory::new(16 * 1024);
    bench
        .linux
        .files
        .insert(b"seven".to_vec(), b"1234567".to_vec());
    let st = BASE + 0x1000;
    let seven = path(&mem, BASE, "seven");
    assert_eq!(bench.syscall(&mem, nr::STAT, [seven, st, 0, 0, 0, 0]), 0);
    let size = i64::from_le_bytes(mem.get(st + 48, 8).try_into().unwrap());
    assert_eq!(size, 7, "st_size at offset 48 of {STAT_SIZE} bytes");
    assert_eq!(
        *bench.last(),
        (nr::STAT as u32, [0; 6], b"seven\0".to_vec())
    );

    let moved = path(&mem, BASE + 0x200, "sub/eight");
    assert_eq!(
        bench.syscall(&mem, nr::RENAMEAT, [5, seven, 6, moved, 0, 0]),
        0
    );
    assert_eq!(
        *bench.last(),
        (
            nr::RENAMEAT as u32,
            [5, 0, 6, 0, 0, 0],
            b"seven\0sub/eight\0".to_vec()
        )
    );
    assert_eq!(
        bench.syscall(&mem, nr::MKDIRAT, [5, moved, 0o755, 0, 0, 0]),
        0
    );
    assert_eq!(bench.last().1, [5, 0, 0o755, 0, 0, 0]);
    assert_eq!(
        bench.syscall(&mem, nr::NEWFSTATAT, [5, seven, st, 0x100, 0, 0]),
        0
    );
    assert_eq!(bench.last().1, [5, 0, 0, 0x100, 0, 0]);
    let cwd = BASE + 0x2000;
    assert_eq!(bench.syscall(&mem, nr::GETCWD, [cwd, 4096, 0, 0, 0, 0]), 5);
    assert_eq!(
        bench.last().1,
        [0, 256, 0, 0, 0, 0],
        "size: one slot at most"
    );
    assert_eq!(mem.get(cwd, 5), b"/sub\0");
    assert_eq!(
        bench.syscall(&mem, nr::GETDENTS64, [4, cwd, 8192, 0, 0, 0]),
        0
    );
    assert_eq!(bench.last().1, [4, 0, 256, 0, 0, 0]);
    assert_eq!(bench.syscall(&mem, nr::LSEEK, [4, 10, 2, 0, 0, 0]), 0);
    assert_eq!(bench.last().1, [4, 10, 2, 0, 0, 0]);
}

#[test]
fn bad_pointers_and_long_paths_fail_before_anything_is_sent() {
    let mut bench = Bench::new();
    let mem = Memory::new(8 * 1024);
    let efault = Errno::Fault.negative();
    assert_eq!(bench.syscall(&mem, nr::OPEN, [0x10, 0, 0, 0, 0, 0]), efault);
    assert_eq!(
        bench.syscall(&mem, nr::READ, [0, BASE + 0x1F00, 0x200, 0, 0, 0]),
        efault
    );
    assert_eq!(
        bench.syscall(&mem, nr::FSTAT, [0, BASE + 0x1FFF, 0, 0, 0, 0]),
        efault
    );
    assert_eq!(
        bench.syscall(&mem, nr::WRITEV, [1, BASE, 1025, 0, 0, 0]),
        Errno::Inval.negative()
    );
    // A path running off the task's memory, one longer than PATH_MAX, and one longer
    // than a payload slot.
    mem.put(BASE, &[b'a'; 8 * 1024]);
    let near_end = BASE + 8 * 1024 - 100;
    assert_eq!(
        bench.syscall(&mem, nr::OPEN, [near_end, 0, 0, 0, 0, 0]),
        efault
    );
    let too_long = Errno::NameTooLong.negative();
    assert_eq!(
        bench.syscall(&mem, nr::OPEN, [BASE, 0, 0, 0, 0, 0]),
        too_long
    );
    mem.put(BASE + 300, &[0]);
    assert_eq!(
        bench.syscall(&mem, nr::OPEN, [BASE, 0, 0, 0, 0, 0]),
        Errno::NameTooLong.negative()
    );
    assert_eq!(bench.requests(), 0);
    // Linux's own answer for a bad fd comes back as it is.
    assert_eq!(bench.syscall(&mem, nr::WRITE, [42, BASE, 10, 0, 0, 0]), -9);
}

#[test]
fn an_answer_no_daemon_gives_is_refused() {
    let mem = Memory::new(4096);
    let mut call = ForwardedCall::new(TASK, nr::READ, &[3, BASE, 100, 0, 0, 0], &mem, 64)
        .unwrap()
        .unwrap();
    let (request, _) = call.request(&mem).unwrap().unwrap();
    assert_eq!(
        request.args,
        [3, 0, 64, 0, 0, 0],
        "pointer out, one slot's count"
    );
    // More bytes than asked, then a count larger than the reply carries.
    assert_eq!(
        call.complete(65, &[0; 65], &mem),
        Err(RingError::ResultOutOfRange)
    );
    let mut call = ForwardedCall::new(TASK, nr::READ, &[3, BASE, 100, 0, 0, 0], &mem, 64)
        .unwrap()
        .unwrap();
    call.request(&mem).unwrap();
    assert_eq!(
        call.complete(10, &[0; 4], &mem),
        Err(RingError::ResultOutOfRange)
    );
    let mut call = ForwardedCall::new(TASK, nr::FSTAT, &[3, BASE, 0, 0, 0, 0], &mem, 64)
        .unwrap()
        .unwrap();
    call.request(&mem).unwrap();
    assert_eq!(
        call.complete(0, &[0; STAT_SIZE + 1], &mem),
        Err(RingError::ResultOutOfRange)
    );
}

#[test]
fn only_the_contracts_calls_are_forwarded() {
    for number in [
        nr::READ,
        nr::WRITEV,
        nr::OPENAT,
        nr::NEWFSTATAT,
        nr::GETDENTS64,
        nr::RENAMEAT,
    ] {
        assert!(is_forwarded(number), "{number}");
    }
    for number in [
        nr::EXIT,
        nr::EXIT_GROUP,
        nr::MMAP,
        nr::BRK,
        nr::GETPID,
        nr::IOCTL,
        nr::CLOCK_GETTIME,
    ] {
        assert!(!is_forwarded(number), "{number}");
    }
    let mem = Memory::new(64);
    assert!(ForwardedCall::new(TASK, nr::GETPID, &[0; 6], &mem, 64)
        .unwrap()
        .is_none());
}
