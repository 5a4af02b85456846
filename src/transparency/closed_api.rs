//! The closed-API column: what a typical closed model behind an API (GPT-4 / Claude / Gemini)
//! discloses for each item, from spec §2 and the FMTI scores it cites (§7). Kept as data, one row
//! per item ID; [`closed_api`] looks one up.

/// (item ID, item name, what a closed API model discloses).
pub const ITEMS: &[(&str, &str, &str)] = &[
    (
        "A1",
        "Model name / identity",
        "declared: API model IDs and snapshot names",
    ),
    (
        "A2",
        "Developer and organisation",
        "developer declared; partners mostly hidden (FMTI24 0/0/0)",
    ),
    (
        "A3",
        "Lineage: base model and relation",
        "hidden (FMTI25 model dependencies mostly 0)",
    ),
    (
        "A4",
        "Exact version / revision",
        "declared snapshot names; what is served cannot be verified",
    ),
    (
        "A5",
        "Technical report / paper",
        "declared: system cards and tech reports (FMTI 1/1/1)",
    ),
    (
        "B1",
        "Declared license",
        "terms of service, not a licence to the weights",
    ),
    (
        "B2",
        "License text on disk",
        "terms are web pages, not bundled",
    ),
    ("B3", "Openness class of the license", "proprietary"),
    (
        "B4",
        "Use and user restrictions",
        "declared usage policies (FMTI 1/1/1), enforced server-side",
    ),
    (
        "C1",
        "Architecture family",
        "hidden (Gemini cards say \"sparse MoE\" only)",
    ),
    (
        "C2",
        "Total parameter count",
        "hidden (FMTI model size 0/0/0 in every edition)",
    ),
    ("C3", "Active parameters per token", "hidden"),
    ("C4", "Layer count", "hidden"),
    ("C5", "Hidden width", "hidden"),
    ("C6", "Attention geometry", "hidden"),
    ("C7", "FFN width", "hidden"),
    (
        "C8",
        "Vocabulary size",
        "hidden (OpenAI's tiktoken encodings are public)",
    ),
    ("C9", "MoE topology", "hidden"),
    ("C10", "Context length", "declared in API docs"),
    ("C11", "Positional encoding", "hidden"),
    ("C12", "Tied embeddings", "hidden"),
    (
        "C13",
        "Components and modalities",
        "modalities declared; components hidden",
    ),
    (
        "D1",
        "Final parameters present",
        "no weights (FMTI25 open weights 0)",
    ),
    (
        "D2",
        "Storage precision",
        "hidden (FMTI25 quantization 0/0/0)",
    ),
    ("D3", "Quantization method", "hidden"),
    (
        "D4",
        "File integrity fingerprint",
        "impossible: a hosted model cannot be hashed",
    ),
    ("D5", "Intermediate checkpoints", "hidden"),
    ("D6", "Training metadata", "hidden"),
    (
        "E1",
        "Tokenizer",
        "mostly hidden (OpenAI publishes tiktoken)",
    ),
    ("E2", "Special tokens", "hidden"),
    ("E3", "Chat template", "hidden behind the messages API"),
    (
        "E4",
        "Default system prompt / knowledge cutoff",
        "system prompt mostly hidden (FMTI25 0/1/0); cutoffs declared in docs",
    ),
    (
        "E5",
        "Decoding defaults",
        "API defaults documented; server-side decoding hidden",
    ),
    (
        "F1",
        "Training datasets named",
        "hidden (FMTI data sources mostly 0)",
    ),
    ("F2", "Training data size", "hidden (0/0/0 every edition)"),
    ("F3", "Data card content", "high-level descriptions only"),
    (
        "F4",
        "Languages",
        "supported languages sometimes listed; composition hidden",
    ),
    (
        "F5",
        "Evaluation datasets",
        "benchmark names declared in system cards",
    ),
    ("F6", "Quantization calibration data", "not applicable"),
    (
        "G1",
        "Training stages and objectives",
        "high-level (FMTI24 stages 1/0/1)",
    ),
    ("G2", "Hyperparameters", "hidden"),
    ("G3", "Compute", "hidden (0/0/0)"),
    (
        "G4",
        "Hardware and provider",
        "hardware hidden; provider declared (2024)",
    ),
    ("G5", "Energy and CO2", "hidden (0/0/0)"),
    ("G6", "Frameworks", "partly declared (0/1/1, 2024)"),
    (
        "H1",
        "Evaluation results",
        "declared in system cards (1/1/1), not reproducible against the served model",
    ),
    ("H2", "Bias, risks, limitations", "declared in system cards"),
    (
        "H3",
        "Evaluation code",
        "partly (FMTI24 reproducibility 1/1/1)",
    ),
    ("I1", "Model card", "system/model cards exist (1/1/1)"),
    (
        "I2",
        "Intended and out-of-scope use",
        "declared usage policies",
    ),
    ("I3", "Contact and feedback", "declared (1/1/1)"),
    ("I4", "Getting started / sample outputs", "declared in docs"),
    ("J1", "Architecture source code", "hidden"),
    ("J2", "Inference code", "client SDKs only"),
    ("J3", "Training code", "hidden (FMTI25 code access 0/0/0)"),
    ("J4", "Data pre-processing code", "hidden"),
    ("J5", "Supporting libraries", "hidden"),
    (
        "K1",
        "Access gating and regional limits",
        "account- and region-gated API (declared)",
    ),
];

/// The name and closed-API text of an item ID.
pub fn closed_api(id: &str) -> (&'static str, &'static str) {
    ITEMS
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|&(_, name, closed)| (name, closed))
        .unwrap_or(("", ""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_every_row_is_filled() {
        let mut ids: Vec<&str> = super::ITEMS.iter().map(|r| r.0).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(
            super::ITEMS
                .iter()
                .all(|r| !r.1.is_empty() && !r.2.is_empty())
        );
    }
}
