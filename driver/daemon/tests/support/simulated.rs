//! A simulated driver and RTOS around a real `crtosd` process: the whole shared
//! region in a file (`crtosd --region`), its control page written as the driver
//! writes it, and an RTOS thread that lays out a ring for each new daemon generation,
//! takes launches from the mailbox and "runs" them by forwarding real calls.
//!
//! A simulated program is a list of commands in its argv (after argv[0]):
//!   image      write "image LEN fnv HASH" of the launch area's bytes to fd 1
//!   say WORD   write WORD and a newline to fd 1
//!   err WORD   write WORD and a newline to fd 2
//!   open       openat(".") and write "opened FD" to fd 1 (never closed)
//!   exit N     exit_group(N)
//!   kill       die of SIGSEGV, as the RTOS kills a faulting task (status 139)
//!   refuse     the RTOS refuses the launch (-ENOEXEC; no task)

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crtos_abi::forwarding::{
    ControlPage, CONTROL_MAGIC, CONTROL_VERSION, KILLED_STATUS_BASE, LAUNCH_ARGV_LEN,
    LAUNCH_OFFSET, RING_MAX_SIZE, RING_OFFSET,
};
use crtosd::RegionMapping;
use syscall_ring::{Call, Client, RingConfig, RingError, SharedRegion};

use super::c_path;

/// How long any one step may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(20);

/// The region file with its control page; the test plays the driver through it.
pub struct Machine {
    pub dir: tempfile::TempDir,
    pub region: PathBuf,
    mapping: RegionMapping,
}

impl Machine {
    /// A fresh region, claimed: zeroes, then magic, version and size.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("jail")).unwrap();
        let region = dir.path().join("region");
        let file = std::fs::File::create_new(&region).unwrap();
        file.set_len(crtos_abi::SHARED_SIZE).unwrap();
        drop(file);
        let mapping = RegionMapping::open(&region, None).unwrap();
        let page = mapping.as_ptr().cast::<ControlPage>();
        // SAFETY: the page is in the fresh mapping; nobody else maps it yet.
        unsafe {
            (*page).magic = CONTROL_MAGIC;
            (*page).version = CONTROL_VERSION;
            (*page).size = std::mem::size_of::<ControlPage>() as u32;
        }
        Self {
            dir,
            region,
            mapping,
        }
    }

    pub fn control(&self) -> &ControlPage {
        // SAFETY: the mapping lives as long as `self`; after `new` only atomics change.
        unsafe { &*self.mapping.as_ptr().cast::<ControlPage>() }
    }

    pub fn jail(&self) -> PathBuf {
        self.dir.path().join("jail")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("crtosd.sock")
    }

    /// The driver's CRTOS_DAEMON_ATTACH (poll mode): a new generation, alive.
    pub fn driver_attach(&self) -> u32 {
        let page = self.control();
        page.notify_mode.store(0, Ordering::Relaxed);
        let generation = page.daemon_generation.fetch_add(1, Ordering::AcqRel) + 1;
        page.daemon_alive.store(1, Ordering::Release);
        generation
    }

    /// What the driver does when the daemon's file is closed.
    pub fn driver_daemon_closed(&self) {
        self.control().daemon_waiting.store(0, Ordering::Relaxed);
        self.control().daemon_alive.store(0, Ordering::Release);
    }

    /// Lays the ring out for `generation` as the RTOS would, but leaves no RTOS
    /// running: the daemon serves, and nobody answers its launches.
    pub fn ring_without_rtos(&self, generation: u32) {
        let base = self.mapping.as_ptr();
        // SAFETY: the ring area is inside the mapping; no daemon uses it yet.
        unsafe {
            let ring = base.add(RING_OFFSET as usize);
            SharedRegion::init(ring, RING_MAX_SIZE as usize, RingConfig::default()).unwrap();
        }
        let page = self.control();
        page.ring_generation.store(generation, Ordering::Release);
    }

    /// Starts the simulated RTOS on its own mapping of the region.
    pub fn start_rtos(&self) -> Rtos {
        let stop = Arc::new(AtomicBool::new(false));
        let region = self.region.clone();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || rtos_main(&region, &flag));
        Rtos {
            stop,
            thread: Some(thread),
        }
    }

    /// `crtosd` serving this machine: its jail, its region file and its socket.
    pub fn daemon_command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crtosd"));
        command
            .arg("--root")
            .arg(self.jail())
            .arg("--region")
            .arg(&self.region)
            .arg("--socket")
            .arg(self.socket());
        command
    }

    /// Starts `crtosd --region` and waits for its "serving generation N" line.
    pub fn start_daemon(&self, generation: u32) -> Daemon {
        let mut child = self
            .daemon_command()
            .arg("--status-file")
            .arg(self.dir.path().join("status"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        let serving = format!("crtosd: serving generation {generation}, notify poll");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with(&serving) {
                    tx.send(()).ok();
                }
                lines.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let daemon = Daemon { child, log };
        if rx.recv_timeout(PATIENCE).is_err() {
            panic!(
                "crtosd never served generation {generation}:\n{}",
                daemon.log()
            );
        }
        daemon
    }

    /// The daemon's status file once it contains every one of `parts` (it is rewritten
    /// after each round of work, a moment after the replies went out), or as it is
    /// when the patience runs out.
    pub fn status_with(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status =
                std::fs::read_to_string(self.dir.path().join("status")).unwrap_or_default();
            if parts.iter().all(|part| status.contains(part)) || Instant::now() > deadline {
                return status;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `crtosctl run --socket ... ARGS`, with stdout and stderr captured in files (not
    /// pipes: a daemon that kept the task's copies open would hang a pipe's reader,
    /// where a file shows what was written when crtosctl exits).
    pub fn crtosctl_run(&self, args: &[&str]) -> Output {
        // Files of their own, so that several runs may go at once.
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let out = self.dir.path().join(format!("crtosctl.{run}.out"));
        let err = self.dir.path().join(format!("crtosctl.{run}.err"));
        let status = Command::new(crtosctl())
            .arg("run")
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&out).unwrap(),
            stderr: std::fs::read(&err).unwrap(),
        }
    }
}

/// The real crtosctl, built next to crtosd (`driver/daemon/ci.sh` builds it first).
pub fn crtosctl() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_crtosd")).with_file_name("crtosctl");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p crtos-ctl), as driver/daemon/ci.sh does",
        path.display()
    );
    path
}

/// A `crtosd` process, killed when dropped.
pub struct Daemon {
    pub child: Child,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The daemon's log once it has a line containing `part` (or as it is when the
    /// patience runs out).
    pub fn log_with(&self, part: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        while !self.log().contains(part) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.log()
    }

    /// Fds the daemon process holds now.
    pub fn open_fds(&self) -> usize {
        let dir = format!("/proc/{}/fd", self.child.id());
        std::fs::read_dir(dir).unwrap().count()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) -> ExitStatus {
        self.child.kill().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The simulated RTOS thread, stopped when dropped.
pub struct Rtos {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Rtos {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let result = thread.join();
            if !std::thread::panicking() {
                result.expect("the simulated RTOS panicked");
            }
        }
    }
}

/// FNV-1a, to compare the image the RTOS saw with the file.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

// ---- the RTOS's side

fn rtos_main(region: &Path, stop: &AtomicBool) {
    let mapping = RegionMapping::open(region, None).unwrap();
    let base = mapping.as_ptr();
    // SAFETY: the control page is at the start of the mapping, which outlives it.
    let control = unsafe { &*base.cast::<ControlPage>() };
    let mut next_task = 100;
    while !stop.load(Ordering::Relaxed) {
        let generation = control.daemon_generation.load(Ordering::Acquire);
        let alive = control.daemon_alive.load(Ordering::Acquire) == 1;
        if !alive || generation == control.ring_generation.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        // A new daemon: lay the ring out afresh, then say for which generation.
        // SAFETY: the ring area is in the mapping; the daemon attaches only after the
        // Release store of ring_generation below.
        let mut ring = unsafe {
            SharedRegion::init(
                base.add(RING_OFFSET as usize),
                RING_MAX_SIZE as usize,
                RingConfig::default(),
            )
            .unwrap()
        };
        control.ring_generation.store(generation, Ordering::Release);
        let mut tasks = Tasks {
            control,
            client: ring.client().unwrap(),
            generation,
            stop,
        };
        while tasks.daemon_is_there() {
            let seq = control.launch_seq.load(Ordering::Acquire);
            if seq != control.launch_done_seq.load(Ordering::Relaxed) {
                // SAFETY: the launch area is in the mapping; the daemon does not
                // write it until this launch is answered.
                let image = unsafe {
                    let len = control.launch_image_len.load(Ordering::Relaxed) as usize;
                    std::slice::from_raw_parts(base.add(LAUNCH_OFFSET as usize), len).to_vec()
                };
                tasks.launch(seq, &image, next_task);
                next_task += 1;
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

struct Tasks<'a> {
    control: &'a ControlPage,
    client: Client<'a>,
    generation: u32,
    stop: &'a AtomicBool,
}

impl Tasks<'_> {
    fn daemon_is_there(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
            && self.control.daemon_alive.load(Ordering::Acquire) == 1
            && self.control.daemon_generation.load(Ordering::Acquire) == self.generation
    }

    fn answer(&self, seq: u32, result: i32) {
        self.control.launch_result.store(result, Ordering::Relaxed);
        self.control.launch_done_seq.store(seq, Ordering::Release);
    }

    /// One call, answered; `None` if the daemon went away meanwhile (-EIO).
    fn call(&mut self, call: Call, payload: &[u8]) -> Option<i64> {
        self.client.submit(call, payload).unwrap();
        self.completion()
    }

    /// The next completion (one request in flight at a time, so it is that one's).
    fn completion(&mut self) -> Option<i64> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.client.poll(&mut []) {
                Ok(done) => return Some(done.ret),
                Err(RingError::Empty) if self.daemon_is_there() => {
                    assert!(Instant::now() < deadline, "crtosd never answered");
                    std::thread::yield_now();
                }
                Err(RingError::Empty) => return None,
                Err(error) => panic!("bad response: {error}"),
            }
        }
    }

    fn write(&mut self, task: u32, fd: u64, text: &str) -> Option<i64> {
        let call = Call::syscall(
            task,
            libc::SYS_write as u32,
            [fd, 0, text.len() as u64, 0, 0, 0],
        );
        self.call(call, text.as_bytes())
    }

    fn launch(&mut self, seq: u32, image: &[u8], task: u32) {
        let argv = self.argv();
        if argv.iter().any(|a| a == "refuse") {
            return self.answer(seq, -libc::ENOEXEC);
        }
        // TaskStart before the task runs; the answer to the mailbox right after it.
        self.client
            .submit(Call::task_start(task, seq), b"")
            .unwrap();
        self.answer(seq, task as i32);
        if self.completion() != Some(0) {
            return;
        }
        let mut status = 0;
        let mut words = argv.iter().skip(1);
        while let Some(word) = words.next() {
            let ret = match word.as_str() {
                "image" => {
                    let line = format!("image {} fnv {:016x}\n", image.len(), fnv(image));
                    self.write(task, 1, &line)
                }
                "say" => self.write(task, 1, &format!("{}\n", words.next().unwrap())),
                "err" => self.write(task, 2, &format!("{}\n", words.next().unwrap())),
                "open" => {
                    let args = [libc::AT_FDCWD as u64, 0, libc::O_RDONLY as u64, 0, 0, 0];
                    let call = Call::syscall(task, libc::SYS_openat as u32, args);
                    let fd = self.call(call, &c_path("."));
                    fd.and_then(|fd| self.write(task, 1, &format!("opened {fd}\n")))
                }
                "exit" => {
                    status = words.next().unwrap().parse().unwrap();
                    break;
                }
                "kill" => {
                    status = KILLED_STATUS_BASE + libc::SIGSEGV;
                    break;
                }
                other => panic!("unknown simulated command {other}"),
            };
            if ret.is_none() {
                return; // the daemon went away: the task's calls fail with -EIO
            }
        }
        let exit = Call::syscall(
            task,
            libc::SYS_exit_group as u32,
            [status as u64, 0, 0, 0, 0, 0],
        );
        self.call(exit, b"");
    }

    fn argv(&self) -> Vec<String> {
        let argc = self.control.launch_argc.load(Ordering::Relaxed) as usize;
        // SAFETY: plain bytes the daemon wrote before its Release of launch_seq.
        let bytes = unsafe { std::ptr::read(&self.control.launch_argv) };
        let strings: Vec<String> = bytes[..LAUNCH_ARGV_LEN]
            .split(|&b| b == 0)
            .take(argc)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        assert_eq!(strings.len(), argc);
        strings
    }
}
