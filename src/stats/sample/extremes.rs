//! The extremes of a sampled 16-bit tensor whose window expects them among its tails
//! ([`Window::extremes_in_tails`]): its kernels left the extremes of every block out, and every
//! value beyond the window is counted exactly under its code, so the lowest and highest counted
//! codes are the tensor's extremes whenever they lie beyond the window. A side without any such
//! value (about one normal tensor in a thousand) has the tensor's codes read again.

use super::{Source, Window};
use crate::stats::lanes::{Code16, ord16};

/// The finite minimum and maximum of a tensor of `source` codes (`bytes`, whole), from its
/// counted codes `counts` (every code beyond `window`, a sample of those inside), combined with
/// `partial`, the extremes of the blocks a kernel redid (NaN or Inf in them).
pub(crate) fn extremes(
    source: Source,
    counts: &[(u32, u64)],
    window: &Window,
    bytes: &[u8],
    partial: (f64, f64),
) -> (f64, f64) {
    let kind = match source {
        Source::BF16 => Code16::BF16,
        Source::F16 => Code16::F16,
        Source::F32 => unreachable!("F32 windows never leave extremes to the tails"),
    };
    let finite = counts
        .iter()
        .filter(|&&(code, n)| n > 0 && kind.value(code as u16).is_finite())
        .map(|&(code, _)| ord16(code as u16));
    let (lowest, highest) = finite.fold((i16::MAX, i16::MIN), |(a, b), o| (a.min(o), b.max(o)));
    let (lo, hi) = if lowest < window.codes.0 && highest > window.codes.1 {
        (lowest, highest)
    } else {
        read_extremes(kind, bytes)
    };
    if lo > hi {
        return partial;
    }
    let value = |o: i16| f64::from(kind.value(ord16(o as u16) as u16));
    (value(lo).min(partial.0), value(hi).max(partial.1))
}

/// The least and greatest finite codes of `bytes`, in [`ord16`] order (`(i16::MAX, i16::MIN)` if
/// none is finite).
pub(super) fn read_extremes(kind: Code16, bytes: &[u8]) -> (i16, i16) {
    bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .filter(|&code| kind.value(code).is_finite())
        .map(ord16)
        .fold((i16::MAX, i16::MIN), |(a, b), o| (a.min(o), b.max(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BF16 window of ±0.03 (codes of magnitude up to 0x3CF5), leaving extremes to the tails.
    fn window() -> Window {
        Window {
            extremes_in_tails: true,
            ..Window::covering(-0.03, 0.03)
        }
    }

    fn bf16(x: f32) -> u32 {
        u32::from(half::bf16::from_f32(x).to_bits())
    }

    fn bytes(values: &[f32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
            .collect()
    }

    const NONE: (f64, f64) = (f64::INFINITY, f64::NEG_INFINITY);

    #[test]
    fn tails_on_both_sides_give_the_extremes_without_reading() {
        // Sampled central codes, tails at -0.5 and 0.25 and 0.125, NaN and Inf codes counted too.
        let counts = [
            (bf16(0.01), 7),
            (bf16(-0.02), 3),
            (bf16(0.25), 1),
            (bf16(0.125), 2),
            (bf16(-0.5), 1),
            (0x7FC0, 4), // NaN
            (0xFF80, 1), // -Inf
        ];
        // No bytes: a read would find no finite value.
        let got = extremes(Source::BF16, &counts, &window(), &[], NONE);
        assert_eq!(got, (-0.5, 0.25));
        // Blocks redone for NaN or Inf bring their own extremes.
        let got = extremes(Source::BF16, &counts, &window(), &[], (-0.75, 0.0));
        assert_eq!(got, (-0.75, 0.25));
    }

    #[test]
    fn a_side_without_tails_is_read_again() {
        let values = [0.01, -0.02, 0.0251, -0.5, 0.02, f32::NAN, f32::INFINITY];
        // Counted: the tail below and the sampled central values (the max, 0.0251, not sampled).
        let counts = [(bf16(-0.5), 1), (bf16(0.01), 1), (0x7F80, 1)];
        let got = extremes(Source::BF16, &counts, &window(), &bytes(&values), NONE);
        let want = f64::from(half::bf16::from_f32(0.0251).to_f32());
        assert_eq!(got, (-0.5, want));
        // Only central values at all.
        let values = [0.01f32, -0.02, 0.0];
        let counts = [(bf16(0.01), 1)];
        let got = extremes(Source::BF16, &counts, &window(), &bytes(&values), NONE);
        let low = f64::from(half::bf16::from_f32(-0.02).to_f32());
        let high = f64::from(half::bf16::from_f32(0.01).to_f32());
        assert_eq!(got, (low, high));
        // No finite value: the partial extremes stand.
        let values = [f32::NAN, f32::NEG_INFINITY];
        let got = extremes(
            Source::BF16,
            &[(0x7FC0, 1)],
            &window(),
            &bytes(&values),
            NONE,
        );
        assert_eq!(got, NONE);
    }

    #[test]
    fn f16_codes_are_compared_in_the_window_of_f16_codes() {
        let window = Window {
            extremes_in_tails: true,
            ..Window::covering(-0.03, 0.03).for_f16()
        };
        let f16 = |x: f32| u32::from(half::f16::from_f32(x).to_bits());
        let counts = [(f16(-0.25), 1), (f16(0.01), 5), (f16(0.5), 2), (0x7C00, 1)];
        let got = extremes(Source::F16, &counts, &window, &[], NONE);
        assert_eq!(got, (-0.25, 0.5));
    }
}
