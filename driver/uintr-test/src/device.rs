//! /dev/crtos's user-interrupt ioctls (crtos.h: "user interrupts (lab 4, Linux side)")
//! and the QUERY hypercall's statistics. Each call acts on the calling thread.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `struct crtos_uintr_receiver_arg`.
#[repr(C)]
#[derive(Default)]
struct ReceiverArg {
    handler: u64,
    upid_index: u32,
    pad: u32,
    upid_offset: u64,
}

/// `struct crtos_uintr_sender_arg`.
#[repr(C)]
#[derive(Default)]
struct SenderArg {
    upid_index: u32,
    user_vector: u32,
    uitt_index: u32,
    pad: u32,
}

/// `struct crtos_hypercall_arg`.
#[repr(C)]
#[derive(Default)]
struct HypercallArg {
    nr: u64,
    args: [u64; 3],
    ret: i64,
}

// Linux's _IOC encoding on x86: dir << 30 | size << 16 | type << 8 | nr.
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (0xC7 << 8) | nr
}
const RW: u64 = 3;
const REGISTER_RECEIVER: u64 = ioc(RW, 16, size_of::<ReceiverArg>());
const REGISTER_SENDER: u64 = ioc(RW, 17, size_of::<SenderArg>());
const WAIT: u64 = ioc(0, 18, 0);
const UNREGISTER: u64 = ioc(0, 19, 0);
const HYPERCALL: u64 = ioc(RW, 6, size_of::<HypercallArg>());

pub struct Device(File);

impl Device {
    pub fn open() -> io::Result<Device> {
        File::options()
            .read(true)
            .write(true)
            .open("/dev/crtos")
            .map(Device)
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

    /// The calling thread becomes a receiver with `handler`; returns its UPID slot.
    pub fn register_receiver(&self, handler: u64) -> io::Result<u32> {
        let mut a = ReceiverArg {
            handler,
            ..Default::default()
        };
        self.ioctl(REGISTER_RECEIVER, (&mut a as *mut ReceiverArg).cast())?;
        Ok(a.upid_index)
    }

    /// A UITT entry of the calling thread posting `user_vector` to slot `upid_index`;
    /// returns the index SENDUIPI takes.
    pub fn register_sender(&self, upid_index: u32, user_vector: u32) -> io::Result<u64> {
        let mut a = SenderArg {
            upid_index,
            user_vector,
            ..Default::default()
        };
        self.ioctl(REGISTER_SENDER, (&mut a as *mut SenderArg).cast())?;
        Ok(a.uitt_index.into())
    }

    /// Blocks until a user interrupt is posted for the calling receiver; true if it
    /// really slept (woken through the driver's wake-up vector).
    pub fn wait(&self) -> io::Result<bool> {
        Ok(self.ioctl(WAIT, std::ptr::null_mut())? == 1)
    }

    pub fn unregister(&self) -> io::Result<()> {
        self.ioctl(UNREGISTER, std::ptr::null_mut()).map(drop)
    }

    /// The calling CPU's VM exits so far (all reasons), from the QUERY hypercall.
    pub fn vm_exits(&self) -> io::Result<u64> {
        let mut stats = crtos_abi::HvStats::default();
        let mut a = HypercallArg {
            nr: crtos_abi::HypercallCode::Query.into(),
            args: [&mut stats as *mut _ as u64, 0, 0],
            ret: 0,
        };
        self.ioctl(HYPERCALL, (&mut a as *mut HypercallArg).cast())?;
        if a.ret < 0 {
            return Err(io::Error::from_raw_os_error(-a.ret as i32));
        }
        Ok(stats.exits.iter().sum())
    }
}
