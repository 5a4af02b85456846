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

/// What a training set is counted in: "2T tokens", "1 billion sentences", "1B sentence pairs".
const DATA_UNITS: &[&str] = &[
    "tokens",
    "sentences",
    "pairs",
    "examples",
    "samples",
    "documents",
    "images",
    "words",
    "tuples",
    "conversations",
];

/// The size of the training data in the prose: a count with a scale before a data unit, "2T
/// tokens", "1.5 trillion tokens", "above 1 billion sentences", "a 1B sentence pairs dataset" (one
/// qualifying word may stand between). A scale is required: "256 tokens" is a vocabulary.
pub fn data_size_claim(text: &str) -> Option<String> {
    let shown: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ',', ';', ':', ')']))
        .collect();
    let lower: Vec<String> = shown.iter().map(|w| w.to_lowercase()).collect();
    let words: Vec<&str> = lower.iter().map(String::as_str).collect();
    let number_like = |s: &str| {
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_digit())
            && s.replace([',', '.'], "")
                .chars()
                .all(|c| c.is_ascii_digit())
    };
    let scaled = |s: &str| s.strip_suffix(['t', 'b', 'm']).is_some_and(number_like);
    let scale_word = |s: &str| matches!(s, "trillion" | "billion" | "million");
    // The scale ending at `j`: "2t" alone, or "1.5 trillion"; the index of its first word.
    let scale_at = |j: usize| {
        if scaled(words[j]) {
            Some(j)
        } else if scale_word(words[j]) && j >= 1 && number_like(words[j - 1]) {
            Some(j - 1)
        } else {
            None
        }
    };
    for (i, w) in words.iter().enumerate() {
        if i == 0 || !DATA_UNITS.contains(w) {
            continue;
        }
        let qualifier = |j: usize| {
            words[j]
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-')
                && !scale_word(words[j])
        };
        let start = scale_at(i - 1).or_else(|| {
            (i >= 2 && qualifier(i - 1))
                .then(|| scale_at(i - 2))
                .flatten()
        });
        if let Some(start) = start {
            return Some(shown[start..=i].join(" "));
        }
    }
    None
}

/// Accelerators a card names for its training run (exact words; a bare "GPU" needs a count).
const ACCELERATORS: &[&str] = &[
    "TPU",
    "TPUs",
    "A100",
    "A100s",
    "H100",
    "H100s",
    "H200",
    "H200s",
    "B200",
    "V100",
    "V100s",
    "A10G",
    "A6000",
    "L40S",
    "MI250",
    "MI250X",
    "MI300X",
    "Gaudi",
    "Gaudi2",
    "Gaudi3",
    "Trainium",
    "Trainium2",
];

/// The training hardware in the prose: the first sentence about training (it says "train") that
/// names an accelerator, "TPU v3-8", "8 A100 80GB", "64 GPUs".
pub fn hardware_claim(text: &str) -> Option<String> {
    for sentence in text.split(['.', '\n']) {
        if !sentence.to_lowercase().contains("train") {
            continue;
        }
        let words: Vec<&str> = sentence
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-'))
            .collect();
        for (i, w) in words.iter().enumerate() {
            let count = i
                .checked_sub(1)
                .map(|j| words[j])
                .filter(|p| p.chars().all(|c| c.is_ascii_digit() || c == ',') && !p.is_empty());
            let counted_gpus = matches!(*w, "GPU" | "GPUs") && count.is_some();
            if !(ACCELERATORS.contains(w) || counted_gpus) {
                continue;
            }
            let mut phrase: Vec<&str> = count.into_iter().collect();
            phrase.push(w);
            // A version or memory size after the name: "v3-8", "80GB", "SXM".
            if let Some(next) = words.get(i + 1).filter(|n| {
                n.starts_with(|c: char| c == 'v' || c.is_ascii_digit()) && n.len() <= 8
                    || n.ends_with("GB")
            }) {
                phrase.push(next);
            }
            return Some(phrase.join(" "));
        }
    }
    None
}

/// A training script the prose names (`train_script.py`, `run_finetune.py`): a `.py` file whose
/// name says train or finetune.
pub fn training_script_claim(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '`' | '(' | ')' | '[' | ']' | '"' | '\''))
        .map(|w| w.trim_end_matches(['.', ',', ';', ':']))
        .filter(|w| w.ends_with(".py"))
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .find(|name| {
            let lower = name.to_lowercase();
            lower.contains("train") || lower.contains("finetune") || lower.contains("fine_tune")
        })
        .map(str::to_owned)
}

/// The base model the prose says this one was trained from: a Hub id (`org/name`, linked or in
/// backticks) in a sentence that says pretrained, fine-tuned, based on or initialised from.
pub fn base_model_claim(text: &str) -> Option<String> {
    const SAYS: &[&str] = &[
        "pretrained",
        "pre-trained",
        "fine-tuned",
        "finetuned",
        "fine-tune",
        "finetune",
        "based on",
        "initialized from",
        "initialised from",
        "trained from",
    ];
    for sentence in text.split(". ") {
        let lower = sentence.to_lowercase();
        if !SAYS.iter().any(|w| lower.contains(w)) {
            continue;
        }
        // A link to the Hub names the repository exactly; else an `org/name` in backticks.
        if let Some(at) = sentence.find("huggingface.co/") {
            let rest = &sentence[at + "huggingface.co/".len()..];
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
                .collect();
            let parts: Vec<&str> = id.trim_end_matches(['.', '/']).split('/').collect();
            if parts.len() >= 2
                && !matches!(parts[0], "datasets" | "spaces" | "docs" | "blog" | "papers")
                && !parts[0].is_empty()
                && !parts[1].is_empty()
            {
                return Some(format!("{}/{}", parts[0], parts[1]));
            }
        }
        for quoted in sentence.split('`').skip(1).step_by(2) {
            let parts: Vec<&str> = quoted.split('/').collect();
            let id_like = |p: &str| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            if parts.len() == 2 && parts.iter().all(|p| id_like(p)) && !quoted.ends_with(".py") {
                return Some(quoted.to_owned());
            }
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
    fn hardware_training_scripts_and_base_models_in_prose() {
        // all-mpnet-base-v2's card.
        let card = "We benefited from efficient hardware infrastructure to run the project: 7 TPUs v3-8.\n\
            #### Hyper parameters\n\
            We trained ou model on a TPU v3-8. We train the model during 100k steps. The full \
            training script is accessible in this current repository: `train_script.py`.\n\
            We used the pretrained [`microsoft/mpnet-base`](https://huggingface.co/microsoft/mpnet-base) \
            model and fine-tuned in on a 1B sentence pairs dataset.";
        assert_eq!(hardware_claim(card).as_deref(), Some("TPU v3-8"));
        assert_eq!(
            training_script_claim(card).as_deref(),
            Some("train_script.py")
        );
        assert_eq!(
            base_model_claim(card).as_deref(),
            Some("microsoft/mpnet-base")
        );
        assert_eq!(
            hardware_claim("Training used 64 GPUs for 3 days").as_deref(),
            Some("64 GPUs")
        );
        assert_eq!(
            hardware_claim("We trained on 8 A100 80GB cards").as_deref(),
            Some("8 A100 80GB")
        );
        // Inference hardware, a GPU without a count, a script that is not training, a link to a
        // dataset: none of them.
        assert_eq!(
            hardware_claim("It runs on a single A100 at 30 tokens/s"),
            None
        );
        assert_eq!(hardware_claim("Training is faster on a GPU"), None);
        assert_eq!(training_script_claim("run `python evaluate.py`"), None);
        assert_eq!(
            base_model_claim("fine-tuned on [data](https://huggingface.co/datasets/org/set)"),
            None
        );
        assert_eq!(
            base_model_claim("This model is a fine-tuned version of `Qwen/Qwen2.5-0.5B` on chats")
                .as_deref(),
            Some("Qwen/Qwen2.5-0.5B")
        );
    }

    #[test]
    fn data_sizes_and_arxiv_ids() {
        assert_eq!(
            data_size_claim("Trained on 2T tokens of text").as_deref(),
            Some("2T tokens")
        );
        assert_eq!(
            data_size_claim("on 1.5 trillion tokens").as_deref(),
            Some("1.5 trillion tokens")
        );
        assert_eq!(data_size_claim("special tokens"), None);
        assert_eq!(data_size_claim("Vocabulary: 256 tokens (BPE)"), None);
        // all-mpnet-base-v2's card: the number of sentence pairs, not of tokens.
        assert_eq!(
            data_size_claim("The total number of sentence pairs is above 1 billion sentences.")
                .as_deref(),
            Some("1 billion sentences")
        );
        assert_eq!(
            data_size_claim("fine-tuned in on a 1B sentence pairs dataset").as_deref(),
            Some("1B sentence pairs")
        );
        // A URL slug, a dimension and a count without a scale are not data sizes.
        assert_eq!(
            data_size_claim(
                "see train-with-1b-training-pairs/7354; 768 dimensional; 12 layers of 64 examples"
            ),
            None
        );
        assert_eq!(
            arxiv_ids("see https://arxiv.org/abs/2403.13784 and arXiv: 2310.12941."),
            ["2310.12941", "2403.13784"]
        );
    }
}
