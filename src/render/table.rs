//! Plain-text and markdown tables, and human units.

pub use crate::text::{human_bytes, human_count, shape, thousands};

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table of strings with a header row.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
    /// Cells to colour in text: (row, column, tone).
    marks: Vec<(usize, usize, super::Tone)>,
}

impl Table {
    pub fn new(header: &[(&str, Align)]) -> Self {
        Table {
            header: header.iter().map(|&(h, a)| (h.to_owned(), a)).collect(),
            rows: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Adds a row; control characters in its cells are escaped (see [`super::printable`]).
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.header.len());
        let row = row
            .into_iter()
            .map(|cell| super::printable(&cell, false).into_owned())
            .collect();
        self.rows.push(row);
    }

    /// Marks cell `column` of the last row pushed, to be coloured with `tone` on a terminal.
    pub fn mark_last(&mut self, column: usize, tone: super::Tone) {
        if let Some(row) = self.rows.len().checked_sub(1) {
            self.marks.push((row, column, tone));
        }
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.header.iter().map(|(h, _)| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        widths
    }

    /// Columns separated by two spaces, no trailing spaces.
    pub fn render_text(&self, out: &mut String) {
        let mut painted = super::Painted::plain(std::mem::take(out));
        self.render_text_painted(&mut painted);
        *out = painted.text;
    }

    /// [`Table::render_text`], with the marked cells' text marked in `out`.
    pub fn render_text_painted(&self, out: &mut super::Painted) {
        let widths = self.widths();
        let header: Vec<String> = self.header.iter().map(|(h, _)| h.clone()).collect();
        for (r, row) in std::iter::once(&header).chain(&self.rows).enumerate() {
            let line_start = out.text.len();
            let mut line = String::new();
            let mut marks = Vec::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let fill = widths[i].saturating_sub(width(cell));
                let at = line.len()
                    + if self.header[i].1 == Align::Right {
                        fill
                    } else {
                        0
                    };
                pad(&mut line, cell, widths[i], self.header[i].1);
                // Row 0 is the header.
                if let Some(&(_, _, tone)) = self
                    .marks
                    .iter()
                    .find(|&&(mr, mc, _)| r > 0 && mr == r - 1 && mc == i)
                {
                    marks.push((line_start + at..line_start + at + cell.len(), tone));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            out.marks.extend(marks);
        }
    }

    /// A GitHub-flavoured markdown table.
    pub fn render_markdown(&self, out: &mut String) {
        let escape = |s: &str| markdown_cell(s);
        out.push('|');
        for (h, _) in &self.header {
            out.push_str(&format!(" {} |", escape(h)));
        }
        out.push_str("\n|");
        for (_, a) in &self.header {
            out.push_str(match a {
                Align::Left => "---|",
                Align::Right => "---:|",
            });
        }
        out.push('\n');
        for row in &self.rows {
            out.push('|');
            for cell in row {
                out.push_str(&format!(" {} |", escape(cell)));
            }
            out.push('\n');
        }
    }
}

/// A table cell's text for markdown: `|` escaped, and a `<` that would open an HTML tag (before
/// a letter, `/`, `!` or `?`, outside code spans) written `&lt;`, so tokens such as `<s>` or
/// `</s>` show instead of being taken for HTML; `<0.01%` stays as it is.
fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '<' if !in_code
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("&lt;")
            }
            _ => out.push(c),
        }
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(line: &mut String, cell: &str, width: usize, align: Align) {
    let fill = width.saturating_sub(self::width(cell));
    if align == Align::Right {
        line.extend(std::iter::repeat_n(' ', fill));
    }
    line.push_str(cell);
    if align == Align::Left {
        line.extend(std::iter::repeat_n(' ', fill));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_show_angle_brackets_and_pipes_as_text() {
        assert_eq!(markdown_cell("<s> </s> [UNK]"), "&lt;s> &lt;/s> [UNK]");
        assert_eq!(markdown_cell("a|b `x<y>` <0.01%"), "a\\|b `x<y>` <0.01%");
    }

    #[test]
    fn a_marked_cell_is_marked_where_it_is_written_aligned_either_way() {
        use crate::render::{Painted, Tone};
        let mut t = Table::new(&[("field", Align::Left), ("status", Align::Right)]);
        t.push(vec!["layers".into(), "ok".into()]);
        t.push(vec!["x".into(), "BAD".into()]);
        t.mark_last(1, Tone::Contradicted);
        t.mark_last(0, Tone::Info);
        let mut out = Painted::plain("pre\n".into());
        t.render_text_painted(&mut out);
        assert_eq!(
            out.text,
            "pre\nfield   status\nlayers      ok\nx          BAD\n"
        );
        let marked: Vec<&str> = out
            .marks
            .iter()
            .map(|(r, _)| &out.text[r.clone()])
            .collect();
        assert_eq!(marked, ["x", "BAD"]);
        assert_eq!(out.marks[1].1, Tone::Contradicted);
    }

    #[test]
    fn units() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(16 << 30), "16 GiB");
        assert_eq!(human_count(950), "950");
        assert_eq!(human_count(12_345), "12.3K");
        assert_eq!(human_count(6_738_415_616), "6.74B");
        assert_eq!(shape(&[]), "[]");
        assert_eq!(shape(&[3, 4]), "[3, 4]");
    }

    #[test]
    fn text_and_markdown() {
        let mut t = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        t.push(vec!["a|b".into(), "1".into()]);
        t.push(vec!["ccc".into(), "100".into()]);
        let mut s = String::new();
        t.render_text(&mut s);
        assert_eq!(s, "name    n\na|b     1\nccc   100\n");
        let mut m = String::new();
        t.render_markdown(&mut m);
        assert_eq!(
            m,
            "| name | n |\n|---|---:|\n| a\\|b | 1 |\n| ccc | 100 |\n"
        );
    }
}
