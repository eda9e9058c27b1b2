//! The daemon's view of the control page (crtos_abi::forwarding): what it reads of
//! the driver's and the RTOS's fields, and the few fields it writes itself.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use crtos_abi::forwarding::{ControlPage, LAUNCH_ARGV_LEN};

/// The control page at the start of a mapped shared region.
///
/// Only atomics are read through `&ControlPage`; the one plain field the daemon
/// writes (`launch_argv`) is written through the raw pointer, never while a reference
/// to the page is held (see [`Control::write_argv`]).
#[derive(Clone, Copy)]
pub struct Control<'m> {
    page: NonNull<ControlPage>,
    _memory: PhantomData<&'m ControlPage>,
}

// SAFETY: the page is read through atomics, and its one plain field the daemon writes
// is written by one owner (the launcher) at a time: any thread may hold the view.
unsafe impl Send for Control<'_> {}
unsafe impl Sync for Control<'_> {}

impl Control<'_> {
    /// # Safety
    /// `page` must point to a `ControlPage`-sized, 64-aligned, readable and writable
    /// mapping that lives for `'m`.
    pub unsafe fn new(page: NonNull<u8>) -> Self {
        Self {
            page: page.cast(),
            _memory: PhantomData,
        }
    }

    /// A short-lived reference, for the atomics.
    pub fn page(&self) -> &ControlPage {
        // SAFETY: valid for `'m` (`new`); the driver writes the plain fields (magic,
        // version, size) once, at claim, before any daemon can open the device.
        unsafe { self.page.as_ref() }
    }

    /// The generation the ring was laid out for (Acquire: the ring's header and
    /// queues, written before it, are visible after it).
    pub fn ring_generation(&self) -> u32 {
        self.page().ring_generation.load(Ordering::Acquire)
    }

    /// Fills the launch mailbox's argv (NUL-separated strings, at most
    /// `LAUNCH_ARGV_LEN` bytes; the caller checked). Only between launches: the RTOS
    /// reads it after it sees `launch_seq` move.
    pub fn write_argv(&self, argv: &[u8]) {
        assert!(argv.len() <= LAUNCH_ARGV_LEN);
        // SAFETY: in bounds of the page; no reference to the page is live across this
        // call (`page()` hands out short borrows only).
        unsafe {
            let field = core::ptr::addr_of_mut!((*self.page.as_ptr()).launch_argv).cast::<u8>();
            core::ptr::copy_nonoverlapping(argv.as_ptr(), field, argv.len());
            core::ptr::write_bytes(field.add(argv.len()), 0, LAUNCH_ARGV_LEN - argv.len());
        }
    }
}
