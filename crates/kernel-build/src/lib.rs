//! Called from a kernel crate's `build.rs`: turns the crate's binaries (and only them)
//! into static, non-PIE kernel images for the host target `x86_64-unknown-linux-gnu`.
//!
//! Why link arguments here and not in RUSTFLAGS: `cargo:rustc-link-arg-bins` applies to
//! this package's binaries only, so build scripts, proc macros and `cargo test` of the
//! host crates keep linking normally (global RUSTFLAGS with link arguments break them).
//!
//! It also picks which tree a lab's files come from (`lab_tree.rs`).

mod lab_tree;
pub use lab_tree::{has_solutions, select_lab_tree, select_student_by_feature};
pub use lab_tree::{NO_SOLUTIONS, SOLUTIONS_DIR, TREES};

// ANCHOR: link
/// Link the calling package's binaries at physical address `base` with the shared
/// linker script of the `baremetal` crate (the kernel must depend on `baremetal`).
pub fn link_kernel(base: u64) {
    let script = std::env::var("DEP_BAREMETAL_LINKER_SCRIPT")
        .expect("the kernel crate must depend on `baremetal` (it exports the linker script)");
    link_kernel_with_script(&script, base);
}

/// Like [`link_kernel`], with the kernel's own linker script `script` (which must keep
/// the multiboot layout of the shared one: the RTOS's runs the kernel high).
pub fn link_kernel_with_script(script: &str, base: u64) {
    for arg in [
        "-nostartfiles".to_string(), // no crt1.o: the boot stub is the entry point
        "-nostdlib".to_string(),     // no libc, no libgcc_s
        "-static".to_string(),
        "-no-pie".to_string(), // linked at a fixed physical address
        format!("-Wl,-T,{script}"),
        format!("-Wl,--defsym=KERNEL_BASE={base:#x}"),
        "-Wl,--build-id=none".to_string(),
        "-Wl,-z,norelro".to_string(),
        "-Wl,--no-eh-frame-hdr".to_string(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed={script}");
}

/// Link the calling package's binaries as a position-independent flat image with the
/// linker script `script` (the hypervisor: the driver chooses its virtual address, and
/// the image's entry stub applies its own relocations).
pub fn link_pie_image(script: &str) {
    for arg in [
        "-nostartfiles".to_string(),
        "-nostdlib".to_string(),
        "-static-pie".to_string(),
        format!("-Wl,-T,{script}"),
        "-Wl,--no-dynamic-linker".to_string(),
        // Write each relocation's addend into the image too, so that fields such as
        // the header's entry offset hold their link-time (base 0) value in the file.
        "-Wl,--apply-dynamic-relocs".to_string(),
        "-Wl,--build-id=none".to_string(),
        "-Wl,--no-eh-frame-hdr".to_string(),
        "-Wl,-z,norelro".to_string(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed={script}");
}
// ANCHOR_END: link
