//! Links the program as a static, non-PIE Linux executable without libc: the same
//! kind of ELF file as the C programs built with musl-gcc, for the RTOS's loader.
//! `rustc-link-arg-bins` reaches this package's binary only (not build scripts), as in
//! crates/kernel-build.
fn main() {
    for arg in [
        "-nostartfiles", // no crt1.o: src/main.rs defines _start
        "-nostdlib",     // no libc: every service is a raw system call
        "-static",
        "-no-pie", // ET_EXEC at the linker's default address: no relocations to apply
        "-Wl,--build-id=none",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
