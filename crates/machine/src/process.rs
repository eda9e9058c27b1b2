//! The emulator process: started in a process group of its own, so that ending a run
//! kills everything it started, and tied to the runner's life (PR_SET_PDEATHSIG), so
//! that even a runner killed with SIGKILL leaves no emulator behind.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Emulator {
    child: Child,
    pgid: i32,
}

impl Emulator {
    /// Starts `cmd` with no standard input and its output in `run_dir/emulator.{out,err}`.
    pub fn spawn(mut cmd: Command, run_dir: &Path) -> io::Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(File::create(run_dir.join("emulator.out"))?)
            .stderr(File::create(run_dir.join("emulator.err"))?)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let pgid = child.id() as i32;
        Ok(Emulator { child, pgid })
    }

    /// The exit status, if the emulator has ended.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits up to `grace` for the emulator to end by itself.
    pub fn wait_for(&mut self, grace: Duration) -> io::Result<Option<ExitStatus>> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if start.elapsed() >= grace {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process group id (= the emulator's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Kills the whole process group and reaps the emulator.
    pub fn kill_group(&mut self) {
        // SAFETY: signalling our own child's process group.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// True while any process of group `pgid` is alive.
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}
