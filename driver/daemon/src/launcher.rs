//! The launch mailbox's daemon side: takes `crtosctl run` requests from the Unix
//! socket and hands them to the RTOS through the control page, one at a time
//! (crtos_abi::forwarding: the daemon fills `launch_*`, bumps `launch_seq`; the RTOS
//! answers `launch_result`, then `launch_done_seq`).
//!
//! Never blocks: the socket is non-blocking, a client that has not sent its request
//! yet waits in `arriving`, and the RTOS's answer is looked for on each round.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crtos_abi::forwarding::LAUNCH_MAX_SIZE;
use rustix::net::SocketFlags;

use crate::launch_protocol::{self, EXIT_CANNOT_RUN};
use crate::mapping::LaunchArea;
use crate::{Control, Launches, Notifier, Stats};

/// How long the RTOS may take to answer a launch before the client is told it failed.
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often to look for the RTOS's answer while a launch is posted (the RTOS sends
/// no notification for it).
pub const ANSWER_POLL: Duration = Duration::from_millis(10);
/// Clients accepted and waiting for their turn; more wait in the listen backlog.
const MAX_ARRIVING: usize = 16;

/// A launch posted to the RTOS, not answered yet.
struct Waiting {
    seq: u32,
    program: String,
    deadline: Instant,
}

pub struct Launcher<'m> {
    listener: OwnedFd,
    control: Control<'m>,
    area: LaunchArea<'m>,
    /// Connected clients, oldest first, whose request has not been taken yet.
    arriving: Vec<OwnedFd>,
    waiting: Option<Waiting>,
}

impl<'m> Launcher<'m> {
    /// Listens on `path` (see `launch_protocol::listen`).
    pub fn bind(path: &Path, control: Control<'m>, area: LaunchArea<'m>) -> io::Result<Self> {
        Ok(Self {
            listener: launch_protocol::listen(path, MAX_ARRIVING)?,
            control,
            area,
            arriving: Vec::new(),
            waiting: None,
        })
    }

    /// The listening socket (readable when a client connects).
    pub fn listener(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// What should end the daemon's wait: a client connecting or sending, and, while
    /// a launch is posted, the time to look for the answer again.
    pub fn wake_fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        let arriving = self.arriving.iter().map(|fd| fd.as_fd());
        // Only the first arriving client's request is taken next.
        let next = if self.waiting.is_none() {
            arriving.take(1)
        } else {
            arriving.take(0)
        };
        std::iter::once(self.listener.as_fd()).chain(next)
    }

    pub fn wake_timeout(&self) -> Option<Duration> {
        self.waiting.as_ref().map(|_| ANSWER_POLL)
    }

    // ANCHOR: service
    /// One round: accept, look for the RTOS's answer, post the next request. Returns
    /// whether anything happened.
    pub fn service(
        &mut self,
        launches: &mut Launches,
        stats: &mut Stats,
        notifier: &mut impl Notifier,
    ) -> bool {
        let mut busy = self.accept();
        if let Some(waiting) = &self.waiting {
            let page = self.control.page();
            // Acquire: `launch_result`, written before `launch_done_seq`, is visible.
            if page.launch_done_seq.load(Ordering::Acquire) == waiting.seq {
                let result = page.launch_result.load(Ordering::Relaxed);
                launches.answered(waiting.seq, result, &waiting.program);
                if result < 0 {
                    stats.launches_failed += 1;
                }
                self.waiting = None;
                busy = true;
            } else if Instant::now() > waiting.deadline {
                let message = format!(
                    "{}: the RTOS did not answer launch {} within {} s (is it running?)",
                    waiting.program,
                    waiting.seq,
                    LAUNCH_TIMEOUT.as_secs()
                );
                launches.failed(waiting.seq, EXIT_CANNOT_RUN, message);
                stats.launches_failed += 1;
                self.waiting = None;
                busy = true;
            }
        }
        if self.waiting.is_none() && !self.arriving.is_empty() {
            busy |= self.take_request(launches, stats, notifier);
        }
        busy
    }
    // ANCHOR_END: service

    /// Accepts pending connections while fewer than `MAX_ARRIVING` wait for their
    /// turn (the others wait in the listen backlog).
    fn accept(&mut self) -> bool {
        let mut accepted = false;
        while self.arriving.len() < MAX_ARRIVING {
            let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
            let Ok(client) = rustix::net::accept_with(&self.listener, flags) else {
                break;
            };
            self.arriving.push(client);
            accepted = true;
        }
        accepted
    }

    /// Takes the oldest client's request if it has arrived, and posts it.
    fn take_request(
        &mut self,
        launches: &mut Launches,
        stats: &mut Stats,
        notifier: &mut impl Notifier,
    ) -> bool {
        // The request is always read before any answer: closing a socket with unread
        // data resets the connection, and the client would see that, not the answer.
        let request = match launch_protocol::receive_request(self.arriving[0].as_fd()) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return false,
            other => other,
        };
        let client = self.arriving.remove(0);
        let request = match request {
            Ok(request) => request,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return true,
            Err(error) => {
                refuse(&client, stats, format!("bad launch request: {error}"));
                return true;
            }
        };
        let program = program_name(&request.argv);
        // A launch the RTOS never answered (it timed out) may still be read: the area
        // is not ours to overwrite until it is answered.
        let page = self.control.page();
        let seq = page.launch_seq.load(Ordering::Relaxed);
        if seq != page.launch_done_seq.load(Ordering::Acquire) {
            let message =
                format!("{program}: the RTOS has not answered launch {seq} yet (is it running?)");
            refuse(&client, stats, message);
            return true;
        }
        match read_image(request.program, &program) {
            Ok(image) => {
                let seq = self.post(&image, &request.argv, request.argc, notifier);
                eprintln!("crtosd: launch {seq}: {program} ({} bytes)", image.len());
                launches.posted(seq, client, request.stdio);
                stats.launches += 1;
                let deadline = Instant::now() + LAUNCH_TIMEOUT;
                self.waiting = Some(Waiting {
                    seq,
                    program,
                    deadline,
                });
            }
            Err(message) => refuse(&client, stats, message),
        }
        true
    }

    // ANCHOR: post
    /// Fills the mailbox and bumps `launch_seq`; returns the new sequence number.
    fn post(&mut self, image: &[u8], argv: &[u8], argc: u32, notifier: &mut impl Notifier) -> u32 {
        self.area.write(image);
        self.control.write_argv(argv);
        let page = self.control.page();
        page.launch_argc.store(argc, Ordering::Relaxed);
        page.launch_image_len
            .store(image.len() as u32, Ordering::Relaxed);
        // Our own field, so reading it back is safe even after a restart (the previous
        // daemon's launches were numbered before ours). 0 means "no launch": skipped.
        let seq = match page.launch_seq.load(Ordering::Relaxed).wrapping_add(1) {
            0 => 1,
            seq => seq,
        };
        // Release: the image, argv, argc and length above are visible to an RTOS that
        // sees the new sequence number with Acquire.
        page.launch_seq.store(seq, Ordering::Release);
        notifier.launch_posted();
        seq
    }
    // ANCHOR_END: post
}

/// Tells a client its launch started nothing (exit status 126), and counts it.
fn refuse(client: &OwnedFd, stats: &mut Stats, message: String) {
    eprintln!("crtosd: launch refused: {message}");
    let reply = launch_protocol::Reply::Failed {
        code: EXIT_CANNOT_RUN,
        message,
    };
    launch_protocol::send_reply(client, &reply).ok();
    stats.launches_failed += 1;
}

/// argv[0], for messages.
fn program_name(argv: &[u8]) -> String {
    let first = argv.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(first).into_owned()
}

/// Reads the program and checks it can be handed over: at most `LAUNCH_MAX_SIZE`
/// bytes, and an ELF file (the RTOS checks the rest).
fn read_image(program: OwnedFd, name: &str) -> Result<Vec<u8>, String> {
    let mut file = File::from(program);
    let mut image = Vec::new();
    // One byte more than fits tells "too large" without reading a huge file whole.
    (&mut file)
        .take(LAUNCH_MAX_SIZE + 1)
        .read_to_end(&mut image)
        .map_err(|e| format!("{name}: cannot read it: {e}"))?;
    if image.len() as u64 > LAUNCH_MAX_SIZE {
        return Err(format!(
            "{name}: too large: the launch area holds {LAUNCH_MAX_SIZE} bytes"
        ));
    }
    if !image.starts_with(b"\x7fELF") {
        return Err(format!("{name}: not an ELF executable"));
    }
    Ok(image)
}
