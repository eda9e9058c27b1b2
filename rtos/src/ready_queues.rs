//! The ready queues of a fixed-priority scheduler: one FIFO per priority level and a
//! bitmap of the levels that hold something, so "who runs next" is a find-highest-bit.
//! Pure data structure, tested on the host; the scheduler (task/scheduler.rs) decides
//! who goes where.

use alloc::collections::VecDeque;

use crate::config::PRIO_MAX;

const LEVELS: usize = PRIO_MAX as usize + 1;
const _: () = assert!(LEVELS <= u128::BITS as usize, "one bit per level");

pub struct ReadyQueues<T> {
    levels: [VecDeque<T>; LEVELS],
    /// Bit p set when level p is not empty.
    nonempty: u128,
}

impl<T: Copy + PartialEq> ReadyQueues<T> {
    pub const fn new() -> Self {
        ReadyQueues {
            levels: [const { VecDeque::new() }; LEVELS],
            nonempty: 0,
        }
    }

    /// Queues `item` at level `prio`: at the tail, or at the head when `at_head` (a
    /// preempted task keeps its turn).
    pub fn push(&mut self, item: T, prio: u8, at_head: bool) {
        let queue = &mut self.levels[prio as usize];
        if at_head {
            queue.push_front(item);
        } else {
            queue.push_back(item);
        }
        self.nonempty |= 1 << prio;
    }

    /// Takes `item` out of level `prio`, wherever it is in the queue.
    pub fn remove(&mut self, item: T, prio: u8) {
        let queue = &mut self.levels[prio as usize];
        queue.retain(|&t| t != item);
        if queue.is_empty() {
            self.nonempty &= !(1 << prio);
        }
    }

    /// The highest level that holds something.
    pub fn highest(&self) -> Option<u8> {
        (self.nonempty != 0).then(|| (u128::BITS - 1 - self.nonempty.leading_zeros()) as u8)
    }

    /// Takes the first item of the highest level.
    pub fn pop_highest(&mut self) -> Option<T> {
        let prio = self.highest()?;
        let queue = &mut self.levels[prio as usize];
        let item = queue.pop_front();
        if queue.is_empty() {
            self.nonempty &= !(1 << prio);
        }
        item
    }
}

impl<T: Copy + PartialEq> Default for ReadyQueues<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::ReadyQueues;

    fn drain(q: &mut ReadyQueues<u32>) -> Vec<u32> {
        core::iter::from_fn(|| q.pop_highest()).collect()
    }

    #[test]
    fn higher_levels_first_and_fifo_within_a_level() {
        let mut q = ReadyQueues::new();
        for (item, prio) in [(1, 10), (2, 10), (3, 99), (4, 1), (5, 10), (6, 99)] {
            q.push(item, prio, false);
        }
        assert_eq!(q.highest(), Some(99));
        assert_eq!(drain(&mut q), [3, 6, 1, 2, 5, 4]);
        assert_eq!(q.highest(), None);
    }

    #[test]
    fn a_preempted_task_keeps_its_turn() {
        let mut q = ReadyQueues::new();
        q.push(1, 10, false);
        q.push(2, 10, false);
        q.push(3, 10, true);
        assert_eq!(drain(&mut q), [3, 1, 2]);
    }

    #[test]
    fn removing_empties_a_level() {
        let mut q = ReadyQueues::new();
        q.push(1, 50, false);
        q.push(2, 20, false);
        q.remove(1, 50);
        assert_eq!(q.highest(), Some(20));
        q.remove(2, 20);
        assert_eq!(q.highest(), None);
        q.remove(7, 20); // absent: nothing changes
        assert_eq!(q.pop_highest(), None);
    }
}
