//! Output snapshots: stdout, stderr and exit code of every command in every format on every fixture.
//!
//! Taken before the report-model refactor so that it, and every later change, is proved
//! output-preserving: a change in any byte of any output fails here, and the reviewed `.snap` files
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test --test snapshots`) say what changed.
//! One snapshot per model holds all its outputs, so a refactor's diff reads model by model.

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures, glassbox, stderr, stdout};

/// Every model the fixtures hold: each weight file on its own, and each folder that holds weights
/// (opened as a folder), in a stable order.
fn models() -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(&fixtures(), &mut out);
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read fixture folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    let mut holds_weights = false;
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // PyTorch checkpoints (fixtures/torch) open like weight files.
        let checkpoint = [".bin", ".pt", ".pth", ".ckpt"]
            .iter()
            .any(|ext| name.ends_with(ext));
        if name.ends_with(".safetensors") || name.ends_with(".gguf") || checkpoint {
            holds_weights = true;
            out.push(path);
        } else if name.ends_with(".index.json") {
            out.push(path);
        }
    }
    if holds_weights {
        out.push(dir.to_path_buf());
    }
}

/// The path relative to the package root, as the tests pass it (stable across checkouts).
fn relative(path: &Path) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(&root)
        .expect("fixture under the package root")
        .to_string_lossy()
        .into_owned()
}

/// All outputs of one model: each command in each format, with its exit code and stderr.
fn outputs(path: &str) -> String {
    let mut doc = String::new();
    for command in ["summary", "tensors", "stats"] {
        for format in ["text", "markdown", "json"] {
            let out = glassbox(&[command, path, "--format", format]);
            doc.push_str(&format!(
                "==== glassbox {command} {path} --format {format}\n---- exit {}\n---- stderr\n{}---- stdout\n{}\n",
                out.status.code().map_or("signal".to_owned(), |c| c.to_string()),
                stderr(&out),
                stdout(&out),
            ));
        }
    }
    doc
}

#[test]
fn every_command_and_format_on_every_fixture() {
    let models: Vec<String> = models().iter().map(|p| relative(p)).collect();
    assert!(models.len() > 100, "fixtures found: {}", models.len());
    // Two workers: the outputs are computed in parallel, compared in a fixed order.
    let docs: Vec<(String, String)> = std::thread::scope(|scope| {
        let halves: Vec<_> = models
            .chunks(models.len().div_ceil(2))
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|m| (m.clone(), outputs(m)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (model, doc) in docs {
            let name = model
                .trim_start_matches("fixtures/")
                .replace(['/', '.'], "_");
            insta::assert_snapshot!(name, doc);
        }
    });
}
