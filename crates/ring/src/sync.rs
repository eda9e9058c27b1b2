//! The atomics and cells the ring is built from, swapped for loom's under `--cfg loom`.
//!
//! Normal builds use `core` types, which have the same size and bit layout as the
//! integers they wrap, so they can live in the shared region. loom's types carry
//! bookkeeping and cannot: under loom only the queue protocol (indices + slots built
//! in ordinary memory) is modelled, and the region code is compiled out.

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicU32, Ordering};

// ANCHOR: slot_cell
/// One descriptor slot in shared memory.
///
/// The peer may write the slot at any time (if it breaks the protocol), so the slot is
/// never read through a `&T`: [`SlotCell::read`] copies it out with a volatile load
/// and the caller validates the copy. `T` must be plain data: every bit pattern valid,
/// no padding bytes.
#[cfg(not(loom))]
#[repr(transparent)]
pub struct SlotCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T: Copy> SlotCell<T> {
    pub const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Copies the slot out.
    ///
    /// # Safety
    /// The ring protocol must give this side the slot (the peer has published it and
    /// not been told it is free again); a peer that breaks the protocol can only make
    /// the copy hold garbage, which the caller validates.
    #[inline(always)]
    pub unsafe fn read(&self) -> T {
        // Volatile keeps the compiler from re-reading shared memory after validation (no
        // double fetch). A volatile load of a struct is split field by field, though; for
        // a struct made of whole 16-byte blocks, copy it in SSE-sized volatile loads (5
        // instead of 12 for a `Descriptor`, measured ~1.5x faster push+pop).
        #[cfg(target_arch = "x86_64")]
        if Self::IN_BLOCKS {
            let mut copy = core::mem::MaybeUninit::<T>::uninit();
            let src = self.0.get().cast::<Block>();
            let dst = copy.as_mut_ptr().cast::<Block>();
            for i in 0..core::mem::size_of::<T>() / 16 {
                // SAFETY: in bounds and 16-aligned (IN_BLOCKS); T has no padding, so
                // every byte is initialised, and any bit pattern is a valid T.
                unsafe { dst.add(i).write(src.add(i).read_volatile()) };
            }
            // SAFETY: every byte was written above.
            return unsafe { copy.assume_init() };
        }
        // SAFETY: the pointer comes from a live `UnsafeCell`.
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }

    /// Overwrites the slot.
    ///
    /// # Safety
    /// As for [`SlotCell::read`]: the slot must be this side's to write.
    #[inline(always)]
    pub unsafe fn write(&self, value: T) {
        #[cfg(target_arch = "x86_64")]
        if Self::IN_BLOCKS {
            let src = (&value as *const T).cast::<Block>();
            let dst = self.0.get().cast::<Block>();
            for i in 0..core::mem::size_of::<T>() / 16 {
                // SAFETY: as in `read`.
                unsafe { dst.add(i).write_volatile(src.add(i).read()) };
            }
            return;
        }
        // SAFETY: see `read`.
        unsafe { core::ptr::write_volatile(self.0.get(), value) }
    }

    /// Whether `T` is copied in 16-byte blocks: a multiple of 16 bytes, 16-aligned.
    /// (`T` must also have no padding bytes, which `SlotCell`'s contract requires.)
    #[cfg(target_arch = "x86_64")]
    const IN_BLOCKS: bool = core::mem::size_of::<T>().is_multiple_of(16)
        && core::mem::align_of::<T>().is_multiple_of(16);
}
// ANCHOR_END: slot_cell

/// One descriptor slot, tracked by loom so that an unsynchronised access is reported
/// as a data race.
#[cfg(loom)]
pub struct SlotCell<T>(loom::cell::UnsafeCell<T>);

#[cfg(loom)]
impl<T: Copy> SlotCell<T> {
    pub fn new(value: T) -> Self {
        Self(loom::cell::UnsafeCell::new(value))
    }

    /// # Safety
    /// See the non-loom version.
    pub unsafe fn read(&self) -> T {
        // SAFETY: loom checks that this access is ordered after the last write.
        self.0.with(|p| unsafe { *p })
    }

    /// # Safety
    /// See the non-loom version.
    pub unsafe fn write(&self, value: T) {
        // SAFETY: loom checks that this access is ordered after the last read.
        self.0.with_mut(|p| unsafe { *p = value })
    }
}

/// 16 bytes, copied with one SSE load or store.
#[cfg(all(not(loom), target_arch = "x86_64"))]
type Block = core::arch::x86_64::__m128i;

// SAFETY: a slot is handed between exactly two threads by the ring protocol, which
// orders every access with acquire/release on the indices.
unsafe impl<T: Send> Sync for SlotCell<T> {}
