//! `--notify uintr` (lab 4): user interrupts both ways, no system call on the send.
//!
//! The serving thread is a UINTR receiver (driver/module/uintr.c). It sleeps in
//! CRTOS_UINTR_WAIT, where its UPID names the driver's wake-up vector, so the RTOS's
//! SENDUIPI (through the RTOS kernel's own UITT, naming our slot) wakes it. After
//! posting responses it executes SENDUIPI itself, through a UITT entry naming the RTOS
//! forwarder's UPID; that UPID's NV is the RTOS's ordinary notification vector, so
//! the RTOS takes it exactly as it takes the driver's IPI in `ipi` mode.
//!
//! The launch socket: a thread blocked in CRTOS_UINTR_WAIT cannot also be in
//! `poll(2)`, and the driver's WAIT knows nothing of sockets. So a second thread, the
//! [`LaunchWatcher`], sits in `poll(2)` on the listening socket and, when a client
//! connects, wakes the server the same way the RTOS does: SENDUIPI, through its own
//! UITT entry naming the server's UPID (vector [`LAUNCH_USER_VECTOR`]). One wake-up
//! mechanism, no eventfd or signal beside it. While a launch is in flight (a client
//! accepted, or the RTOS's answer awaited) the server polls those fds with a bounded
//! sleep instead, as `poll` mode does: they come and go with each launch, and
//! launches are rare.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use syscall_ring::Server;
use uintr_user::Device;

use crate::notifier::{arm_then_check, notify_rtos, poll_readable, rtos_needs_wakeup, Decision};
use crate::notifier::{Wake, MAX_SLEEP};
use crate::{Control, Notifier};

/// The user vector the RTOS posts to the daemon (published as `daemon_user_vector`).
pub const DAEMON_USER_VECTOR: u8 = 0;
/// The user vector the launch watcher posts to the daemon.
pub const LAUNCH_USER_VECTOR: u8 = 1;

/// User interrupts this process has taken (both vectors), for the status file.
pub fn interrupts_taken() -> u64 {
    uintr_user::hits(DAEMON_USER_VECTOR) + uintr_user::hits(LAUNCH_USER_VECTOR)
}

/// The serving thread, registered as a receiver (before attaching: a CPU or driver
/// without UINTR is refused before the RTOS sees a `uintr` daemon).
pub struct UintrReceiver {
    device: Device,
    pub slot: u32,
}

impl UintrReceiver {
    /// Call in the serving thread (the driver keys receivers on the thread).
    pub fn register(device: &File) -> Result<Self, String> {
        let device = Device::from(device.try_clone().map_err(|e| format!("dup: {e}"))?);
        let slot = device
            .register_receiver(uintr_user::handler())
            .map_err(|e| {
                let hint = match e.raw_os_error() {
                    Some(libc::EOPNOTSUPP) => {
                        " (no user interrupts here: the CPU has no UINTR, or KPTI is on)"
                    }
                    Some(libc::ENOTTY) => " (the loaded crtos.ko has no user interrupts)",
                    _ => "",
                };
                format!("--notify uintr: CRTOS_UINTR_REGISTER_RECEIVER: {e}{hint}")
            })?;
        Ok(Self { device, slot })
    }

    /// Tells the RTOS where to send (protocol step 1): slot and vector, then ready
    /// (release: whoever sees ready == 1 sees both). After CRTOS_DAEMON_ATTACH, which
    /// clears `daemon_uintr_ready`.
    pub fn publish(&self, control: Control<'_>) {
        let page = control.page();
        page.daemon_upid_slot.store(self.slot, Ordering::Relaxed);
        page.daemon_user_vector
            .store(DAEMON_USER_VECTOR.into(), Ordering::Relaxed);
        page.daemon_uintr_ready.store(1, Ordering::Release);
    }
}

/// How the daemon wakes the RTOS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RtosRoute {
    /// The RTOS has not published a forwarder UPID (yet): the driver's IPI.
    Unknown,
    /// SENDUIPI with this index of the serving thread's UITT.
    Uintr(u64),
    /// The driver refused the entry (said once in the log): the driver's IPI.
    Driver,
}

pub struct UintrNotifier<'m> {
    receiver: UintrReceiver,
    control: Control<'m>,
    to_rtos: RtosRoute,
    watcher: LaunchWatcher,
}

impl<'m> UintrNotifier<'m> {
    /// `listener`: the launch socket the watcher thread polls.
    pub fn new(
        receiver: UintrReceiver,
        control: Control<'m>,
        listener: BorrowedFd<'_>,
    ) -> Result<Self, String> {
        let watcher = LaunchWatcher::spawn(&receiver, listener)?;
        uintr_user::enable();
        let mut notifier = Self {
            receiver,
            control,
            to_rtos: RtosRoute::Unknown,
            watcher,
        };
        // The ring is ours by now: the RTOS has usually published its UPID already,
        // and the entry is then made here rather than on the first wake-up.
        notifier.rtos_entry();
        Ok(notifier)
    }

    /// The serving thread's UPID slot.
    pub fn slot(&self) -> u32 {
        self.receiver.slot
    }

    /// The RTOS's forwarder UPID, once it published one: a UITT entry to it, made by
    /// the serving thread (UITTs are per thread). Until then, and if the RTOS has no
    /// UINTR, the driver's IPI (CRTOS_NOTIFY_RTOS) wakes it.
    fn rtos_entry(&mut self) -> Option<u64> {
        if self.to_rtos == RtosRoute::Unknown {
            let page = self.control.page();
            if page.rtos_uintr_ready.load(Ordering::Acquire) == 1 {
                let slot = page.rtos_upid_slot.load(Ordering::Relaxed);
                let vector = page.rtos_user_vector.load(Ordering::Relaxed);
                self.to_rtos = match self.receiver.device.register_sender(slot, vector) {
                    Ok(index) => {
                        eprintln!(
                            "crtosd: uintr: SENDUIPI to the RTOS's UPID slot {slot} \
                             vector {vector} (UITT index {index})"
                        );
                        RtosRoute::Uintr(index)
                    }
                    Err(e) => {
                        eprintln!(
                            "crtosd: uintr: CRTOS_UINTR_REGISTER_SENDER slot {slot}: {e}; \
                             waking the RTOS through the driver"
                        );
                        RtosRoute::Driver
                    }
                };
            }
        }
        match self.to_rtos {
            RtosRoute::Uintr(index) => Some(index),
            _ => None,
        }
    }

    fn wake_rtos(&mut self) {
        match self.rtos_entry() {
            Some(index) => uintr_user::senduipi(index),
            None => notify_rtos(self.receiver.device.file()),
        }
    }
}

// ANCHOR: uintr_notifier
impl Notifier for UintrNotifier<'_> {
    fn wait(&mut self, ring: &Server<'_>, wake: &Wake<'_>) -> bool {
        if wake.timeout.is_some() || wake.fds.len() > 1 {
            // A launch in flight: bounded polling (see the module comment).
            let sleep = wake.timeout.map_or(MAX_SLEEP, |t| t.min(MAX_SLEEP));
            return poll_readable(&wake.fds, Some(sleep)).contains(&true);
        }
        // UIF off across the last look and WAIT: a SENDUIPI that lands in between
        // stays pending in UIRR (WAIT then returns at once) instead of being taken by
        // the handler, after which WAIT would sleep with the news already consumed.
        uintr_user::disable();
        let page = self.control.page();
        if arm_then_check(page, || ring.has_request() || self.watcher.is_ready()) == Decision::Sleep
        {
            if let Err(e) = self.receiver.device.wait() {
                if e.kind() != io::ErrorKind::Interrupted {
                    eprintln!("crtosd: CRTOS_UINTR_WAIT: {e}");
                }
            }
        }
        page.daemon_waiting.store(0, Ordering::Relaxed);
        uintr_user::enable(); // the handler counts what arrived
        self.watcher.take_ready()
    }

    fn responded(&mut self) {
        if rtos_needs_wakeup(self.control.page()) {
            self.wake_rtos();
        }
    }

    fn launch_posted(&mut self) {
        // The RTOS may halt with no task waiting (rtos_waiting 0): wake it always.
        self.wake_rtos();
    }
}
// ANCHOR_END: uintr_notifier

/// The thread that polls the launch socket for the server and wakes it by SENDUIPI.
struct LaunchWatcher {
    /// Set by the watcher when the socket is readable, cleared by the server.
    ready: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LaunchWatcher {
    fn spawn(receiver: &UintrReceiver, listener: BorrowedFd<'_>) -> Result<Self, String> {
        let device = Device::from(
            receiver
                .device
                .file()
                .try_clone()
                .map_err(|e| format!("dup: {e}"))?,
        );
        let listener = listener
            .try_clone_to_owned()
            .map_err(|e| format!("dup: {e}"))?;
        // The entry is the watcher thread's own: made in it, reported back.
        let slot = receiver.slot;
        let ready = Arc::new(AtomicBool::new(false));
        let (registered, result) = std::sync::mpsc::channel();
        let flag = ready.clone();
        let thread = std::thread::Builder::new()
            .name("launch-watcher".into())
            .spawn(
                move || match device.register_sender(slot, LAUNCH_USER_VECTOR.into()) {
                    Ok(index) => {
                        let _ = registered.send(Ok(()));
                        watch(&listener, index, &flag);
                    }
                    Err(e) => {
                        let _ = registered.send(Err(e));
                    }
                },
            )
            .map_err(|e| format!("launch watcher: {e}"))?;
        match result.recv() {
            Ok(Ok(())) => Ok(Self { ready, thread }),
            Ok(Err(e)) => Err(format!("launch watcher: CRTOS_UINTR_REGISTER_SENDER: {e}")),
            Err(_) => Err("launch watcher: the thread died".into()),
        }
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Whether the socket was readable; lets the watcher watch again.
    fn take_ready(&self) -> bool {
        let was = self.ready.swap(false, Ordering::SeqCst);
        if was {
            self.thread.thread().unpark();
        }
        was
    }
}

/// Forever: wait for the socket, say so, SENDUIPI the server, and wait until the
/// server took the news (it accepts, so the socket is not readable at once again).
/// The flag is set before the send: a server that looks at the flag after its
/// CLUI either sees it, or sleeps and the send wakes it (or is already pending).
fn watch(listener: &OwnedFd, index: u64, ready: &AtomicBool) {
    loop {
        if !poll_readable(&[listener.as_fd()], None)[0] {
            continue; // interrupted
        }
        ready.store(true, Ordering::SeqCst);
        uintr_user::senduipi(index);
        while ready.load(Ordering::SeqCst) {
            std::thread::park();
        }
    }
}
