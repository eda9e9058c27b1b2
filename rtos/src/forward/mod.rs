//! Forwarding system calls to the Linux daemon (lab 3): the parts that touch no
//! hardware, tested on the host. The kernel's side (`src/forwarder/`) keeps the ring,
//! blocks and wakes the tasks and talks to the control page; these decide what goes
//! on the ring ([`call`]), which daemon is served ([`link`]), what a launch asks
//! ([`mailbox`]), and how the daemon is woken ([`notify`]).

pub mod call;
pub mod link;
pub mod mailbox;
pub mod notify;

#[cfg(test)]
mod tests;
