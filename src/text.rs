//! Numbers and shapes in words, for every sentence glassbox writes: the messages of findings
//! (made in the library, next to the data) and the renderers' tables. A leaf module: any layer may
//! use it.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part` of `whole` as a percentage with two decimals: `0` for none, `<0.01%` for a few.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 || part == 0 {
        "0".into()
    } else {
        share_percent(part as f64 / whole as f64)
    }
}

/// A share (0 to 1) as a percentage with two decimals, as [`percent`] writes a count's: `0%`,
/// `<0.01%` for a share too small to show, `0.03%`, `100.00%`.
pub fn share_percent(share: f64) -> String {
    if share <= 0.0 || !share.is_finite() {
        "0%".into()
    } else if share < 1e-4 {
        "<0.01%".into()
    } else {
        format!("{:.2}%", 100.0 * share)
    }
}

/// A value of a tensor in its shortest decimal form, through f32 when it is one (the f32 `1e30`
/// as `1e30`, not `1000000015047466200000000000000`), in exponent form from 1e6 and under 1e-4.
pub fn value(v: f64) -> String {
    let as_f32 = v as f32;
    let exponent = v != 0.0 && !(1e-4..1e6).contains(&v.abs());
    match (f64::from(as_f32) == v, exponent) {
        (true, true) => format!("{as_f32:e}"),
        (true, false) => format!("{as_f32}"),
        (false, true) => format!("{v:e}"),
        (false, false) => format!("{v}"),
    }
}

/// `one` for a count of 1, `many` otherwise: `plural(n, "tensor", "tensors")`.
pub fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A shape as `[4096, 11008]`.
pub fn shape(dims: &[u64]) -> String {
    let inner: Vec<String> = dims.iter().map(u64::to_string).collect();
    format!("[{}]", inner.join(", "))
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.21 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", three_digits(value), UNITS[unit])
}

/// A count in decimal units as model sizes are quoted: `950`, `12.3K`, `1.24B`.
pub fn human_count(n: u64) -> String {
    const UNITS: [&str; 5] = ["", "K", "M", "B", "T"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return n.to_string();
    }
    format!("{}{}", three_digits(value), UNITS[unit])
}

/// Three significant digits, without a trailing `.0`.
fn three_digits(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// `s` with its control characters escaped (`\u{1b}`, `\0`, `\r`, …), newlines kept when
/// `keep_newlines`: names and strings come from the files, and a hostile file must not move the
/// cursor, rewrite the terminal or split a line of a table.
pub fn printable(s: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Levenshtein distance of two short names, counted up to `cap` (longer ones are `cap`).
pub fn edit_distance(a: &str, b: &str, cap: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) >= cap || a.len() > 256 || b.len() > 256 {
        return cap;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev + usize::from(ca != cb);
            prev = row[j + 1];
            row[j + 1] = substitute.min(prev + 1).min(row[j] + 1);
        }
    }
    row[b.len()].min(cap)
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_written_short() {
        use super::value;
        assert_eq!(value(f64::from(1e30f32)), "1e30");
        assert_eq!(value(f64::from(0.02f32)), "0.02");
        assert_eq!(value(1.0), "1");
        assert_eq!(value(-0.5), "-0.5");
        assert_eq!(value(0.0), "0");
        assert_eq!(value(f64::from(3e-7f32)), "3e-7");
        assert_eq!(value(0.1), "0.1");
        assert_eq!(value(1e300), "1e300");
        assert_eq!(value(123456.0), "123456");
    }

    #[test]
    fn shares_are_percentages_with_two_decimals_and_tiny_ones_say_so() {
        assert_eq!(super::share_percent(0.0), "0%");
        assert_eq!(super::share_percent(0.00003), "<0.01%");
        assert_eq!(super::share_percent(0.00032), "0.03%");
        assert_eq!(super::share_percent(1.0), "100.00%");
        assert_eq!(super::share_percent(f64::NAN), "0%");
    }

    use super::*;

    #[test]
    fn numbers_and_shapes() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(shape(&[]), "[]");
        assert_eq!(shape(&[3, 4]), "[3, 4]");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("layers.0.weight", false), "layers.0.weight");
        assert_eq!(printable("a\u{1b}[31mb", false), "a\\u{1b}[31mb");
        assert_eq!(printable("x\0y\r\n", false), "x\\u{0}y\\r\\n");
        assert_eq!(printable("x\0y\r\n", true), "x\\u{0}y\\r\n");
        assert_eq!(printable("naïve — ok\t", true), "naïve — ok\\t");
    }
}
