//! User interrupts for Linux threads, through the crtos driver (driver/module/uintr.c):
//! one copy of each mechanism, for every user-space program that sends or receives
//! them (uintr-test, crtosd).
//!
//! A thread becomes a **receiver** with [`Device::register_receiver`] and
//! [`handler`] (the driver gives it a UPID slot), sets UIF with [`enable`], and then
//! counts the interrupts it takes with [`hits`]. It becomes a **sender** with
//! [`Device::register_sender`] (a UITT entry naming some slot and user vector) and
//! sends with [`senduipi`] — no system call. A receiver may block in
//! [`Device::wait`] until something is posted to it.
//!
//! ```no_run
//! let dev = uintr_user::Device::open()?;
//! let slot = dev.register_receiver(uintr_user::handler())?;
//! let to_self = dev.register_sender(slot, 5)?;
//! uintr_user::enable();
//! uintr_user::senduipi(to_self);
//! while uintr_user::hits(5) == 0 {}
//! dev.unregister()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Every call acts on the **calling thread** (the driver keys its state on it).

mod device;
mod insn;

pub use device::Device;
pub use insn::{disable, enable, handler, hits, senduipi, uif};
