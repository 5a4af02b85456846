//! Which licence the model is under, from three sources: the card's front matter (`license`,
//! `license_name`, `license_link`), GGUF `general.license*`, and the text of the LICENSE file,
//! identified by distinctive phrases rather than by its file name.
//!
//! The licences are a data table ([`LICENSES`]): each with its identifier, the Hub IDs that name
//! it, the phrases its text always holds, its class (open or restricted, spec §6.1: OSI-approved,
//! FSF-libre or open-data licences are open; community licences with an acceptable-use policy or a
//! user threshold, the RAIL family, non-commercial and no-derivatives terms are restricted) and the
//! restrictions it carries. A LICENSE text the table does not know is still searched for the
//! clauses that make terms restricted (an acceptable-use policy, a monthly-active-user threshold,
//! "non-commercial").
//!
//! The text, being on disk, outranks the declaration: when both are identified and name different
//! licences, the licence item is CONTRADICTED and both are shown.

use serde::Serialize;

use super::sources::Sources;
use crate::model::Model;

/// Whether terms let anyone use, study, modify and share the model for any purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseClass {
    /// OSI-approved, FSF-libre, an open-data licence or OpenMDW.
    Open,
    /// Usable, but with conditions that fail the open test (AUP, user threshold, NC, ND …).
    Restricted,
    /// A licence is named or present, but not one glassbox recognises.
    Unknown,
    /// No licence anywhere (the Model Openness Tool treats this as not open).
    Missing,
}

impl LicenseClass {
    pub fn name(self) -> &'static str {
        match self {
            LicenseClass::Open => "open",
            LicenseClass::Restricted => "restricted",
            LicenseClass::Unknown => "unknown",
            LicenseClass::Missing => "missing",
        }
    }
}

/// A condition that makes terms restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// An acceptable-use (or prohibited-use) policy binds every user.
    AcceptableUsePolicy,
    /// Licensees above a number of monthly active users need another licence.
    UserThreshold,
    /// No commercial use.
    NonCommercial,
    /// No derivative works.
    NoDerivatives,
    /// Research or evaluation only.
    ResearchOnly,
    /// Use-based restrictions carried into derivatives (the RAIL family).
    UseRestrictions,
    /// Derivatives must carry the licensor's name or notice in a prescribed way.
    NamingDuty,
}

impl Restriction {
    pub fn name(self) -> &'static str {
        match self {
            Restriction::AcceptableUsePolicy => "acceptable-use policy",
            Restriction::UserThreshold => "user threshold",
            Restriction::NonCommercial => "non-commercial",
            Restriction::NoDerivatives => "no derivatives",
            Restriction::ResearchOnly => "research only",
            Restriction::UseRestrictions => "use-based restrictions",
            Restriction::NamingDuty => "naming duty",
        }
    }
}

/// One licence glassbox recognises.
#[derive(Debug)]
pub struct LicenseEntry {
    /// SPDX identifier where there is one, otherwise the Hub's.
    pub id: &'static str,
    pub name: &'static str,
    /// Hub `license` IDs (and common spellings in GGUF `general.license`) that name it.
    pub hub_ids: &'static [&'static str],
    /// Phrases its text always holds (lowercase, whitespace collapsed); all must be present.
    pub phrases: &'static [&'static str],
    pub class: LicenseClass,
    pub restrictions: &'static [Restriction],
}

use LicenseClass::{Open, Restricted};
use Restriction::*;

const LLAMA: &[Restriction] = &[AcceptableUsePolicy, UserThreshold, NamingDuty];

/// The licence table, most specific first (a text matching an earlier entry is that licence).
pub const LICENSES: &[LicenseEntry] = &[
    LicenseEntry {
        id: "Apache-2.0",
        name: "Apache License 2.0",
        hub_ids: &["apache-2.0", "apache 2.0", "apache2"],
        phrases: &["apache license", "version 2.0"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "MIT",
        name: "MIT License",
        hub_ids: &["mit"],
        phrases: &["permission is hereby granted, free of charge"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "BSD-3-Clause",
        name: "BSD 3-Clause License",
        hub_ids: &["bsd-3-clause", "bsd"],
        phrases: &[
            "redistribution and use in source and binary forms",
            "neither the name of",
        ],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "BSD-2-Clause",
        name: "BSD 2-Clause License",
        hub_ids: &["bsd-2-clause"],
        phrases: &["redistribution and use in source and binary forms"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "AGPL-3.0",
        name: "GNU Affero General Public License v3",
        hub_ids: &["agpl-3.0"],
        phrases: &["gnu affero general public license"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "LGPL-3.0",
        name: "GNU Lesser General Public License v3",
        hub_ids: &["lgpl-3.0", "lgpl-lr"],
        phrases: &["gnu lesser general public license"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "GPL-3.0",
        name: "GNU General Public License v3",
        hub_ids: &["gpl-3.0", "gpl"],
        phrases: &["gnu general public license", "version 3"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "OpenMDW-1.0",
        name: "OpenMDW License 1.0",
        hub_ids: &["openmdw-1.0", "openmdw"],
        phrases: &["openmdw"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "CDLA-Permissive-2.0",
        name: "Community Data License Agreement – Permissive 2.0",
        hub_ids: &["cdla-permissive-2.0"],
        phrases: &[
            "community data license agreement",
            "permissive",
            "version 2.0",
        ],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "CC-BY-NC-ND-4.0",
        name: "CC BY-NC-ND 4.0",
        hub_ids: &["cc-by-nc-nd-4.0"],
        phrases: &["attribution-noncommercial-noderivatives 4.0"],
        class: Restricted,
        restrictions: &[NonCommercial, NoDerivatives],
    },
    LicenseEntry {
        id: "CC-BY-NC-SA-4.0",
        name: "CC BY-NC-SA 4.0",
        hub_ids: &["cc-by-nc-sa-4.0"],
        phrases: &["attribution-noncommercial-sharealike 4.0"],
        class: Restricted,
        restrictions: &[NonCommercial],
    },
    LicenseEntry {
        id: "CC-BY-NC-4.0",
        name: "CC BY-NC 4.0",
        hub_ids: &["cc-by-nc-4.0"],
        phrases: &["attribution-noncommercial 4.0"],
        class: Restricted,
        restrictions: &[NonCommercial],
    },
    LicenseEntry {
        id: "CC-BY-ND-4.0",
        name: "CC BY-ND 4.0",
        hub_ids: &["cc-by-nd-4.0"],
        phrases: &["attribution-noderivatives 4.0"],
        class: Restricted,
        restrictions: &[NoDerivatives],
    },
    LicenseEntry {
        id: "CC-BY-SA-4.0",
        name: "CC BY-SA 4.0",
        hub_ids: &["cc-by-sa-4.0"],
        phrases: &["attribution-sharealike 4.0"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "CC-BY-4.0",
        name: "CC BY 4.0",
        hub_ids: &["cc-by-4.0"],
        phrases: &["attribution 4.0 international"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "CC0-1.0",
        name: "CC0 1.0 Universal",
        hub_ids: &["cc0-1.0", "cc0"],
        phrases: &["cc0 1.0 universal"],
        class: Open,
        restrictions: &[],
    },
    LicenseEntry {
        id: "llama2",
        name: "Llama 2 Community License",
        hub_ids: &["llama2"],
        phrases: &["llama 2 community license agreement"],
        class: Restricted,
        restrictions: LLAMA,
    },
    LicenseEntry {
        id: "llama3.1",
        name: "Llama 3.1 Community License",
        hub_ids: &["llama3.1"],
        phrases: &["llama 3.1 community license agreement"],
        class: Restricted,
        restrictions: LLAMA,
    },
    LicenseEntry {
        id: "llama3.2",
        name: "Llama 3.2 Community License",
        hub_ids: &["llama3.2"],
        phrases: &["llama 3.2 community license agreement"],
        class: Restricted,
        restrictions: LLAMA,
    },
    LicenseEntry {
        id: "llama3.3",
        name: "Llama 3.3 Community License",
        hub_ids: &["llama3.3"],
        phrases: &["llama 3.3 community license agreement"],
        class: Restricted,
        restrictions: LLAMA,
    },
    LicenseEntry {
        id: "llama3",
        name: "Meta Llama 3 Community License",
        hub_ids: &["llama3"],
        phrases: &["meta llama 3 community license agreement"],
        class: Restricted,
        restrictions: LLAMA,
    },
    LicenseEntry {
        id: "llama4",
        name: "Llama 4 Community License",
        hub_ids: &["llama4"],
        phrases: &["llama 4 community license agreement"],
        class: Restricted,
        restrictions: LLAMA,
    },
    LicenseEntry {
        id: "gemma",
        name: "Gemma Terms of Use",
        hub_ids: &["gemma"],
        phrases: &["gemma terms of use"],
        class: Restricted,
        restrictions: &[AcceptableUsePolicy, UseRestrictions],
    },
    LicenseEntry {
        id: "qwen-research",
        name: "Qwen Research License",
        hub_ids: &["qwen-research"],
        phrases: &["qwen research license agreement"],
        class: Restricted,
        restrictions: &[NonCommercial, ResearchOnly],
    },
    LicenseEntry {
        id: "qwen",
        name: "Qwen License (Tongyi Qianwen)",
        hub_ids: &["qwen", "tongyi-qianwen"],
        phrases: &["qianwen license agreement"],
        class: Restricted,
        restrictions: &[UserThreshold, AcceptableUsePolicy],
    },
    LicenseEntry {
        id: "qwen",
        name: "Qwen License",
        hub_ids: &[],
        phrases: &["qwen license agreement"],
        class: Restricted,
        restrictions: &[UserThreshold, AcceptableUsePolicy],
    },
    LicenseEntry {
        id: "deepseek",
        name: "DeepSeek License",
        hub_ids: &["deepseek", "deepseek-license"],
        phrases: &["deepseek license agreement"],
        class: Restricted,
        restrictions: &[UseRestrictions],
    },
    LicenseEntry {
        id: "bigcode-openrail-m",
        name: "BigCode OpenRAIL-M",
        hub_ids: &["bigcode-openrail-m"],
        phrases: &["bigcode open rail-m"],
        class: Restricted,
        restrictions: &[UseRestrictions],
    },
    LicenseEntry {
        id: "creativeml-openrail-m",
        name: "CreativeML OpenRAIL-M",
        hub_ids: &["creativeml-openrail-m"],
        phrases: &["creativeml open rail-m"],
        class: Restricted,
        restrictions: &[UseRestrictions],
    },
    LicenseEntry {
        id: "bigscience-openrail-m",
        name: "BigScience OpenRAIL-M",
        hub_ids: &["bigscience-openrail-m", "bigscience-bloom-rail-1.0"],
        phrases: &["bigscience open rail-m"],
        class: Restricted,
        restrictions: &[UseRestrictions],
    },
    LicenseEntry {
        id: "openrail",
        name: "OpenRAIL",
        hub_ids: &["openrail", "openrail++"],
        phrases: &["responsible ai license"],
        class: Restricted,
        restrictions: &[UseRestrictions],
    },
    LicenseEntry {
        id: "fair-noncommercial-research-license",
        name: "FAIR Noncommercial Research License",
        hub_ids: &["fair-noncommercial-research-license"],
        phrases: &["fair noncommercial research license"],
        class: Restricted,
        restrictions: &[NonCommercial, ResearchOnly],
    },
    LicenseEntry {
        id: "apple-amlr",
        name: "Apple Machine Learning Research Model License",
        hub_ids: &["apple-amlr"],
        phrases: &["apple machine learning research model"],
        class: Restricted,
        restrictions: &[ResearchOnly],
    },
];

/// Clauses that make unrecognised terms restricted, searched in any LICENSE text.
const RESTRICTING_CLAUSES: &[(&str, Restriction)] = &[
    ("acceptable use policy", AcceptableUsePolicy),
    ("prohibited use", AcceptableUsePolicy),
    ("monthly active users", UserThreshold),
    ("non-commercial", NonCommercial),
    ("noncommercial", NonCommercial),
    ("research purposes only", ResearchOnly),
    ("no derivative", NoDerivatives),
];

/// A licence as one source states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredLicense {
    /// Where: `README.md front matter license`, `GGUF general.license`.
    pub source: String,
    pub value: String,
    /// The table's ID when recognised.
    pub recognised: Option<&'static str>,
}

/// A LICENSE file's text, identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseText {
    pub file: String,
    /// The table's ID when the text was recognised.
    pub recognised: Option<&'static str>,
    /// Restricting clauses found in the text (for an unrecognised one).
    pub clauses: Vec<Restriction>,
}

/// The licence, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LicenseReport {
    /// The licence's ID (from the table, else as declared), `None` when there is none.
    pub id: Option<String>,
    pub name: Option<String>,
    pub class: LicenseClass,
    /// `true` open, `false` restricted or missing, `null` unknown.
    pub open: Option<bool>,
    pub restrictions: Vec<Restriction>,
    /// `license_link` / `general.license.link`.
    pub link: Option<String>,
    pub declared: Vec<DeclaredLicense>,
    pub texts: Vec<LicenseText>,
    /// A declared licence and the text name different licences.
    pub contradicted: bool,
}

/// The table entry a Hub ID or a licence name stands for.
pub fn lookup_id(value: &str) -> Option<&'static LicenseEntry> {
    let v = value.trim().to_lowercase();
    LICENSES
        .iter()
        .find(|e| e.id.to_lowercase() == v || e.hub_ids.contains(&v.as_str()))
        .or_else(|| {
            // `license_name` is free text ("Llama 3.1 Community License Agreement").
            let text = normalise(value);
            LICENSES.iter().find(|e| {
                e.name.to_lowercase() == text || e.phrases.iter().all(|p| text.contains(p))
            })
        })
}

/// The table entry a licence text is, by its phrases.
pub fn identify_text(text: &str) -> Option<&'static LicenseEntry> {
    let text = normalise(text);
    LICENSES
        .iter()
        .find(|e| e.phrases.iter().all(|p| text.contains(p)))
}

/// Lowercase, whitespace collapsed, typographic dashes as `-`.
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .replace(['\u{2013}', '\u{2014}', '\u{2010}'], "-")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn clauses(text: &str) -> Vec<Restriction> {
    let text = normalise(text);
    let mut out: Vec<Restriction> = RESTRICTING_CLAUSES
        .iter()
        .filter(|(p, _)| text.contains(p))
        .map(|&(_, r)| r)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Resolves the licence from the card, the GGUF metadata and the LICENSE texts.
pub fn resolve_license(sources: &Sources, model: &Model) -> LicenseReport {
    let mut declared = Vec::new();
    let mut link = None;
    if let Some(card) = &sources.card {
        for v in card.strings("license") {
            declared.push(DeclaredLicense {
                recognised: lookup_id(&v).map(|e| e.id),
                source: "README.md front matter `license`".into(),
                value: v,
            });
        }
        for v in card.strings("license_name") {
            declared.push(DeclaredLicense {
                recognised: lookup_id(&v).map(|e| e.id),
                source: "README.md front matter `license_name`".into(),
                value: v,
            });
        }
        link = card.strings("license_link").into_iter().next();
    }
    if let Some(g) = &model.gguf {
        if let Some(v) = g.license() {
            // Converters comma-join a list of Hub IDs.
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                declared.push(DeclaredLicense {
                    recognised: lookup_id(part).map(|e| e.id),
                    source: "GGUF `general.license`".into(),
                    value: part.to_owned(),
                });
            }
        }
        if let Some(v) = g.metadata.get_str("general.license.name") {
            declared.push(DeclaredLicense {
                recognised: lookup_id(v).map(|e| e.id),
                source: "GGUF `general.license.name`".into(),
                value: v.to_owned(),
            });
        }
        if link.is_none() {
            link = g
                .metadata
                .get_str("general.license.link")
                .map(str::to_owned);
        }
    }
    let texts: Vec<LicenseText> = sources
        .license_texts
        .iter()
        .map(|(file, text)| LicenseText {
            file: file.clone(),
            recognised: identify_text(text).map(|e| e.id),
            clauses: clauses(text),
        })
        .collect();
    let has_use_policy = sources
        .license_texts
        .iter()
        .any(|(f, _)| f.to_ascii_uppercase().starts_with("USE_POLICY"));

    // The text outranks the declaration; `other` declares nothing in particular.
    let text_entry = texts.iter().find_map(|t| t.recognised).and_then(lookup_id);
    let declared_entry = declared
        .iter()
        .find_map(|d| d.recognised)
        .and_then(lookup_id);
    let contradicted = match (declared_entry, text_entry) {
        (Some(d), Some(t)) => d.id != t.id,
        _ => false,
    };
    let mut restrictions: Vec<Restriction> = Vec::new();
    let (id, name, class) = if let Some(e) = text_entry.or(declared_entry) {
        restrictions.extend_from_slice(e.restrictions);
        (Some(e.id.to_owned()), Some(e.name.to_owned()), e.class)
    } else {
        let named = declared
            .iter()
            .find(|d| !d.value.eq_ignore_ascii_case("other"))
            .or(declared.first())
            .map(|d| d.value.clone());
        let found: Vec<Restriction> = texts.iter().flat_map(|t| t.clauses.clone()).collect();
        restrictions.extend(found);
        let class = if !restrictions.is_empty() {
            Restricted
        } else if named.is_some() || !texts.is_empty() {
            LicenseClass::Unknown
        } else {
            LicenseClass::Missing
        };
        let name = declared
            .iter()
            .find(|d| d.source.contains("license_name"))
            .map(|d| d.value.clone())
            .or(named.clone());
        (named, name, class)
    };
    if has_use_policy {
        restrictions.push(AcceptableUsePolicy);
    }
    restrictions.sort();
    restrictions.dedup();
    // A separate use policy restricts even open-looking terms.
    let class = if class == Open && !restrictions.is_empty() {
        Restricted
    } else {
        class
    };
    LicenseReport {
        id,
        name,
        open: match class {
            Open => Some(true),
            Restricted | LicenseClass::Missing => Some(false),
            LicenseClass::Unknown => None,
        },
        class,
        restrictions,
        link,
        declared,
        texts,
        contradicted,
    }
}

impl LicenseReport {
    /// The SPDX identifier, when the licence is one SPDX lists (the table's IDs that are not the
    /// Hub's own, like `llama3.1` or `gemma`, are SPDX's, which capitalise them).
    pub fn spdx_id(&self) -> Option<&str> {
        let id = self.id.as_deref()?;
        let known = LICENSES.iter().any(|e| e.id == id);
        (known && id.starts_with(|c: char| c.is_ascii_uppercase())).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_identified_by_their_phrases() {
        let cases = [
            (
                "                                 Apache License\n                           Version 2.0, January 2004",
                "Apache-2.0",
            ),
            (
                "Permission is hereby granted, free of\n charge, to any person",
                "MIT",
            ),
            (
                "Redistribution and use in source and binary forms ... Neither the name of the copyright holder",
                "BSD-3-Clause",
            ),
            (
                "Redistribution and use in source and binary forms, with or without",
                "BSD-2-Clause",
            ),
            (
                "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024",
                "llama3.1",
            ),
            ("META LLAMA 3 COMMUNITY LICENSE AGREEMENT", "llama3"),
            ("LLAMA 2 COMMUNITY LICENSE AGREEMENT", "llama2"),
            ("Llama 4 Community License Agreement", "llama4"),
            (
                "Gemma Terms of Use\nLast modified: February 21, 2024",
                "gemma",
            ),
            (
                "Attribution-NonCommercial 4.0 International",
                "CC-BY-NC-4.0",
            ),
            (
                "Attribution-NonCommercial-ShareAlike 4.0 International",
                "CC-BY-NC-SA-4.0",
            ),
            ("Attribution 4.0 International", "CC-BY-4.0"),
            ("Tongyi Qianwen LICENSE AGREEMENT", "qwen"),
            ("Qwen RESEARCH LICENSE AGREEMENT", "qwen-research"),
            ("DEEPSEEK LICENSE AGREEMENT Version 1.0", "deepseek"),
            (
                "BigScience RAIL License ... Responsible AI License",
                "openrail",
            ),
            ("CreativeML Open RAIL-M", "creativeml-openrail-m"),
        ];
        for (text, id) in cases {
            assert_eq!(identify_text(text).map(|e| e.id), Some(id), "{text}");
        }
        assert!(identify_text("All rights reserved.").is_none());
    }

    #[test]
    fn hub_ids_and_names_are_recognised() {
        assert_eq!(lookup_id("apache-2.0").unwrap().id, "Apache-2.0");
        assert_eq!(lookup_id("Llama3.1").unwrap().id, "llama3.1");
        assert_eq!(
            lookup_id("Llama 3.1 Community License Agreement")
                .unwrap()
                .id,
            "llama3.1"
        );
        assert_eq!(lookup_id("cc-by-nc-4.0").unwrap().class, Restricted);
        assert!(lookup_id("other").is_none());
    }

    #[test]
    fn every_restricted_licence_names_a_restriction_and_open_ones_none() {
        for e in LICENSES {
            match e.class {
                Restricted => assert!(!e.restrictions.is_empty(), "{}", e.id),
                _ => assert!(e.restrictions.is_empty(), "{}", e.id),
            }
        }
    }

    #[test]
    fn unknown_texts_are_searched_for_restricting_clauses() {
        assert_eq!(
            clauses(
                "You must comply with the Acceptable Use Policy. If you have more than 700 million monthly active users …"
            ),
            [AcceptableUsePolicy, UserThreshold]
        );
        assert!(clauses("Do what you want.").is_empty());
    }
}
