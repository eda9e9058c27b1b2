//! `struct iovec` (sys/uio.h), as `readv`/`writev` pass them: served locally (the
//! console) and forwarded (gathered into one payload).

/// IOV_MAX (limits.h): the most iovecs one `readv`/`writev` takes.
pub const IOV_MAX: u64 = 1024;

/// One `struct iovec`: a buffer's user address and length.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoVec {
    pub base: u64,
    pub len: u64,
}
