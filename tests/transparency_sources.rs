//! The side files `glassbox transparency` reads, each way they can be wrong: too large, not JSON, a
//! front matter that is not YAML, an `auto_map` naming code that is not there. Each is a finding and
//! the report is still made (the weights were readable). Folders are built in a temporary
//! directory around a copy of a fixture's weights.

mod common;

use std::path::Path;

use common::{fixtures, glassbox, stderr, stdout};

/// A temporary model folder: the bare fixture's weights plus `files`.
fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("transparency/bare/model.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

fn run(dir: &Path) -> serde_json::Value {
    let path = dir.to_str().unwrap();
    let out = glassbox(&["transparency", path, "--format", "json", "--no-hash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn findings(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["file"]
                    .as_str()
                    .or(f["key"].as_str())
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

fn status<'a>(doc: &'a serde_json::Value, id: &str) -> &'a str {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
}

#[test]
fn a_card_over_the_cap_is_a_finding_not_a_read() {
    let dir = folder(&[]);
    // Sparse: 16 MiB + 1 bytes of zeros, never written out.
    let card = std::fs::File::create(dir.path().join("README.md")).unwrap();
    card.set_len((16 << 20) + 1).unwrap();
    let doc = run(dir.path());
    assert_eq!(
        findings(&doc),
        [("side_file_too_large".to_owned(), "README.md".to_owned())]
    );
    assert_eq!(status(&doc, "I1"), "MISSING");
}

#[test]
fn json_side_files_that_are_not_objects_are_findings() {
    let dir = folder(&[
        ("tokenizer_config.json", b"{ not json"),
        ("generation_config.json", b"[1, 2]"),
    ]);
    let mut got = findings(&run(dir.path()));
    got.sort();
    assert_eq!(
        got,
        [
            (
                "side_file_invalid".to_owned(),
                "generation_config.json".to_owned()
            ),
            (
                "side_file_invalid".to_owned(),
                "tokenizer_config.json".to_owned()
            ),
        ]
    );
}

#[test]
fn a_front_matter_that_is_not_yaml_keeps_the_card_body() {
    let dir = folder(&[(
        "README.md",
        b"---\nlicense: [apache-2.0\n---\n# A Title\n\n## Uses\n\nReading files.\n",
    )]);
    let doc = run(dir.path());
    assert_eq!(
        findings(&doc),
        [(
            "card_front_matter_invalid".to_owned(),
            "README.md".to_owned()
        )]
    );
    assert_eq!(doc["name"], "A Title");
    assert_eq!(status(&doc, "I2"), "DECLARED");
    assert_eq!(status(&doc, "B1"), "MISSING");
}

#[test]
fn auto_map_code_that_is_not_in_the_folder_is_a_finding() {
    let config = br#"{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "auto_map": {"AutoModelForCausalLM": "other/repo--modeling_x.XForCausalLM"}}"#;
    let dir = folder(&[("config.json", config)]);
    let doc = run(dir.path());
    assert_eq!(
        findings(&doc),
        [("remote_code_not_local".to_owned(), "auto_map".to_owned())]
    );
}

#[test]
fn a_chat_template_sidecar_is_preferred_and_audited() {
    let dir = folder(&[
        ("chat_template.jinja", b"{{ ''.__class__.__mro__ }}"),
        (
            "tokenizer_config.json",
            br#"{"chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "{% if x %}"}]}"#,
        ),
    ]);
    let doc = run(dir.path());
    let mut got = findings(&doc);
    got.sort();
    assert_eq!(
        got,
        [
            ("template_ssti".to_owned(), "chat_template.jinja".to_owned()),
            (
                "template_unparsed".to_owned(),
                "chat_template `tool_use`".to_owned()
            ),
        ]
    );
    assert_eq!(doc["chat_template"], "{{ ''.__class__.__mro__ }}");
}

#[test]
fn a_licence_only_in_use_policy_text_is_restricted() {
    let dir = folder(&[
        ("LICENSE", b"Copyright ACME. Some terms we wrote ourselves."),
        ("USE_POLICY.md", b"# Acceptable Use Policy\n"),
    ]);
    let doc = run(dir.path());
    assert_eq!(doc["license"]["class"], "restricted");
    assert_eq!(
        doc["license"]["restrictions"],
        serde_json::json!(["acceptable_use_policy"])
    );
    assert_eq!(status(&doc, "B2"), "DECLARED", "present, not recognised");
}

#[test]
fn a_gguf_whose_template_differs_from_the_source_files_is_contradicted() {
    let gguf = fixtures().join("transparency/gguf-general/qwen-style.gguf");
    let with_config = |template: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&gguf, dir.path().join("model.gguf")).unwrap();
        let config = serde_json::json!({ "chat_template": template });
        std::fs::write(dir.path().join("tokenizer_config.json"), config.to_string()).unwrap();
        let path = dir.path().join("model.gguf");
        let out = glassbox(&[
            "transparency",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--no-hash",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let alone = {
        let out = glassbox(&[
            "transparency",
            gguf.to_str().unwrap(),
            "--format",
            "json",
            "--no-hash",
        ]);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let shipped = alone["chat_template"].as_str().unwrap().to_owned();
    assert_eq!(status(&with_config(&shipped), "E3"), "VERIFIED");
    let changed = with_config("{{ messages }}");
    assert_eq!(status(&changed, "E3"), "CONTRADICTED");
    // The source files' template is the one shown (it is what transformers would use).
    assert_eq!(changed["chat_template"], "{{ messages }}");
}

/// `--base`: the declared lineage checked with the diff's verdict (fixtures/diff: `finetune` is
/// `base` fine-tuned, `independent` is unrelated to it).
#[test]
fn a_declared_base_is_checked_against_the_base_weights() {
    let a3 = |model: &Path, base: &str| {
        let out = glassbox(&[
            "transparency",
            model.to_str().unwrap(),
            "--base",
            base,
            "--format",
            "json",
            "--no-hash",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let item = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "A3")
            .unwrap()
            .clone();
        (item["status"].as_str().unwrap().to_owned(), item)
    };
    let declared = |weights: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixtures().join(format!("diff/{weights}/model.safetensors")),
            dir.path().join("model.safetensors"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("README.md"),
            "---\nbase_model: glassbox-fixtures/base\n---\n# m\n",
        )
        .unwrap();
        dir
    };
    let finetune = declared("finetune");
    assert_eq!(a3(finetune.path(), "fixtures/diff/base").0, "CONSISTENT");
    let independent = declared("independent");
    let (status, item) = a3(independent.path(), "fixtures/diff/base");
    assert_eq!(status, "CONTRADICTED");
    assert!(
        item["evidence"][1]
            .as_str()
            .unwrap()
            .contains("verdict unrelated")
    );
    // Nothing declared: the comparison alone shows the lineage.
    assert_eq!(
        a3(&fixtures().join("diff/finetune"), "fixtures/diff/base").0,
        "VERIFIED"
    );
    assert_eq!(
        a3(&fixtures().join("diff/independent"), "fixtures/diff/base").0,
        "MISSING"
    );
    // A base that cannot be opened is an error, exit 2.
    let out = glassbox(&[
        "transparency",
        "fixtures/diff/base",
        "--base",
        "fixtures/nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1);
}
