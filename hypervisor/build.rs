// The hypervisor image is linked position-independent at address 0 with its own
// linker script: the driver maps it wherever Linux's vmalloc area has room, and the
// entry stub applies its own relocations (see src/entry.rs).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    kernel_build::link_pie_image(&format!("{dir}/hypervisor.ld"));
}
