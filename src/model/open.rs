//! Finding the weight files behind a path, mapping them and building the tensor table.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{DType, Document, Format, Model, Reading, TensorInfo, WeightFile};
use crate::error::{Error, FormatError, Result};
use crate::finding::{Finding, Severity, Subject};
use crate::format::gguf::{Gguf, parse_gguf_prefix};
use crate::format::index::{ShardIndex, parse_index};
use crate::format::safetensors::parse_header;

/// Side documents glassbox records, by file name.
const DOCUMENTS: &[(&str, &str)] = &[
    ("config.json", "config"),
    ("generation_config.json", "generation_config"),
    ("tokenizer.json", "tokenizer"),
    ("tokenizer_config.json", "tokenizer_config"),
    ("special_tokens_map.json", "special_tokens_map"),
    ("README.md", "model_card"),
    ("USE_POLICY.md", "use_policy"),
    ("NOTICE", "notice"),
];

/// Largest `config.json` or index glassbox reads (real ones are a few KiB).
const MAX_JSON_DOCUMENT: u64 = 64 << 20;

/// Opens a model: a `.safetensors` file, a `*.safetensors.index.json`, a `.gguf` file (any part of
/// a split GGUF model opens the whole model), or a folder holding one of these. Reads headers only.
/// The weight files are mapped; [`open_with`] reads them another way.
pub fn open(path: impl AsRef<Path>) -> Result<Model> {
    open_with(path, Reading::Mapped)
}

/// [`open`], reading the weight files as `reading` says (mapped, or with `pread` for
/// `--no-mmap`).
pub fn open_with(path: impl AsRef<Path>, reading: Reading) -> Result<Model> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound {
            path: path.to_owned(),
            near: near_name(path),
        },
        _ => io(path, e),
    })?;
    let (folder, mut model) = if meta.is_dir() {
        (path.to_owned(), open_folder(path, reading)?)
    } else if meta.is_file() {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = file_name(path);
        let model = if super::open_torch::is_checkpoint_index(&name) {
            super::open_torch::open_index(path, &folder, reading)?
        } else if name.ends_with(".index.json") {
            open_index(path, &folder, reading)?
        } else if name.ends_with(".gguf") {
            open_gguf(path, reading)?
        } else if super::open_torch::is_checkpoint_name(&name) {
            super::open_torch::open_file(path, reading)?
        } else {
            // A name that says nothing (an Ollama blob, a download's part, a renamed file): the
            // first bytes say which reader applies; safetensors has no magic, so it is the rest.
            match sniff(path, meta.len())? {
                Sniffed::Gguf => open_gguf(path, reading)?,
                Sniffed::Pytorch => super::open_torch::open_file(path, reading)?,
                Sniffed::NotWeights if !name.ends_with(".safetensors") => {
                    return Err(Error::NotWeights {
                        path: path.to_owned(),
                        folder: holds_weights(&folder).then(|| folder.clone()),
                    });
                }
                Sniffed::NotWeights | Sniffed::Other => {
                    assemble(vec![open_safetensors(path, reading)?])
                }
            }
        };
        (folder, model)
    } else {
        return Err(Error::NotRegular(path.to_owned()));
    };
    model.path = path.to_owned();
    if meta.is_file() && model.format == Format::Safetensors && model.files.len() == 1 {
        model
            .notes
            .extend(one_shard_of(&folder, &model.files[0].name));
    }
    find_documents(&folder, &mut model);
    // What the pickles beside (or among) the weights would run if loaded.
    let pickles = if meta.is_dir() {
        super::open_torch::pickle_files(&folder)
    } else if model.format == Format::Pytorch {
        model.files.iter().map(|f| f.path.clone()).collect()
    } else {
        Vec::new()
    };
    model
        .notes
        .extend(super::open_torch::pickle_safety(&pickles, reading));
    Ok(model)
}

/// A name in the missing path's folder that differs from its last component by at most two
/// edits (`model.safetensor` → `model.safetensors`), or that it is a prefix of.
fn near_name(path: &Path) -> Option<String> {
    let want = path.file_name()?.to_string_lossy().into_owned();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|e| e.ok())
        .take(10_000)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter(|n| *n != want)
        .map(|n| (crate::text::edit_distance(&want, &n, 3), n))
        .filter(|(d, n)| *d <= 2 || (want.len() >= 4 && n.starts_with(&want)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// What a file's first bytes say it is.
#[derive(Debug, PartialEq)]
enum Sniffed {
    /// `GGUF`.
    Gguf,
    /// A zip archive (`PK\x03\x04`: PyTorch's format since 1.6) or a pickle (`\x80` and a
    /// protocol number: the legacy format).
    Pytorch,
    /// None of the above, shorter than a safetensors header length, or one that does not fit in
    /// the file and is not followed by the header's `{`: a model card, a config, a tokenizer, a
    /// text file (a truncated safetensors file still has its `{`, and its reader says what is
    /// wrong).
    NotWeights,
    /// Maybe safetensors (which has no magic): its reader says.
    Other,
}

fn sniff(path: &Path, len: u64) -> Result<Sniffed> {
    use std::io::Read;
    let mut head = Vec::with_capacity(9);
    std::fs::File::open(path)
        .and_then(|f| f.take(9).read_to_end(&mut head))
        .map_err(|e| io(path, e))?;
    Ok(match head.as_slice() {
        [b'G', b'G', b'U', b'F', ..] => Sniffed::Gguf,
        [b'P', b'K', 3, 4, ..] => Sniffed::Pytorch,
        [0x80, 2..=5, ..] => Sniffed::Pytorch,
        short if short.len() < 8 => Sniffed::NotWeights,
        &[a, b, c, d, e, f, g, h, ref rest @ ..]
            if u64::from_le_bytes([a, b, c, d, e, f, g, h]) > len.saturating_sub(8)
                && rest.first() != Some(&b'{') =>
        {
            Sniffed::NotWeights
        }
        _ => Sniffed::Other,
    })
}

/// Whether a folder holds a file glassbox would open as weights (for the hint of
/// [`Error::NotWeights`]).
fn holds_weights(folder: &Path) -> bool {
    std::fs::read_dir(folder).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".safetensors")
                || name.ends_with(".gguf")
                || super::open_torch::is_checkpoint_name(&name)
        })
    })
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn open_folder(folder: &Path, reading: Reading) -> Result<Model> {
    let mut safetensors = Vec::new();
    let mut indexes = Vec::new();
    let mut gguf = Vec::new();
    let mut pickles = Vec::new();
    // Entries that look like weights but cannot be read as such, reported as notes (or, when
    // nothing else is readable, as the error).
    let mut skipped = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|e| io(folder, e))? {
        let entry = entry.map_err(|e| io(folder, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Follows symlinks (a Hugging Face cache snapshot is links into `blobs/`).
        let meta = std::fs::metadata(entry.path());
        if !meta.as_ref().is_ok_and(|m| m.is_file()) {
            if let Some(note) = unreadable_entry(&entry.path(), &name, meta.err()) {
                skipped.push(note);
            }
            continue;
        }
        if let Some(note) = partial_download(&name) {
            skipped.push(note);
            continue;
        }
        if name.ends_with(".safetensors.index.json") {
            indexes.push(entry.path());
        } else if name.ends_with(".safetensors") {
            safetensors.push(entry.path());
        } else if name.ends_with(".gguf") {
            gguf.push(entry.path());
        } else if super::open_torch::is_checkpoint_name(&name)
            || super::open_torch::is_checkpoint_index(&name)
        {
            pickles.push(name);
        }
    }
    indexes.sort();
    safetensors.sort_by(|a, b| super::sort::natural_cmp(&file_name(a), &file_name(b)));

    // Prefer the transformers index; other indexes (diffusers, adapters) only when alone.
    let index = indexes
        .iter()
        .find(|p| file_name(p) == "model.safetensors.index.json")
        .or(if indexes.len() == 1 {
            indexes.first()
        } else {
            None
        });
    skipped.sort_by(|a: &Finding, b| a.message.cmp(&b.message));
    let mut model = if let Some(index) = index {
        open_index(index, folder, reading)?
    } else if !safetensors.is_empty() {
        open_safetensors_folder(folder, &safetensors, reading)?
    } else if !gguf.is_empty() {
        let mut model = open_gguf_folder(folder, std::mem::take(&mut gguf), reading)?;
        model.notes.extend(skipped);
        return Ok(model);
    } else {
        // A PyTorch checkpoint, read without running it.
        if let Some(model) = super::open_torch::open_folder(folder, &pickles, reading) {
            let mut model = model?;
            model.notes.extend(skipped);
            return Ok(model);
        }
        // Nothing readable: a link to a missing blob or a partial download says more than
        // "no weights".
        if let Some(first) = skipped.first() {
            return Err(Error::Unreadable {
                folder: folder.to_owned(),
                why: first.message.clone(),
            });
        }
        pickles.sort();
        return Err(Error::NoWeights {
            folder: folder.to_owned(),
            pickle: pickles.into_iter().next(),
        });
    };
    // The safetensors weights were opened: GGUF files beside them (often another model, or a
    // quantised copy) were not.
    gguf.sort();
    for path in gguf {
        let name = file_name(&path);
        let message = format!(
            "`{name}` is a GGUF file beside the safetensors weights; it was not read (open it by name)"
        );
        model.notes.push(Finding::new(
            Severity::Info,
            "unopened_gguf",
            Subject::File(name),
            message,
        ));
    }
    model.notes.extend(skipped);
    Ok(model)
}

/// A safetensors file opened alone that a shard index beside it lists with other shards: only
/// part of the model was read (its layer count, for one, is not the model's).
fn one_shard_of(folder: &Path, name: &str) -> Option<Finding> {
    let entries = std::fs::read_dir(folder).ok()?;
    let mut indexes: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".safetensors.index.json"))
        .collect();
    indexes.sort();
    indexes.into_iter().find_map(|index| {
        let text = read_text(&folder.join(&index), MAX_JSON_DOCUMENT).ok()?;
        let parsed = parse_index(&text).ok()?;
        let shards = parsed.shards().len();
        let listed = parsed.weight_map.values().any(|s| s == name);
        (listed && shards > 1).then(|| {
            Finding::new(
                Severity::Warning,
                "one_shard",
                Subject::File(name.to_owned()),
                format!(
                    "`{name}` is one of {shards} shards listed in `{index}`: only this shard was read (open the folder or the index for the whole model)"
                ),
            )
        })
    })
}

/// Whether a file's name says a download or copy did not finish (`model.safetensors.part`, a
/// Hugging Face `*.incomplete` blob): such a file is noted and not read.
fn partial_download(name: &str) -> Option<Finding> {
    [".incomplete", ".part", ".partial", ".crdownload"]
        .iter()
        .any(|ext| name.ends_with(ext))
        .then(|| {
            Finding::new(
                Severity::Warning,
                "partial_download",
                Subject::File(name.to_owned()),
                format!("`{name}` looks like an unfinished download; it was not read"),
            )
        })
}

/// A folder entry named like weights that is not a readable regular file: a link to a missing
/// file (a Hugging Face cache snapshot whose blob is gone), a link loop, a FIFO or a device.
fn unreadable_entry(path: &Path, name: &str, error: Option<std::io::Error>) -> Option<Finding> {
    let weights = [".safetensors", ".safetensors.index.json", ".gguf"]
        .iter()
        .any(|ext| name.ends_with(ext));
    if !weights {
        return None;
    }
    let why = match error {
        Some(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::read_link(path) {
            Ok(target) => format!(
                "`{name}` is a link to `{}`, which does not exist; it was not read",
                target.display()
            ),
            Err(_) => format!("`{name}` disappeared while the folder was read"),
        },
        Some(e) => format!("`{name}` could not be read: {e}"),
        None => {
            format!("`{name}` is not a regular file (a FIFO, device or folder); it was not read")
        }
    };
    Some(Finding::new(
        Severity::Warning,
        "unreadable_weights",
        Subject::File(name.to_owned()),
        why,
    ))
}

/// A folder of safetensors files without an index: one model, unless two files hold a tensor of
/// the same name.
fn open_safetensors_folder(
    folder: &Path,
    safetensors: &[PathBuf],
    reading: Reading,
) -> Result<Model> {
    // Headers parse in parallel; the error reported is the first in file order (rayon's own
    // `Result` collect returns whichever error a worker meets first, which varies run to run).
    let files = safetensors
        .par_iter()
        .map(|p| open_safetensors(p, reading))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let mut model = assemble(files);
    reject_name_collisions(&model, folder)?;
    model.path = folder.to_owned();
    if let Some(note) = unindexed_files(safetensors) {
        model.notes.push(note);
    }
    Ok(model)
}

/// Several safetensors files without an index, not named as shards (`…-00001-of-00003`): read as
/// one model, which is right for shards whose index was lost and wrong for two models (or two
/// copies of one, `model.safetensors` beside `consolidated.safetensors`) in one folder, whose
/// parameters then add up. Said, so that a reader can open each by name.
fn unindexed_files(safetensors: &[PathBuf]) -> Option<Finding> {
    let names: Vec<String> = safetensors.iter().map(|p| file_name(p)).collect();
    if names.len() < 2 || names.iter().all(|n| is_shard_name(n)) {
        return None;
    }
    let listed = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(Finding::new(
        Severity::Warning,
        "unindexed_files",
        Subject::Model,
        format!(
            "{} safetensors files without an index ({listed}) were read as one model; if they \
             are different models or copies of one, open each by name",
            names.len()
        ),
    ))
}

/// `…-00001-of-00003.safetensors`: a shard's name as transformers writes it.
fn is_shard_name(name: &str) -> bool {
    name.strip_suffix(".safetensors")
        .and_then(numbered_part)
        .is_some()
}

fn open_index(index_path: &Path, folder: &Path, reading: Reading) -> Result<Model> {
    let text = read_text(index_path, MAX_JSON_DOCUMENT)?;
    let index_error = |source| Error::Index {
        path: index_path.to_owned(),
        source: Box::new(source),
    };
    let index: ShardIndex = parse_index(&text).map_err(index_error)?;
    let shards = index.shards();
    for shard in &shards {
        if !folder.join(shard).is_file() {
            return Err(index_error(crate::error::IndexError::MissingShard {
                shard: (*shard).to_owned(),
            }));
        }
    }
    // Headers of many shards parse in parallel; the error reported is the first in shard order
    // (collected in order first: rayon's `Result` collect returns whichever error comes first).
    let files = shards
        .par_iter()
        .map(|shard| open_safetensors(&folder.join(shard), reading))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>>>()?;

    let mut notes = Vec::new();
    let mut model = assemble(files);
    // Which shard holds each tensor (the first, if several do), and every (shard, tensor) pair.
    let mut holder: HashMap<&str, usize> = HashMap::new();
    let mut pairs: std::collections::HashSet<(&str, &str)> = Default::default();
    for t in &model.tensors {
        holder.entry(t.name.as_str()).or_insert(t.file);
        pairs.insert((model.files[t.file].name.as_str(), t.name.as_str()));
    }
    for (tensor, shard) in &index.weight_map {
        if !pairs.contains(&(shard.as_str(), tensor.as_str())) {
            return Err(index_error(crate::error::IndexError::WrongShard {
                tensor: tensor.clone(),
                shard: shard.clone(),
                found_in: holder
                    .get(tensor.as_str())
                    .map(|&i| model.files[i].name.clone())
                    .or_else(|| find_in_unindexed(folder, &shards, tensor, reading)),
            }));
        }
    }
    // Tensors the map does not name, or names in another shard: keep the mapped copy.
    let mut keep = Vec::with_capacity(model.tensors.len());
    for t in std::mem::take(&mut model.tensors) {
        match index.weight_map.get(&t.name) {
            Some(shard) if *shard == model.files[t.file].name => keep.push(t),
            Some(shard) => notes.push(
                Finding::new(
                    Severity::Warning,
                    "index_duplicate_tensor",
                    Subject::Tensor(t.name.clone()),
                    format!(
                        "tensor `{}` is also in `{}`; the index names `{shard}`, whose copy is used",
                        t.name, model.files[t.file].name
                    ),
                )
                .with("file", model.files[t.file].name.as_str())
                .with("indexed_file", shard.as_str()),
            ),
            None => {
                notes.push(index_extra_tensor(&model, &t));
                keep.push(t);
            }
        }
    }
    model.tensors = keep;
    notes.extend(total_size_note(index.total_size, &model));
    // Weight files in the folder that the index leaves out (for example a consolidated copy).
    if let Ok(entries) = std::fs::read_dir(folder) {
        let mut unlisted: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".safetensors") && !shards.contains(&n.as_str()))
            .collect();
        unlisted.sort();
        for name in unlisted {
            let message =
                format!("`{name}` is in the folder but not in the index; it was not read");
            notes.push(Finding::new(
                Severity::Info,
                "unindexed_file",
                Subject::File(name),
                message,
            ));
        }
    }
    model.notes.extend(notes);
    Ok(model)
}

/// Looks for `tensor` in the folder's safetensors files that the index does not list (only to make
/// an error message precise).
fn find_in_unindexed(
    folder: &Path,
    shards: &[&str],
    tensor: &str,
    reading: Reading,
) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".safetensors") && !shards.contains(&n.as_str()))
        .collect();
    names.sort();
    names.into_iter().find(|n| {
        open_safetensors(&folder.join(n), reading)
            .is_ok_and(|(_, ts)| ts.iter().any(|t| t.name == tensor))
    })
}

pub(super) fn assemble(files: Vec<(WeightFile, Vec<TensorInfo>)>) -> Model {
    let mut model = Model {
        path: PathBuf::new(),
        format: Format::Safetensors,
        files: Vec::new(),
        tensors: Vec::new(),
        documents: Vec::new(),
        config: None,
        notes: Vec::new(),
        gguf: None,
        remote: None,
    };
    for (i, (file, tensors)) in files.into_iter().enumerate() {
        for &(start, end) in &file.gaps {
            model.notes.push(
                Finding::new(
                    Severity::Warning,
                    "gap",
                    Subject::File(file.name.clone()),
                    format!(
                        "{}: bytes [{start}, {end}) between tensors are not used by any tensor",
                        file.name
                    ),
                )
                .with("start", start)
                .with("end", end),
            );
        }
        if file.trailing_bytes > 0 {
            model.notes.push(
                Finding::new(
                    Severity::Warning,
                    "trailing_bytes",
                    Subject::File(file.name.clone()),
                    format!(
                        "{}: {} bytes after the last tensor are not used by any tensor",
                        file.name, file.trailing_bytes
                    ),
                )
                .with("bytes", file.trailing_bytes),
            );
        }
        model
            .tensors
            .extend(tensors.into_iter().map(|t| TensorInfo { file: i, ..t }));
        model.files.push(file);
    }
    model
}

/// The error for two files of one model holding a tensor of the same name (the folder is
/// ambiguous: which copy is the model's?).
pub(super) fn reject_name_collisions(model: &Model, folder: &Path) -> Result<()> {
    let mut first_file: HashMap<&str, usize> = HashMap::new();
    for t in &model.tensors {
        if let Some(&other) = first_file.get(t.name.as_str()) {
            return Err(Error::NameCollision {
                folder: folder.to_owned(),
                tensor: t.name.clone(),
                first: model.files[other].name.clone(),
                second: model.files[t.file].name.clone(),
            });
        }
        first_file.insert(&t.name, t.file);
    }
    Ok(())
}

/// A tensor of a weight file that the index does not list (read all the same).
pub(super) fn index_extra_tensor(model: &Model, t: &TensorInfo) -> Finding {
    let file = model.files[t.file].name.as_str();
    Finding::new(
        Severity::Warning,
        "index_extra_tensor",
        Subject::Tensor(t.name.clone()),
        format!("tensor `{}` in `{file}` is not in the index", t.name),
    )
    .with("file", file)
}

/// The `index_total_size` note, when an index's `total_size` differs from the tensors' bytes.
pub(super) fn total_size_note(declared: Option<u64>, model: &Model) -> Option<Finding> {
    let declared = declared?;
    let actual = model.tensor_bytes_total();
    (declared != actual).then(|| {
        Finding::new(
            Severity::Warning,
            "index_total_size",
            Subject::Key("total_size".into()),
            format!("index declares total_size {declared} but the tensors hold {actual} bytes"),
        )
        .with("declared", declared)
        .with("observed", actual)
    })
}

/// Maps a weight file read-only, registered with the SIGBUS guard ([`super::guard`]), or, with
/// [`Reading::Pread`], reserves its address range for the pager ([`super::pager`]).
pub(super) fn map_file(path: &Path, reading: Reading) -> Result<WeightFile> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    let meta = file.metadata().map_err(|e| io(path, e))?;
    let len = meta.len();
    if reading == Reading::Pread {
        return WeightFile::paged(path.to_owned(), len, meta.modified().ok(), file)
            .map_err(|e| io(path, e));
    }
    // SAFETY: the map is read-only and private to this process. glassbox never writes through it.
    // The one hazard is another process truncating or rewriting the file while it is mapped, which
    // can fault (SIGBUS) or change bytes already validated; every reader of model files that maps
    // them (safetensors, numpy's memmap, llama.cpp) accepts the same trade for speed, and glassbox
    // re-validates nothing after open. Mapping is what lets models larger than memory be read.
    // A read past a shrunk end is caught by the guard (it reads zeros and is recorded); callers
    // check `Model::check_unchanged` after reading, so nothing computed from it is reported.
    let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(|e| io(path, e))?;
    Ok(WeightFile::mapped(
        path.to_owned(),
        len,
        meta.modified().ok(),
        map,
    ))
}

/// Fails when a read of the file's header faulted (it shrank while being parsed).
pub(super) fn header_unchanged(file: &WeightFile) -> Result<()> {
    match file.changed() {
        Some(Some(_)) => Err(Error::FileChanged {
            path: file.path.clone(),
            tensor: None,
        }),
        _ => Ok(()),
    }
}

/// Maps a safetensors file and validates its header; returns the file and its tensors (with
/// `file` set to 0, renumbered by [`assemble`]).
fn open_safetensors(path: &Path, reading: Reading) -> Result<(WeightFile, Vec<TensorInfo>)> {
    safetensors_header(map_file(path, reading)?)
}

/// Validates the header of a safetensors file (mapped, or its header only) and builds its tensors.
pub(super) fn safetensors_header(mut file: WeightFile) -> Result<(WeightFile, Vec<TensorInfo>)> {
    let path = file.path.clone();
    let format_error = |source| Error::Format {
        path: path.clone(),
        source: Box::new(source),
    };
    let len = file.len;
    if len < 8 {
        return Err(format_error(FormatError::TooShort { len }));
    }
    let header = parse_header(file.bytes(), len);
    header_unchanged(&file)?;
    let header = header.map_err(format_error)?;
    let data_start = header.data_start();
    let tensors = header
        .tensors
        .into_iter()
        .map(|t| TensorInfo {
            name: t.name,
            dtype: t.dtype,
            shape: t.shape,
            file: 0,
            offset: data_start + t.start,
            bytes: t.end - t.start,
        })
        .collect();
    file.header_bytes = data_start;
    file.metadata = header.metadata;
    file.gaps = header
        .layout
        .gaps
        .iter()
        .map(|&(a, b)| (data_start + a, data_start + b))
        .collect();
    file.trailing_bytes = header.layout.trailing_bytes;
    Ok((file, tensors))
}

pub(super) fn read_text(path: &Path, cap: u64) -> Result<String> {
    use std::io::Read;
    let file = File::open(path).map_err(|e| io(path, e))?;
    let mut text = String::new();
    file.take(cap)
        .read_to_string(&mut text)
        .map_err(|e| io(path, e))?;
    Ok(text)
}

/// Records the side documents in `folder` and parses `config.json`. Problems with them are notes,
/// never errors: the weights are still readable.
pub(super) fn find_documents(folder: &Path, model: &mut Model) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut found: BTreeMap<String, (&'static str, PathBuf, u64)> = BTreeMap::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Follows symlinks (a Hugging Face cache snapshot is links into `blobs/`); a FIFO or a
        // device named like a document is not a file and is never opened.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let kind = DOCUMENTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, k)| k)
            .or_else(|| {
                let upper = name.to_ascii_uppercase();
                (upper.starts_with("LICENSE") || upper.starts_with("LICENCE")).then_some("license")
            });
        if let Some(kind) = kind {
            found.insert(name, (kind, entry.path(), meta.len()));
        }
    }
    model.documents = found
        .into_values()
        .map(|(kind, path, bytes)| Document { kind, path, bytes })
        .collect();
    model.documents.sort_by_key(|d| {
        let rank = DOCUMENTS
            .iter()
            .position(|&(_, k)| k == d.kind)
            .unwrap_or(DOCUMENTS.len());
        (rank, d.path.clone())
    });

    let Some(config) = model.document("config") else {
        return;
    };
    let path = config.path.clone();
    let parsed = if config.bytes > MAX_JSON_DOCUMENT {
        Err(format!("it is larger than {MAX_JSON_DOCUMENT} bytes"))
    } else {
        read_text(&path, MAX_JSON_DOCUMENT)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
            .and_then(|v| {
                if v.is_object() {
                    Ok(v)
                } else {
                    Err("it is not a JSON object".into())
                }
            })
    };
    match parsed {
        Ok(v) => model.config = Some(v),
        Err(why) => model.notes.push(Finding::new(
            Severity::Warning,
            "config_invalid",
            Subject::File("config.json".into()),
            format!("config.json could not be read: {why}"),
        )),
    }
}

/// Maps a GGUF file and parses its header.
fn open_gguf_file(path: &Path, reading: Reading) -> Result<(WeightFile, Gguf)> {
    gguf_header(map_file(path, reading)?)
}

/// Parses the header of a GGUF file (mapped, or its header only: a prefix of its bytes).
pub(super) fn gguf_header(mut file: WeightFile) -> Result<(WeightFile, Gguf)> {
    let g = parse_gguf_prefix(file.bytes(), file.len);
    header_unchanged(&file)?;
    let g = g.map_err(|e| Error::Gguf {
        path: file.path.clone(),
        source: Box::new(e),
    })?;
    file.header_bytes = g.data_start;
    file.gaps = g.layout.gaps.clone();
    file.trailing_bytes = g.layout.trailing_bytes;
    Ok((file, g))
}

/// The parts of a split GGUF model as llama.cpp names them (`{prefix}-{no:05}-of-{count:05}.gguf`,
/// `no` 1-based): the prefix, the 0-based part number and the count the name declares.
fn split_name(name: &str) -> Option<(&str, u64, u64)> {
    numbered_part(name.strip_suffix(".gguf")?)
}

/// A file stem numbered as one part of several, `{prefix}-{no:05}-of-{count:05}` (llama.cpp's
/// split GGUF files, transformers' safetensors shards): the prefix, the 0-based part number and
/// the count.
fn numbered_part(stem: &str) -> Option<(&str, u64, u64)> {
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() >= 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(no) || !digits(count) {
        return None;
    }
    let no: u64 = no.parse().ok()?;
    Some((prefix, no.checked_sub(1)?, count.parse().ok()?))
}

fn split_part_name(prefix: &str, no: u64, count: u64) -> String {
    format!("{prefix}-{:05}-of-{count:05}.gguf", no + 1)
}

fn split_found(g: &Gguf) -> String {
    g.split().map_or_else(
        || "no split keys".to_owned(),
        |s| format!("split.no {} of split.count {}", s.no, s.count),
    )
}

/// Opens a `.gguf` file; a part of a split model (`split.count` > 1) opens every part, found next
/// to it by llama.cpp's naming scheme, as one model.
pub(super) fn open_gguf(path: &Path, reading: Reading) -> Result<Model> {
    let (file, g) = open_gguf_file(path, reading)?;
    let Some(split) = g.split().filter(|s| s.count > 1) else {
        return Ok(assemble_gguf(vec![(file, g)]));
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = file_name(path);
    let Some((prefix, name_no, name_count)) = split_name(&name) else {
        // The other parts can only be found by llama.cpp's naming scheme.
        let no = if split.no == 0 { 1 } else { 0 };
        return Err(Error::SplitPartMissing {
            path: path.to_owned(),
            no,
            count: split.count,
            expected: split_part_name("<model>", no, split.count),
        });
    };
    if (name_no, name_count) != (split.no, split.count) {
        return Err(Error::SplitMismatch {
            path: path.to_owned(),
            expected_no: name_no,
            expected_count: name_count,
            found: split_found(&g),
        });
    }
    let prefix = prefix.to_owned();
    let mut given = Some((file, g));
    let mut parts = Vec::with_capacity(split.count.min(1024) as usize);
    for no in 0..split.count {
        let part_name = split_part_name(&prefix, no, split.count);
        let part_path = folder.join(&part_name);
        let (file, g) = if no == split.no {
            given.take().expect("the given part is used once")
        } else {
            if !part_path.is_file() {
                return Err(Error::SplitPartMissing {
                    path: path.to_owned(),
                    no,
                    count: split.count,
                    expected: part_name,
                });
            }
            open_gguf_file(&part_path, reading)?
        };
        match g.split() {
            Some(s) if s.no == no && s.count == split.count => {}
            _ => {
                return Err(Error::SplitMismatch {
                    path: part_path,
                    expected_no: no,
                    expected_count: split.count,
                    found: split_found(&g),
                });
            }
        }
        parts.push((file, g));
    }
    let declared = parts[0].1.split().and_then(|s| s.tensors);
    let mut model = assemble_gguf(parts);
    reject_name_collisions(&model, &folder)?;
    if let Some(declared) = declared
        && declared != model.tensors.len() as u64
    {
        model.notes.push(
            Finding::new(
                Severity::Warning,
                "split_tensor_count",
                Subject::Key("split.tensors.count".into()),
                format!(
                    "split.tensors.count declares {declared} tensors but the parts hold {}",
                    model.tensors.len()
                ),
            )
            .with("declared", declared)
            .with("observed", model.tensors.len()),
        );
    }
    Ok(model)
}

/// A folder whose only weights are GGUF files: one model (a single file, or the parts of one split
/// model), or an error naming the candidates.
fn open_gguf_folder(folder: &Path, mut files: Vec<PathBuf>, reading: Reading) -> Result<Model> {
    files.sort_by(|a, b| super::sort::natural_cmp(&file_name(a), &file_name(b)));
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    let mut models: Vec<&str> = names
        .iter()
        .map(|n| split_name(n).map_or(n.as_str(), |(prefix, _, _)| prefix))
        .collect();
    models.dedup();
    if models.len() > 1 {
        return Err(Error::SeveralGguf {
            folder: folder.to_owned(),
            files: names,
        });
    }
    let mut model = open_gguf(&files[0], reading)?;
    model.path = folder.to_owned();
    Ok(model)
}

/// The model of one GGUF file or of the parts of a split model (in order): the tensor table with
/// row-major shapes, layout notes, and the first part's header as the model's GGUF metadata.
pub(super) fn assemble_gguf(parts: Vec<(WeightFile, Gguf)>) -> Model {
    let mut headers = Vec::with_capacity(parts.len());
    let mut files = Vec::with_capacity(parts.len());
    let mut unknown = Vec::new();
    for (file, g) in parts {
        let tensors = g
            .tensors
            .iter()
            .map(|t| {
                let dtype = DType::from_ggml_id(t.type_id);
                if let DType::Unknown(id) = dtype {
                    unknown.push(
                        Finding::new(
                            Severity::Warning,
                            "unknown_type",
                            Subject::Tensor(t.name.clone()),
                            format!(
                                "{}: tensor `{}` has ggml type id {id}, which glassbox does not know: its size is unknown and its values are not decoded",
                                file.name, t.name
                            ),
                        )
                        .with("ggml_type", id)
                        .with("file", file.name.as_str()),
                    );
                }
                TensorInfo {
                    name: t.name.clone(),
                    dtype,
                    shape: t.shape.clone(),
                    file: 0,
                    offset: t.start,
                    bytes: t.bytes.unwrap_or(0),
                }
            })
            .collect();
        files.push((file, tensors));
        headers.push(g);
    }
    let mut model = assemble(files);
    model.format = Format::Gguf;
    model.notes.extend(unknown);
    let mut headers = headers.into_iter();
    model.gguf = headers.next().map(|mut g| {
        // The tensor infos are in `model.tensors`; the header keeps the metadata.
        g.tensors.clear();
        Box::new(g)
    });
    model
}
