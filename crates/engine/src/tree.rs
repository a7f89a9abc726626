//! The mapping of a device: a fixed-depth radix tree from virtual block to
//! (physical block, checksum), persistent in the functional sense.
//!
//! Nodes are shared between devices through `Arc`s. A snapshot or clone is
//! a new device holding another `Arc` of the same root: O(1), whatever the
//! size of the volume or the amount of data written. Writing through a
//! shared node copies that node and the path above it (`Arc::make_mut`);
//! copying a leaf adds one to the reference count of every physical block it
//! maps, and a leaf's death subtracts one (see `refs`). Lookups walk four
//! levels, however many snapshots a volume has.

use std::sync::Arc;

use crate::refs::Refs;

/// Bits of the virtual block number resolved per level.
pub const FANOUT_BITS: u32 = 9;
pub const FANOUT: usize = 1 << FANOUT_BITS;
/// Levels below the root, leaves included: the root resolves the top bits.
pub const DEPTH: u32 = 4;
/// Blocks one tree can address: 2^36 blocks of 4 KiB = 256 TiB.
pub const MAX_BLOCKS: u64 = 1 << (FANOUT_BITS * DEPTH);

/// One mapped block: where its bytes live and their CRC-32C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry {
    pub pblock: u64,
    pub crc: u32,
}

pub(crate) enum Node {
    Interior(Interior),
    Leaf(Leaf),
}

pub(crate) struct Interior {
    pub children: Box<[Option<Arc<Node>>]>,
}

impl Interior {
    fn empty() -> Interior {
        Interior {
            children: (0..FANOUT).map(|_| None).collect(),
        }
    }
}

impl Clone for Interior {
    fn clone(&self) -> Self {
        Interior {
            children: self.children.clone(),
        }
    }
}

pub(crate) struct Leaf {
    pub pblocks: Box<[u64]>,
    pub crcs: Box<[u32]>,
    pub mapped: u32,
    refs: Arc<Refs>,
}

impl Leaf {
    pub fn empty(refs: &Arc<Refs>) -> Leaf {
        Leaf {
            pblocks: vec![0u64; FANOUT].into_boxed_slice(),
            crcs: vec![0u32; FANOUT].into_boxed_slice(),
            mapped: 0,
            refs: refs.clone(),
        }
    }
}

/// A copy of a leaf is one more leaf mapping each of its blocks.
impl Clone for Leaf {
    fn clone(&self) -> Self {
        if self.mapped > 0 {
            self.refs.lock_alloc().inc_all(&self.pblocks);
        }
        Leaf {
            pblocks: self.pblocks.clone(),
            crcs: self.crcs.clone(),
            mapped: self.mapped,
            refs: self.refs.clone(),
        }
    }
}

/// A dead leaf is one leaf fewer mapping each of its blocks (counted at the
/// next commit).
impl Drop for Leaf {
    fn drop(&mut self) {
        if self.mapped > 0 {
            self.refs.bury(self.pblocks.iter().copied());
        }
    }
}

impl Clone for Node {
    fn clone(&self) -> Self {
        match self {
            Node::Interior(i) => Node::Interior(i.clone()),
            Node::Leaf(l) => Node::Leaf(l.clone()),
        }
    }
}

/// Index of `vblock` in a node at `level` (0 = leaf).
fn slot(vblock: u64, level: u32) -> usize {
    ((vblock >> (FANOUT_BITS * level)) as usize) & (FANOUT - 1)
}

/// A device's tree. The root is an interior node at level `DEPTH - 1`.
#[derive(Clone)]
pub(crate) struct Tree {
    pub root: Arc<Node>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            root: Arc::new(Node::Interior(Interior::empty())),
        }
    }

    pub fn from_root(root: Arc<Node>) -> Tree {
        Tree { root }
    }

    /// The entry of `vblock`, if mapped.
    pub fn get(&self, vblock: u64) -> Option<Entry> {
        let mut node = &self.root;
        let mut level = DEPTH - 1;
        loop {
            match &**node {
                Node::Interior(i) => {
                    node = i.children[slot(vblock, level)].as_ref()?;
                    level = level.checked_sub(1)?;
                }
                Node::Leaf(l) => {
                    let s = slot(vblock, 0);
                    let p = l.pblocks[s];
                    return (p != 0).then(|| Entry {
                        pblock: p,
                        crc: l.crcs[s],
                    });
                }
            }
        }
    }

    /// Entries of `start..start+count` (`pblock == 0`: unmapped) appended to `out`.
    pub fn get_range(&self, start: u64, count: u64, out: &mut Vec<Entry>) {
        let mut v = start;
        let end = start + count;
        while v < end {
            // Resolve down to the leaf covering v, then take what it holds.
            let leaf_end = ((v >> FANOUT_BITS) + 1) << FANOUT_BITS;
            let upto = leaf_end.min(end);
            match self.leaf_of(v) {
                Some(l) => {
                    for b in v..upto {
                        let s = slot(b, 0);
                        out.push(Entry {
                            pblock: l.pblocks[s],
                            crc: l.crcs[s],
                        });
                    }
                }
                None => out.extend((v..upto).map(|_| Entry::default())),
            }
            v = upto;
        }
    }

    fn leaf_of(&self, vblock: u64) -> Option<&Leaf> {
        let mut node = &self.root;
        let mut level = DEPTH - 1;
        loop {
            match &**node {
                Node::Interior(i) => {
                    node = i.children[slot(vblock, level)].as_ref()?;
                    level = level.checked_sub(1)?;
                }
                Node::Leaf(l) => return Some(l),
            }
        }
    }

    /// The leaf covering `vblock`, made exclusive to this tree (copying
    /// shared nodes on the way down) and created if missing.
    fn leaf_mut(&mut self, vblock: u64, refs: &Arc<Refs>) -> &mut Leaf {
        let mut node: &mut Arc<Node> = &mut self.root;
        let mut level = DEPTH - 1;
        loop {
            let n = Arc::make_mut(node);
            match n {
                Node::Interior(i) => {
                    let child = &mut i.children[slot(vblock, level)];
                    if child.is_none() {
                        *child = Some(Arc::new(if level == 1 {
                            Node::Leaf(Leaf::empty(refs))
                        } else {
                            Node::Interior(Interior::empty())
                        }));
                    }
                    level = level.saturating_sub(1);
                    match child {
                        Some(c) => node = c,
                        None => unreachable_leaf(),
                    }
                }
                Node::Leaf(l) => return l,
            }
        }
    }

    /// Maps `vblock` to `entry`; the physical block it mapped before, if
    /// any, is returned (one reference of it died with this change).
    pub fn set(&mut self, vblock: u64, entry: Entry, refs: &Arc<Refs>) -> Option<u64> {
        let leaf = self.leaf_mut(vblock, refs);
        let s = slot(vblock, 0);
        let old = leaf.pblocks[s];
        leaf.pblocks[s] = entry.pblock;
        leaf.crcs[s] = entry.crc;
        match (old != 0, entry.pblock != 0) {
            (false, true) => leaf.mapped += 1,
            (true, false) => leaf.mapped -= 1,
            _ => {}
        }
        (old != 0).then_some(old)
    }

    /// Unmaps `start..start+count`. Whole subtrees inside the range are
    /// dropped without being visited; the physical blocks whose reference
    /// died in place are appended to `dead`.
    pub fn unmap_range(&mut self, start: u64, count: u64, dead: &mut Vec<u64>) {
        if count == 0 {
            return;
        }
        unmap_in(&mut self.root, DEPTH - 1, 0, start, start + count, dead);
    }

    /// Visits every distinct node reachable from the root, children first,
    /// calling `f` with the node; `seen` remembers nodes already visited
    /// (shared with other trees).
    pub fn visit_post_order<F: FnMut(&Arc<Node>)>(
        &self,
        seen: &mut std::collections::HashSet<*const Node>,
        f: &mut F,
    ) {
        visit(&self.root, seen, f);
    }

    /// Every mapped `(vblock, entry)` of the tree, in order.
    pub fn for_each_mapped<F: FnMut(u64, Entry)>(&self, f: &mut F) {
        each_mapped(&self.root, DEPTH - 1, 0, f);
    }
    /// Calls `f` with every block whose mapping differs between this tree
    /// and `other`, in order. Subtrees the two share (the same node, as a
    /// snapshot and its volume share everything neither rewrote) are
    /// skipped unvisited, so the cost follows what changed, not the size.
    pub fn diff<F: FnMut(u64)>(&self, other: &Tree, f: &mut F) {
        diff_in(Some(&self.root), Some(&other.root), DEPTH - 1, 0, f);
    }
}

/// The child `i` of an interior node (none for a missing node or a leaf).
fn child(node: Option<&Arc<Node>>, i: usize) -> Option<&Arc<Node>> {
    match node.map(|n| &**n) {
        Some(Node::Interior(n)) => n.children[i].as_ref(),
        _ => None,
    }
}

/// Slot `s` of a leaf as `(pblock, crc)`; `(0, 0)` when unmapped.
fn leaf_slot(node: Option<&Arc<Node>>, s: usize) -> (u64, u32) {
    match node.map(|n| &**n) {
        Some(Node::Leaf(l)) => (l.pblocks[s], l.crcs[s]),
        _ => (0, 0),
    }
}

fn diff_in<F: FnMut(u64)>(
    a: Option<&Arc<Node>>,
    b: Option<&Arc<Node>>,
    level: u32,
    base: u64,
    f: &mut F,
) {
    match (a, b) {
        (None, None) => return,
        (Some(x), Some(y)) if Arc::ptr_eq(x, y) => return,
        _ => {}
    }
    if level == 0 {
        for s in 0..FANOUT {
            if leaf_slot(a, s) != leaf_slot(b, s) {
                f(base + s as u64);
            }
        }
        return;
    }
    let span = 1u64 << (FANOUT_BITS * level);
    for i in 0..FANOUT {
        diff_in(
            child(a, i),
            child(b, i),
            level - 1,
            base + i as u64 * span,
            f,
        );
    }
}

#[cold]
fn unreachable_leaf() -> ! {
    // The slot was filled just above; this cannot happen.
    std::process::abort()
}

fn visit<F: FnMut(&Arc<Node>)>(
    node: &Arc<Node>,
    seen: &mut std::collections::HashSet<*const Node>,
    f: &mut F,
) {
    if !seen.insert(Arc::as_ptr(node)) {
        return;
    }
    if let Node::Interior(i) = &**node {
        for c in i.children.iter().flatten() {
            visit(c, seen, f);
        }
    }
    f(node);
}

fn each_mapped<F: FnMut(u64, Entry)>(node: &Arc<Node>, level: u32, base: u64, f: &mut F) {
    match &**node {
        Node::Interior(i) => {
            for (idx, c) in i.children.iter().enumerate() {
                if let Some(c) = c {
                    let child_base = base | ((idx as u64) << (FANOUT_BITS * level));
                    each_mapped(c, level.saturating_sub(1), child_base, f);
                }
            }
        }
        Node::Leaf(l) => {
            if l.mapped == 0 {
                return;
            }
            for (idx, &p) in l.pblocks.iter().enumerate() {
                if p != 0 {
                    f(
                        base | idx as u64,
                        Entry {
                            pblock: p,
                            crc: l.crcs[idx],
                        },
                    );
                }
            }
        }
    }
}

/// `node` covers `base .. base + FANOUT^(level+1)`.
fn unmap_in(
    node: &mut Arc<Node>,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    dead: &mut Vec<u64>,
) {
    let span = 1u64 << (FANOUT_BITS * (level + 1));
    let node_end = base + span;
    let (lo, hi) = (start.max(base), end.min(node_end));
    if lo >= hi {
        return;
    }
    // Nothing to do in an absent range; avoid copying a shared node for it.
    let has_any = match &**node {
        Node::Interior(i) => {
            let child_span = span >> FANOUT_BITS;
            let (a, b) = (
                ((lo - base) / child_span) as usize,
                ((hi - 1 - base) / child_span) as usize,
            );
            i.children[a..=b].iter().any(Option::is_some)
        }
        Node::Leaf(l) => {
            let (a, b) = ((lo - base) as usize, (hi - base) as usize);
            l.pblocks[a..b].iter().any(|&p| p != 0)
        }
    };
    if !has_any {
        return;
    }
    match Arc::make_mut(node) {
        Node::Interior(i) => {
            let child_span = span >> FANOUT_BITS;
            let first = ((lo - base) / child_span) as usize;
            let last = ((hi - 1 - base) / child_span) as usize;
            for idx in first..=last {
                let child_base = base + idx as u64 * child_span;
                let covers_all = lo <= child_base && child_base + child_span <= hi;
                let slot = &mut i.children[idx];
                if covers_all {
                    // Dropping the child releases whatever only it held.
                    *slot = None;
                } else if let Some(c) = slot {
                    unmap_in(c, level.saturating_sub(1), child_base, lo, hi, dead);
                }
            }
        }
        Node::Leaf(l) => {
            for v in lo..hi {
                let s = (v - base) as usize;
                let p = l.pblocks[s];
                if p != 0 {
                    dead.push(p);
                    l.pblocks[s] = 0;
                    l.crcs[s] = 0;
                    l.mapped -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(p: u64) -> Entry {
        Entry {
            pblock: p,
            crc: p as u32 * 3,
        }
    }

    #[test]
    fn set_get_and_ranges() {
        let refs = Arc::new(Refs::new());
        let mut t = Tree::new();
        assert_eq!(t.get(5), None);
        assert_eq!(t.set(5, e(10), &refs), None);
        assert_eq!(t.set(MAX_BLOCKS - 1, e(11), &refs), None);
        assert_eq!(t.get(5), Some(e(10)));
        assert_eq!(t.get(MAX_BLOCKS - 1), Some(e(11)));
        assert_eq!(t.set(5, e(12), &refs), Some(10));
        let mut out = Vec::new();
        t.get_range(4, 3, &mut out);
        assert_eq!(out, vec![Entry::default(), e(12), Entry::default()]);
        let mut all = Vec::new();
        t.for_each_mapped(&mut |v, en| all.push((v, en)));
        assert_eq!(all, vec![(5, e(12)), (MAX_BLOCKS - 1, e(11))]);
    }

    #[test]
    fn snapshots_share_until_written_and_counts_follow() {
        let refs = Arc::new(Refs::new());
        let mut vol = Tree::new();
        for v in 0..1000u64 {
            let p = refs.lock_alloc().allocate(1)[0].start;
            vol.set(v, e(p), &refs);
        }
        let snap = vol.clone();
        assert!(
            Arc::ptr_eq(&snap.root, &vol.root),
            "a snapshot is the same root"
        );
        // Writing block 3 copies one leaf (512 blocks) and the path above it.
        let p_new = refs.lock_alloc().allocate(1)[0].start;
        let old = vol.set(3, e(p_new), &refs);
        assert_eq!(old, Some(4), "block 3 was allocated fourth");
        assert_eq!(
            snap.get(3),
            Some(e(4)),
            "the snapshot still sees the old block"
        );
        assert_eq!(vol.get(3), Some(e(p_new)));
        let a = refs.lock_alloc();
        assert_eq!(a.count(10), 2, "both leaf copies map block 10");
        assert_eq!(
            a.count(600),
            1,
            "the second leaf is still shared, not copied"
        );
        drop(a);
        drop(snap);
        let dead = refs.drain_graveyard();
        assert!(dead.contains(&10) && dead.contains(&4));
        assert!(!dead.contains(&600), "the shared leaf lives on in vol");
    }

    #[test]
    fn unmap_drops_whole_subtrees_and_keeps_the_rest() {
        let refs = Arc::new(Refs::new());
        let mut t = Tree::new();
        for v in [0u64, 1, 511, 512, 100_000, 1 << 30] {
            t.set(v, e(v + 1), &refs);
        }
        let mut dead = Vec::new();
        t.unmap_range(1, 99_999, &mut dead);
        dead.sort();
        assert_eq!(dead, vec![2, 512]);
        assert_eq!(t.get(0), Some(e(1)));
        assert_eq!(t.get(1), None);
        assert_eq!(t.get(100_000), Some(e(100_001)));
        assert_eq!(t.get(1 << 30), Some(e((1 << 30) + 1)));
        // The dropped leaf (512..1023) went to the graveyard, not to `dead`.
        assert!(refs.drain_graveyard().contains(&513));
        t.unmap_range(0, MAX_BLOCKS, &mut dead);
        let mut count = 0;
        t.for_each_mapped(&mut |_, _| count += 1);
        assert_eq!(count, 0);
    }
}
