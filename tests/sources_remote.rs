//! Remote headers (`hf:ORG/NAME[@REVISION]` and plain URLs) against a local HTTP server started by
//! each test ([`server`]): the Hub's URL layout and listing, range requests, the redirect of weight
//! files to a CDN, a gated repo. The remote summary must equal the local one except for paths and
//! the fetched-bytes key, and the weight bytes sent must be exactly the headers (the 8-byte length
//! plus the JSON header of each shard, read from the fixture files here).

#[path = "sources/server.rs"]
mod server;
#[path = "sources/stores.rs"]
mod stores;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde_json::Value;
use stores::{err, fixtures, out, run, without_paths};

fn repos() -> BTreeMap<String, server::Repo> {
    let mut repos = BTreeMap::new();
    repos.insert(
        "org/sharded".into(),
        server::fixture_repo("llama-tiny-sharded"),
    );
    repos.insert("org/single".into(), server::fixture_repo("llama-tiny"));
    repos.insert("gated/single".into(), server::fixture_repo("llama-tiny"));
    let mut gguf = server::Repo::new();
    gguf.insert(
        "llama-tiny.gguf".into(),
        std::fs::read(fixtures().join("gguf/llama-tiny.gguf")).unwrap(),
    );
    repos.insert("org/gguf".into(), gguf.clone());
    gguf.insert("big-header.gguf".into(), big_header_gguf().0);
    // A safetensors header length past the end of the file.
    let mut bad = 1_000_000u64.to_le_bytes().to_vec();
    bad.extend_from_slice(b"{}");
    gguf.insert("bad.safetensors".into(), bad);
    repos.insert("norange/files".into(), gguf.clone());
    repos.insert("plain/files".into(), gguf);
    // The sharded model with an index that misplaces one tensor, and one whose total is wrong.
    let sharded = server::fixture_repo("llama-tiny-sharded");
    let index: Value = serde_json::from_slice(&sharded["model.safetensors.index.json"]).unwrap();
    let mut misplaced = index.clone();
    let map = misplaced["weight_map"].as_object_mut().unwrap();
    let (tensor, shard) = map
        .iter()
        .next()
        .map(|(t, s)| (t.clone(), s.clone()))
        .unwrap();
    let other = [
        "model-00001-of-00003.safetensors",
        "model-00002-of-00003.safetensors",
    ]
    .into_iter()
    .find(|s| *s != shard)
    .unwrap();
    map.insert(tensor, other.into());
    let mut repo = sharded.clone();
    repo.insert(
        "model.safetensors.index.json".into(),
        serde_json::to_vec(&misplaced).unwrap(),
    );
    repos.insert("org/misplaced".into(), repo);
    let mut total = index;
    total["metadata"]["total_size"] = 12345.into();
    let mut repo = sharded;
    repo.insert(
        "model.safetensors.index.json".into(),
        serde_json::to_vec(&total).unwrap(),
    );
    repos.insert("org/wrong-total".into(), repo);
    let mut pickles = server::Repo::new();
    pickles.insert("pytorch_model.bin".into(), vec![0; 16]);
    repos.insert("org/pickles".into(), pickles);
    repos
}

/// A GGUF file written here byte by byte (GGUF v3): one 200 KiB metadata string, so the header
/// is over three times the first range, and one F32 tensor `w` of 262,144 values (1 MiB).
/// Returns the file and its header length (the data offset).
fn big_header_gguf() -> (Vec<u8>, u64) {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes()); // tensors
    out.extend_from_slice(&2u64.to_le_bytes()); // key-value pairs
    string(&mut out, "general.architecture");
    out.extend_from_slice(&8u32.to_le_bytes()); // string
    string(&mut out, "llama");
    string(&mut out, "general.description");
    out.extend_from_slice(&8u32.to_le_bytes());
    string(&mut out, &"x".repeat(200 << 10));
    string(&mut out, "w");
    out.extend_from_slice(&1u32.to_le_bytes()); // dimensions
    out.extend_from_slice(&262_144u64.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // F32
    out.extend_from_slice(&0u64.to_le_bytes()); // offset in the data section
    let data_start = out.len().next_multiple_of(32);
    out.resize(data_start + (1 << 20), 0);
    (out, data_start as u64)
}

fn env(server: &server::Server) -> Vec<(&'static str, String)> {
    vec![("HF_ENDPOINT", server.endpoint.clone())]
}

fn json(o: &std::process::Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", err(o));
    serde_json::from_str(&out(o)).expect("JSON")
}

/// 8 + the header length of a safetensors file.
fn header_bytes(path: &std::path::Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    8 + u64::from_le_bytes(bytes[..8].try_into().unwrap())
}

#[test]
fn a_sharded_hub_model_is_summarised_from_its_headers_only() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let got = json(&run(
        tmp.path(),
        &env(&server),
        &["summary", "hf:org/sharded", "--format", "json"],
    ));
    let local = json(&run(
        tmp.path(),
        &[],
        &["summary", "fixtures/llama-tiny-sharded", "--format", "json"],
    ));
    assert_eq!(got["model"]["path"], "hf:org/sharded");
    assert_eq!(without_paths(got.clone()), without_paths(local));
    // Only the shards' headers were sent, to the byte.
    let dir = fixtures().join("llama-tiny-sharded");
    let headers: u64 = (1..=3)
        .map(|i| header_bytes(&dir.join(format!("model-0000{i}-of-00003.safetensors"))))
        .sum();
    assert_eq!(server.weight_bytes.load(Ordering::Relaxed), headers);
    let weights: u64 = (1..=3)
        .map(|i| {
            std::fs::metadata(dir.join(format!("model-0000{i}-of-00003.safetensors")))
                .unwrap()
                .len()
        })
        .sum();
    // What glassbox reports: headers, the index, config.json and the listing; far below the weights.
    let fetched = got["model"]["fetched_bytes"].as_u64().unwrap();
    let docs = ["config.json", "model.safetensors.index.json"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .sum::<u64>();
    assert!(fetched >= headers + docs, "{fetched} < {headers} + {docs}");
    assert!(fetched < headers + docs + 4096, "{fetched}");
    assert!(fetched * 10 < weights, "{fetched} vs {weights}");
    // Weight files went through the CDN redirect, with their Range kept.
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.iter().any(|l| l.starts_with(
            "/cdn/org/sharded/model-00001-of-00003.safetensors range=Some(\"bytes=0-7\")"
        )),
        "{log:#?}"
    );
    // Every request was pinned to the listing's commit.
    assert!(
        log.iter().all(|l| !l.contains("/resolve/main/")),
        "{log:#?}"
    );
    // The text summary says so.
    let text = out(&run(
        tmp.path(),
        &env(&server),
        &["summary", "hf:org/sharded"],
    ));
    assert!(text.contains("(remote: headers only, "), "{text}");
}

#[test]
fn tensors_and_transparency_work_on_a_remote_model() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let got = json(&run(
        tmp.path(),
        &env(&server),
        &["tensors", "hf:org/single@main", "--format", "json"],
    ));
    let local = json(&run(
        tmp.path(),
        &[],
        &["tensors", "fixtures/llama-tiny", "--format", "json"],
    ));
    assert_eq!(got["tensors"], local["tensors"]);
    let t = json(&run(
        tmp.path(),
        &env(&server),
        &["transparency", "hf:org/single", "--format", "json"],
    ));
    let l = json(&run(
        tmp.path(),
        &[],
        &[
            "transparency",
            "fixtures/llama-tiny",
            "--format",
            "json",
            "--no-hash",
        ],
    ));
    // The card, licence and config were fetched: the licence and the items agree with local.
    assert_eq!(t["license"], l["license"]);
    assert_eq!(t["counts"], l["counts"]);
    let statuses = |v: &Value| -> Vec<(String, String)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["id"].to_string(), i["status"].to_string()))
            .collect()
    };
    assert_eq!(statuses(&t), statuses(&l));
    assert_eq!(t["hashed"], false);
    // No temporary folder is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("glassbox-remote-")
        })
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // Only folders of finished processes count; the pid is the second-last field.
            name.split('-')
                .nth(2)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_gguf_by_url_reads_growing_ranges_until_the_header_is_whole() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("{}/plain/files/llama-tiny.gguf", server.endpoint);
    let got = json(&run(
        tmp.path(),
        &[],
        &["tensors", &url, "--format", "json"],
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
    assert_eq!(got["tensors"], local["tensors"]);
    let size = std::fs::metadata(fixtures().join("gguf/llama-tiny.gguf"))
        .unwrap()
        .len();
    let sent = server.weight_bytes.load(Ordering::Relaxed);
    // The first range (64 KiB) holds this header; the file is ten times that.
    assert!(sent <= 64 << 10 && sent * 10 < size, "{sent} of {size}");
    // A header larger than the first range: the range grows (64, 128, 256 KiB) until it parses.
    let before = server.weight_bytes.load(Ordering::Relaxed);
    let url = format!("{}/plain/files/big-header.gguf", server.endpoint);
    let got = json(&run(
        tmp.path(),
        &[],
        &["tensors", &url, "--format", "json"],
    ));
    assert_eq!(got["tensors"][0]["name"], "w");
    assert_eq!(got["tensors"][0]["shape"], serde_json::json!([262_144]));
    let (file, header) = big_header_gguf();
    let sent = server.weight_bytes.load(Ordering::Relaxed) - before;
    assert!(
        sent >= header && sent <= 256 << 10,
        "{sent} for a {header}-byte header"
    );
    assert!(sent * 4 < file.len() as u64);
    // The Hub repo with one GGUF file opens the same.
    let got = json(&run(
        tmp.path(),
        &env(&server),
        &["summary", "hf:org/gguf", "--format", "json"],
    ));
    assert_eq!(got["model"]["format"], "gguf");
    assert_eq!(got["model"]["tensor_count"], local["model"]["tensor_count"]);
}

#[test]
fn a_server_that_ignores_range_is_read_only_as_far_as_needed() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("{}/norange/files/llama-tiny.gguf", server.endpoint);
    let got = json(&run(
        tmp.path(),
        &[],
        &["tensors", &url, "--format", "json"],
    ));
    assert_eq!(got["model"]["tensor_count"], 21);
    // The whole file was offered; the first 64 KiB were read and the connection dropped.
    let fetched = got["model"]["fetched_bytes"].as_u64().unwrap();
    assert_eq!(fetched, 64 << 10);
}

#[test]
fn a_gated_repo_needs_hf_token() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &env(&server), &["summary", "hf:gated/single"]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("access denied (HTTP 401)") && e.contains("set HF_TOKEN"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    let mut with_token = env(&server);
    with_token.push(("HF_TOKEN", "wrong".into()));
    let o = run(tmp.path(), &with_token, &["summary", "hf:gated/single"]);
    assert!(
        err(&o).contains("the token in HF_TOKEN does not give access"),
        "{}",
        err(&o)
    );
    with_token[1].1 = server::TOKEN.into();
    let o = run(tmp.path(), &with_token, &["summary", "hf:gated/single"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // The token went to the endpoint, never to the CDN.
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.iter()
            .filter(|l| l.starts_with("/cdn/"))
            .all(|l| l.ends_with("token=false")),
        "{log:#?}"
    );
}

#[test]
fn a_remote_index_is_checked_against_the_shard_headers() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &env(&server), &["summary", "hf:org/misplaced"]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("model.safetensors.index.json") && e.contains("tensor `"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    let got = json(&run(
        tmp.path(),
        &env(&server),
        &["summary", "hf:org/wrong-total", "--format", "json"],
    ));
    let notes = got["model"]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["code"], "index_total_size");
    assert_eq!(notes[0]["evidence"]["declared"], 12345);
}

#[test]
fn remote_errors_are_one_line() {
    let server = server::start(repos());
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["summary".into(), "hf:org/nothing".into()],
            "not found (HTTP 404)",
        ),
        (
            vec!["summary".into(), "hf:org/pickles".into()],
            "PyTorch pickles",
        ),
        (
            vec!["summary".into(), "hf:not-a-repo".into()],
            "expected `hf:ORG/NAME[@REVISION]`",
        ),
        (
            vec!["stats".into(), "hf:org/single".into()],
            "`stats` reads the weights",
        ),
        (
            vec![
                "diff".into(),
                "hf:org/single".into(),
                "fixtures/llama-tiny".into(),
            ],
            "`diff` reads the weights",
        ),
        (
            vec![
                "summary".into(),
                format!("{}/plain/files/x.bin", server.endpoint),
            ],
            "must name a `.safetensors` or `.gguf` file",
        ),
        (
            vec![
                "summary".into(),
                format!("{}/plain/files/gone.gguf", server.endpoint),
            ],
            "not found (HTTP 404)",
        ),
        (
            vec!["summary".into(), "http://127.0.0.1:9/x.safetensors".into()],
            "http://127.0.0.1:9/x.safetensors",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(tmp.path(), &env(&server), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        let e = err(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}
