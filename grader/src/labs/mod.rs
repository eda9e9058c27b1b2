//! The registry: one file per lab. A new lab is a new file here, plus its line in
//! [`all`].

use crate::lab::Lab;

pub mod lab1;
pub mod lab1_selftest;
pub mod lab2;
pub mod lab3;
pub mod lab4;
pub mod rtos;
pub mod smoke;

/// Every lab, in the order `grader --list` shows them.
pub fn all() -> Vec<Lab> {
    vec![
        smoke::lab(),
        lab1_selftest::lab(),
        lab1::lab(),
        lab2::lab(),
        lab3::lab(),
        lab4::lab(),
        rtos::lab(),
        rtos::lab_qemu(),
    ]
}

/// The lab called `name`.
pub fn find(name: &str) -> Option<Lab> {
    all().into_iter().find(|l| l.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_lab_is_valid_and_anchored_to_the_nonce() {
        for lab in super::all() {
            lab.validate().unwrap();
        }
    }
}
