//! Feeding a model's tensors to the statistics engine, releasing pages as they are read.

use std::sync::atomic::AtomicBool;

use super::{Model, TensorInfo};
use crate::decode;
use crate::stats::{
    Cancelled, Finding, StatsOptions, TensorSlice, TensorStats, compute_stats, find_anomalies,
};

impl Model {
    /// Statistics of `tensors` (of this model), in the same order, plus the health findings.
    ///
    /// Pages of the mapped files are released as soon as the engine is done with them
    /// ([`super::WeightFile::release`]), so a model larger than memory is measured with bounded
    /// resident memory.
    ///
    /// Tensors whose values glassbox cannot decode (a ggml type without a kernel, an unknown GGUF
    /// type) are not read: their statistics hold the `count` alone and the findings say
    /// `not_decoded`.
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
                bytes: if decode::can_decode(t.dtype) {
                    self.tensor_bytes(t)
                } else {
                    &[]
                },
            })
            .collect();
        // One engine run over every tensor glassbox can decode; the others keep `count` alone.
        let run: Vec<usize> = (0..tensors.len())
            .filter(|&i| decode::can_decode(tensors[i].dtype))
            .collect();
        let mut results: Vec<Option<TensorStats>> = vec![None; tensors.len()];
        if !run.is_empty() {
            let slices_run: Vec<TensorSlice> = run.iter().map(|&i| slices[i]).collect();
            let releaser = super::Releaser::new(&self.files);
            let release = |j: usize, range: std::ops::Range<usize>| {
                let t = tensors[run[j]];
                let base = t.offset as usize;
                releaser.release(t.file, base + range.start..base + range.end);
            };
            let stats = compute_stats(&slices_run, options, progress, &release, cancel)?;
            for (&i, s) in run.iter().zip(stats) {
                results[i] = Some(s);
            }
        }
        let stats: Vec<TensorStats> = results
            .into_iter()
            .zip(tensors)
            .map(|(s, t)| {
                s.unwrap_or_else(|| {
                    TensorStats::not_decoded(t.parameters(), options.outlier_sigmas)
                })
            })
            .collect();
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        let findings = find_anomalies(&names, &slices, &stats);
        Ok((stats, findings))
    }
}
