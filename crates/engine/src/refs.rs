//! Physical block reference counts and allocation.
//!
//! A physical block's count is the number of distinct *leaf nodes* that map
//! it. Volumes, snapshots and clones share leaves (and whole subtrees)
//! through `Arc`s, so taking a snapshot changes no count; copying a shared
//! leaf on write adds one to each block it maps; a leaf that dies subtracts
//! one from each (deferred through the graveyard to the next commit, because
//! a block may only be reused once the metadata change that freed it is
//! durable and no read of it is in flight).

use std::sync::Mutex;

/// Marks a block whose count reached zero but which may not be reused yet.
const PENDING: u32 = u32::MAX;

/// A run of physical blocks: `start..start+len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: u64,
    pub len: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Allocator {
    /// Count per physical block; index 0 is reserved (0 means "unmapped").
    counts: Vec<u32>,
    /// Where the next search for free blocks starts.
    cursor: u64,
    /// Blocks with a count above zero.
    live: u64,
    /// Blocks with a count of zero (free for reuse).
    free: u64,
    /// Blocks allocated since the last journal swap: their mapping is not
    /// durable yet, so overwriting them in place cannot harm what a crash
    /// would bring back. One bit per block, and the list of set bits.
    fresh: Vec<u64>,
    fresh_list: Vec<u64>,
}

impl Allocator {
    pub fn new() -> Allocator {
        Allocator {
            counts: vec![PENDING],
            cursor: 1,
            live: 0,
            free: 0,
            fresh: Vec::new(),
            fresh_list: Vec::new(),
        }
    }

    pub fn live_blocks(&self) -> u64 {
        self.live
    }

    fn ensure(&mut self, block: u64) {
        if block as usize >= self.counts.len() {
            let added = block + 1 - self.counts.len() as u64;
            self.counts.resize(block as usize + 1, 0);
            self.free += added;
        }
    }

    /// Allocates `n` blocks, as few runs as the free space allows, each
    /// with a count of one. Grows the block space when it must.
    pub fn allocate(&mut self, n: u64) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        let push = |runs: &mut Vec<Run>, pos: u64| match runs.last_mut() {
            Some(r) if r.start + r.len == pos => r.len += 1,
            _ => runs.push(Run { start: pos, len: 1 }),
        };
        // Reuse free blocks first, searching from the cursor and wrapping.
        let mut from_free = n.min(self.free);
        let len = self.counts.len() as u64;
        let mut pos = self.cursor.clamp(1, len.max(1));
        while from_free > 0 {
            if pos >= len {
                pos = 1;
            }
            if self.counts[pos as usize] == 0 {
                self.counts[pos as usize] = 1;
                push(&mut runs, pos);
                from_free -= 1;
                self.free -= 1;
            }
            pos += 1;
        }
        let reused: u64 = runs.iter().map(|r| r.len).sum();
        let need = n - reused;
        if need > 0 {
            let start = self.counts.len() as u64;
            self.counts.resize((start + need) as usize, 1);
            for b in start..start + need {
                push(&mut runs, b);
            }
            pos = start + need;
        }
        self.live += n;
        self.cursor = pos;
        for r in &runs {
            for b in r.start..r.start + r.len {
                self.mark_fresh(b);
            }
        }
        runs
    }

    fn mark_fresh(&mut self, b: u64) {
        let word = (b / 64) as usize;
        if word >= self.fresh.len() {
            self.fresh.resize(word + 1, 0);
        }
        if self.fresh[word] & (1 << (b % 64)) == 0 {
            self.fresh[word] |= 1 << (b % 64);
            self.fresh_list.push(b);
        }
    }

    /// Whether `b` was allocated after the last journal swap (and so may be
    /// overwritten in place by the one device that maps it).
    pub fn is_fresh(&self, b: u64) -> bool {
        self.fresh
            .get((b / 64) as usize)
            .is_some_and(|w| w & (1 << (b % 64)) != 0)
    }

    /// Called when the journal buffer is swapped out for commit: every block
    /// allocated so far may now be named by durable metadata.
    pub fn clear_fresh(&mut self) {
        for b in self.fresh_list.drain(..) {
            if let Some(w) = self.fresh.get_mut((b / 64) as usize) {
                *w &= !(1 << (b % 64));
            }
        }
    }

    /// Records a reference found while loading or replaying metadata.
    pub fn claim(&mut self, block: u64) {
        self.ensure(block);
        let c = &mut self.counts[block as usize];
        if *c == 0 || *c == PENDING {
            if *c == 0 {
                self.free -= 1;
            }
            *c = 1;
            self.live += 1;
        } else {
            *c += 1;
        }
    }

    /// One more leaf maps each of these blocks.
    pub fn inc_all(&mut self, blocks: &[u64]) {
        for &b in blocks {
            if b != 0 {
                self.ensure(b);
                let c = &mut self.counts[b as usize];
                *c = c.saturating_add(1);
            }
        }
    }

    /// One leaf fewer maps each of these blocks; returns those no leaf maps
    /// any more, now pending (not reusable until [`Allocator::release`]).
    pub fn dec_all(&mut self, blocks: &[u64]) -> Vec<u64> {
        let mut zero = Vec::new();
        for &b in blocks {
            let Some(c) = self.counts.get_mut(b as usize) else {
                continue;
            };
            if *c == 0 || *c == PENDING {
                continue;
            }
            *c -= 1;
            if *c == 0 {
                *c = PENDING;
                self.live -= 1;
                zero.push(b);
            }
        }
        zero
    }

    /// Makes pending blocks free for reuse.
    pub fn release(&mut self, blocks: &[u64]) {
        for &b in blocks {
            if let Some(c) = self.counts.get_mut(b as usize) {
                if *c == PENDING {
                    *c = 0;
                    self.free += 1;
                    if b < self.cursor {
                        self.cursor = b;
                    }
                }
            }
        }
    }

    /// After loading: every block nobody claimed is free.
    pub fn finish_load(&mut self) {
        self.free = 0;
        for c in self.counts.iter_mut().skip(1) {
            if *c == PENDING {
                *c = 0;
            }
            if *c == 0 {
                self.free += 1;
            }
        }
        self.cursor = 1;
    }

    /// Every block with a count of zero (for releasing disk space at open).
    pub fn free_blocks(&self) -> Vec<u64> {
        (1..self.counts.len() as u64)
            .filter(|&b| self.counts[b as usize] == 0)
            .collect()
    }

    #[cfg(test)]
    pub fn count(&self, block: u64) -> u32 {
        self.counts.get(block as usize).copied().unwrap_or(0)
    }
}

/// Shared by every leaf: the allocator (for counts on copy) and the
/// graveyard (for counts on death).
#[derive(Debug, Default)]
pub(crate) struct Refs {
    pub alloc: Mutex<Allocator>,
    graveyard: Mutex<Vec<u64>>,
}

impl Refs {
    pub fn new() -> Refs {
        Refs {
            alloc: Mutex::new(Allocator::new()),
            graveyard: Mutex::new(Vec::new()),
        }
    }

    pub fn lock_alloc(&self) -> std::sync::MutexGuard<'_, Allocator> {
        self.alloc.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn bury(&self, blocks: impl Iterator<Item = u64>) {
        let mut g = self.graveyard.lock().unwrap_or_else(|p| p.into_inner());
        g.extend(blocks.filter(|&b| b != 0));
    }

    pub fn drain_graveyard(&self) -> Vec<u64> {
        std::mem::take(&mut *self.graveyard.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_prefers_contiguous_runs_and_reuses_released_blocks() {
        let mut a = Allocator::new();
        assert_eq!(a.allocate(4), vec![Run { start: 1, len: 4 }]);
        assert_eq!(a.allocate(2), vec![Run { start: 5, len: 2 }]);
        assert_eq!(a.live_blocks(), 6);
        let zero = a.dec_all(&[2, 3]);
        assert_eq!(zero, vec![2, 3]);
        // Pending blocks are not handed out.
        assert_eq!(a.allocate(1), vec![Run { start: 7, len: 1 }]);
        a.release(&zero);
        assert_eq!(
            a.allocate(3),
            vec![Run { start: 2, len: 2 }, Run { start: 8, len: 1 }]
        );
        assert_eq!(a.live_blocks(), 8);
    }

    #[test]
    fn counts_follow_leaf_copies_and_deaths() {
        let mut a = Allocator::new();
        let runs = a.allocate(1);
        let b = runs[0].start;
        a.inc_all(&[b, 0]);
        assert_eq!(a.count(b), 2);
        assert!(a.dec_all(&[b]).is_empty());
        assert_eq!(a.dec_all(&[b]), vec![b]);
        assert_eq!(a.live_blocks(), 0);
    }
}
