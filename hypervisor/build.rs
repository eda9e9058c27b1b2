// The hypervisor image is linked position-independent at address 0 with its own
// linker script: the driver maps it wherever Linux's vmalloc area has room, and the
// entry stub applies its own relocations (see src/entry.rs).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    kernel_build::link_pie_image(&format!("{dir}/hypervisor.ld"));
    // Lab 1's three files: the student's or the solution's (see src/vmx/mod.rs).
    kernel_build::select_lab_tree("..");
}
