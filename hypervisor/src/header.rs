//! The image header: the first 64 bytes of the hypervisor image, which the driver
//! checks before any CPU enters it. Mirrors `struct crtos_image_header` in
//! driver/include/crtos.h. `crtosctl pack-image` fills in image_size, entry_offset and
//! checksum after the link.

use crate::config::PERCPU_SIZE;

#[repr(C)]
pub struct ImageHeader {
    pub magic: [u8; 8],
    pub version: u32,
    pub header_size: u32,
    pub image_size: u64,
    pub entry_offset: u64,
    pub percpu_size: u64,
    pub checksum: u32,
    pub flags: u32,
    pub reserved: [u64; 2],
}

const _: () = assert!(core::mem::size_of::<ImageHeader>() == 64);

#[used]
#[link_section = ".crtos_header"]
static HEADER: ImageHeader = ImageHeader {
    magic: *b"CRTOS-HV",
    version: 1,
    header_size: 64,
    image_size: 0,   // filled in by the packer
    entry_offset: 0, // filled in by the packer (the ELF entry point, `hv_entry`)
    percpu_size: PERCPU_SIZE,
    checksum: 0, // filled in by the packer
    flags: 0,
    reserved: [0; 2],
};
