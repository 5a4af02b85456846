//! Output: every rendering (text, markdown, JSON) is a pure function of a report type
//! ([`crate::report`]): renderers format, they do not compute.
//!
//! Text for a terminal is [`Painted`]: the words plus the spans to colour, marked by the renderer
//! from severity and status fields; [`Painted::to_terminal`] escapes control characters that came
//! from the files and adds the colour codes only when asked.

use std::ops::Range;

pub mod cache;
pub mod diff;
pub mod json;
pub mod stats;
pub mod summary;
pub mod table;
pub mod tensors;
pub mod transparency;

/// Control characters are escaped where text reaches a terminal; the function is a leaf's.
pub use crate::text::printable;

/// The notes of opening a model ([`crate::report::ModelObject::notes`]: files beside the weights
/// that were not read, partial downloads, dangling links, …) as a section headed `title`, one
/// `- code: message` line each (markdown: the title capitalised, in bold); empty when there are
/// none. What was opened is in the report itself; these say what was not, so that no face hides
/// them.
pub(crate) fn open_notes(notes: &[crate::finding::Finding], title: &str, markdown: bool) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut out = if markdown {
        let mut chars = title.chars();
        let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
        format!("\n**{}{}**\n\n", first.unwrap_or_default(), chars.as_str())
    } else {
        format!("\n{title}:\n")
    };
    for note in notes {
        out.push_str(&format!("- {}: {}\n", note.code, note.message));
    }
    out
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Markdown,
    Json,
}

/// What a coloured span means; each has its own terminal colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// An error finding's severity.
    Error,
    /// A warning finding's severity.
    Warning,
    /// An informational finding's severity.
    Info,
    /// A declared value the weights contradict.
    Contradicted,
}

impl Tone {
    /// The ANSI select-graphic-rendition code that starts the colour.
    fn start(self) -> &'static str {
        match self {
            Tone::Error | Tone::Contradicted => "\x1b[1;31m",
            Tone::Warning => "\x1b[33m",
            Tone::Info => "\x1b[36m",
        }
    }

    /// The tone of a finding's severity.
    pub fn of_severity(severity: crate::finding::Severity) -> Tone {
        match severity {
            crate::finding::Severity::Error => Tone::Error,
            crate::finding::Severity::Warning => Tone::Warning,
            crate::finding::Severity::Info => Tone::Info,
        }
    }
}

/// Rendered text and the byte ranges of it to colour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Painted {
    pub text: String,
    /// Ascending, non-overlapping byte ranges of `text`.
    pub marks: Vec<(Range<usize>, Tone)>,
}

impl Painted {
    /// Text with nothing to colour (markdown, JSON).
    pub fn plain(text: String) -> Painted {
        Painted {
            text,
            marks: Vec::new(),
        }
    }

    pub fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }

    pub fn push(&mut self, c: char) {
        self.text.push(c);
    }

    /// Appends `s` marked with `tone`.
    pub fn push_marked(&mut self, s: &str, tone: Tone) {
        let start = self.text.len();
        self.text.push_str(s);
        self.marks.push((start..self.text.len(), tone));
    }

    /// The text for a terminal: control characters escaped (newlines kept, see [`printable`]),
    /// and with `color` the marked spans coloured. Escaping span by span gives the same text as
    /// escaping the whole, so colour never moves a column.
    pub fn to_terminal(&self, color: bool) -> String {
        if !color {
            return printable(&self.text, true).into_owned();
        }
        let mut out = String::with_capacity(self.text.len() + 16 * self.marks.len());
        let mut at = 0;
        for (range, tone) in &self.marks {
            out.push_str(&printable(&self.text[at..range.start], true));
            out.push_str(tone.start());
            out.push_str(&printable(&self.text[range.clone()], true));
            out.push_str("\x1b[0m");
            at = range.end;
        }
        out.push_str(&printable(&self.text[at..], true));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{Painted, Tone};

    #[test]
    fn marked_spans_are_coloured_only_when_asked_and_escaped_like_the_rest() {
        let mut p = Painted::default();
        p.push_str("- ");
        p.push_marked("error", Tone::Error);
        p.push_str(" [x] a\u{1b}b\n");
        p.push_marked("w\u{7}", Tone::Warning);
        assert_eq!(p.to_terminal(false), "- error [x] a\\u{1b}b\nw\\u{7}");
        assert_eq!(
            p.to_terminal(true),
            "- \x1b[1;31merror\x1b[0m [x] a\\u{1b}b\n\x1b[33mw\\u{7}\x1b[0m"
        );
        assert_eq!(Painted::plain("x".into()).to_terminal(true), "x");
    }
}
