//! Remote models: `hf:ORG/NAME[@REVISION]` on the Hugging Face Hub (or `HF_ENDPOINT`) and a plain
//! `http(s)://` URL to one `.safetensors` or `.gguf` file, read header by header with HTTP range
//! requests ([`headers`]) so `summary`, `tensors` and `transparency` work on a model of any size
//! without downloading its weights.
//!
//! For a Hub repo the file list comes from `{endpoint}/api/models/{repo}/revision/{revision}`
//! (which also pins the commit); files from `{endpoint}/{repo}/resolve/{commit}/{file}`. The
//! weights are the shards `model.safetensors.index.json` names, else the `.safetensors` files,
//! else the one `.gguf` file; the side documents (config, model card, tokenizer and its config,
//! licence, chat template, Python files) are fetched whole, each under a 16 MiB cap (a larger
//! one is left out, as the report then says). `HF_TOKEN` is sent
//! as a bearer token to the endpoint. [`http::Client`] counts every byte received.

pub mod headers;
pub mod http;

use serde::Deserialize;

use super::SourceError;
use crate::format::index::parse_index;
use headers::Head;
use http::Client;

/// Largest side document fetched (model cards are KiB; a larger file is left out).
const MAX_DOCUMENT: u64 = 16 << 20;
/// Largest index or API listing read.
const MAX_LISTING: u64 = 64 << 20;
/// Most Python files fetched (what `auto_map` would run).
const MAX_PYTHON: usize = 32;

/// What was fetched of a remote model.
#[derive(Debug, Clone)]
pub struct RemoteModel {
    /// The reference as given.
    pub reference: String,
    /// The weight files, in order: name, URL and header.
    pub files: Vec<RemoteFile>,
    /// The side documents, by file name, with their bytes.
    pub documents: Vec<(String, Vec<u8>)>,
    /// `model.safetensors.index.json`, parsed, when the weights are its shards.
    pub index: Option<crate::format::index::ShardIndex>,
    /// Bytes received over HTTP, headers and documents included.
    pub fetched_bytes: u64,
}

/// One remote weight file.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    pub name: String,
    pub url: String,
    pub gguf: bool,
    pub head: Head,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
}

/// The Hub endpoint: `HF_ENDPOINT` without a trailing `/`, default `https://huggingface.co`.
pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .map(|e| e.trim().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| "https://huggingface.co".to_owned())
}

/// A path segment with `/` and characters URLs reserve escaped (`refs/pr/1` → `refs%2Fpr%2F1`).
fn escape(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A file path in a repo, each segment escaped.
fn escape_path(path: &str) -> String {
    path.split('/').map(escape).collect::<Vec<_>>().join("/")
}

/// Whether a side file is worth fetching: what the model reader and the transparency report read.
fn is_document(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    matches!(
        name,
        "config.json"
            | "tokenizer.json"
            | "generation_config.json"
            | "tokenizer_config.json"
            | "special_tokens_map.json"
            | "README.md"
            | "chat_template.jinja"
            | "adapter_config.json"
            | "USE_POLICY.md"
            | "NOTICE"
    ) || upper.starts_with("LICENSE")
        || upper.starts_with("LICENCE")
        || upper.starts_with("COPYING")
}

/// Fetches the headers and side documents of `hf:REPO[@REVISION]`.
pub fn fetch_hub(
    given: &str,
    repo: &str,
    revision: Option<&str>,
) -> Result<RemoteModel, SourceError> {
    if !super::is_repo_id(repo) {
        return Err(SourceError::invalid(
            given,
            "expected `hf:ORG/NAME[@REVISION]`",
        ));
    }
    if let Some(r) = revision
        && !super::is_revision(r)
    {
        return Err(SourceError::invalid(
            given,
            format!("`{r}` is not a revision name"),
        ));
    }
    let endpoint = endpoint();
    let revision = revision.unwrap_or("main");
    let client = Client::new(given, true);
    let api = format!(
        "{endpoint}/api/models/{}/revision/{}",
        escape_path(repo),
        escape(revision)
    );
    let listing = client.get(&api, MAX_LISTING)?;
    let listing: Listing = serde_json::from_slice(&listing.body)
        .map_err(|e| SourceError::remote(given, format!("{api}: not a model listing: {e}")))?;
    // The commit pins every later request to one state of the repo.
    let commit = listing
        .sha
        .filter(|s| super::is_name_part(s))
        .unwrap_or_else(|| revision.to_owned());
    let names: Vec<String> = listing.siblings.into_iter().map(|s| s.rfilename).collect();
    let url = |file: &str| {
        format!(
            "{endpoint}/{}/resolve/{}/{}",
            escape_path(repo),
            escape(&commit),
            escape_path(file)
        )
    };
    let top: Vec<&String> = names.iter().filter(|n| !n.contains('/')).collect();

    let mut shard_index = None;
    let weights: Vec<String> = if top.iter().any(|n| *n == "model.safetensors.index.json") {
        let index = client.get(&url("model.safetensors.index.json"), MAX_LISTING)?;
        let text = String::from_utf8_lossy(&index.body);
        let index = parse_index(&text).map_err(|e| {
            SourceError::remote(given, format!("model.safetensors.index.json: {e}"))
        })?;
        let shards = index.shards().into_iter().map(str::to_owned).collect();
        shard_index = Some(index);
        shards
    } else {
        let mut safetensors: Vec<String> = top
            .iter()
            .filter(|n| n.ends_with(".safetensors"))
            .map(|n| (*n).clone())
            .collect();
        safetensors.sort();
        if !safetensors.is_empty() {
            safetensors
        } else {
            let gguf: Vec<&&String> = top.iter().filter(|n| n.ends_with(".gguf")).collect();
            match gguf.as_slice() {
                [one] => vec![(**one).clone()],
                [] => {
                    let pickles = top
                        .iter()
                        .any(|n| super::listing::format_of(n) == Some("pytorch"));
                    return Err(SourceError::not_found(
                        given,
                        if pickles {
                            "the repo holds PyTorch pickles and no safetensors or GGUF weights; remote reading covers safetensors and GGUF"
                        } else {
                            "the repo holds no `.safetensors` or `.gguf` weights at its top level"
                        },
                    ));
                }
                several => {
                    return Err(SourceError::invalid(
                        given,
                        format!(
                            "the repo holds {} GGUF files ({}); open one by its URL: {}",
                            several.len(),
                            several
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            url(several[0])
                        ),
                    ));
                }
            }
        }
    };
    let mut files = Vec::with_capacity(weights.len());
    for name in weights {
        let u = url(&name);
        let gguf = name.ends_with(".gguf");
        let head = if gguf {
            headers::gguf_head(&client, &u)?
        } else {
            headers::safetensors_head(&client, &u)?
        };
        files.push(RemoteFile {
            name,
            url: u,
            gguf,
            head,
        });
    }
    let mut documents = Vec::new();
    let python = top.iter().filter(|n| n.ends_with(".py")).take(MAX_PYTHON);
    for name in top.iter().filter(|n| is_document(n)).chain(python) {
        // A document over the cap is left out (the transparency report notes what is missing).
        if let Ok(doc) = client.get(&url(name), MAX_DOCUMENT) {
            documents.push(((*name).clone(), doc.body));
        }
    }
    Ok(RemoteModel {
        reference: given.to_owned(),
        files,
        documents,
        index: shard_index,
        fetched_bytes: client.fetched(),
    })
}

/// Fetches the header of one `.safetensors` or `.gguf` file at `url`.
pub fn fetch_url(url: &str) -> Result<RemoteModel, SourceError> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or(path).to_owned();
    let gguf = name.ends_with(".gguf");
    if !gguf && !name.ends_with(".safetensors") {
        return Err(SourceError::invalid(
            url,
            "a URL must name a `.safetensors` or `.gguf` file",
        ));
    }
    // A token goes to the Hub only: a plain URL may be any server.
    let to_hub = url.starts_with(&format!("{}/", endpoint()));
    let client = Client::new(url, to_hub);
    let head = if gguf {
        headers::gguf_head(&client, url)?
    } else {
        headers::safetensors_head(&client, url)?
    };
    Ok(RemoteModel {
        reference: url.to_owned(),
        files: vec![RemoteFile {
            name,
            url: url.to_owned(),
            gguf,
            head,
        }],
        documents: Vec::new(),
        index: None,
        fetched_bytes: client.fetched(),
    })
}
