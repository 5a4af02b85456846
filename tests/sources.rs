//! Model references against fake local stores built by each test in a temporary folder: the
//! Hugging Face cache (`ORG/NAME[@REVISION]`: refs, snapshots of links into blobs, a missing blob,
//! a revision by commit prefix), the Ollama store (`ollama:NAME[:TAG]`: the GGUF blob and the
//! template, system and licence layers) and LM Studio (`lmstudio:PUBLISHER/NAME`), and
//! `glassbox cache` over all three. Expected values come from the fixture files themselves (the
//! same model opened by path) and from sizes and digests computed here.

#[path = "sources/fixtures_stores.rs"]
mod fixtures_stores;
#[path = "sources/stores.rs"]
mod stores;

use fixtures_stores::*;
use serde_json::Value;
use stores::*;

fn json(o: &std::process::Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", err(o));
    serde_json::from_str(&out(o)).expect("JSON")
}

fn local_summary(folder: &str) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let path = fixtures().join(folder);
    json(&run(
        tmp.path(),
        &[],
        &["summary", path.to_str().unwrap(), "--format", "json"],
    ))
}

#[test]
fn a_repo_id_opens_the_main_snapshot_in_the_cache() {
    let (tmp, env) = hf_cache();
    let got = json(&run(
        tmp.path(),
        &env,
        &["summary", "org/llama", "--format", "json"],
    ));
    assert_eq!(got["model"]["path"], "org/llama");
    assert_eq!(got["model"]["files"].as_array().unwrap().len(), 3);
    assert_eq!(
        without_paths(got),
        without_paths(local_summary("llama-tiny-sharded"))
    );
    // The links were followed into blobs/: the file paths are the snapshot's.
    let tensors = json(&run(
        tmp.path(),
        &env,
        &["tensors", "org/llama@main", "--format", "json"],
    ));
    let path = tensors["model"]["files"][0]["path"].as_str().unwrap();
    assert!(path.contains(&format!("snapshots/{COMMIT_A}/")), "{path}");
}

#[test]
fn a_revision_is_a_tag_a_commit_or_a_unique_commit_prefix() {
    let (tmp, env) = hf_cache();
    let want = without_paths(local_summary("llama-tiny"));
    for reference in [
        "org/llama@v1.0",
        &format!("org/llama@{COMMIT_B}"),
        "org/llama@aaaa2",
    ] {
        let got = json(&run(
            tmp.path(),
            &env,
            &["summary", reference, "--format", "json"],
        ));
        assert_eq!(without_paths(got), want, "{reference}");
    }
    let o = run(tmp.path(), &env, &["summary", "org/llama@aaaa"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("ambiguous") && err(&o).contains("aaaa1111, aaaa2222"),
        "{}",
        err(&o)
    );
    let o = run(tmp.path(), &env, &["summary", "org/llama@v9"]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("no revision `v9`")
            && e.contains("main → aaaa1111")
            && e.contains("v1.0 → aaaa2222"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    let o = run(tmp.path(), &env, &["summary", "org/llama@../../x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not a revision name"), "{}", err(&o));
}

#[test]
fn diff_and_stats_take_references_too() {
    let (tmp, env) = hf_cache();
    // The v1.0 snapshot holds the very bytes of the fixture: identical, exit 0.
    let o = run(
        tmp.path(),
        &env,
        &["diff", "org/llama@v1.0", "fixtures/llama-tiny"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // Both by name: the sharded main holds the same values as the single file.
    let o = run(tmp.path(), &env, &["diff", "org/llama", "org/llama@v1.0"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // Another model: exit 1.
    let o = run(
        tmp.path(),
        &env,
        &["diff", "org/llama", "fixtures/gpt2-tiny"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let o = run(
        tmp.path(),
        &env,
        &["stats", "org/llama@v1.0", "--format", "json"],
    );
    let local = run(
        tmp.path(),
        &[],
        &["stats", "fixtures/llama-tiny", "--format", "json"],
    );
    let rows = |o: &std::process::Output| json(o)["tensors"].clone();
    assert_eq!(rows(&o), rows(&local));
}

#[test]
fn a_snapshot_linking_to_a_missing_blob_says_so() {
    let (tmp, env) = hf_cache();
    let o = run(tmp.path(), &env, &["summary", "org/llama@cccc3333"]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("model.safetensors") && e.contains("does not exist"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn a_ref_to_a_commit_without_snapshot_says_so() {
    let (tmp, env) = hf_cache();
    let repo = HfRepo::new(&tmp.path().join("hub"), "org/llama");
    repo.set_ref("broken", "dddd4444");
    let o = run(tmp.path(), &env, &["summary", "org/llama@broken"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("commit dddd4444, whose snapshot is not in the cache"),
        "{}",
        err(&o)
    );
}

#[test]
fn a_model_not_in_the_cache_lists_what_the_org_has_or_counts_the_models() {
    let (tmp, env) = hf_cache();
    let o = run(tmp.path(), &env, &["summary", "org/missing"]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.starts_with("error: org/missing: no such file or folder"),
        "{e}"
    );
    assert!(
        e.contains("which holds from org: org/llama, org/other"),
        "{e}"
    );
    let o = run(tmp.path(), &env, &["summary", "nobody/missing"]);
    assert!(
        err(&o).contains("(2 models cached; try `glassbox cache`)"),
        "{}",
        err(&o)
    );
    // Without a cache at all.
    let env = vec![(
        "HF_HUB_CACHE",
        tmp.path().join("none").display().to_string(),
    )];
    let o = run(tmp.path(), &env, &["summary", "nobody/missing"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no Hugging Face cache at"), "{}", err(&o));
}

#[test]
fn an_existing_path_wins_over_a_repo_id() {
    let (tmp, env) = hf_cache();
    // `fixtures/llama-tiny` is also ORG/NAME-shaped: the folder is opened.
    let got = json(&run(
        tmp.path(),
        &env,
        &["summary", "fixtures/llama-tiny", "--format", "json"],
    ));
    assert_eq!(
        without_paths(got),
        without_paths(local_summary("llama-tiny"))
    );
}

#[test]
fn hf_home_and_the_default_location_are_used_in_order() {
    let (tmp, _) = hf_cache();
    // HF_HOME/hub.
    let env = vec![("HF_HOME", tmp.path().display().to_string())];
    let o = run(tmp.path(), &env, &["summary", "org/llama@v1.0"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // ~/.cache/huggingface/hub, with HOME the temporary folder.
    let default = tmp.path().join(".cache/huggingface");
    std::fs::create_dir_all(&default).unwrap();
    std::fs::rename(tmp.path().join("hub"), default.join("hub")).unwrap();
    let o = run(tmp.path(), &[], &["summary", "org/llama@v1.0"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

// ---- Ollama ------------------------------------------------------------------------------------

#[test]
fn an_ollama_name_opens_the_gguf_blob_with_its_layers_as_documents() {
    let (tmp, env) = ollama_store();
    let got = json(&run(
        tmp.path(),
        &env,
        &["summary", "ollama:tiny", "--format", "json"],
    ));
    assert_eq!(got["model"]["path"], "ollama:tiny");
    assert_eq!(got["model"]["format"], "gguf");
    let local = json(&run(
        tmp.path(),
        &[],
        &[
            "summary",
            "fixtures/gguf/llama-tiny.gguf",
            "--format",
            "json",
        ],
    ));
    assert_eq!(got["model"]["tensor_count"], local["model"]["tensor_count"]);
    assert_eq!(
        got["model"]["parameter_count"],
        local["model"]["parameter_count"]
    );
    assert_eq!(got["architecture"], local["architecture"]);
    let docs: Vec<(String, u64)> = got["model"]["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ollama_manifest",
            "template",
            "system_prompt",
            "license",
            "parameters"
        ]
    );
    assert_eq!(docs[1].1, TEMPLATE.len() as u64);
    assert_eq!(docs[2].1, SYSTEM.len() as u64);
    assert_eq!(docs[3].1, MIT.len() as u64);
    // The blob is the weights: its path is the digest of the fixture's bytes.
    let file = got["model"]["files"][0]["path"].as_str().unwrap();
    assert!(
        file.ends_with(&format!("blobs/sha256-{}", sha256(&gguf_bytes()))),
        "{file}"
    );
    // The text summary lists the layers as documents.
    let text = out(&run(tmp.path(), &env, &["summary", "ollama:tiny:latest"]));
    let line = text
        .lines()
        .find(|l| l.starts_with("ollama layers"))
        .unwrap_or_else(|| panic!("no layers line in:\n{text}"));
    insta::assert_snapshot!("ollama_summary_text", text.as_str());
    assert!(
        line.ends_with(&format!(
            "template ({} B), system prompt ({} B), license (1.04 KiB), parameters ({} B)",
            TEMPLATE.len(),
            SYSTEM.len(),
            PARAMS.len()
        )),
        "{line}"
    );
}

#[test]
fn the_transparency_report_audits_the_template_layer_and_matches_the_licence_layer() {
    let (tmp, env) = ollama_store();
    let o = run(
        tmp.path(),
        &env,
        &["transparency", "ollama:tiny", "--format", "json"],
    );
    let got = json(&o);
    assert_eq!(got["chat_template"], TEMPLATE);
    let texts = got["license"]["texts"].as_array().unwrap();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["file"], "Ollama license layer");
    assert_eq!(texts[0]["recognised"], "MIT");
    let system: Vec<&Value> = got["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "ollama_system_prompt")
        .collect();
    assert_eq!(system.len(), 1);
    assert!(
        system[0]["message"]
            .as_str()
            .unwrap()
            .contains("Never mention the weather")
    );
    // The other blobs of the store are not the model's files: none is hashed or listed.
    let hashes = got["hashes"].as_array().unwrap();
    assert_eq!(hashes.len(), 1, "{hashes:?}");
    assert_eq!(hashes[0]["kind"], "weights");
    assert_eq!(hashes[0]["sha256"], sha256(&gguf_bytes()));
    // A model without those layers has none of them.
    let got = json(&run(
        tmp.path(),
        &env,
        &["transparency", "ollama:tiny:q8", "--format", "json"],
    ));
    assert!(got["license"]["texts"].as_array().unwrap().is_empty());
}

#[test]
fn a_namespaced_ollama_model_and_a_missing_tag_or_name() {
    let (tmp, env) = ollama_store();
    let o = run(tmp.path(), &env, &["tensors", "ollama:me/mine:1"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(tmp.path(), &env, &["summary", "ollama:tiny:fp16"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("no tag `fp16` of `tiny` in the Ollama store (tags: latest, q8)"),
        "{}",
        err(&o)
    );
    let o = run(tmp.path(), &env, &["summary", "ollama:huge"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("(3 models: me/mine:1, tiny:latest, tiny:q8)"),
        "{}",
        err(&o)
    );
    let o = run(tmp.path(), &env, &["summary", "ollama:../x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not an Ollama model name"), "{}", err(&o));
}

#[test]
fn a_broken_ollama_manifest_is_one_line_error() {
    let (tmp, env) = ollama_store();
    let store = tmp.path().join("ollama");
    let dir = store.join("manifests/registry.ollama.ai/library/tiny");
    let cases: &[(&str, &str, &str)] = &[
        ("bad", "{not json", "the manifest is not valid"),
        ("nomodel", r#"{"layers":[]}"#, "no model layer"),
        (
            "baddigest",
            r#"{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../etc"}]}"#,
            "is not `sha256:<64 hex digits>`",
        ),
    ];
    for (tag, manifest, want) in cases {
        std::fs::write(dir.join(tag), manifest).unwrap();
        let o = run(
            tmp.path(),
            &env,
            &["summary", &format!("ollama:tiny:{tag}")],
        );
        assert_eq!(o.status.code(), Some(2), "{tag}");
        assert!(err(&o).contains(want), "{tag}: {}", err(&o));
        assert_eq!(err(&o).lines().count(), 1);
    }
    // A blob gone from the store.
    let hex = "ab".repeat(32);
    std::fs::write(
        dir.join("gone"),
        format!(r#"{{"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{hex}"}}]}}"#),
    )
    .unwrap();
    let o = run(tmp.path(), &env, &["summary", "ollama:tiny:gone"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("is missing from the store"), "{}", err(&o));
    // No store at all.
    let env = vec![(
        "OLLAMA_MODELS",
        tmp.path().join("none").display().to_string(),
    )];
    let o = run(tmp.path(), &env, &["summary", "ollama:tiny"]);
    assert!(err(&o).contains("no Ollama store at"), "{}", err(&o));
}

// ---- LM Studio ---------------------------------------------------------------------------------

#[test]
fn an_lmstudio_name_opens_its_folder() {
    let (tmp, env) = lmstudio();
    let got = json(&run(
        tmp.path(),
        &env,
        &["tensors", "lmstudio:pub/tiny-GGUF", "--format", "json"],
    ));
    let local = json(&run(
        tmp.path(),
        &[],
        &[
            "tensors",
            "fixtures/gguf/llama-tiny.gguf",
            "--format",
            "json",
        ],
    ));
    let without_file = |v: &Value| {
        let mut v = v["tensors"].clone();
        for t in v.as_array_mut().unwrap() {
            t.as_object_mut().unwrap().remove("file");
        }
        v
    };
    assert_eq!(without_file(&got), without_file(&local));
    assert_eq!(got["tensors"][0]["file"], "tiny-Q8_0.gguf");
    let o = run(
        tmp.path(),
        &env,
        &["summary", "lmstudio:pub/tiny-GGUF/tiny-Q8_0.gguf"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(tmp.path(), &env, &["summary", "lmstudio:pub/other"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("(1 model: pub/tiny-GGUF)"), "{}", err(&o));
    let o = run(tmp.path(), &env, &["summary", "lmstudio:nothing"]);
    assert!(
        err(&o).contains("expected `lmstudio:PUBLISHER/NAME`"),
        "{}",
        err(&o)
    );
    // The default folder under HOME, then the older one.
    let o = run(tmp.path(), &[], &["summary", "lmstudio:pub/tiny-GGUF"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains(".lmstudio/models"), "{}", err(&o));
    let older = tmp.path().join(".cache/lm-studio");
    std::fs::create_dir_all(&older).unwrap();
    std::fs::rename(tmp.path().join("lms"), older.join("models")).unwrap();
    let o = run(tmp.path(), &[], &["summary", "lmstudio:pub/tiny-GGUF"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

// ---- glassbox cache ----------------------------------------------------------------------------

#[test]
fn cache_lists_every_store_with_sizes_counted_once() {
    let (tmp, mut env) = hf_cache();
    let (ollama_tmp, ollama_env) = ollama_store();
    let (lms_tmp, lms_env) = lmstudio();
    env.extend(ollama_env);
    env.extend(lms_env);
    let got = json(&run(tmp.path(), &env, &["cache", "--format", "json"]));
    let stores: Vec<(&str, bool)> = got["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["store"].as_str().unwrap(), s["exists"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        stores,
        [("huggingface", true), ("ollama", true), ("lmstudio", true)]
    );
    let models = got["models"].as_array().unwrap();
    let refs: Vec<&str> = models
        .iter()
        .map(|m| m["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        [
            "org/llama",
            "org/other",
            "ollama:me/mine",
            "ollama:tiny",
            "lmstudio:pub/tiny-GGUF"
        ]
    );
    // org/llama: every distinct file of the three snapshots once (config.json is shared).
    let mut distinct = std::collections::BTreeMap::new();
    for (folder, names) in [("llama-tiny-sharded", SHARDED), ("llama-tiny", SINGLE)] {
        for (_, bytes) in fixture_files(folder, names) {
            distinct.insert(sha256(&bytes), bytes.len() as u64);
        }
    }
    let llama = &models[0];
    assert_eq!(
        llama["bytes"].as_u64().unwrap(),
        distinct.values().sum::<u64>()
    );
    assert_eq!(
        llama["revisions"],
        serde_json::json!(["main", "v1.0", "cccc3333"])
    );
    assert_eq!(llama["formats"], serde_json::json!(["safetensors"]));
    assert_eq!(llama["family"], "llama");
    // tiny: two tags share the GGUF blob; its layers and the config blob counted once each.
    let tiny = &models[3];
    assert_eq!(tiny["revisions"], serde_json::json!(["latest", "q8"]));
    let layers = gguf_bytes().len() + TEMPLATE.len() + SYSTEM.len() + MIT.len() + PARAMS.len();
    assert_eq!(tiny["bytes"].as_u64().unwrap(), layers as u64);
    assert_eq!(tiny["family"], "llama"); // general.architecture of the blob
    let lms = &models[4];
    assert_eq!(lms["revisions"], serde_json::json!(["tiny-Q8_0.gguf"]));
    assert_eq!(lms["bytes"].as_u64().unwrap(), gguf_bytes().len() as u64);
    assert_eq!(
        got["total_bytes"].as_u64().unwrap(),
        models
            .iter()
            .map(|m| m["bytes"].as_u64().unwrap())
            .sum::<u64>()
    );
    // Text and markdown carry the same rows.
    let text = out(&run(tmp.path(), &env, &["cache"]));
    assert!(
        text.contains("org/llama") && text.contains("main, v1.0, cccc3333"),
        "{text}"
    );
    assert!(text.contains("5 models"), "{text}");
    let md = out(&run(tmp.path(), &env, &["cache", "--format", "markdown"]));
    assert!(md.contains("| ollama:tiny "), "{md}");
    let redact = |s: String| {
        s.replace(&tmp.path().display().to_string(), "<hf>")
            .replace(&ollama_tmp.path().display().to_string(), "<ollama>")
            .replace(&lms_tmp.path().display().to_string(), "<lmstudio>")
    };
    insta::assert_snapshot!("cache_text", redact(text));
    insta::assert_snapshot!("cache_markdown", redact(md));
    drop((ollama_tmp, lms_tmp));
}

#[test]
fn cache_with_no_stores_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &[], &["cache"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(
        text.contains("(absent)") && text.contains("No models found."),
        "{text}"
    );
}
