//! Openness verdicts: each Model Openness Framework class (III Open Model, II Open Tooling, I Open
//! Science) and OSI's Open Source AI Definition 1.0, as checklists over the items (spec §6).
//!
//! From files alone a class can be decided NOT MET (the licence is not open, or a required
//! component has no trace at all) or MET (every required component is on disk or declared, under an
//! open licence); when a component is only referenced (a paper, a dataset ID, a repo link) the class
//! is UNDETERMINED and the links a person must still check are listed. OSAID is never declared met
//! on file evidence: the best outcome is UNDETERMINED, with what a person must review.

use serde::Serialize;

use super::license::{LicenseClass, LicenseReport};
use super::{Item, Status};

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Met,
    NotMet,
    Undetermined,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::NotMet => "not met",
            Outcome::Undetermined => "undetermined",
        }
    }
}

/// One MOF class's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassVerdict {
    /// `III`, `II`, `I`.
    pub class: &'static str,
    /// `Open Model`, `Open Tooling`, `Open Science`.
    pub name: &'static str,
    pub outcome: Outcome,
    /// Why, one reason per line.
    pub reasons: Vec<String>,
    /// What a person must still check (referenced components).
    pub to_check: Vec<String>,
}

/// The openness verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Openness {
    pub mof: Vec<ClassVerdict>,
    /// The highest class met, or `None` (unclassified).
    pub mof_class: Option<&'static str>,
    pub osaid: Outcome,
    /// Why OSAID is not met, or what a person must still review.
    #[serde(rename = "reasons")]
    pub osaid_reasons: Vec<String>,
}

/// MOF required components per class (spec §6.1), as (component, items that carry it).
const CLASS_III: &[(&str, &[&str])] = &[
    ("Model architecture", &["J1", "C1"]),
    ("Model parameters (Final)", &["D1"]),
    ("Technical report or research paper", &["A5"]),
    ("Evaluation results", &["H1"]),
    ("Model card", &["I1"]),
    ("Data card", &["F3"]),
];
const CLASS_II: &[(&str, &[&str])] = &[
    ("Training code", &["J3"]),
    ("Inference code", &["J2"]),
    ("Evaluation code", &["H3"]),
    ("Evaluation data", &["F5"]),
];
const CLASS_I: &[(&str, &[&str])] = &[
    ("Datasets", &["F1"]),
    ("Data preprocessing code", &["J4"]),
    ("Model parameters (Intermediate)", &["D5"]),
    ("Research paper", &["A5"]),
];

/// Judges every class and OSAID from the items and the licence.
pub fn judge_openness(items: &[Item], license: &LicenseReport) -> Openness {
    let mut mof = Vec::new();
    let mut previous: Option<Outcome> = None;
    for (class, name, components) in [
        ("III", "Open Model", CLASS_III),
        ("II", "Open Tooling", CLASS_II),
        ("I", "Open Science", CLASS_I),
    ] {
        let mut v = judge_class(class, name, components, items, license);
        // Classes are cumulative.
        match previous {
            Some(Outcome::NotMet) if v.outcome != Outcome::NotMet => {
                v.outcome = Outcome::NotMet;
                v.reasons.insert(0, "the class below is not met".into());
            }
            Some(Outcome::Undetermined) if v.outcome == Outcome::Met => {
                v.outcome = Outcome::Undetermined;
                v.reasons
                    .insert(0, "the class below is undetermined".into());
            }
            _ => {}
        }
        previous = Some(v.outcome);
        mof.push(v);
    }
    let mof_class = mof
        .iter()
        .rev()
        .find(|v| v.outcome == Outcome::Met)
        .map(|v| v.class);
    let (osaid, osaid_reasons) = judge_osaid(items, license);
    Openness {
        mof,
        mof_class,
        osaid,
        osaid_reasons,
    }
}

fn license_reason(license: &LicenseReport) -> Option<(Outcome, String)> {
    let id = license.id.as_deref().unwrap_or("unnamed");
    match license.class {
        LicenseClass::Open => None,
        LicenseClass::Restricted => Some((
            Outcome::NotMet,
            format!(
                "the licence ({id}) is not open: {}",
                license
                    .restrictions
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        LicenseClass::Missing => Some((
            Outcome::NotMet,
            "no licence: unlicensed components do not count as open".into(),
        )),
        LicenseClass::Unknown => Some((
            Outcome::Undetermined,
            format!("the licence ({id}) is not one glassbox recognises: check it is open"),
        )),
    }
}

fn judge_class(
    class: &'static str,
    name: &'static str,
    components: &[(&str, &[&str])],
    items: &[Item],
    license: &LicenseReport,
) -> ClassVerdict {
    let mut reasons = Vec::new();
    let mut to_check = Vec::new();
    let mut outcome = Outcome::Met;
    if let Some((o, why)) = license_reason(license) {
        outcome = o;
        reasons.push(why);
        if let Some(link) = &license.link {
            to_check.push(format!("licence: {link}"));
        }
    }
    for (component, ids) in components {
        let found: Vec<&Item> = items.iter().filter(|i| ids.contains(&i.id)).collect();
        let best = found
            .iter()
            .map(|i| i.status)
            .min_by_key(|s| rank(*s))
            .unwrap_or(Status::Missing);
        match rank(best) {
            0 => {}
            1 => {
                if outcome == Outcome::Met {
                    outcome = Outcome::Undetermined;
                }
                let what = found
                    .iter()
                    .find(|i| i.status == best)
                    .and_then(|i| i.value.clone())
                    .unwrap_or_default();
                reasons.push(format!(
                    "{component}: only referenced or described in prose"
                ));
                to_check.push(format!("{component}: {what}"));
            }
            _ => {
                outcome = Outcome::NotMet;
                reasons.push(format!("{component}: {}", best.name().to_lowercase()));
            }
        }
    }
    if reasons.is_empty() {
        reasons
            .push("every required component is on disk or declared, under an open licence".into());
    }
    ClassVerdict {
        class,
        name,
        outcome,
        reasons,
        to_check,
    }
}

/// 0 included (on disk or declared), 1 only referenced or prose, 2 absent.
fn rank(s: Status) -> u8 {
    match s {
        Status::Verified | Status::Consistent | Status::Derived | Status::Declared => 0,
        Status::Contradicted | Status::Referenced | Status::DeclaredText => 1,
        _ => 2,
    }
}

fn judge_osaid(items: &[Item], license: &LicenseReport) -> (Outcome, Vec<String>) {
    let status = |id: &str| items.iter().find(|i| i.id == id).map(|i| i.status);
    if let Some((Outcome::NotMet, why)) = license_reason(license) {
        return (Outcome::NotMet, vec![format!("Parameters: {why}")]);
    }
    let mut needs = vec![
        "Code: the complete training, data-processing and inference code under OSI-approved licences".to_owned(),
        "Data Information: a complete description of the training data, reviewed by a person".to_owned(),
    ];
    if license.class == LicenseClass::Unknown {
        needs.insert(
            0,
            "Parameters: check the licence's terms are OSI-approved".into(),
        );
    }
    if matches!(status("F1"), Some(Status::Missing | Status::Placeholder)) {
        return (
            Outcome::NotMet,
            vec!["Data Information: no training data is named".into()],
        );
    }
    (Outcome::Undetermined, needs)
}
