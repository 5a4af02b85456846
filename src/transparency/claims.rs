//! Claims in a model card's prose that can be read as numbers and checked against the files: a
//! parameter count ("7B", "1.1B parameters", "108,864 parameters"), a context length ("8K
//! context"), a training-corpus size ("2T tokens"), and arXiv IDs. Heuristics over free text: what
//! they find is DECLARED_TEXT at best, and a claim is only ever compared, never trusted.

/// arXiv IDs (`2403.13784`) mentioned after `arxiv.org/abs/` or `arXiv:`.
pub fn arxiv_ids(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for marker in ["arxiv.org/abs/", "arxiv.org/pdf/", "arxiv:"] {
        let mut rest = lower.as_str();
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let id: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let id = id.trim_end_matches('.');
            if id.len() >= 9 && id.contains('.') {
                out.push(id.to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A parameter-count claim: the text and the value it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub text: String,
    pub value: f64,
    /// Where it was read.
    pub source: String,
    /// A size label (`7B`) is rounded; a written-out count is exact.
    pub rounded: bool,
}

/// Parameter counts claimed in a text: size labels (`7B`, `1.1B`, `135M`) and phrases with
/// "parameters" (`1.1 billion parameters`, `108,864 parameters`, `Parameters: 108,864`).
pub fn parameter_claims(text: &str, source: &str) -> Vec<Claim> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || !chars[i - 1].is_alphanumeric() && chars[i - 1] != '.');
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        let number = number.trim_end_matches(['.', ',']);
        let Ok(n) = number.replace(',', "").parse::<f64>() else {
            continue;
        };
        let after: String = chars[i..chars.len().min(i + 40)].iter().collect();
        let after_lower = after.to_lowercase();
        let before: String = chars[start.saturating_sub(16)..start].iter().collect();
        let before_lower = before.to_lowercase();
        // A label glued to its number: `7B`, `1.1B`, `135M` (not `7Bit`, not `8x7B` experts).
        let glued = after
            .chars()
            .next()
            .filter(|c| matches!(c, 'B' | 'M' | 'b' | 'm'));
        let glued_ends = after.chars().nth(1).is_none_or(|c| !c.is_alphanumeric());
        let (value, rounded, unit) = if let Some(u) = glued.filter(|_| glued_ends) {
            if before.ends_with('x')
                || after_lower.starts_with("mb")
                || counts_data(&after_lower[1..])
            {
                continue;
            }
            (
                n * if u.eq_ignore_ascii_case(&'b') {
                    1e9
                } else {
                    1e6
                },
                true,
                u.to_string(),
            )
        } else if let Some(rest) = after_lower.strip_prefix(" billion") {
            if !rest.trim_start().starts_with("param") {
                continue;
            }
            (n * 1e9, true, " billion".to_owned())
        } else if let Some(rest) = after_lower.strip_prefix(" million") {
            if !rest.trim_start().starts_with("param") {
                continue;
            }
            (n * 1e6, true, " million".to_owned())
        } else if after_lower
            .trim_start_matches(['-', ' '])
            .starts_with("param")
            || before_lower.trim_end().ends_with("parameters:")
        {
            (n, false, String::new())
        } else {
            continue;
        };
        let text = format!("{number}{unit}");
        out.push(Claim {
            text,
            value,
            source: source.to_owned(),
            rounded,
        });
    }
    out
}

/// Words that make a glued size label a count of data, not of parameters: "1B sentence pairs",
/// "2T tokens", "15B words", "1b-training-pairs" (a URL slug).
const DATA_WORDS: &[&str] = &[
    "token",
    "pair",
    "sentence",
    "word",
    "image",
    "example",
    "sample",
    "training",
    "document",
    "step",
    "row",
    "char",
    "byte",
    "text",
    "of ",
    "tweet",
    "hour",
    "user",
    "download",
    "line",
    "page",
    "file",
    "instance",
    "record",
    "quer",
    "passage",
    "conversation",
    "dialog",
    "utterance",
    "video",
    "audio",
    "clip",
    "triplet",
    "question",
    "answer",
    "web",
    "code",
];

/// Whether the words right after a size label (past spaces, hyphens and underscores) count data.
fn counts_data(after_label: &str) -> bool {
    let next = after_label.trim_start_matches([' ', '-', '_']);
    DATA_WORDS.iter().any(|w| next.starts_with(w))
}

/// Whether a claim agrees with the count: a label within rounding (family size labels stray up
/// to a third from the count, e.g. Gemma "7B" is 8.5B), a written-out count within 1%.
pub fn claim_agrees(claim: &Claim, count: u64) -> bool {
    let ratio = count as f64 / claim.value;
    if claim.rounded {
        (0.65..=1.4).contains(&ratio)
    } else {
        (0.99..=1.01).contains(&ratio)
    }
}

/// Context-length claims in the card's prose: the first number after "context" on a line
/// (`Context length: 2048`, `a context of 8K tokens`, `128k context window`).
pub fn context_claims(text: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let lower = line.to_lowercase();
        let Some(at) = lower.find("context") else {
            continue;
        };
        // "8K context" puts the number before the word; look a little back too.
        let window_start = lower[..at]
            .char_indices()
            .rev()
            .nth(12)
            .map_or(0, |(i, _)| i);
        let window = &lower[window_start..];
        for (i, c) in window.char_indices() {
            if !c.is_ascii_digit()
                || (i > 0 && window[..i].ends_with(|p: char| p.is_alphanumeric()))
            {
                continue;
            }
            let end = window[i..]
                .find(|ch: char| !(ch.is_ascii_digit() || ch == ','))
                .map_or(window.len(), |e| i + e);
            let digits = window[i..end].replace(',', "");
            let Ok(n) = digits.parse::<u64>() else { break };
            let k = window[end..].starts_with('k');
            let value = if k { n * 1024 } else { n };
            if value >= 128 {
                let shown = &window[i..end + usize::from(k)];
                out.push((shown.to_owned(), value));
            }
            break;
        }
    }
    out
}

/// "2T tokens", "1.5 trillion tokens", "300B tokens" in the prose.
pub fn token_count_claim(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if !w.starts_with("tokens") || i == 0 {
            continue;
        }
        let prev = words[i - 1];
        let number_like = |s: &str| {
            !s.is_empty()
                && s.replace([',', '.'], "")
                    .chars()
                    .all(|c| c.is_ascii_digit())
        };
        // A scale is required: "256 tokens" is a vocabulary, "2T tokens" a corpus.
        if prev.strip_suffix(['t', 'b', 'm']).is_some_and(number_like) {
            return Some(format!("{prev} tokens"));
        }
        if matches!(prev, "trillion" | "billion" | "million") && i >= 2 && number_like(words[i - 2])
        {
            return Some(format!("{} {prev} tokens", words[i - 2]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, f64, bool)> {
        parameter_claims(text, "t")
            .into_iter()
            .map(|c| (c.text, c.value, c.rounded))
            .collect()
    }

    #[test]
    fn parameter_claims_are_read_from_labels_and_phrases() {
        assert_eq!(values("Llama-2-7B-chat"), [("7B".into(), 7e9, true)]);
        assert_eq!(
            values("A 1.1B parameters model"),
            [("1.1B".into(), 1.1e9, true)]
        );
        assert_eq!(
            values("it has 1.5 billion parameters"),
            [("1.5 billion".into(), 1.5e9, true)]
        );
        assert_eq!(
            values("A 108,864-parameter decoder. Parameters: 108,864."),
            [
                ("108,864".into(), 108864.0, false),
                ("108,864".into(), 108864.0, false)
            ]
        );
        // Data counts are not parameter counts (all-MiniLM-L6-v2's card: "a 1B sentence pairs
        // dataset", a link to "…-with-1b-training-pairs").
        assert!(
            values("fine-tuned on a 1B sentence pairs dataset, see best-model-ever-with-1b-training-pairs/7354; 2T tokens, 15B words of text")
                .is_empty()
        );
        assert_eq!(
            values("Qwen2.5-0.5B-Instruct"),
            [("0.5B".into(), 0.5e9, true)]
        );
        assert_eq!(values("a 7B model"), [("7B".into(), 7e9, true)]);
        // Not parameter counts: experts, bits, megabytes, token counts, versions.
        assert!(
            values("Mixtral-8x7B uses 4-bit, 512 MB, trained on 2B tokens, v1.5 of 2024")
                .is_empty()
        );
    }

    #[test]
    fn claims_agree_within_rounding() {
        let label = |v| Claim {
            text: String::new(),
            value: v,
            source: String::new(),
            rounded: true,
        };
        assert!(claim_agrees(&label(7e9), 7_241_732_096)); // Mistral 7B
        assert!(claim_agrees(&label(7e9), 8_537_680_896)); // Gemma "7B"
        assert!(!claim_agrees(&label(1.1e9), 108_864));
        let exact = Claim {
            rounded: false,
            ..label(108_864.0)
        };
        assert!(claim_agrees(&exact, 108_864));
        assert!(!claim_agrees(&exact, 120_000));
    }

    #[test]
    fn context_claims_read_the_number_near_the_word() {
        assert_eq!(
            context_claims("- Context length: 2048 positions (RoPE, theta 10000)."),
            [("2048".into(), 2048)]
        );
        assert_eq!(
            context_claims("supports a 128k context window"),
            [("128k".into(), 131072)]
        );
        assert_eq!(
            context_claims("a context of 32,768 tokens"),
            [("32,768".into(), 32768)]
        );
        assert!(context_claims("no numbers in context").is_empty());
    }

    #[test]
    fn token_counts_and_arxiv_ids() {
        assert_eq!(
            token_count_claim("Trained on 2T tokens of text").as_deref(),
            Some("2t tokens")
        );
        assert_eq!(
            token_count_claim("on 1.5 trillion tokens").as_deref(),
            Some("1.5 trillion tokens")
        );
        assert_eq!(token_count_claim("special tokens"), None);
        assert_eq!(token_count_claim("Vocabulary: 256 tokens (BPE)"), None);
        assert_eq!(
            arxiv_ids("see https://arxiv.org/abs/2403.13784 and arXiv: 2310.12941."),
            ["2310.12941", "2403.13784"]
        );
    }
}
