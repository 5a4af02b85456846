//! A worker's held count table: the code counts of a large 16-bit tensor (and the bucket keys of
//! a large F32 or wide one) stay in the worker's table while it reads pieces of that tensor, and
//! are handed over to the tensor's accumulator once, when the worker moves on or reaches the
//! tensor's last byte (integer counts merge in any order).

use super::{Acc, Job, Scratch, lock};
use crate::stats::plan::Piece;

impl Job<'_> {
    /// Makes the worker's table hold tensor `t`, handing over another tensor's counts first.
    pub(super) fn hold(&self, t: usize, scratch: &mut Scratch) {
        if scratch.held.is_some_and(|(h, _)| h != t) {
            self.hand_over(scratch);
        }
        if scratch.held.is_none() {
            scratch.held = Some((t, 0));
        }
    }

    /// Records `values` counted into the held table for piece `p`; at the tensor's last piece the
    /// counts are handed over at once (no later chunk holds this tensor).
    pub(super) fn counted(&self, p: &Piece, values: u64, scratch: &mut Scratch) {
        if let Some((_, n)) = &mut scratch.held {
            *n += values;
        }
        if p.bytes.end == self.plans[p.tensor].bytes {
            self.hand_over(scratch);
        }
    }

    /// Drains the held table into the tensor's accumulator.
    pub(super) fn hand_over(&self, scratch: &mut Scratch) {
        let Some((t, n)) = scratch.held.take() else {
            return;
        };
        let counts = scratch.table.drain();
        let finished = {
            let mut state = lock(&self.merge);
            let acc = state.accs.entry(t).or_insert_with(Acc::new);
            acc.counts.add(16, &counts);
            acc.counted += n;
            if acc.complete(&self.plans[t]) {
                state.accs.remove(&t).map(|a| (t, a))
            } else {
                None
            }
        };
        self.finish_all(finished.into_iter().collect());
    }
}
