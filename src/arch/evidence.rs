//! Which evidence gave a model its family, as data: what the declaring side names
//! ([`DeclaredFamily`]) and what the tensor names say ([`NameEvidence`]). The sentence of the
//! summary's `evidence` line is rendered from them by `Display` (and is the JSON value).

use serde::Serialize;

/// What the declaring side (config.json or GGUF metadata) names as the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredFamily {
    /// `config.json` `model_type`; `known` when glassbox has rules for it.
    ModelType { model_type: String, known: bool },
    /// `config.json` `architectures[0]` of a known family (no `model_type`).
    Architectures { class: String },
    /// GGUF `general.architecture`; `moe_family` when `{arch}.expert_count > 0` makes it a
    /// mixture-of-experts family llama.cpp stores under the dense name (Mixtral as `llama`).
    Gguf {
        architecture: String,
        moe_family: Option<String>,
    },
    /// A GGUF file without `general.architecture`.
    GgufWithoutArchitecture,
    /// No usable config (or one naming no family).
    Nothing,
}

/// What the tensor names say about the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameEvidence {
    /// The names match a signature of the declared family.
    Agree(Signature),
    /// The names match another family's signature.
    Contradict(Signature),
    /// Nothing (known) declared: the names match a signature.
    Resemble(Signature),
    /// No known signature matches.
    NoSignature,
}

/// A tensor-name signature that matched: its family and the families sharing its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub family: &'static str,
    /// Other families whose checkpoints use the same names.
    pub shared_with: Vec<&'static str>,
}

impl Signature {
    /// `llama names`, or `llama names, shared with mistral, qwen2`.
    fn names(&self) -> String {
        if self.shared_with.is_empty() {
            format!("{} names", self.family)
        } else {
            format!(
                "{} names, shared with {}",
                self.family,
                self.shared_with.join(", ")
            )
        }
    }
}

/// The evidence for a model's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyEvidence {
    pub declared: DeclaredFamily,
    pub names: NameEvidence,
}

impl std::fmt::Display for FamilyEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use DeclaredFamily as D;
        use NameEvidence as N;
        let gguf_names = || match &self.names {
            N::Agree(s) => format!("the GGUF tensor layout agrees ({} layout)", s.family),
            N::Contradict(s) => format!(
                "but the GGUF tensor layout looks like {} (contradicted)",
                s.family
            ),
            N::Resemble(s) => format!("the GGUF tensor layout resembles {}", s.family),
            N::NoSignature => "tensor names follow llama.cpp's GGUF scheme".to_owned(),
        };
        let config = |d: &D| match d {
            D::ModelType { model_type, .. } => format!("model_type \"{model_type}\""),
            D::Architectures { class } => format!("architectures \"{class}\""),
            _ => String::new(),
        };
        match (&self.declared, &self.names) {
            (
                D::Gguf {
                    architecture: a,
                    moe_family: Some(family),
                },
                _,
            ) => write!(
                f,
                "GGUF general.architecture \"{a}\" with {a}.expert_count > 0, as llama.cpp stores {family}; {}",
                gguf_names()
            ),
            (
                D::Gguf {
                    architecture: a,
                    moe_family: None,
                },
                _,
            ) => write!(f, "GGUF general.architecture \"{a}\"; {}", gguf_names()),
            (D::GgufWithoutArchitecture, _) => write!(
                f,
                "no general.architecture in the GGUF metadata; {}",
                gguf_names()
            ),
            (d @ (D::ModelType { known: true, .. } | D::Architectures { .. }), N::Agree(s)) => {
                write!(
                    f,
                    "config.json {}; tensor names agree ({})",
                    config(d),
                    s.names()
                )
            }
            (
                d @ (D::ModelType { known: true, .. } | D::Architectures { .. }),
                N::Contradict(s) | N::Resemble(s),
            ) => write!(
                f,
                "config.json {}; but the tensor names look like {} (contradicted)",
                config(d),
                s.family
            ),
            (d @ (D::ModelType { known: true, .. } | D::Architectures { .. }), N::NoSignature) => {
                write!(
                    f,
                    "config.json {}; no known tensor-name signature",
                    config(d)
                )
            }
            (
                D::ModelType {
                    model_type,
                    known: false,
                },
                N::NoSignature,
            ) => write!(
                f,
                "config.json model_type \"{model_type}\", a family glassbox has no rules for"
            ),
            (
                D::ModelType {
                    model_type,
                    known: false,
                },
                N::Agree(s) | N::Contradict(s) | N::Resemble(s),
            ) => write!(
                f,
                "config.json model_type \"{model_type}\", a family glassbox has no rules for; tensor names resemble {}",
                s.names()
            ),
            (D::Nothing, N::Agree(s) | N::Contradict(s) | N::Resemble(s)) => {
                write!(f, "tensor names only ({})", s.names())
            }
            (D::Nothing, N::NoSignature) => {
                f.write_str("unrecognised: no usable config and no known tensor-name signature")
            }
        }
    }
}

impl Serialize for FamilyEvidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(family: &'static str, shared_with: &[&'static str]) -> Signature {
        Signature {
            family,
            shared_with: shared_with.to_vec(),
        }
    }

    #[test]
    fn sentences_from_the_declared_family_and_the_names() {
        let e = |declared, names| FamilyEvidence { declared, names }.to_string();
        let llama = || DeclaredFamily::ModelType {
            model_type: "llama".into(),
            known: true,
        };
        assert_eq!(
            e(llama(), NameEvidence::Agree(sig("llama", &["mistral"]))),
            "config.json model_type \"llama\"; tensor names agree (llama names, shared with mistral)"
        );
        assert_eq!(
            e(llama(), NameEvidence::Contradict(sig("bert", &[]))),
            "config.json model_type \"llama\"; but the tensor names look like bert (contradicted)"
        );
        assert_eq!(
            e(
                DeclaredFamily::Architectures {
                    class: "LlamaForCausalLM".into()
                },
                NameEvidence::NoSignature
            ),
            "config.json architectures \"LlamaForCausalLM\"; no known tensor-name signature"
        );
        assert_eq!(
            e(DeclaredFamily::Nothing, NameEvidence::NoSignature),
            "unrecognised: no usable config and no known tensor-name signature"
        );
        assert_eq!(
            e(
                DeclaredFamily::Gguf {
                    architecture: "llama".into(),
                    moe_family: Some("mixtral".into())
                },
                NameEvidence::Agree(sig("mixtral", &[]))
            ),
            "GGUF general.architecture \"llama\" with llama.expert_count > 0, as llama.cpp stores mixtral; the GGUF tensor layout agrees (mixtral layout)"
        );
        assert_eq!(
            e(
                DeclaredFamily::GgufWithoutArchitecture,
                NameEvidence::NoSignature
            ),
            "no general.architecture in the GGUF metadata; tensor names follow llama.cpp's GGUF scheme"
        );
    }
}
