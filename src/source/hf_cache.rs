//! The local Hugging Face cache, as `huggingface_hub` lays it out:
//!
//! ```text
//! {cache}/models--ORG--NAME/
//!     refs/main                 a commit hash (one per branch or tag; `refs/pr/1` too)
//!     snapshots/<commit>/…      the repo's files at that commit, as links into blobs/
//!     blobs/<etag>              the bytes, stored once however many snapshots link to them
//! ```
//!
//! The cache is `HF_HUB_CACHE`, else `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
//! `~/.cache/huggingface/hub` (the order `huggingface_hub` uses). A revision is a branch or tag
//! under `refs/`, or a commit hash or a unique prefix of one; the default is `main`.

use std::path::{Path, PathBuf};

use super::{SourceError, env_path, home, is_revision, read_small, subdirs};

/// Where the cache is, from the environment (it may not exist).
pub fn cache_dir() -> Option<PathBuf> {
    env_path("HF_HUB_CACHE")
        .or_else(|| env_path("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| env_path("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| env_path("XDG_CACHE_HOME").map(|c| c.join("huggingface").join("hub")))
        .or_else(|| home().map(|h| h.join(".cache").join("huggingface").join("hub")))
}

/// The folder of a model repo in the cache.
pub fn repo_dir(cache: &Path, repo: &str) -> PathBuf {
    cache.join(format!("models--{}", repo.replace('/', "--")))
}

/// The repo id of a cache folder name (`models--ORG--NAME` → `ORG/NAME`); `None` for datasets,
/// spaces and anything else.
pub fn repo_id(folder: &str) -> Option<String> {
    let rest = folder.strip_prefix("models--")?;
    Some(rest.replacen("--", "/", 1))
}

/// The snapshot folder of `repo` at `revision` (default `main`) in the cache.
pub fn resolve(given: &str, repo: &str, revision: Option<&str>) -> Result<PathBuf, SourceError> {
    let Some(cache) = cache_dir() else {
        return Err(SourceError::not_found(
            given,
            "no such file or folder, and no Hugging Face cache (set HF_HUB_CACHE or HF_HOME)",
        ));
    };
    resolve_in(&cache, given, repo, revision)
}

/// [`resolve`] in a given cache folder.
pub fn resolve_in(
    cache: &Path,
    given: &str,
    repo: &str,
    revision: Option<&str>,
) -> Result<PathBuf, SourceError> {
    let dir = repo_dir(cache, repo);
    if !dir.is_dir() {
        return Err(SourceError::not_found(given, not_cached(cache, repo)));
    }
    if let Some(r) = revision
        && !is_revision(r)
    {
        return Err(SourceError::invalid(
            given,
            format!("`{r}` is not a revision name"),
        ));
    }
    let wanted = revision.unwrap_or("main");
    let snapshots = subdirs(&dir.join("snapshots"));
    let commit = match read_ref(&dir, wanted) {
        Some(commit) => commit,
        None => {
            let matching: Vec<&String> =
                snapshots.iter().filter(|s| s.starts_with(wanted)).collect();
            match matching.as_slice() {
                [one] if wanted.len() >= 4 => (*one).clone(),
                [_, _, ..] if wanted.len() >= 4 => {
                    return Err(SourceError::not_found(
                        given,
                        format!(
                            "revision `{wanted}` is ambiguous: commits {} all start with it",
                            {
                                let all: Vec<&str> = matching.iter().map(|s| s.as_str()).collect();
                                let len = distinct_length(&all);
                                all.iter()
                                    .map(|s| s.get(..len).unwrap_or(s))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        ),
                    ));
                }
                // No `main` and one snapshot: that is the model (a cache filled by revision).
                _ if revision.is_none() && snapshots.len() == 1 => snapshots[0].clone(),
                _ => {
                    return Err(SourceError::not_found(
                        given,
                        format!(
                            "no revision `{wanted}` of {repo} in the cache at {} (it holds {})",
                            cache.display(),
                            describe_revisions(&dir, &snapshots)
                        ),
                    ));
                }
            }
        }
    };
    let snapshot = dir.join("snapshots").join(&commit);
    if !snapshot.is_dir() {
        return Err(SourceError::not_found(
            given,
            format!(
                "revision `{wanted}` is commit {}, whose snapshot is not in the cache (the download did not finish or was deleted)",
                short(&commit)
            ),
        ));
    }
    Ok(snapshot)
}

/// The commit a branch or tag points to (`refs/<name>`), if the cache has it.
fn read_ref(dir: &Path, name: &str) -> Option<String> {
    let path = dir.join("refs").join(name);
    if !path.is_file() {
        return None;
    }
    let commit = read_small(&path, 256).ok()?.trim().to_owned();
    super::is_name_part(&commit).then_some(commit)
}

/// Every ref (`main`, `v1.0`, `refs/pr/1` as `pr/1`) with its commit, sorted by name.
pub fn refs(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = dir.join("refs");
    let mut stack = vec![(root.clone(), String::new())];
    while let Some((folder, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let path = entry.path();
            if path.is_dir() && prefix.matches('/').count() < 4 {
                stack.push((path, format!("{name}/")));
            } else if let Some(commit) = read_ref(dir, &name) {
                out.push((name, commit));
            }
        }
    }
    out.sort();
    out
}

/// `main → 1a2b3c4d, v1.0 → …; snapshots 1a2b3c4d, 9f8e7d6c`.
fn describe_revisions(dir: &Path, snapshots: &[String]) -> String {
    let refs = refs(dir);
    let all: Vec<&str> = refs
        .iter()
        .map(|(_, c)| c.as_str())
        .chain(snapshots.iter().map(String::as_str))
        .collect();
    let len = distinct_length(&all);
    let cut = |c: &'_ str| c.get(..len).unwrap_or(c).to_owned();
    let refs: Vec<String> = refs
        .iter()
        .map(|(name, commit)| format!("{name} → {}", cut(commit)))
        .collect();
    let snaps: Vec<String> = snapshots.iter().map(|s| cut(s)).collect();
    match (refs.is_empty(), snaps.is_empty()) {
        (true, true) => "no revisions".into(),
        (true, false) => format!("snapshots {}", snaps.join(", ")),
        (false, true) => format!("refs {} and no snapshots", refs.join(", ")),
        (false, false) => format!("refs {}; snapshots {}", refs.join(", "), snaps.join(", ")),
    }
}

/// The shortest prefix length, 8 or more, that tells the different commits of `commits` apart
/// (as git abbreviates): two snapshots `0123456789ab…` and `01234567ff…` show as 10 characters.
fn distinct_length(commits: &[&str]) -> usize {
    let mut unique: Vec<&str> = commits.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let longest_shared = unique
        .windows(2)
        .map(|w| {
            w[0].bytes()
                .zip(w[1].bytes())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0);
    (longest_shared + 1).max(8)
}

/// The first 8 characters of a commit hash.
pub fn short(commit: &str) -> &str {
    commit.get(..8).unwrap_or(commit)
}

/// What the cache holds for the org of `repo`, or how many models it holds.
fn not_cached(cache: &Path, repo: &str) -> String {
    let org = repo.split('/').next().unwrap_or(repo);
    let ids: Vec<String> = subdirs(cache).iter().filter_map(|d| repo_id(d)).collect();
    if !cache.is_dir() {
        return format!(
            "no such file or folder, and no Hugging Face cache at {} (set HF_HUB_CACHE or HF_HOME)",
            cache.display()
        );
    }
    let same_org: Vec<&String> = ids
        .iter()
        .filter(|id| id.split('/').next() == Some(org))
        .collect();
    if same_org.is_empty() {
        format!(
            "no such file or folder, and not in the Hugging Face cache at {} ({} models cached; try `glassbox cache`)",
            cache.display(),
            ids.len()
        )
    } else {
        format!(
            "no such file or folder, and not in the Hugging Face cache at {}, which holds from {org}: {}",
            cache.display(),
            same_org
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::distinct_length;

    #[test]
    fn commits_are_shortened_only_as_far_as_they_stay_apart() {
        let a = "0123456789abcdef0123456789abcdef01234567";
        let b = "01234567ff00000000000000000000000000000a";
        assert_eq!(distinct_length(&[a, b]), 9);
        assert_eq!(distinct_length(&[a, a]), 8);
        assert_eq!(
            distinct_length(&[a, "f123456789abcdef0123456789abcdef01234567"]),
            8
        );
        assert_eq!(distinct_length(&[]), 8);
    }
}
