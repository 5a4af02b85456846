//! Opening PyTorch checkpoints, and the pickle safety report of a model folder.
//!
//! A checkpoint file (`pytorch_model.bin`, `*.pt`, `*.pth`, `*.ckpt`) is mapped like a safetensors
//! file and read by [`crate::format::torch`]: each tensor of its state dict becomes a
//! [`TensorInfo`] pointing at its storage's bytes inside the file, so statistics stream from the
//! map as they do for safetensors. A sharded checkpoint is opened through its
//! `pytorch_model.bin.index.json` (the same document as the safetensors index). What does not map
//! to one row-major byte range is said in notes: a transposed view is listed (its bytes are the
//! tensor's values in another order, so totals, extremes and the distribution are exact while
//! row and column findings refer to the stored order), a view that skips or repeats elements is
//! not; storages shared by several names (tied weights) are named.
//!
//! [`pickle_safety`] reads every pickle of a folder — the weights, and also `training_args.bin`,
//! `optimizer.pt`, `*.pkl` — and lists each global it would import, classified by
//! [`crate::format::pickle::safety`], as findings. Nothing is ever imported or called.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::open::{
    assemble, file_name, header_unchanged, map_file, read_text, reject_name_collisions,
    total_size_note,
};
use super::{Format, Model, Reading, TensorInfo, WeightFile};
use crate::error::{Error, Result};
use crate::finding::{Finding, Severity, Subject};
use crate::format::index::parse_index;
use crate::format::pickle::safety::{Class, classify};
use crate::format::pickle::{self, GlobalUse, Limits, Node, Pickle};
use crate::format::torch::{Checkpoint, Layout, TorchError, read_checkpoint, zip};

/// File extensions of PyTorch checkpoints opened as weights.
pub(super) const CHECKPOINT_EXTENSIONS: &[&str] = &[".bin", ".pt", ".pth", ".ckpt"];

/// File extensions of pickles the safety report reads (checkpoints and plain pickles).
const PICKLE_EXTENSIONS: &[&str] = &[".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"];

/// Pickles that travel with a model but hold no weights (the Trainer's state).
const NOT_WEIGHTS: &[&str] = &[
    "training_args.bin",
    "optimizer.pt",
    "optimizer.bin",
    "scheduler.pt",
    "scaler.pt",
];

pub(super) fn is_checkpoint_name(name: &str) -> bool {
    CHECKPOINT_EXTENSIONS.iter().any(|e| name.ends_with(e))
}

/// Whether a `*.index.json` names PyTorch shards (`pytorch_model.bin.index.json`).
pub(super) fn is_checkpoint_index(name: &str) -> bool {
    name.strip_suffix(".index.json")
        .is_some_and(is_checkpoint_name)
}

/// Opens one checkpoint file as a model.
pub(super) fn open_file(path: &Path, reading: Reading) -> Result<Model> {
    let (file, tensors, notes) = open_checkpoint(path, reading)?;
    let mut model = assemble(vec![(file, tensors)]);
    model.format = Format::Pytorch;
    model.notes.extend(notes);
    Ok(model)
}

/// Opens the checkpoint of a folder that holds no safetensors or GGUF weights: its
/// `*.bin.index.json` index, else `pytorch_model.bin`, else every checkpoint file that is not the
/// Trainer's state. `None` when there is none.
pub(super) fn open_folder(
    folder: &Path,
    names: &[String],
    reading: Reading,
) -> Option<Result<Model>> {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort_by(|a, b| super::sort::natural_cmp(a, b));
    if let Some(index) = names.iter().find(|n| is_checkpoint_index(n)) {
        return Some(open_index(&folder.join(index), folder, reading));
    }
    let weights: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| is_checkpoint_name(n) && !NOT_WEIGHTS.contains(&n.as_str()))
        .collect();
    if let Some(main) = weights.iter().find(|n| n.as_str() == "pytorch_model.bin") {
        return Some(open_file(&folder.join(main), reading).map(|mut m| {
            m.path = folder.to_owned();
            m
        }));
    }
    if weights.is_empty() {
        return None;
    }
    Some(open_shards(
        folder,
        weights.iter().map(|n| folder.join(n)).collect(),
        reading,
    ))
}

/// Opens several checkpoint files as one model; two holding a tensor of the same name are an
/// error, as for safetensors.
fn open_shards(folder: &Path, paths: Vec<PathBuf>, reading: Reading) -> Result<Model> {
    let mut files = Vec::with_capacity(paths.len());
    let mut notes = Vec::new();
    for path in &paths {
        let (file, tensors, n) = open_checkpoint(path, reading)?;
        files.push((file, tensors));
        notes.extend(n);
    }
    let mut model = assemble(files);
    model.format = Format::Pytorch;
    model.notes.extend(notes);
    reject_name_collisions(&model, folder)?;
    model.path = folder.to_owned();
    Ok(model)
}

/// Opens a sharded checkpoint by its index (`pytorch_model.bin.index.json`): every shard it names,
/// each tensor where the index says.
pub(super) fn open_index(index_path: &Path, folder: &Path, reading: Reading) -> Result<Model> {
    let text = read_text(index_path, 64 << 20)?;
    let index_error = |source| Error::Index {
        path: index_path.to_owned(),
        source: Box::new(source),
    };
    let index = parse_index(&text).map_err(index_error)?;
    let shards = index.shards();
    for shard in &shards {
        if !folder.join(shard).is_file() {
            return Err(index_error(crate::error::IndexError::MissingShard {
                shard: (*shard).to_owned(),
            }));
        }
    }
    let mut model = open_shards(
        folder,
        shards.iter().map(|s| folder.join(s)).collect(),
        reading,
    )?;
    let held: HashSet<(&str, &str)> = model
        .tensors
        .iter()
        .map(|t| (model.files[t.file].name.as_str(), t.name.as_str()))
        .collect();
    for (tensor, shard) in &index.weight_map {
        if !held.contains(&(shard.as_str(), tensor.as_str())) {
            let found_in = model
                .tensors
                .iter()
                .find(|t| t.name == *tensor)
                .map(|t| model.files[t.file].name.clone());
            return Err(index_error(crate::error::IndexError::WrongShard {
                tensor: tensor.clone(),
                shard: shard.clone(),
                found_in,
            }));
        }
    }
    let mut notes = Vec::new();
    for t in &model.tensors {
        if !index.weight_map.contains_key(&t.name) {
            notes.push(super::open::index_extra_tensor(&model, t));
        }
    }
    notes.extend(total_size_note(index.total_size, &model));
    model.notes.extend(notes);
    Ok(model)
}

/// Maps one checkpoint and reads its state dict: the file, its tensors (`file` 0) and the notes
/// about views, shared storages and the state dict's place in the pickle.
fn open_checkpoint(
    path: &Path,
    reading: Reading,
) -> Result<(WeightFile, Vec<TensorInfo>, Vec<Finding>)> {
    let mut file = map_file(path, reading)?;
    let checkpoint = read_checkpoint(file.bytes());
    header_unchanged(&file)?;
    let checkpoint = checkpoint.map_err(|e| torch_error(path, e))?;
    file.header_bytes = checkpoint.header_bytes;
    let notes = checkpoint_notes(&file.name, &checkpoint);
    let tensors = checkpoint
        .tensors
        .into_iter()
        .filter(|t| t.layout != Layout::Strided)
        .map(|t| TensorInfo {
            name: t.name,
            dtype: t.dtype,
            shape: t.shape,
            file: 0,
            offset: t.offset,
            bytes: t.bytes,
        })
        .collect();
    Ok((file, tensors, notes))
}

fn torch_error(path: &Path, source: TorchError) -> Error {
    Error::Torch {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn checkpoint_notes(file: &str, c: &Checkpoint) -> Vec<Finding> {
    let mut notes = Vec::new();
    let subject = || Subject::File(file.to_owned());
    if !c.prefix.is_empty() {
        let prefix = c.prefix.join(".");
        notes.push(
            Finding::new(
                Severity::Info,
                "torch_state_dict_prefix",
                subject(),
                format!("{file}: the state dict is under `{prefix}` in the checkpoint"),
            )
            .with("prefix", prefix.as_str()),
        );
    }
    if !c.other.is_empty() {
        notes.push(
            Finding::new(
                Severity::Info,
                "torch_non_tensor_entries",
                subject(),
                format!(
                    "{file}: state-dict entries that are not tensors are not listed ({}): {}",
                    c.other.len(),
                    quoted(&c.other[..c.other.len().min(8)])
                ),
            )
            .with("entries", c.other.clone()),
        );
    }
    let mut sharing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for t in &c.tensors {
        sharing.entry(&t.storage).or_default().push(t.name.clone());
        let shape = format!("{:?}", t.shape);
        let stride = format!("{:?}", t.stride);
        match &t.layout {
            Layout::Contiguous => {}
            Layout::Permuted { order } => notes.push(
                Finding::new(
                    Severity::Info,
                    "torch_permuted_view",
                    Subject::Tensor(t.name.clone()),
                    format!(
                        "tensor `{}` is a transposed view (shape {shape}, stride {stride}; dimensions {order:?} outermost first in memory): its statistics are of its values in stored order — totals, extremes and distribution are exact, rows and columns refer to the stored layout",
                        t.name
                    ),
                )
                .with("stride", t.stride.clone())
                .with("memory_order", order.clone())
                .with("file", file),
            ),
            Layout::Strided => notes.push(
                Finding::new(
                    Severity::Warning,
                    "torch_strided_view",
                    Subject::Tensor(t.name.clone()),
                    format!(
                        "tensor `{}` is a view that skips or repeats elements of its storage (shape {shape}, stride {stride}); it is not listed and its statistics are not computed",
                        t.name
                    ),
                )
                .with("stride", t.stride.clone())
                .with("file", file),
            ),
        }
    }
    for (storage, names) in sharing {
        if names.len() > 1 {
            notes.push(
                Finding::new(
                    Severity::Info,
                    "torch_shared_storage",
                    Subject::Tensor(names[0].clone()),
                    format!(
                        "{file}: tensors {} share one storage (tied weights, or views of one buffer): its bytes are listed under each name",
                        quoted(&names)
                    ),
                )
                .with("tensors", names.clone())
                .with("storage", storage)
                .with("file", file),
            );
        }
    }
    notes
}

/// The files of `folder` the safety report reads, sorted.
pub(super) fn pickle_files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.')
                && PICKLE_EXTENSIONS.iter().any(|x| name.ends_with(x))
                && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file())
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// The safety report of the pickles at `paths`: for each file, an error finding per dangerous
/// global, a warning per unknown one, one info listing the safe ones, and a warning when the file
/// cannot be read as a pickle.
pub(super) fn pickle_safety(paths: &[PathBuf], reading: Reading) -> Vec<Finding> {
    let mut out = Vec::new();
    for path in paths {
        let name = file_name(path);
        match scan_file(path, reading) {
            Ok(uses) => out.extend(safety_findings(&name, &uses)),
            Err(why) => out.push(
                Finding::new(
                    Severity::Warning,
                    "pickle_unreadable",
                    Subject::File(name.clone()),
                    format!(
                        "`{name}` could not be read as a pickle ({why}): what loading it would run is unknown"
                    ),
                )
                .with("error", why.as_str()),
            ),
        }
    }
    out
}

/// A global a file's pickles name, where, and whether they call it.
struct Use {
    global: GlobalUse,
    /// The zip entry holding the pickle, for an archive.
    entry: Option<String>,
    called: bool,
}

/// Every global the pickles of one file name: each `*.pkl` entry of a zip archive, the five
/// pickles of a legacy checkpoint, or the one pickle of a plain pickle file.
fn scan_file(path: &Path, reading: Reading) -> std::result::Result<Vec<Use>, String> {
    let file = map_file(path, reading).map_err(|e| e.to_string())?;
    let bytes = file.bytes();
    let mut uses = Vec::new();
    let mut add = |p: &Pickle, entry: Option<&str>| {
        let called = called_globals(p);
        for g in &p.globals {
            uses.push(Use {
                called: called.contains(&(g.module.as_str(), g.name.as_str())),
                global: g.clone(),
                entry: entry.map(str::to_owned),
            });
        }
    };
    if bytes.starts_with(b"PK\x03\x04") {
        let entries = zip::read_entries(bytes).map_err(|e| e.to_string())?;
        let pickles: Vec<_> = entries
            .iter()
            .filter(|e| e.name.ends_with(".pkl"))
            .collect();
        if pickles.is_empty() {
            return Err("a zip archive with no `.pkl` entry".into());
        }
        for e in pickles {
            if e.method != 0 {
                return Err(format!("`{}` is compressed", e.name));
            }
            let p = pickle::parse(e.data(bytes), 0, Limits::default())
                .map_err(|err| format!("`{}`: {err}", e.name))?;
            add(&p, Some(&e.name));
        }
    } else {
        let first = pickle::parse(bytes, 0, Limits::default()).map_err(|e| e.to_string())?;
        let legacy = matches!(first.node(first.root), Node::BigInt(b) if b.len() == 10);
        let mut end = first.end;
        add(&first, None);
        if legacy {
            // Protocol, sys_info, state dict, storage keys.
            for _ in 0..4 {
                let p = pickle::parse(bytes, end, Limits::default()).map_err(|e| e.to_string())?;
                end = p.end;
                add(&p, None);
            }
        }
    }
    let changed = file.changed().is_some();
    if changed {
        return Err("the file changed while it was read".into());
    }
    Ok(uses)
}

/// The globals a pickle calls (`REDUCE`, `NEWOBJ`, `INST`, `OBJ` on them), not only names.
fn called_globals(p: &Pickle) -> HashSet<(&str, &str)> {
    p.nodes
        .iter()
        .filter_map(|n| match n {
            Node::Call { func, .. } => p.global(*func),
            _ => None,
        })
        .collect()
}

/// One global of a file, its uses over the file's pickles merged.
#[derive(Clone)]
struct Merged {
    count: u64,
    called: bool,
    entry: Option<String>,
    offset: u64,
}

fn safety_findings(file: &str, uses: &[Use]) -> Vec<Finding> {
    // One finding per distinct global in the file (counts summed over its pickles).
    let mut merged: BTreeMap<(String, String), Merged> = BTreeMap::new();
    let mut order = Vec::new();
    for u in uses {
        let key = (u.global.module.clone(), u.global.name.clone());
        let e = merged.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Merged {
                count: 0,
                called: false,
                entry: u.entry.clone(),
                offset: u.global.first_offset,
            }
        });
        e.count += u.global.count;
        e.called |= u.called;
    }
    let mut out = Vec::new();
    let mut safe = Vec::new();
    for key in order {
        let Merged {
            count,
            called,
            entry,
            offset,
        } = merged[&key].clone();
        let (module, name) = &key;
        let qualified = format!("{module}.{name}");
        let (severity, code, what) = match classify(module, name) {
            Class::Safe => {
                safe.push(qualified);
                continue;
            }
            Class::Dangerous => (
                Severity::Error,
                "pickle_dangerous_global",
                "a known-dangerous global (code execution, processes, files or network)",
            ),
            Class::Unknown => (
                Severity::Warning,
                "pickle_unknown_global",
                "a global glassbox does not know to be safe",
            ),
        };
        let action = if called { "import and call" } else { "import" };
        let mut f = Finding::new(
            severity,
            code,
            Subject::File(file.to_owned()),
            format!(
                "`{file}` names `{qualified}`, {what}: loading it with pickle or torch.load(weights_only=False) would {action} it"
            ),
        )
        .with("global", qualified.as_str())
        .with("called", called)
        .with("count", count)
        .with("offset", offset);
        if let Some(entry) = entry {
            f = f.with("entry", entry);
        }
        out.push(f);
    }
    if !safe.is_empty() {
        out.push(
            Finding::new(
                Severity::Info,
                "pickle_safe_globals",
                Subject::File(file.to_owned()),
                format!(
                    "`{file}` names {} tensor-rebuild globals, safe to load: {}",
                    safe.len(),
                    safe.join(", ")
                ),
            )
            .with("globals", safe),
        );
    }
    out
}
