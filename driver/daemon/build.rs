// Lab 3's dispatch (src/calls/mod.rs): the student's with the `lab3-student` feature,
// or in a student handout (no solutions/); else the solution's.
fn main() {
    kernel_build::select_student_by_feature("../..", "lab3-student");
}
