// Tells the kernels where the shared linker script is (read in kernel-build as
// DEP_BAREMETAL_LINKER_SCRIPT).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:linker_script={dir}/kernel.ld");
    println!("cargo:rerun-if-changed=kernel.ld");
}
