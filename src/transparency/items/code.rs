//! Group J: the code a person needs to study, run, train and evaluate the model, on disk or
//! referenced.

use super::{Context, item, missing};
use crate::transparency::Item;
use crate::transparency::Status;
use crate::transparency::card::Labelled;

pub(super) fn j_code(ctx: &Context) -> Vec<Item> {
    let local_model = ctx.has_file(|f| f.starts_with("modeling_") && f.ends_with(".py"));
    let j1 = if !local_model.is_empty() {
        item(
            "J1",
            Status::Verified,
            Some(local_model.join(", ")),
            vec!["files present (`auto_map`)".into()],
        )
    } else if let Some(f) = ctx.arch.family.as_ref().filter(|_| ctx.arch.family_known) {
        let upstream = if ctx.model.gguf.is_some() {
            "llama.cpp (MIT)"
        } else {
            "transformers (Apache-2.0)"
        };
        item(
            "J1",
            Status::Referenced,
            Some(format!("`{f}` in {upstream}")),
            vec!["architecture family".into()],
        )
    } else {
        missing("J1")
    };
    let library = ctx
        .card()
        .and_then(|c| c.strings("library_name").into_iter().next());
    let j2 = if let Some(l) = library.clone() {
        item(
            "J2",
            Status::Referenced,
            Some(l),
            vec!["README.md `library_name`".into()],
        )
    } else if ctx.model.gguf.is_some() {
        item(
            "J2",
            Status::Referenced,
            Some("llama.cpp and GGUF runtimes".into()),
            vec!["GGUF format".into()],
        )
    } else {
        missing("J2")
    };
    let train =
        ctx.has_file(|f| f.ends_with(".py") && (f.starts_with("train") || f.contains("finetune")));
    let repo = ctx
        .card()
        .and_then(|c| c.labelled("Repository"))
        .and_then(|l| match l {
            Labelled::Value(v) => Some(v),
            Labelled::Placeholder => None,
        });
    let j3 = if !train.is_empty() {
        item(
            "J3",
            Status::Verified,
            Some(train.join(", ")),
            vec!["files present".into()],
        )
    } else if let Some(r) = repo {
        item(
            "J3",
            Status::Referenced,
            Some(r),
            vec!["README.md \"Repository\"".into()],
        )
    } else if let Some(script) = ctx
        .card()
        .and_then(|c| crate::transparency::claims::training_script_claim(&c.body))
    {
        item(
            "J3",
            Status::Referenced,
            Some(format!("{script} (named, not on disk)")),
            vec!["README.md prose".into()],
        )
    } else {
        missing("J3")
    };
    let prep = ctx.has_file(|f| {
        f.ends_with(".py") && (f.contains("preprocess") || f.contains("prepare_data"))
    });
    let j4 = if prep.is_empty() {
        missing("J4")
    } else {
        item(
            "J4",
            Status::Verified,
            Some(prep.join(", ")),
            vec!["files present".into()],
        )
    };
    let mut libs = Vec::new();
    let mut ev = Vec::new();
    if let Some(l) = library {
        libs.push(l);
        ev.push("README.md `library_name`".to_owned());
    }
    if let Some(v) = ctx.config_str("transformers_version") {
        libs.push(format!("transformers {v}"));
        ev.push("config.json `transformers_version`".into());
    }
    if ctx.sources.files.iter().any(|f| f == "requirements.txt") {
        libs.push("requirements.txt".into());
        ev.push("requirements.txt".into());
    }
    let j5 = if libs.is_empty() {
        missing("J5")
    } else {
        item("J5", Status::Declared, Some(libs.join(", ")), ev)
    };
    vec![j1, j2, j3, j4, j5]
}
