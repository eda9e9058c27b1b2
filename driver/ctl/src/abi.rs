//! What crtosctl uses of `driver/include/crtos.h`, all from crtos-abi (the ioctl
//! interface in `crtos_abi::ioctl`, shared with crtosd, and the image header).

pub use crtos_abi::{
    ImageHeader, RejectReason, ABI_VERSION, CHECKSUM_OFFSET, HEADER_SIZE, HV_MAGIC, HV_SIZE,
    IMAGE_VERSION, RTOS_MAGIC, RTOS_SIZE,
};

pub use crtos_abi::ioctl::*;
