//! The fixed-priority preemptive scheduler, with Linux's SCHED_FIFO rules
//! (sched(7)): the highest-priority ready task runs; within a level, first come first
//! served; a task runs until it blocks, yields or a higher-priority task becomes ready,
//! which then runs at once. A preempted task goes back to the *head* of its level,
//! a yielding or waking one to the tail.
//!
//! The ready queues (one per priority, rtos/src/ready_queues.rs) make "pick the next
//! task" a find-highest-bit; sleepers are ordered by deadline. A task waiting for a
//! forwarded call is in no queue: whoever takes the daemon's answer wakes it.

use alloc::collections::{BTreeMap, BTreeSet};

use rtos::ready_queues::ReadyQueues;

use baremetal::interrupts::TrapFrame;

use super::tcb::{State, Task, Tid};
use crate::arch::context;
use crate::drivers::apic_timer;
use crate::mm::kernel_space;

pub struct Scheduler {
    pub tasks: BTreeMap<Tid, Task>,
    ready: ReadyQueues<Tid>,
    /// (deadline in TSC cycles, task), earliest first.
    sleepers: BTreeSet<(u64, Tid)>,
    current: Option<Tid>,
    /// The deadline the timer is armed for.
    armed: Option<u64>,
    /// When the forwarder wants to look at the ring and the daemon again, whatever the
    /// tasks do (see `forwarder::service`).
    watch: Option<u64>,
    next_tid: Tid,
}

impl Scheduler {
    pub const fn new() -> Self {
        Scheduler {
            tasks: BTreeMap::new(),
            ready: ReadyQueues::new(),
            sleepers: BTreeSet::new(),
            current: None,
            armed: None,
            watch: None,
            next_tid: 1,
        }
    }

    pub fn allocate_tid(&mut self) -> Tid {
        self.next_tid += 1;
        self.next_tid - 1
    }

    /// Adds a new task, ready.
    pub fn add(&mut self, task: Task) {
        let tid = task.tid;
        self.tasks.insert(tid, task);
        self.make_ready(tid, false);
    }

    /// The running task (system calls and faults come from it).
    pub fn current(&mut self) -> &mut Task {
        let tid = self.current.expect("no current task");
        self.tasks.get_mut(&tid).expect("current task exists")
    }

    fn make_ready(&mut self, tid: Tid, at_head: bool) {
        let task = self.tasks.get_mut(&tid).expect("task exists");
        task.state = State::Ready;
        self.ready.push(tid, task.prio, at_head);
    }

    /// The current task stops running: its state is saved from `frame`.
    fn switch_out(&mut self, frame: &mut TrapFrame) -> Tid {
        let tid = self.current.take().expect("a current task");
        self.tasks
            .get_mut(&tid)
            .expect("exists")
            .context
            .save(frame);
        tid
    }

    /// `sched_yield`: to the tail of its level.
    pub fn yield_current(&mut self, frame: &mut TrapFrame) {
        let tid = self.switch_out(frame);
        self.make_ready(tid, false);
    }

    /// Blocks the current task until the TSC reaches `deadline`.
    pub fn sleep_current(&mut self, frame: &mut TrapFrame, deadline: u64) {
        let tid = self.switch_out(frame);
        self.tasks.get_mut(&tid).expect("exists").state = State::Sleeping { deadline };
        self.sleepers.insert((deadline, tid));
    }

    // ANCHOR: block_wake
    /// Blocks the current task until [`Scheduler::wake`]: its forwarded call went to
    /// the daemon.
    pub fn block_current(&mut self, frame: &mut TrapFrame) {
        let tid = self.switch_out(frame);
        self.tasks.get_mut(&tid).expect("exists").state = State::Waiting;
    }

    /// Ends the wait of task `tid`: its system call returns `ret`; it goes to the tail
    /// of its level, as any task that wakes. A task that is not waiting is left alone.
    pub fn wake(&mut self, tid: Tid, ret: i64) {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return;
        };
        if task.state == State::Waiting {
            task.context.frame.rax = ret as u64;
            self.make_ready(tid, false);
        }
    }
    // ANCHOR_END: block_wake

    /// Sets (or clears) the forwarder's next look; `keep_earlier` keeps a look that is
    /// already due sooner.
    pub fn set_watch(&mut self, deadline: Option<u64>, keep_earlier: bool) {
        self.watch = match (self.watch, deadline) {
            (Some(old), Some(new)) if keep_earlier => Some(old.min(new)),
            _ => deadline,
        };
    }

    /// Removes the current task for good and frees its memory. Returns it (its address
    /// space is dropped with it, after the switch to the kernel's).
    pub fn remove_current(&mut self) -> Task {
        let tid = self.current.take().expect("a current task");
        kernel_space::activate(kernel_space::get().pml4);
        self.tasks.remove(&tid).expect("exists")
    }

    /// Changes a task's priority. As sched(7) says: a ready task raised goes to the tail
    /// of its new level, one lowered to the head (so does the running task, when the
    /// decision after the call preempts it).
    pub fn set_priority(&mut self, tid: Tid, prio: u8) {
        let task = self.tasks.get_mut(&tid).expect("exists");
        let (old, state) = (task.prio, task.state);
        task.prio = prio;
        if state == State::Ready && old != prio {
            self.ready.remove(tid, old);
            self.make_ready(tid, prio < old);
        }
    }

    /// Wakes every sleeper whose deadline is at or before `now`; returns how many.
    pub fn wake_due(&mut self, now: u64) -> usize {
        let mut woken = 0;
        while let Some(&(deadline, tid)) = self.sleepers.first() {
            if deadline > now {
                break;
            }
            self.sleepers.pop_first();
            self.make_ready(tid, false);
            woken += 1;
        }
        woken
    }

    // ANCHOR: reschedule
    /// The scheduling decision at the end of every kernel entry: keep the current task,
    /// or save it (if still running) and load the highest-priority ready task (or the
    /// idle loop) into `frame`. Returns the task that now runs, if it changed.
    pub fn reschedule(&mut self, frame: &mut TrapFrame) -> Option<Tid> {
        if let Some(tid) = self.current {
            let prio = self.tasks[&tid].prio;
            match self.ready.highest() {
                Some(level) if level > prio => {
                    self.switch_out(frame);
                    self.make_ready(tid, true); // preempted: stays first in its level
                }
                _ => {
                    self.arm_timer();
                    return None;
                }
            }
        }
        let next = self.ready.pop_highest();
        match next {
            Some(tid) => {
                let task = self.tasks.get_mut(&tid).expect("exists");
                task.state = State::Running;
                task.space.activate();
                task.context.load(frame);
                self.current = Some(tid);
            }
            None => {
                kernel_space::activate(kernel_space::get().pml4);
                context::load_idle(frame);
            }
        }
        self.arm_timer();
        next
    }
    // ANCHOR_END: reschedule

    /// Arms the one-shot timer for the earliest sleeper or the forwarder's next look
    /// (or stops it).
    fn arm_timer(&mut self) {
        let sleeper = self.sleepers.first().map(|&(deadline, _)| deadline);
        let earliest = match (sleeper, self.watch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if earliest != self.armed {
            match earliest {
                Some(deadline) => apic_timer::arm(deadline),
                None => apic_timer::disarm(),
            }
            self.armed = earliest;
        }
    }

    /// After the timer fired, it is armed again even for the same deadline.
    pub fn timer_fired(&mut self) {
        self.armed = None;
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}
