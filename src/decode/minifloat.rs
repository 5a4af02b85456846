//! The small floating-point formats: FP8 (OCP and the "fnuz" variants), the MX scale type E8M0,
//! and the OCP MX element types FP6 and FP4.
//!
//! Each format has at most 256 codes, so each is decoded through a table built at compile time by
//! one generic rule (`minifloat`): sign, exponent and mantissa fields, an exponent bias, and the
//! way the format spends its special codes.
//!
//! | type | layout | bias | special codes | largest finite |
//! |---|---|---|---|---|
//! | `F8_E4M3` (OCP "fn") | S.EEEE.MMM | 7 | `S.1111.111` = NaN, no infinities | 448 (`0x7E`) |
//! | `F8_E5M2` | S.EEEEE.MM | 15 | IEEE: exponent 31 is ±inf (M = 0) or NaN | 57344 (`0x7B`) |
//! | `F8_E4M3FNUZ` | S.EEEE.MMM | 8 | only `0x80` is NaN; no infinities, no -0 | 240 (`0x7F`) |
//! | `F8_E5M2FNUZ` | S.EEEEE.MM | 16 | only `0x80` is NaN; no infinities, no -0 | 57344 (`0x7F`) |
//! | `F8_E8M0` | EEEEEEEE | 127 | `0xFF` = NaN; no sign, no zero: 2^(E-127) | 2^127 |
//! | `F6_E2M3` | S.EE.MMM | 1 | none | 7.5 |
//! | `F6_E3M2` | S.EEE.MM | 3 | none | 28 |
//! | `F4` (E2M1) | S.EE.M | 1 | none | 6 |
//!
//! Exponent field 0 is subnormal everywhere except E8M0: `M · 2^(1 - bias - mantissa_bits)`.

/// How a format uses the codes at the top of its exponent range (and the negative zero).
#[derive(Clone, Copy)]
enum Special {
    /// IEEE 754: the all-ones exponent is infinity (mantissa 0) or NaN.
    Ieee,
    /// OCP "fn" (finite): only the all-ones exponent with the all-ones mantissa is NaN.
    AllOnesNan,
    /// "fnuz" (finite, unsigned zero): the negative-zero code is the only NaN.
    NegativeZeroNan,
    /// Every code is a finite number (the MX element types).
    None,
}

/// 2^`e` for the exponents these formats reach (well inside f64's normal range).
const fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The value of `code` in a sign/exponent/mantissa format.
const fn minifloat(code: u32, exp_bits: u32, man_bits: u32, bias: i32, special: Special) -> f64 {
    let negative = (code >> (exp_bits + man_bits)) & 1 == 1;
    let e = (code >> man_bits) & ((1 << exp_bits) - 1);
    let m = code & ((1 << man_bits) - 1);
    let e_max = (1 << exp_bits) - 1;
    let nan = match special {
        Special::Ieee => e == e_max && m != 0,
        Special::AllOnesNan => e == e_max && m == (1 << man_bits) - 1,
        Special::NegativeZeroNan => negative && e == 0 && m == 0,
        Special::None => false,
    };
    if nan {
        return f64::NAN;
    }
    let magnitude = if matches!(special, Special::Ieee) && e == e_max {
        f64::INFINITY
    } else if e == 0 {
        m as f64 * pow2(1 - bias - man_bits as i32)
    } else {
        ((1 << man_bits) | m) as f64 * pow2(e as i32 - bias - man_bits as i32)
    };
    if negative { -magnitude } else { magnitude }
}

const fn table<const N: usize>(
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    special: Special,
) -> [f64; N] {
    let mut out = [0.0; N];
    let mut code = 0;
    while code < N {
        out[code] = minifloat(code as u32, exp_bits, man_bits, bias, special);
        code += 1;
    }
    out
}

const fn e8m0_table() -> [f64; 256] {
    let mut out = [0.0; 256];
    let mut code = 0;
    while code < 255 {
        out[code] = pow2(code as i32 - 127);
        code += 1;
    }
    out[255] = f64::NAN;
    out
}

/// `F8_E4M3` (OCP E4M3FN) codes to values.
pub const F8_E4M3: [f64; 256] = table(4, 3, 7, Special::AllOnesNan);
/// `F8_E5M2` codes to values.
pub const F8_E5M2: [f64; 256] = table(5, 2, 15, Special::Ieee);
/// `F8_E4M3FNUZ` codes to values.
pub const F8_E4M3FNUZ: [f64; 256] = table(4, 3, 8, Special::NegativeZeroNan);
/// `F8_E5M2FNUZ` codes to values.
pub const F8_E5M2FNUZ: [f64; 256] = table(5, 2, 16, Special::NegativeZeroNan);
/// `F8_E8M0` (MX scale) codes to values.
pub const F8_E8M0: [f64; 256] = e8m0_table();
/// `F6_E2M3` codes (6 bits) to values.
pub const F6_E2M3: [f64; 64] = table(2, 3, 1, Special::None);
/// `F6_E3M2` codes (6 bits) to values.
pub const F6_E3M2: [f64; 64] = table(3, 2, 3, Special::None);
/// `F4` (E2M1) codes (4 bits) to values.
pub const F4_E2M1: [f64; 16] = table(2, 1, 1, Special::None);

#[cfg(test)]
mod tests {
    use super::super::oracle;
    use super::*;

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
    }

    fn assert_table(name: &str, ours: &[f64], oracle: &[f64]) {
        assert_eq!(ours.len(), oracle.len());
        for (code, (&a, &b)) in ours.iter().zip(oracle).enumerate() {
            assert!(
                same(a, b),
                "{name} code {code:#04x}: decoded {a:e}, ml_dtypes says {b:e}"
            );
        }
    }

    #[test]
    fn every_code_matches_ml_dtypes() {
        assert_table("F8_E4M3", &F8_E4M3, &oracle::F8_E4M3);
        assert_table("F8_E5M2", &F8_E5M2, &oracle::F8_E5M2);
        assert_table("F8_E4M3FNUZ", &F8_E4M3FNUZ, &oracle::F8_E4M3FNUZ);
        assert_table("F8_E5M2FNUZ", &F8_E5M2FNUZ, &oracle::F8_E5M2FNUZ);
        assert_table("F8_E8M0", &F8_E8M0, &oracle::F8_E8M0);
        assert_table("F6_E2M3", &F6_E2M3, &oracle::F6_E2M3);
        assert_table("F6_E3M2", &F6_E3M2, &oracle::F6_E3M2);
        assert_table("F4", &F4_E2M1, &oracle::F4);
    }

    /// Values worked out by hand from the format definitions.
    #[test]
    fn hand_computed_codes() {
        let cases: &[(&str, &[f64], u8, f64)] = &[
            // E4M3: bias 7, subnormal step 2^-9.
            ("E4M3", &F8_E4M3, 0x00, 0.0),
            ("E4M3", &F8_E4M3, 0x01, 1.0 / 512.0),
            ("E4M3", &F8_E4M3, 0x07, 7.0 / 512.0),
            ("E4M3", &F8_E4M3, 0x08, 1.0 / 64.0),
            ("E4M3", &F8_E4M3, 0x38, 1.0),
            ("E4M3", &F8_E4M3, 0x3C, 1.5),
            ("E4M3", &F8_E4M3, 0x7E, 448.0),
            ("E4M3", &F8_E4M3, 0xB8, -1.0),
            ("E4M3", &F8_E4M3, 0xFE, -448.0),
            ("E4M3", &F8_E4M3, 0x78, 256.0),
            // E5M2: bias 15, subnormal step 2^-16.
            ("E5M2", &F8_E5M2, 0x01, 1.0 / 65536.0),
            ("E5M2", &F8_E5M2, 0x04, 1.0 / 16384.0),
            ("E5M2", &F8_E5M2, 0x3C, 1.0),
            ("E5M2", &F8_E5M2, 0x7B, 57344.0),
            ("E5M2", &F8_E5M2, 0x7C, f64::INFINITY),
            ("E5M2", &F8_E5M2, 0xFC, f64::NEG_INFINITY),
            ("E5M2", &F8_E5M2, 0xC0, -2.0),
            // E4M3FNUZ: bias 8.
            ("E4M3FNUZ", &F8_E4M3FNUZ, 0x40, 1.0),
            ("E4M3FNUZ", &F8_E4M3FNUZ, 0x7F, 240.0),
            ("E4M3FNUZ", &F8_E4M3FNUZ, 0x01, 1.0 / 1024.0),
            ("E4M3FNUZ", &F8_E4M3FNUZ, 0xFF, -240.0),
            // E5M2FNUZ: bias 16.
            ("E5M2FNUZ", &F8_E5M2FNUZ, 0x40, 1.0),
            ("E5M2FNUZ", &F8_E5M2FNUZ, 0x7F, 57344.0),
            ("E5M2FNUZ", &F8_E5M2FNUZ, 0x7C, 32768.0),
            ("E5M2FNUZ", &F8_E5M2FNUZ, 0x01, 1.0 / 131072.0),
            // E8M0: 2^(e-127).
            ("E8M0", &F8_E8M0, 127, 1.0),
            ("E8M0", &F8_E8M0, 128, 2.0),
            ("E8M0", &F8_E8M0, 126, 0.5),
            ("E8M0", &F8_E8M0, 254, 1.7014118346046923e38),
            // E2M3: bias 1, subnormal step 1/8.
            ("E2M3", &F6_E2M3, 0b000001, 0.125),
            ("E2M3", &F6_E2M3, 0b001000, 1.0),
            ("E2M3", &F6_E2M3, 0b011111, 7.5),
            ("E2M3", &F6_E2M3, 0b111111, -7.5),
            // E3M2: bias 3, subnormal step 1/16.
            ("E3M2", &F6_E3M2, 0b000001, 0.0625),
            ("E3M2", &F6_E3M2, 0b001100, 1.0),
            ("E3M2", &F6_E3M2, 0b011111, 28.0),
            // E2M1.
            ("E2M1", &F4_E2M1, 0b0001, 0.5),
            ("E2M1", &F4_E2M1, 0b0010, 1.0),
            ("E2M1", &F4_E2M1, 0b0111, 6.0),
            ("E2M1", &F4_E2M1, 0b1101, -3.0),
        ];
        for &(name, t, code, want) in cases {
            assert_eq!(t[code as usize], want, "{name} {code:#04x}");
        }
    }

    #[test]
    fn special_codes() {
        let nans = |t: &[f64]| t.iter().filter(|v| v.is_nan()).count();
        let infs = |t: &[f64]| t.iter().filter(|v| v.is_infinite()).count();
        assert_eq!((nans(&F8_E4M3), infs(&F8_E4M3)), (2, 0));
        assert!(F8_E4M3[0x7F].is_nan() && F8_E4M3[0xFF].is_nan());
        assert_eq!((nans(&F8_E5M2), infs(&F8_E5M2)), (6, 2));
        assert_eq!((nans(&F8_E4M3FNUZ), infs(&F8_E4M3FNUZ)), (1, 0));
        assert!(F8_E4M3FNUZ[0x80].is_nan() && F8_E5M2FNUZ[0x80].is_nan());
        assert_eq!((nans(&F8_E5M2FNUZ), infs(&F8_E5M2FNUZ)), (1, 0));
        assert!(F8_E8M0[0xFF].is_nan() && nans(&F8_E8M0) == 1);
        assert!(
            F8_E8M0.iter().all(|v| v.is_nan() || *v > 0.0),
            "E8M0 has no zero"
        );
        for t in [&F6_E2M3[..], &F6_E3M2[..], &F4_E2M1[..]] {
            assert_eq!((nans(t), infs(t)), (0, 0));
        }
    }
}
