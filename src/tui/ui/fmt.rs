//! Numbers for narrow columns.

/// How a value not computed yet is drawn (dim): never as zero.
pub(crate) const PENDING: &str = "…";

/// A statistic in at most ~9 characters: three significant digits, scientific outside
/// `[0.001, 100000)`.
pub(crate) fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// Seconds as `m:ss` (or `h:mm:ss`).
pub(crate) fn clock(secs: f64) -> String {
    let s = if secs.is_finite() {
        secs.max(0.0) as u64
    } else {
        0
    };
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.021345), "0.0213");
        assert_eq!(num(-1.2e-5), "-1.20e-5");
        assert_eq!(num(1.0), "1.00");
        assert_eq!(num(123.456), "123");
        assert_eq!(num(2.5e7), "2.50e7");
        assert_eq!(num(f64::NAN), "NaN");
    }

    #[test]
    fn clock_reads_minutes_and_hours() {
        assert_eq!(clock(2.4), "0:02");
        assert_eq!(clock(61.0), "1:01");
        assert_eq!(clock(3723.0), "1:02:03");
        assert_eq!(clock(f64::INFINITY), "0:00");
    }
}
