//! The launch mailbox (contract step 5): `crtosctl run` asks the daemon, the daemon
//! fills the mailbox and bumps `launch_seq`; the RTOS makes a forwarded task of the
//! image and answers `launch_result` and `launch_done_seq`.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use crtos_abi::forwarding::{LAUNCH_ARGV_LEN, LAUNCH_OFFSET};
use rtos::config::LAUNCH_PRIO;
use rtos::forward::mailbox::{self, Launch};
use syscall_ring::Call;
use x86_64::PhysAddr;

use super::Forwarder;
use crate::mm::phys_to_virt;
use crate::syscall::errno::Errno;
use crate::task::elf_loader::LoadError;
use crate::task::scheduler::Scheduler;
use crate::task::tcb::Tid;
use crate::task::{self, SpawnError};

impl Forwarder {
    // ANCHOR: take_launch
    /// Serves the mailbox if the daemon posted a launch since the last answer.
    pub fn take_launch(&mut self, sched: &mut Scheduler) {
        let seq = self.control.launch_seq.load(Ordering::Acquire);
        if seq == self.launch_done {
            return;
        }
        let result = match self.launch(sched, seq) {
            Ok(tid) => tid as i32,
            Err(errno) => {
                kprintln!(
                    "rtos: launch {seq} refused: {errno:?} nonce={}",
                    task::nonce()
                );
                errno.negative() as i32
            }
        };
        self.control.launch_result.store(result, Ordering::Relaxed);
        // Release: the result is visible before the daemon sees the answer.
        self.control.launch_done_seq.store(seq, Ordering::Release);
        self.launch_done = seq;
        self.notify_linux();
    }
    // ANCHOR_END: take_launch

    /// Makes the task of launch `seq`, announces it to the daemon and makes it ready.
    fn launch(&mut self, sched: &mut Scheduler, seq: u32) -> Result<Tid, Errno> {
        // No daemon: nobody would serve the task's calls, nor wait for its status.
        if self.ring.is_none() {
            return Err(Errno::Io);
        }
        let launch = self.read_mailbox()?;
        let image = self.copy_image(launch.image_len)?;
        let argv: Vec<&str> = launch.argv.iter().map(|a| a.as_str()).collect();
        let task = task::spawn(sched, launch.name(), LAUNCH_PRIO, &image, &argv, Some(seq))
            .map_err(|e| {
                kprintln!("rtos: launch {seq}: {e} nonce={}", task::nonce());
                match e {
                    SpawnError::Load(LoadError::Invalid(_)) => Errno::NoExec,
                    _ => Errno::NoMem,
                }
            })?;
        // The shadow exists before the task's first call: TaskStart goes first.
        let ring = self.ring.as_mut().ok_or(Errno::Io)?;
        ring.submit(Call::task_start(task.tid, seq), b"", None)
            .map_err(|_| Errno::Again)?;
        self.control.forwarded.fetch_add(1, Ordering::Relaxed);
        let tid = task.tid;
        kprintln!(
            "rtos: launch {seq} -> task {tid} {} prio={LAUNCH_PRIO} nonce={}",
            task.name,
            task::nonce()
        );
        sched.add(task);
        Ok(tid)
    }

    /// The mailbox's argv, argc and image length, copied before they are checked
    /// (the daemon may change them meanwhile).
    fn read_mailbox(&self) -> Result<Launch, Errno> {
        // SAFETY: a plain byte array in the mapped control page; copied whole.
        let argv: [u8; LAUNCH_ARGV_LEN] =
            unsafe { core::ptr::read_volatile(&raw const self.control.launch_argv) };
        let argc = self.control.launch_argc.load(Ordering::Relaxed);
        let image_len = self.control.launch_image_len.load(Ordering::Relaxed);
        mailbox::parse(&argv, argc, image_len)
    }

    /// The ELF image, copied out of the launch area: the loader checks and then reads
    /// it, and the daemon must not be able to change it in between.
    fn copy_image(&self, len: usize) -> Result<Vec<u8>, Errno> {
        let mut image = Vec::new();
        image.try_reserve_exact(len).map_err(|_| Errno::NoMem)?;
        let area = phys_to_virt(PhysAddr::new(self.shared_base + LAUNCH_OFFSET));
        // SAFETY: `mailbox::parse` bounded `len` by LAUNCH_MAX_SIZE, the launch area's
        // size inside the mapped shared region; the capacity is reserved.
        unsafe {
            core::ptr::copy_nonoverlapping(area, image.as_mut_ptr(), len);
            image.set_len(len);
        }
        Ok(image)
    }
}
