//! Output: every rendering (text, markdown, JSON) is a pure function of the library's data.

pub mod diff;
pub mod json;
pub mod stats;
pub mod summary;
pub mod table;
pub mod tensors;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Markdown,
    Json,
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

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("layers.0.weight", false), "layers.0.weight");
        assert_eq!(printable("a\u{1b}[31mb", false), "a\\u{1b}[31mb");
        assert_eq!(printable("x\0y\r\n", false), "x\\u{0}y\\r\\n");
        assert_eq!(printable("x\0y\r\n", true), "x\\u{0}y\\r\n");
        assert_eq!(printable("naïve — ok\t", true), "naïve — ok\\t");
    }
}
