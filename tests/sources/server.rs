//! A local HTTP server for the remote tests: the Hub's URL layout over the committed fixtures
//! (`/api/models/{repo}/revision/{rev}` listing, `/{repo}/resolve/{rev}/{file}`), range requests,
//! a redirect of weight files to a "CDN" path (as the Hub redirects LFS files), and a gated repo
//! that answers 401 without `Authorization: Bearer secret`; `plain/…` files are served at
//! `/plain/files/NAME` without redirect, and `norange/…` files the same way by a server that
//! ignores the Range header. It counts the body bytes it sends
//! from weight files, so a test can assert that only headers were read.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A repo served: file name → bytes.
pub type Repo = BTreeMap<String, Vec<u8>>;

pub struct Server {
    pub endpoint: String,
    /// Body bytes sent from `.safetensors` and `.gguf` files.
    pub weight_bytes: Arc<AtomicU64>,
    /// Every request line with its Range and whether it carried the token.
    pub log: Arc<Mutex<Vec<String>>>,
}

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
pub const TOKEN: &str = "secret";

/// Serves `repos` (repo id → files); repos whose id starts with `gated/` need the token.
pub fn start(repos: BTreeMap<String, Repo>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let weight_bytes = Arc::new(AtomicU64::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (w, l) = (weight_bytes.clone(), log.clone());
    let repos = Arc::new(repos);
    // The "CDN" is the same server under another host name, as the Hub's is another host.
    let cdn = endpoint.replace("127.0.0.1", "localhost");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (repos, w, l, cdn) = (repos.clone(), w.clone(), l.clone(), cdn.clone());
            std::thread::spawn(move || {
                let _ = serve(stream, &repos, &w, &l, &cdn);
            });
        }
    });
    Server {
        endpoint,
        weight_bytes,
        log,
    }
}

fn serve(
    mut stream: TcpStream,
    repos: &BTreeMap<String, Repo>,
    weight_bytes: &AtomicU64,
    log: &Mutex<Vec<String>>,
    cdn_host: &str,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range = None;
    let mut token = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
        match name.to_ascii_lowercase().as_str() {
            "range" => range = Some(value.trim().to_owned()),
            "authorization" => token = value.trim() == format!("Bearer {TOKEN}"),
            _ => {}
        }
    }
    log.lock()
        .unwrap()
        .push(format!("{path} range={range:?} token={token}"));

    let respond = |stream: &mut TcpStream, status: &str, headers: &[String], body: &[u8]| {
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)
    };
    let not_found = |stream: &mut TcpStream| respond(stream, "404 Not Found", &[], b"not found");

    // The CDN: /cdn/{repo}/{file}, no token needed (the Hub signs the URL).
    let (cdn, rest) = match path.strip_prefix("/cdn/") {
        Some(rest) => (true, rest.to_owned()),
        None => (false, path.trim_start_matches('/').to_owned()),
    };
    if let Some(api) = rest.strip_prefix("api/models/") {
        let Some((repo, _rev)) = api.split_once("/revision/") else {
            return not_found(&mut stream);
        };
        let Some(files) = repos.get(repo) else {
            return not_found(&mut stream);
        };
        if repo.starts_with("gated/") && !token {
            return respond(&mut stream, "401 Unauthorized", &[], b"gated");
        }
        let siblings: Vec<serde_json::Value> = files
            .keys()
            .map(|f| serde_json::json!({ "rfilename": f }))
            .collect();
        let body = serde_json::to_vec(
            &serde_json::json!({"id": repo, "sha": COMMIT, "siblings": siblings}),
        )
        .unwrap();
        return respond(
            &mut stream,
            "200 OK",
            &["Content-Type: application/json".into()],
            &body,
        );
    }
    // /{org}/{name}/resolve/{rev}/{file} or /cdn/{org}/{name}/{file}
    let parts: Vec<&str> = rest.splitn(5, '/').collect();
    let (repo, file) = match (cdn, parts.as_slice()) {
        (true, [org, name, file]) => (format!("{org}/{name}"), (*file).to_owned()),
        (false, [org, name, "resolve", rev, file]) if *rev == COMMIT || *rev == "main" => {
            (format!("{org}/{name}"), (*file).to_owned())
        }
        (false, [org, name, file]) if *org == "plain" || *org == "norange" => {
            (format!("{org}/{name}"), (*file).to_owned())
        }
        _ => return not_found(&mut stream),
    };
    let Some(bytes) = repos.get(&repo).and_then(|r| r.get(&file)) else {
        return not_found(&mut stream);
    };
    if repo.starts_with("gated/") && !token && !cdn {
        return respond(&mut stream, "401 Unauthorized", &[], b"gated");
    }
    let weights = file.ends_with(".safetensors") || file.ends_with(".gguf");
    let direct = repo.starts_with("plain/") || repo.starts_with("norange/");
    if weights && !cdn && !direct {
        let location = format!("{cdn_host}/cdn/{repo}/{file}");
        return respond(
            &mut stream,
            "302 Found",
            &[format!("Location: {location}")],
            b"",
        );
    }
    let total = bytes.len() as u64;
    // `norange/…` is a server that ignores Range and always sends the whole file.
    let range = range.filter(|_| !repo.starts_with("norange/"));
    match range.as_deref().and_then(parse_range) {
        Some((start, _)) if start >= total => respond(
            &mut stream,
            "416 Range Not Satisfiable",
            &[format!("Content-Range: bytes */{total}")],
            b"",
        ),
        Some((start, end)) => {
            let end = end.min(total - 1);
            let body = &bytes[start as usize..=end as usize];
            if weights {
                weight_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            }
            respond(
                &mut stream,
                "206 Partial Content",
                &[format!("Content-Range: bytes {start}-{end}/{total}")],
                body,
            )
        }
        None => {
            if weights {
                weight_bytes.fetch_add(total, Ordering::Relaxed);
            }
            respond(&mut stream, "200 OK", &[], bytes)
        }
    }
}

/// `bytes=START-END` (inclusive).
fn parse_range(value: &str) -> Option<(u64, u64)> {
    let (a, b) = value.strip_prefix("bytes=")?.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The files of a fixture folder (top level), by name.
pub fn fixture_repo(folder: &str) -> Repo {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(folder);
    std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}
