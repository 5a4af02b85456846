//! Feeding a model's tensors to the statistics engine, releasing pages as they are read.

use std::sync::atomic::AtomicBool;

use super::{Model, TensorInfo};
use crate::stats::{
    Cancelled, Finding, StatsOptions, TensorSlice, TensorStats, compute_stats, find_anomalies,
};

impl Model {
    /// Statistics of `tensors` (of this model), in the same order, plus the health findings.
    ///
    /// Pages of the mapped files are released as soon as the engine is done with them
    /// ([`super::WeightFile::release`]), so a model larger than memory is measured with bounded
    /// resident memory.
    pub fn compute_stats(
        &self,
        tensors: &[&TensorInfo],
        options: &StatsOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &AtomicBool,
    ) -> Result<(Vec<TensorStats>, Vec<Finding>), Cancelled> {
        let slices: Vec<TensorSlice> = tensors
            .iter()
            .map(|t| TensorSlice {
                dtype: t.dtype,
                shape: &t.shape,
                bytes: self.tensor_bytes(t),
            })
            .collect();
        let release = |i: usize, range: std::ops::Range<usize>| {
            let t = tensors[i];
            let base = t.offset as usize;
            self.files[t.file].release(base + range.start..base + range.end);
        };
        let stats = compute_stats(&slices, options, progress, &release, cancel)?;
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        let findings = find_anomalies(&names, &slices, &stats);
        Ok((stats, findings))
    }
}
