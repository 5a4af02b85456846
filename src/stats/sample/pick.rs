//! Which values are sampled (one lane of each aligned group of 16, picked by a hash of the group's
//! position), and the counting of a vector kernel's group: tails and picks.

use super::F32_VALUES;
use crate::stats::kernel::Counter;

/// The sampled lane of group `group` (values `16·group..16·group + 16` of a tensor).
///
/// Each octet of groups (`group / 8`, 128 values) goes through murmur3's 64-bit finaliser, so that
/// any structure in the data (matrix columns, periodic patterns) meets independent-looking picks:
/// each value's inclusion is like a fair 1-in-16 draw. Group `8o + j` of the octet takes byte `j`
/// of its hash, from the top, and the lane is that byte's high nibble (uniform over the 16).
///
/// One value in sixteen, not two: the counting of the sampled values was about a tenth of the
/// AVX-512 BF16 kernel's time on Zen 4, and one pick a group took 6% off it; a tensor sampled at
/// all has more than 2^22 values, so at least 2^18 samples.
#[inline(always)]
pub(crate) fn picks(group: u64) -> usize {
    pick_lane(group_byte(octet_hash(group >> 3), group))
}

/// The hash of the octet of `group`, the group of step `k` of a kernel's loop: recomputed at the
/// first step and at each octet's first group, kept in `hash` in between (the hash is most of a
/// pick's cost).
#[inline(always)]
pub(crate) fn step_hash(hash: &mut u64, k: usize, group: u64) -> u64 {
    if k == 0 || group & 7 == 0 {
        *hash = octet_hash(group >> 3);
    }
    *hash
}

/// Runs a vector kernel's loop over `groups` whole groups of sixteen, the first being group
/// `first_group` of the tensor: `step(k, lane)` for each group `k` with its sampled lane (the
/// loop of [`for_each_step`] with one group a step).
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
pub(crate) fn for_each_group(first_group: u64, groups: usize, mut step: impl FnMut(usize, usize)) {
    for_each_step::<1>(first_group, groups, |k, [lane]| step(k, lane));
}

/// Runs a vector kernel's loop over `steps` steps of `G` whole groups of sixteen (`G` divides
/// eight), the first step covering groups `G·first_step..G·first_step + G` of the tensor:
/// `step(k, lanes)` for each step `k` with the sampled lane of each of its groups. Whole octets
/// (eight groups sharing a hash, see [`picks`]) have their hash computed once and their lanes
/// taken at fixed shifts; the steps before the first whole octet and after the last (at most
/// fourteen groups a block) take [`picks`] itself.
///
/// On Zen 4 one core runs out of instructions before memory runs out of bytes in the F32
/// kernel (one thread streamed F32 at 14.5 GB/s where `readlimit` reads 23): there the loop by
/// octets, with the branch of [`count_group`], took 8% off a one-thread run over 2 GiB. On an
/// Intel Xeon (Granite Rapids class) the BF16 kernel, two groups a step, had the same limit: a
/// shift by a variable count is three micro-operations there, and the step found its lanes with
/// two of them and a test for a new octet.
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
pub(crate) fn for_each_step<const G: usize>(
    first_step: u64,
    steps: usize,
    mut step: impl FnMut(usize, [usize; G]),
) {
    const { assert!(G > 0 && 8 % G == 0) };
    let per_octet = (8 / G) as u64;
    let lanes_of = |k: usize| {
        let first = (first_step + k as u64) * G as u64;
        std::array::from_fn(|j| picks(first + j as u64))
    };
    let lead = ((per_octet - first_step % per_octet) % per_octet).min(steps as u64) as usize;
    let tail = lead + (steps - lead) / per_octet as usize * per_octet as usize;
    // In order: the kernels add each lane's values in the order of the tensor.
    for k in 0..lead {
        step(k, lanes_of(k));
    }
    for k0 in (lead..tail).step_by(per_octet as usize) {
        // The octet's eight lanes, group `8o + j`'s in byte `j` (a byte load a lane, where a
        // shift by a variable count would cost three micro-operations on Intel cores).
        let lanes = octet_hash(((first_step + k0 as u64) * G as u64) >> 3)
            .to_be_bytes()
            .map(|b| pick_lane(b) as u8);
        for s in 0..8 / G {
            step(
                k0 + s,
                std::array::from_fn(|j| usize::from(lanes[G * s + j])),
            );
        }
    }
    for k in tail..steps {
        step(k, lanes_of(k));
    }
}

/// The byte of an octet's hash that group `group` takes: the top one for the first group.
#[inline(always)]
pub(crate) fn group_byte(hash: u64, group: u64) -> u8 {
    (hash >> (56 - 8 * (group & 7))) as u8
}

/// murmur3's 64-bit finaliser of an octet of groups (128 values).
#[inline(always)]
pub(crate) fn octet_hash(pair: u64) -> u64 {
    let mut z = pair ^ (pair >> 33);
    z = z.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z ^= z >> 33;
    z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

/// The lane a byte of the hash picks (see [`picks`]).
#[inline(always)]
pub(crate) fn pick_lane(byte: u8) -> usize {
    usize::from(byte >> 4)
}

/// Whether value `i` of a tensor is sampled (the rule the kernels implement).
pub(crate) fn sampled(i: u64) -> bool {
    picks(i / 16) == (i % 16) as usize
}

/// The key of value `l` of the group at `p`, for source `K` (0: F32, 1: BF16, 2: F16), straight
/// from the bytes: the value's top half (F32) or its code (BF16, F16).
///
/// # Safety
///
/// `p` must point to a whole group (16 values) of source `K`, and `l < 16`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
#[inline(always)]
pub(crate) unsafe fn group_key<const K: u8>(p: *const u8, l: usize) -> usize {
    // SAFETY: the caller guarantees the group is readable; the reads have no alignment needs.
    unsafe {
        match K {
            F32_VALUES => usize::from(p.add(4 * l + 2).cast::<u16>().read_unaligned()),
            _ => usize::from(p.add(2 * l).cast::<u16>().read_unaligned()),
        }
    }
}

/// How a vector kernel taking `G` values a step cuts `n` values starting at value `first` of the
/// tensor: the values before the first whole aligned group, and the number of whole groups after.
pub(crate) fn cut<const G: u64>(first: u64, n: usize) -> (usize, usize) {
    let head = ((G - first % G) % G).min(n as u64) as usize;
    (head, (n - head) / G as usize)
}

/// Counts one group of 16 values whose keys `key_of(lane)` gives (the safe form of
/// [`count_picked`], for the portable kernels): every lane not in `central`, and the sampled
/// lane if it is central. The window holds at least 98% of a tensor's values, so the branch
/// on the sampled lane is all but always taken: on Zen 4 it was cheaper than adding the bit
/// without a branch (a `bt` and an `adc` to memory, a step's costliest instructions).
#[inline(always)]
pub(crate) fn count_group(
    key_of: impl Fn(usize) -> usize,
    a: usize,
    central: u16,
    t: &mut impl Counter,
) {
    let mut tails = !central;
    while tails != 0 {
        let l = tails.trailing_zeros() as usize;
        tails &= tails - 1;
        t.bump(key_of(l), l);
    }
    if central >> a & 1 != 0 {
        t.bump(key_of(a), 0);
    }
}

/// Counts one whole group of 16 values of a vector kernel (at `at`): the key of every lane not in
/// `central` (bit `l`: lane `l` is central), and of the group's sampled lane (`picks`) if it is
/// central.
///
/// # Safety
///
/// `at` must point to the group's 16 values of source `K`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
#[inline(always)]
pub(crate) unsafe fn count_picked<const K: u8>(
    at: *const u8,
    a: usize,
    central: u16,
    t: &mut impl Counter,
) {
    // SAFETY: the caller guarantees the group is readable; every `l` is below 16.
    count_group(|l| unsafe { group_key::<K>(at, l) }, a, central, t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_by_octets_visits_every_group_once_with_the_lane_of_the_rule() {
        for first_group in [0u64, 1, 5, 7, 8, 9, 15, 16, 1 << 40, (1 << 40) + 3] {
            for groups in [0usize, 1, 2, 6, 7, 8, 9, 15, 16, 17, 23, 24, 25, 64, 70] {
                let mut seen = Vec::new();
                for_each_group(first_group, groups, |k, lane| seen.push((k, lane)));
                let expected: Vec<(usize, usize)> = (0..groups)
                    .map(|k| (k, picks(first_group + k as u64)))
                    .collect();
                assert_eq!(seen, expected, "first_group {first_group}, groups {groups}");
            }
        }
    }

    #[test]
    fn the_loop_by_steps_of_two_and_four_groups_takes_the_lanes_of_the_rule() {
        fn check<const G: usize>() {
            for first_step in [0u64, 1, 2, 3, 4, 5, 7, 1 << 40, (1 << 40) + 3] {
                for steps in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 31] {
                    let mut seen = Vec::new();
                    for_each_step::<G>(first_step, steps, |k, lanes| seen.push((k, lanes)));
                    let expected: Vec<(usize, [usize; G])> = (0..steps)
                        .map(|k| {
                            let group = (first_step + k as u64) * G as u64;
                            (k, std::array::from_fn(|j| picks(group + j as u64)))
                        })
                        .collect();
                    assert_eq!(
                        seen, expected,
                        "G {G}, first_step {first_step}, steps {steps}"
                    );
                }
            }
        }
        check::<2>();
        check::<4>();
        check::<8>();
    }
}
