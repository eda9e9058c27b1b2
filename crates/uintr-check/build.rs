fn main() {
    kernel_build::link_kernel(0x200000);
}
