//! The image header: the first 64 bytes of the hypervisor image, which the driver
//! checks before any CPU enters it (`crtos_abi::ImageHeader`, the Rust side of
//! `struct crtos_image_header` in driver/include/crtos.h). `crtosctl pack-image` fills
//! in image_size, entry_offset and checksum after the link.

use crtos_abi::{ImageHeader, HEADER_SIZE, HV_MAGIC, IMAGE_VERSION};

use crate::config::PERCPU_SIZE;

#[used]
#[link_section = ".crtos_header"]
static HEADER: ImageHeader = ImageHeader {
    magic: HV_MAGIC,
    version: IMAGE_VERSION,
    header_size: HEADER_SIZE as u32,
    image_size: 0,   // filled in by the packer
    entry_offset: 0, // filled in by the packer (the ELF entry point, `hv_entry`)
    percpu_size: PERCPU_SIZE,
    checksum: 0, // filled in by the packer
    flags: 0,
    reserved: [0; 2],
};
