//! Which instruction set the statistics kernels run on: detected once per computation, for every
//! kernel (the bucketed F32 kernel in `kernel` and the sampled kernels in `sample`).
//!
//! Every variant is checked against the scalar kernels bit for bit in the tests, so the choice
//! changes speed only. A variant is only ever constructed by [`Isa::available`] after the CPU
//! reported every feature it needs: that is what makes the `unsafe` calls of the vector kernels
//! sound.

/// An instruction set the kernels have an implementation for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// Portable Rust, one value at a time: the reference every other kernel is checked against.
    Scalar,
    /// Portable Rust written for the compiler to vectorise (fixed-width lane arrays over
    /// `chunks_exact`, no fused multiply-add): the fast path on CPUs without an explicit kernel.
    Portable,
    /// AVX2 with FMA, F16C and POPCNT (x86-64 since 2013-2015: Haswell, Zen).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 F and BW, plus everything `Avx2` needs (Skylake-X, Ice Lake, Zen 4).
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The most capable instruction set this CPU runs (which is not always the fastest: the
    /// engine measures, see `choice`).
    #[cfg(test)]
    pub fn detect() -> Isa {
        *Self::available().last().unwrap_or(&Isa::Scalar)
    }

    /// Every instruction set this CPU runs, slowest first (the tests check each against the
    /// scalar kernels).
    pub fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut out = vec![Isa::Scalar, Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            out.push(Isa::Avx2);
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                out.push(Isa::Avx512);
            }
        }
        out
    }
}
