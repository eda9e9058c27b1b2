//! /dev/crtos's user-interrupt ioctls (crtos.h: "user interrupts (lab 4, Linux side)";
//! numbers and argument structs in crtos_abi::ioctl). Each call acts on the calling
//! thread; the driver frees a thread's state when the file it registered through is
//! closed (or at UNREGISTER).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crtos_abi::ioctl::{
    UintrReceiverArg, UintrSenderArg, IOCTL_UINTR_REGISTER_RECEIVER, IOCTL_UINTR_REGISTER_SENDER,
    IOCTL_UINTR_UNREGISTER, IOCTL_UINTR_WAIT,
};
use crtos_abi::uintr::SharedHandle;

/// An open `/dev/crtos`, for the UINTR ioctls.
pub struct Device(File);

impl From<File> for Device {
    /// An already open `/dev/crtos` (e.g. a `try_clone` of the daemon's file).
    fn from(file: File) -> Self {
        Device(file)
    }
}

impl Device {
    pub fn open() -> io::Result<Device> {
        File::options()
            .read(true)
            .write(true)
            .open("/dev/crtos")
            .map(Device)
    }

    /// The open file, for the driver's other ioctls.
    pub fn file(&self) -> &File {
        &self.0
    }

    fn ioctl(&self, request: u64, arg: *mut libc::c_void) -> io::Result<i32> {
        // SAFETY: each request is given the struct its number encodes (or none).
        let rc = unsafe { libc::ioctl(self.0.as_raw_fd(), request as libc::c_ulong, arg) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }

    /// The calling thread becomes a receiver with `handler` (usually
    /// [`crate::handler`]); returns its UPID slot. It still has to [`crate::enable`].
    /// EOPNOTSUPP: the CPU has no UINTR (or KPTI is on).
    pub fn register_receiver(&self, handler: u64) -> io::Result<u32> {
        let mut a = UintrReceiverArg {
            handler,
            ..Default::default()
        };
        self.ioctl(
            IOCTL_UINTR_REGISTER_RECEIVER,
            (&mut a as *mut UintrReceiverArg).cast(),
        )?;
        Ok(a.upid_index)
    }

    /// A UITT entry of the calling thread posting `user_vector` to slot `upid_index`
    /// (Linux's or the RTOS's); returns the index [`crate::senduipi`] takes.
    pub fn register_sender(&self, upid_index: u32, user_vector: u32) -> io::Result<u64> {
        let mut a = UintrSenderArg {
            upid_index,
            user_vector,
            ..Default::default()
        };
        self.ioctl(
            IOCTL_UINTR_REGISTER_SENDER,
            (&mut a as *mut UintrSenderArg).cast(),
        )?;
        Ok(a.uitt_index.into())
    }

    /// [`Device::register_sender`] for the receiver a shared handle names (lab 4's
    /// cross-domain sends: the RTOS's `uintr_create_fd` returns such handles).
    pub fn register_sender_to(&self, peer: SharedHandle) -> io::Result<u64> {
        self.register_sender(peer.slot, peer.vector.into())
    }

    /// Blocks until a user interrupt is posted for the calling receiver; true if it
    /// really slept (woken through the driver's wake-up vector). The handler has run
    /// when it returns (if UIF is set). EINTR: a signal.
    pub fn wait(&self) -> io::Result<bool> {
        Ok(self.ioctl(IOCTL_UINTR_WAIT, std::ptr::null_mut())? == 1)
    }

    /// Drops the calling thread's receiver and sender state.
    pub fn unregister(&self) -> io::Result<()> {
        self.ioctl(IOCTL_UINTR_UNREGISTER, std::ptr::null_mut())
            .map(drop)
    }
}
