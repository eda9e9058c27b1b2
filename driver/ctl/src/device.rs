//! /dev/crtos: the ioctls and the shared-region mapping, each returning the raw
//! `io::Error` (errno) so that `explain` can turn it into a sentence.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::abi::{self, AttachArg, HypercallArg, ImageArg, ProbeArg, Query, StartRtosArg, Status};

pub const DEVICE: &str = "/dev/crtos";

pub struct Device {
    file: File,
}

/// An ioctl failure with the image reject reason, when the driver gave one.
pub struct IoctlError {
    pub error: io::Error,
    pub reject_reason: u32,
}

impl From<io::Error> for IoctlError {
    fn from(error: io::Error) -> Self {
        IoctlError {
            error,
            reject_reason: 0,
        }
    }
}

impl Device {
    pub fn open() -> io::Result<Device> {
        Self::open_with_flags(0)
    }

    /// Opens with extra `open(2)` flags (O_NONBLOCK: read(2) answers EAGAIN).
    pub fn open_with_flags(flags: i32) -> io::Result<Device> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(flags)
            .open(DEVICE)?;
        Ok(Device { file })
    }

    fn ioctl(&self, request: u64, arg: *mut libc::c_void) -> io::Result<()> {
        // SAFETY: `request` encodes the size of the struct `arg` points to (abi.rs).
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), request as libc::c_ulong, arg) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn image_ioctl(&self, request: u64, image: &[u8]) -> Result<(), IoctlError> {
        let mut arg = ImageArg {
            addr: image.as_ptr() as u64,
            size: image.len() as u64,
            ..Default::default()
        };
        self.ioctl(request, (&mut arg as *mut ImageArg).cast())
            .map_err(|error| IoctlError {
                error,
                reject_reason: arg.reject_reason,
            })
    }

    pub fn enable(&self, image: &[u8]) -> Result<(), IoctlError> {
        self.image_ioctl(abi::IOCTL_ENABLE, image)
    }

    /// START_RTOS with `image` and the RTOS's run list `cmdline`.
    pub fn start_rtos(&self, image: &[u8], cmdline: &str) -> Result<(), IoctlError> {
        let mut arg = StartRtosArg {
            image: ImageArg {
                addr: image.as_ptr() as u64,
                size: image.len() as u64,
                ..Default::default()
            },
            cmdline_addr: cmdline.as_ptr() as u64,
            cmdline_len: cmdline.len() as u64,
        };
        self.ioctl(
            abi::IOCTL_START_RTOS,
            (&mut arg as *mut StartRtosArg).cast(),
        )
        .map_err(|error| IoctlError {
            error,
            reject_reason: arg.image.reject_reason,
        })
    }

    pub fn stop_rtos(&self) -> io::Result<()> {
        self.ioctl(abi::IOCTL_STOP_RTOS, std::ptr::null_mut())
    }

    pub fn disable(&self) -> io::Result<()> {
        self.ioctl(abi::IOCTL_DISABLE, std::ptr::null_mut())
    }

    pub fn status(&self) -> io::Result<Status> {
        let mut status = Status::default();
        self.ioctl(abi::IOCTL_STATUS, (&mut status as *mut Status).cast())?;
        Ok(status)
    }

    pub fn query(&self) -> io::Result<Query> {
        let mut query = Query::default();
        self.ioctl(abi::IOCTL_QUERY, (&mut query as *mut Query).cast())?;
        Ok(query)
    }

    /// Has the driver issue hypercall `nr` in kernel mode; the hypervisor's answer.
    pub fn hypercall(&self, nr: u64, args: [u64; 3]) -> io::Result<i64> {
        let mut arg = HypercallArg { nr, args, ret: 0 };
        self.ioctl(abi::IOCTL_HYPERCALL, (&mut arg as *mut HypercallArg).cast())?;
        Ok(arg.ret)
    }

    /// Reads 8 bytes of the reservation at `offset` through the driver's mapping.
    pub fn probe_read(&self, offset: u64) -> io::Result<u64> {
        let mut arg = ProbeArg { offset, value: 0 };
        self.ioctl(abi::IOCTL_PROBE_READ, (&mut arg as *mut ProbeArg).cast())?;
        Ok(arg.value)
    }

    /// Lab 3: DAEMON_ATTACH with `notify_mode` (crtos_abi::forwarding::NotifyMode);
    /// the new daemon generation.
    pub fn daemon_attach(&self, notify_mode: u32) -> io::Result<u32> {
        let mut arg = AttachArg {
            notify_mode,
            generation: 0,
        };
        self.ioctl(
            abi::IOCTL_DAEMON_ATTACH,
            (&mut arg as *mut AttachArg).cast(),
        )?;
        Ok(arg.generation)
    }

    /// Lab 3: NOTIFY_RTOS (this file must be the attached daemon's).
    pub fn notify_rtos(&self) -> io::Result<()> {
        self.ioctl(abi::IOCTL_NOTIFY_RTOS, std::ptr::null_mut())
    }

    /// Lab 3: read(2) on the attached file: waits for an RTOS notification (unless
    /// opened O_NONBLOCK) and returns how many arrived since the driver was loaded.
    pub fn read_notification(&self) -> io::Result<u64> {
        let mut count = [0u8; 8];
        // SAFETY: reading at most 8 bytes into an 8-byte buffer.
        let n = unsafe { libc::read(self.file.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        match n {
            8 => Ok(u64::from_ne_bytes(count)),
            n if n < 0 => Err(io::Error::last_os_error()),
            n => Err(io::Error::other(format!("read returned {n} bytes, not 8"))),
        }
    }

    /// Lab 3: poll(2) on the file, waiting at most `timeout_ms`; the events returned.
    pub fn poll(&self, timeout_ms: i32) -> io::Result<i16> {
        let mut fd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut fd, 1, timeout_ms) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd.revents)
    }

    /// Maps `len` bytes of the shared region from `offset`.
    pub fn map_shared(&self, offset: u64, len: usize) -> io::Result<SharedMapping> {
        // SAFETY: a fresh shared mapping of our device; the kernel checks the range.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedMapping {
            ptr: ptr.cast(),
            len,
        })
    }
}

/// A mapping of (part of) the shared region; unmapped on drop.
pub struct SharedMapping {
    ptr: *mut u8,
    len: usize,
}

impl SharedMapping {
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` maps `len` bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what map_shared mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}
