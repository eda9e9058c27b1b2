//! The user programs embedded in the image (static ELF executables; build.rs makes
//! the table from the directories in `CRTOS_RTOS_PROGRAMS`).

/// One embedded program.
pub struct Program {
    pub name: &'static str,
    pub elf: &'static [u8],
}

/// Keeps an embedded file 16-byte aligned, so the ELF parser may read its headers in
/// place.
#[repr(C, align(16))]
#[allow(dead_code)] // constructed by the generated table, which may be empty
struct Aligned<T: ?Sized>(T);

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}
