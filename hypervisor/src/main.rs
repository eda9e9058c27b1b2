//! The hypervisor image that the Linux driver loads: everything lives in the library;
//! this binary only links it with the image header and the entry stub.
#![no_std]
#![no_main]

// Pull the library in: its header static and `hv_entry` are the image's contents.
use hypervisor as _;
