//! Feeding a model's tensors to the statistics engine, releasing pages as they are read.

use std::sync::atomic::AtomicBool;

use super::{DType, Model, TensorInfo};
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
    ///
    /// ggml block-quantised tensors of more than [`StatsOptions::exact_limit`] values are measured
    /// one at a time with their values kept (exact, but memory grows with the tensor: 8 bytes per
    /// value), because the engine's bucketed path counts values per storage block and so only
    /// supports one-value blocks today.
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
        // Which engine run measures each tensor: `main` (all together), a run of its own, or none.
        let mut main = Vec::new();
        let mut alone = Vec::new();
        for (i, t) in tensors.iter().enumerate() {
            if !decode::can_decode(t.dtype) {
                continue;
            }
            if matches!(t.dtype, DType::Ggml(_)) && t.parameters() > options.exact_limit {
                alone.push(i);
            } else {
                main.push(i);
            }
        }
        let usable = |i: usize| {
            let s = &slices[i];
            let block = s.dtype.block_bytes();
            s.bytes.len() as u64 / block * block
        };
        let total: u64 = main.iter().chain(&alone).map(|&i| usable(i)).sum();
        let mut results: Vec<Option<TensorStats>> = vec![None; tensors.len()];
        let mut done = 0u64;
        let mut runs: Vec<(Vec<usize>, StatsOptions)> = vec![(main, options.clone())];
        for i in alone {
            let opts = StatsOptions {
                exact_limit: tensors[i].parameters(),
                ..options.clone()
            };
            runs.push((vec![i], opts));
        }
        let releaser = super::Releaser::new(&self.files);
        for (indices, opts) in runs {
            if indices.is_empty() {
                continue;
            }
            let run: Vec<TensorSlice> = indices.iter().map(|&i| slices[i]).collect();
            let release = |j: usize, range: std::ops::Range<usize>| {
                let t = tensors[indices[j]];
                let base = t.offset as usize;
                releaser.release(t.file, base + range.start..base + range.end);
            };
            let offset = done;
            let report = |d: u64, _: u64| progress(offset + d, total);
            let stats = compute_stats(&run, &opts, &report, &release, cancel)?;
            done += indices.iter().map(|&i| usable(i)).sum::<u64>();
            for (&i, s) in indices.iter().zip(stats) {
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
