//! What a task's user memory holds, region by region: the list every system call checks
//! a user pointer against before it touches it. Pure bookkeeping (the page tables are
//! `mm/address_space.rs`'s), so the host tests it.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// What a region of user memory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    Program,
    Stack,
    /// The program break's heap (`brk`).
    Break,
    /// An anonymous `mmap`.
    Anonymous,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub end: u64,
    pub writable: bool,
    pub kind: RegionKind,
}

/// Mapped user memory: start -> region; regions are page-aligned and do not overlap.
#[derive(Default)]
pub struct Regions(BTreeMap<u64, Region>);

impl Regions {
    pub fn insert(&mut self, start: u64, region: Region) {
        debug_assert!(start < region.end && self.is_free(start, region.end));
        self.0.insert(start, region);
    }

    /// The region that starts at `start`.
    pub fn get(&self, start: u64) -> Option<Region> {
        self.0.get(&start).copied()
    }

    /// Ends the region that starts at `start` at `end` instead (removes it if empty).
    pub fn set_end(&mut self, start: u64, end: u64) {
        match self.0.get_mut(&start) {
            Some(_) if end <= start => {
                self.0.remove(&start);
            }
            Some(region) => region.end = end,
            None => {}
        }
    }

    /// Whether [start, end) overlaps no region.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.0
            .range(..end)
            .next_back()
            .is_none_or(|(_, r)| r.end <= start)
    }

    /// The lowest free range of `len` bytes in [from, to).
    pub fn find_free(&self, len: u64, from: u64, to: u64) -> Option<u64> {
        let mut candidate = from;
        for (&start, r) in self.0.range(..to) {
            if r.end <= candidate {
                continue;
            }
            if start >= candidate.checked_add(len)? {
                break;
            }
            candidate = r.end;
        }
        (candidate.checked_add(len)? <= to).then_some(candidate)
    }

    // ANCHOR: check
    /// Whether every byte of [addr, addr + len) lies in regions, writable ones if
    /// `write`: the check system calls make before they touch a user pointer.
    pub fn check(&self, addr: u64, len: u64, write: bool) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let mut at = addr;
        while at < end {
            match self.0.range(..=at).next_back() {
                Some((_, r)) if r.end > at && (r.writable || !write) => at = r.end,
                _ => return false,
            }
        }
        true
    }
    // ANCHOR_END: check

    /// Removes [start, end) from every region of `kind`, splitting the regions it cuts.
    /// Returns the ranges removed (for the caller to unmap).
    pub fn cut(&mut self, start: u64, end: u64, kind: RegionKind) -> Vec<(u64, u64)> {
        let hit: Vec<(u64, Region)> = self
            .0
            .range(..end)
            .filter(|(_, r)| r.end > start && r.kind == kind)
            .map(|(&s, &r)| (s, r))
            .collect();
        let mut removed = Vec::new();
        for (s, r) in hit {
            let (cut_start, cut_end) = (s.max(start), r.end.min(end));
            self.0.remove(&s);
            if s < cut_start {
                self.0.insert(
                    s,
                    Region {
                        end: cut_start,
                        ..r
                    },
                );
            }
            if cut_end < r.end {
                self.0.insert(cut_end, r);
            }
            removed.push((cut_start, cut_end));
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::{Region, RegionKind, Regions};

    fn region(end: u64, writable: bool, kind: RegionKind) -> Region {
        Region {
            end,
            writable,
            kind,
        }
    }

    /// Program text (read-only) 0x1000..0x3000, data 0x3000..0x4000, a gap, an
    /// anonymous mapping 0x10000..0x14000.
    fn sample() -> Regions {
        let mut r = Regions::default();
        r.insert(0x1000, region(0x3000, false, RegionKind::Program));
        r.insert(0x3000, region(0x4000, true, RegionKind::Program));
        r.insert(0x10000, region(0x14000, true, RegionKind::Anonymous));
        r
    }

    #[test]
    fn check_follows_adjacent_regions_and_rights() {
        let r = sample();
        assert!(r.check(0x1000, 0x3000, false)); // text and data, adjacent
        assert!(!r.check(0x1000, 0x3000, true)); // the text is read-only
        assert!(r.check(0x3000, 0x1000, true));
        assert!(!r.check(0x3F00, 0x200, false)); // runs into the gap
        assert!(!r.check(0x0FFF, 2, false)); // starts before
        assert!(!r.check(0xFFFF_8000_0000_0000, 8, false)); // kernel address
        assert!(!r.check(0x3000, u64::MAX, false)); // wraps around
        assert!(r.check(0x5000, 0, false)); // nothing to touch
    }

    #[test]
    fn free_space_is_found_between_regions() {
        let r = sample();
        assert!(r.is_free(0x4000, 0x10000));
        assert!(!r.is_free(0x3FFF, 0x4001));
        assert_eq!(r.find_free(0x1000, 0x1000, 0x20000), Some(0x4000));
        assert_eq!(r.find_free(0xC000, 0x1000, 0x20000), Some(0x4000));
        assert_eq!(r.find_free(0xD000, 0x1000, 0x21000), Some(0x14000));
        assert_eq!(r.find_free(0xD000, 0x1000, 0x21000 - 1), None);
        assert_eq!(r.find_free(u64::MAX, 0x1000, u64::MAX), None);
    }

    #[test]
    fn cut_splits_only_regions_of_its_kind() {
        let mut r = sample();
        assert_eq!(
            r.cut(0x11000, 0x12000, RegionKind::Anonymous),
            [(0x11000, 0x12000)]
        );
        assert_eq!(
            r.get(0x10000),
            Some(region(0x11000, true, RegionKind::Anonymous))
        );
        assert_eq!(
            r.get(0x12000),
            Some(region(0x14000, true, RegionKind::Anonymous))
        );
        assert!(!r.check(0x11000, 1, false));
        // munmap over the program: nothing of it goes.
        assert!(r.cut(0x1000, 0x4000, RegionKind::Anonymous).is_empty());
        assert!(r.check(0x1000, 0x3000, false));
        // A range across a hole and both pieces.
        assert_eq!(
            r.cut(0x10800, 0x13000, RegionKind::Anonymous),
            [(0x10800, 0x11000), (0x12000, 0x13000)]
        );
    }

    #[test]
    fn set_end_grows_shrinks_and_removes() {
        let mut r = sample();
        r.set_end(0x10000, 0x18000);
        assert!(r.check(0x17000, 0x1000, true));
        r.set_end(0x10000, 0x10000);
        assert_eq!(r.get(0x10000), None);
    }
}
