//! The serve loop: drain the ring, run each request in its task's shadow, answer.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crtos_abi::forwarding::KILLED_STATUS_BASE;
use rustix::io::Errno;
use syscall_ring::{Opcode, Request, RingError, Server};

use crate::calls::{self, ForwardedCall, Reply};
use crate::log_limit::RateLimitedLog;
use crate::notifier::Wake;
use crate::refusal::{CallError, CallResult};
use crate::{Jail, Launcher, Launches, Notifier, Refusal, Shadow, Shadows, Stats};

/// How often the daemon looks at the launch socket when no wait said it is readable.
const LAUNCH_CHECK_PERIOD: Duration = Duration::from_millis(1);

/// A response the response queue had no room for, kept until it has (its bytes stay
/// in `Daemon::reply`: no request is taken meanwhile).
struct Unsent {
    request: Request,
    ret: i64,
}

// ANCHOR: daemon
/// The Linux end of the ring and everything it serves.
pub struct Daemon<'r> {
    server: Server<'r>,
    jail: Jail,
    shadows: Shadows,
    /// What a run-list task's fds 0, 1, 2 are duplicated from: the daemon's own stdio
    /// (a launched task gets the ones `crtosctl run` sent).
    stdio: [OwnedFd; 3],
    /// The launch socket and mailbox, if this daemon takes launches.
    launcher: Option<Launcher<'r>>,
    launches: Launches,
    /// When the launcher last looked at its socket, and whether the last wait saw
    /// the socket readable since.
    launch_checked: Instant,
    launch_ready: bool,
    stats: Stats,
    log: RateLimitedLog,
    /// The request's payload, copied out of shared memory before use.
    input: Vec<u8>,
    reply: Reply,
    unsent: Option<Unsent>,
}
// ANCHOR_END: daemon

impl<'r> Daemon<'r> {
    pub fn new(server: Server<'r>, slot_size: u32, jail: Jail, stdio: [OwnedFd; 3]) -> Self {
        Self {
            server,
            jail,
            shadows: Shadows::default(),
            stdio,
            launcher: None,
            launches: Launches::default(),
            launch_checked: Instant::now(),
            launch_ready: false,
            stats: Stats::default(),
            log: RateLimitedLog::default(),
            input: vec![0; slot_size as usize],
            reply: Reply::new(slot_size as usize),
            unsent: None,
        }
    }

    /// Takes `crtosctl run` launches from `launcher` while serving.
    pub fn with_launcher(mut self, launcher: Launcher<'r>) -> Self {
        self.launcher = Some(launcher);
        self
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn shadows(&self) -> &Shadows {
        &self.shadows
    }

    // ANCHOR: serve
    /// Serves until `stop` is set: drain, serve the launch socket, and wait only when
    /// neither found anything. Draining after every wake-up, before the next wait, is
    /// what makes a lost wake-up impossible: work posted during a drain is seen by the
    /// next drain (and the notifier's own last look covers the time before it sleeps).
    /// `after_work` sees the counters after each round that found work.
    pub fn serve(
        &mut self,
        notifier: &mut impl Notifier,
        stop: &AtomicBool,
        mut after_work: impl FnMut(&Stats),
    ) {
        while !stop.load(Ordering::Relaxed) {
            let took = self.drain();
            if took > 0 {
                notifier.responded();
            }
            let launched = self.serve_launches(notifier);
            if took > 0 || launched {
                notifier.found_work();
                after_work(&self.stats);
            } else {
                let wake = self.wake_sources();
                self.launch_ready = notifier.wait(&self.server, &wake);
            }
        }
    }

    /// One round of the launch socket and mailbox; whether anything happened. Only
    /// when the last wait saw the socket readable, or every `LAUNCH_CHECK_PERIOD`:
    /// an `accept` in every round would put a system call between the spinning
    /// daemon and the next request.
    fn serve_launches(&mut self, notifier: &mut impl Notifier) -> bool {
        let Some(launcher) = &mut self.launcher else {
            return false;
        };
        if !self.launch_ready && self.launch_checked.elapsed() < LAUNCH_CHECK_PERIOD {
            return false;
        }
        self.launch_ready = false;
        self.launch_checked = Instant::now();
        launcher.service(&mut self.launches, &mut self.stats, notifier)
    }

    /// What besides the ring ends a wait: the launch socket, and the time to look
    /// for the RTOS's answer to a posted launch.
    fn wake_sources(&self) -> Wake<'_> {
        match &self.launcher {
            Some(launcher) => Wake {
                fds: launcher.wake_fds().collect(),
                timeout: launcher.wake_timeout(),
            },
            None => Wake::default(),
        }
    }

    /// Handles every request waiting now; returns how many entries it took.
    pub fn drain(&mut self) -> usize {
        let mut taken = 0;
        while self.flush_unsent() {
            match self.server.next_request() {
                Ok(request) => self.handle(request),
                Err(RingError::Empty) => break,
                Err(error) => {
                    self.malformed(error);
                    // An impossible index stays impossible: wait for the next round
                    // rather than spin on it.
                    if error == RingError::IndexOutOfRange {
                        break;
                    }
                }
            }
            taken += 1;
        }
        taken
    }
    // ANCHOR_END: serve

    fn malformed(&mut self, error: RingError) {
        self.stats.ring_error(error);
        self.log
            .log(format_args!("malformed ring entry rejected: {error}"));
    }

    // ANCHOR: handle
    fn handle(&mut self, request: Request) {
        self.reply.clear();
        let result = match request.call.opcode {
            Opcode::TaskStart => self.start_task(request.call.task, request.call.args[0] as u32),
            Opcode::Syscall => self.syscall(&request),
        };
        let ret = match result {
            Ok(ret) => ret,
            Err(error) => {
                if let CallError::Refused(refusal) = error {
                    self.refused(&request, refusal);
                }
                self.reply.clear();
                -i64::from(error.errno().raw_os_error())
            }
        };
        self.stats.served += 1;
        self.unsent = Some(Unsent { request, ret });
        self.flush_unsent();
    }
    // ANCHOR_END: handle

    fn refused(&mut self, request: &Request, refusal: Refusal) {
        self.stats.refusal(refusal);
        let (task, nr) = (request.call.task, request.call.nr);
        self.log
            .log(format_args!("task {task}: call {nr} refused: {refusal:?}"));
    }

    /// Sends the unsent response, if any. `false` if it is still waiting for room.
    fn flush_unsent(&mut self) -> bool {
        let Some(Unsent { request, ret }) = self.unsent.take() else {
            return true;
        };
        match self.server.respond(&request, ret, self.reply.as_bytes()) {
            Err(RingError::Full) => {
                // Only a client with more requests in flight than slots gets here.
                self.malformed(RingError::Full);
                self.unsent = Some(Unsent { request, ret });
                false
            }
            // A response that cannot be written is the validated request's own
            // buffer failing validation: impossible, but never a crash.
            Err(error) => {
                self.malformed(error);
                true
            }
            Ok(()) => true,
        }
    }

    // ANCHOR: task_start
    /// `TaskStart(task, launch)`: a new shadow whose fds 0, 1, 2 are the ones
    /// `crtosctl run` sent for `launch`, or copies of the daemon's stdio (launch 0: a
    /// task of the RTOS's run list).
    fn start_task(&mut self, task: u32, launch: u32) -> CallResult {
        // The RTOS says `task` is new. A shadow still under that id belongs to a task of
        // an earlier RTOS run (stopped and started again under this daemon): that task
        // is gone, so its shadow closes and its launcher hears it was killed.
        if self.shadows.exit(task).is_ok() {
            self.launches
                .task_exited(task, KILLED_STATUS_BASE + libc::SIGKILL);
            self.stats.tasks_exited += 1;
            self.log.log(format_args!(
                "task {task} started again: the shadow of an earlier task {task} is closed"
            ));
        }
        let launched = match launch {
            0 => None,
            launch => self.launches.task_started(task, launch),
        };
        if launch != 0 && launched.is_none() {
            self.log.log(format_args!(
                "task {task}: launch {launch} has no client (it timed out?): the daemon's stdio"
            ));
        }
        let stdio = match launched {
            Some(stdio) => stdio,
            None => self.own_stdio()?,
        };
        let shadow = Shadow::new(&self.jail, stdio)?;
        self.shadows.start(task, shadow);
        self.stats.tasks_started += 1;
        Ok(0)
    }
    // ANCHOR_END: task_start

    /// Copies of the daemon's stdio (`try_clone` is `dup` with `O_CLOEXEC`).
    fn own_stdio(&self) -> Result<[OwnedFd; 3], Errno> {
        let dup = |fd: &OwnedFd| {
            fd.try_clone()
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
        };
        Ok([
            dup(&self.stdio[0])?,
            dup(&self.stdio[1])?,
            dup(&self.stdio[2])?,
        ])
    }

    fn syscall(&mut self, request: &Request) -> CallResult {
        let call = &request.call;
        let nr = i64::from(call.nr);
        if nr == libc::SYS_exit || nr == libc::SYS_exit_group {
            // Dual-side: the task is gone on the RTOS; its shadow goes too, and the
            // `crtosctl run` that launched it (if any) gets the status.
            let status = call.args[0] as i32;
            self.shadows.exit(call.task)?;
            self.launches.task_exited(call.task, status);
            self.stats.tasks_exited += 1;
            return Ok(0);
        }
        let shadow = self.shadows.get_mut(call.task)?;
        let len = self
            .server
            .read_payload(request, &mut self.input)
            .map_err(|_| Refusal::BadPayload)?;
        let mut forwarded = ForwardedCall {
            shadow,
            jail: &self.jail,
            args: call.args,
            input: &self.input[..len],
            reply: &mut self.reply,
        };
        let result = calls::dispatch(call.nr, &mut forwarded);
        result.unwrap_or_else(|| {
            self.stats.not_forwarded += 1;
            let (task, nr) = (call.task, call.nr);
            self.log.log(format_args!(
                "task {task}: system call {nr} is not forwarded"
            ));
            Err(Errno::NOSYS.into())
        })
    }
}
