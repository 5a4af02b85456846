//! What the files disclose, item by item, beside what a closed model behind an API shows: the
//! open-versus-closed comparison of the TUI's Transparency tab, built from the summary report alone
//! (its documents, GGUF metadata, storage and architecture), so every face that lists these items
//! reads the same rows.
//!
//! Each row says whether the files *show* the item (read from the weights, config or tokenizer
//! themselves), only *declare* it (a card or licence: present, but a claim), or miss it; and what a
//! closed API model gives for the same item, as a [`ClosedApi`] value so faces colour it from the
//! data, not from its words.

use serde::Serialize;

use super::summary::SummaryReport;
use crate::text::thousands;

/// Whether the files show an item of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosed {
    /// Read from the files (weights, config, tokenizer) themselves.
    Shown,
    /// Only stated (a card, a licence file): present, but a claim.
    Declared,
    /// Not in the files.
    Missing,
}

/// What a closed model behind an API shows of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedApi {
    Hidden,
    /// A marketing page stands in for the model card.
    MarketingPage,
    /// Terms of service stand in for a licence.
    TermsOfService,
    Shown,
    /// Shown, as a price per token.
    ShownPerToken,
}

impl ClosedApi {
    pub fn label(self) -> &'static str {
        match self {
            ClosedApi::Hidden => "hidden",
            ClosedApi::MarketingPage => "marketing page",
            ClosedApi::TermsOfService => "terms of service",
            ClosedApi::Shown => "shown",
            ClosedApi::ShownPerToken => "shown (per token)",
        }
    }

    /// Whether a closed API shows the item too (the open files have no edge there).
    pub fn shows(self) -> bool {
        matches!(self, ClosedApi::Shown | ClosedApi::ShownPerToken)
    }
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disclosure {
    /// `architecture`, `tokenizer`, `licence`, …
    pub item: &'static str,
    pub status: Disclosed,
    /// What the files say, in a few words.
    pub found: String,
    pub closed: ClosedApi,
}

/// The comparison rows of a summary, in reading order: what the weights prove first, then the
/// side documents, then what a closed API shows as well.
pub fn disclosures(report: &SummaryReport) -> Vec<Disclosure> {
    let model = &report.model;
    let metadata = report.metadata.as_ref();
    let document = |kind: &str| {
        model.documents.iter().find(|d| d.kind == kind).map(|d| {
            d.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    };
    let shown = |found: String| (Disclosed::Shown, found);
    let tokenizer = match (document("tokenizer"), metadata.map(|m| &m.tokenizer)) {
        (Some(file), _) => shown(format!("{file} beside the weights")),
        (None, Some(t)) if t.tokens.is_some() => shown(format!(
            "{} tokens in the GGUF metadata{}",
            thousands(t.tokens.unwrap_or(0)),
            if t.chat_template.is_some() {
                ", chat template"
            } else {
                ""
            }
        )),
        _ => (Disclosed::Missing, "not found".into()),
    };
    let config = match (document("config"), metadata) {
        (Some(file), _) => shown(file),
        (None, Some(m)) => shown(format!("{} GGUF metadata keys", m.key_count)),
        _ => (Disclosed::Missing, "no config.json".into()),
    };
    let card = match document("model_card") {
        Some(file) => (Disclosed::Declared, file),
        None => (Disclosed::Missing, "no model card".into()),
    };
    let licence = match (
        document("license"),
        metadata.and_then(|m| m.license.as_deref()),
    ) {
        (Some(file), _) => (Disclosed::Declared, file),
        (None, Some(l)) => (Disclosed::Declared, format!("{l} (general.license)")),
        _ => (Disclosed::Missing, "no licence file".into()),
    };
    // In dtype order, as the format defines its types.
    let mut dtypes: Vec<_> = report.storage.iter().map(|c| c.dtype).collect();
    dtypes.sort();
    let dtypes: Vec<&str> = dtypes.iter().map(|d| d.name()).collect();
    let context = match report.architecture.hyper.context_length {
        Some(n) => (
            Disclosed::Declared,
            format!("{} tokens (declared)", thousands(n)),
        ),
        None => (Disclosed::Missing, "not declared".into()),
    };
    let rows = [
        (
            "architecture",
            shown(report.architecture.headline()),
            ClosedApi::Hidden,
        ),
        (
            "parameters",
            shown(format!(
                "{} (every tensor counted)",
                thousands(model.parameter_count)
            )),
            ClosedApi::Hidden,
        ),
        (
            "shapes",
            shown(format!(
                "{} tensors, every shape",
                thousands(model.tensor_count as u64)
            )),
            ClosedApi::Hidden,
        ),
        ("precision", shown(dtypes.join(", ")), ClosedApi::Hidden),
        (
            "weight statistics",
            shown("every value readable (Tensors tab)".into()),
            ClosedApi::Hidden,
        ),
        ("config", config, ClosedApi::Hidden),
        ("tokenizer", tokenizer, ClosedApi::Hidden),
        ("model card", card, ClosedApi::MarketingPage),
        ("licence", licence, ClosedApi::TermsOfService),
        ("context length", context, ClosedApi::Shown),
        ("name", shown(model.title.clone()), ClosedApi::Shown),
        (
            "price",
            shown("free to run: the weights are here".into()),
            ClosedApi::ShownPerToken,
        ),
    ];
    rows.into_iter()
        .map(|(item, (status, found), closed)| Disclosure {
            item,
            status,
            found,
            closed,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_of(rel: &str) -> SummaryReport {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        let model = crate::model::open(&path).expect("fixture opens");
        SummaryReport::new(&model, &crate::arch::infer_architecture(&model))
    }

    fn row<'a>(rows: &'a [Disclosure], item: &str) -> &'a Disclosure {
        rows.iter().find(|d| d.item == item).expect(item)
    }

    #[test]
    fn a_safetensors_folder_shows_its_documents_and_misses_what_is_absent() {
        let report = report_of("fixtures/llama-tiny");
        let rows = &report.disclosures;
        assert_eq!(rows.len(), 12);
        let config = row(rows, "config");
        assert_eq!(
            (config.status, config.found.as_str()),
            (Disclosed::Shown, "config.json")
        );
        assert_eq!(row(rows, "shapes").found, "20 tensors, every shape");
        assert_eq!(row(rows, "precision").found, "BF16");
        assert_eq!(
            row(rows, "parameters").found,
            "108,864 (every tensor counted)"
        );
        assert_eq!(row(rows, "name").found, "llama-tiny");
        assert_eq!(row(rows, "price").closed, ClosedApi::ShownPerToken);
        assert!(row(rows, "price").closed.shows());
        assert!(!row(rows, "architecture").closed.shows());
    }

    #[test]
    fn a_gguf_file_discloses_through_its_metadata() {
        let report = report_of("fixtures/gguf/llama-tiny.gguf");
        let rows = &report.disclosures;
        let keys = report.metadata.as_ref().expect("gguf metadata").key_count;
        assert!(keys > 0);
        assert_eq!(
            row(rows, "config").found,
            format!("{keys} GGUF metadata keys")
        );
        let tokenizer = row(rows, "tokenizer");
        assert_eq!(tokenizer.status, Disclosed::Shown);
        assert!(
            tokenizer.found.contains("tokens in the GGUF metadata"),
            "{}",
            tokenizer.found
        );
    }
}
