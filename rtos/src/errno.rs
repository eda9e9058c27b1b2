//! Linux error numbers: a system call returns `-errno` in RAX (`Errno::negative`).
//! One list for the whole stack, crtos-abi's (checked against the C library's values by
//! its host test); in the library because forwarded calls (`forward`) fail with them too.

pub use crtos_abi::Errno;
