//! The HTTP client: GET with an optional byte range, redirects followed by hand (so the `Range`
//! header goes to the CDN the Hub redirects LFS files to, and the token does not), every body
//! read under a cap, every byte received counted, and each failing status turned into one line
//! that says what to do (a gated repo: set `HF_TOKEN`).

use std::cell::Cell;
use std::io::Read;
use std::time::Duration;

use crate::source::SourceError;

/// Most redirects followed (the Hub uses one, to its CDN).
const MAX_REDIRECTS: usize = 10;
/// No request may take longer (a remote header is kilobytes to a few megabytes).
const TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A body, and the length of the whole file when the server said it.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The whole resource's length (from `Content-Range`, or `Content-Length` for a full body).
    pub total: Option<u64>,
}

/// A blocking client that counts the bytes it receives.
pub struct Client {
    agent: ureq::Agent,
    token: Option<String>,
    /// The reference being opened, for error messages.
    reference: String,
    fetched: Cell<u64>,
}

impl Client {
    /// A client for `reference`, with the token from `HF_TOKEN` (or the older
    /// `HUGGING_FACE_HUB_TOKEN`) when `with_token`.
    pub fn new(reference: &str, with_token: bool) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("glassbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let token = with_token
            .then(|| {
                ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]
                    .iter()
                    .find_map(|v| std::env::var(v).ok().filter(|t| !t.trim().is_empty()))
            })
            .flatten()
            .map(|t| t.trim().to_owned());
        Client {
            agent,
            token,
            reference: reference.to_owned(),
            fetched: Cell::new(0),
        }
    }

    /// Bytes of bodies received so far.
    pub fn fetched(&self) -> u64 {
        self.fetched.get()
    }

    /// An error naming the reference once (a URL reference is also the URL the message starts
    /// with).
    fn error(&self, why: String) -> SourceError {
        let why = why
            .strip_prefix(&format!("{}: ", self.reference))
            .map_or(why.clone(), str::to_owned);
        SourceError::remote(&self.reference, why)
    }

    /// GETs `url` whole; fails when the body is over `cap` bytes.
    pub fn get(&self, url: &str, cap: u64) -> Result<Fetched, SourceError> {
        self.request(url, None, cap)
    }

    /// GETs bytes `[start, end)` of `url` (fewer when the file is shorter).
    pub fn get_range(&self, url: &str, start: u64, end: u64) -> Result<Fetched, SourceError> {
        self.request(url, Some((start, end)), end - start)
    }

    fn request(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
        cap: u64,
    ) -> Result<Fetched, SourceError> {
        let origin = host_of(url).to_owned();
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(&current);
            if let Some((start, end)) = range {
                request = request.header("Range", &format!("bytes={start}-{}", end - 1));
            }
            // The token goes to the endpoint only, never to a host a redirect names.
            if let Some(token) = &self.token
                && host_of(&current) == origin
            {
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            let mut response = request
                .call()
                .map_err(|e| self.error(format!("{current}: {e}")))?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            match status {
                301 | 302 | 303 | 307 | 308 => {
                    let Some(location) = header("location") else {
                        return Err(self.error(format!(
                            "{current}: HTTP {status} redirect without a Location"
                        )));
                    };
                    current = join_location(&current, &location);
                    continue;
                }
                200 | 206 => {
                    let total = if status == 206 {
                        header("content-range").and_then(|r| parse_content_range(&r))
                    } else {
                        header("content-length").and_then(|l| l.trim().parse().ok())
                    };
                    // A server that ignores the range sends the whole file: read only the part
                    // asked for (from its start), never the rest.
                    let (skip, take) = match (status, range) {
                        (200, Some((start, _))) => (start, cap),
                        _ => (0, cap),
                    };
                    let mut reader = response.body_mut().as_reader();
                    if skip > 0 {
                        std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
                            .map_err(|e| self.error(format!("{current}: {e}")))?;
                        self.fetched.set(self.fetched.get() + skip);
                    }
                    // A whole-file request reads one byte more than the cap, to tell a file
                    // over it; a range request reads what it asked for and no more.
                    let limit = if range.is_some() { take } else { take + 1 };
                    let mut body = Vec::new();
                    reader
                        .take(limit)
                        .read_to_end(&mut body)
                        .map_err(|e| self.error(format!("{current}: {e}")))?;
                    self.fetched.set(self.fetched.get() + body.len() as u64);
                    if body.len() as u64 > take {
                        return Err(self.error(format!(
                            "{current}: the file is larger than the {cap}-byte cap for it"
                        )));
                    }
                    return Ok(Fetched { body, total });
                }
                // The range starts at or past the end: the file is shorter.
                416 => {
                    let total = header("content-range").and_then(|r| parse_content_range(&r));
                    return Ok(Fetched {
                        body: Vec::new(),
                        total,
                    });
                }
                401 | 403 => {
                    let hint = if self.token.is_some() {
                        "the token in HF_TOKEN does not give access to it (a gated repo: accept its terms on the Hub with that account)"
                    } else {
                        "the repo is gated or private: set HF_TOKEN to a token with access"
                    };
                    return Err(self.error(format!(
                        "access denied (HTTP {status}) for {current}: {hint}"
                    )));
                }
                404 => {
                    return Err(self.error(format!("not found (HTTP 404): {current}")));
                }
                _ => return Err(self.error(format!("HTTP {status} from {current}"))),
            }
        }
        Err(self.error(format!("{url}: more than {MAX_REDIRECTS} redirects")))
    }
}

/// `scheme://host[:port]` of a URL.
fn host_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    &url[..end]
}

/// A redirect target: absolute, or a path on the same host.
fn join_location(current: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{}{location}", host_of(current))
    } else {
        let base = current.rsplit_once('/').map_or(current, |(b, _)| b);
        format!("{base}/{location}")
    }
}

/// The total of `bytes START-END/TOTAL`.
fn parse_content_range(value: &str) -> Option<u64> {
    value.rsplit_once('/')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_join_like_a_browser() {
        assert_eq!(
            join_location("https://a.io/x/y?z", "https://cdn.io/b"),
            "https://cdn.io/b"
        );
        assert_eq!(
            join_location("http://a.io:8/x/y", "/b/c"),
            "http://a.io:8/b/c"
        );
        assert_eq!(join_location("http://a.io/x/y", "c"), "http://a.io/x/c");
        assert_eq!(host_of("http://127.0.0.1:80/a/b"), "http://127.0.0.1:80");
        assert_eq!(parse_content_range("bytes 0-7/1234"), Some(1234));
        assert_eq!(parse_content_range("bytes */1234"), Some(1234));
        assert_eq!(parse_content_range("bytes 0-7/*"), None);
    }
}
