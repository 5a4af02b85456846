//! `glassbox diff` and the files under it: a weight file that shrinks, grows or is rewritten
//! while the diff reads it is an error naming the file, never a report computed from zero pages.
//!
//! The files are sparse (a header and a hole), so each test costs a few KiB of disk; they are cut
//! after open and before the comparison reads, which makes the tests deterministic.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use glassbox::Error;
use glassbox::diff::{DiffError, DiffOptions, compute_diff};

mod common;
use common::{glassbox, sparse_f32, stderr};

fn set_len(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn diff(a: &glassbox::Model, b: &glassbox::Model) -> Result<glassbox::diff::Diff, DiffError> {
    let pool = glassbox::stats::thread_pool(Some(2)).unwrap();
    compute_diff(
        a,
        b,
        &DiffOptions::default(),
        &pool,
        &|_| {},
        &AtomicBool::new(false),
    )
}

#[test]
fn a_file_cut_under_the_diff_is_an_error_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    // Two tensors of 8 MiB each side; B is cut inside its second tensor.
    sparse_f32(&pa, 2, 2 << 20);
    let (start, _) = sparse_f32(&pb, 2, 2 << 20);
    let a = glassbox::model::open(&pa).unwrap();
    let b = glassbox::model::open(&pb).unwrap();
    // Untouched, the two holes are the same values.
    assert_eq!(diff(&a, &b).unwrap().summary.identical, 2);
    set_len(&pb, start + (8 << 20) + (1 << 20));
    // The zero pages the guard maps over the cut would compare equal to A's zeros: without the
    // check this would read as "identical".
    match diff(&a, &b) {
        Err(DiffError::FileChanged(Error::FileChanged { path, tensor })) => {
            assert_eq!(path, pb);
            assert_eq!(tensor.as_deref(), Some("t1"));
        }
        other => panic!("expected FileChanged, got {other:?}"),
    }
}

#[test]
fn a_file_extended_under_the_diff_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    let (_, len) = sparse_f32(&pa, 1, 1024);
    sparse_f32(&pb, 1, 1024);
    let a = glassbox::model::open(&pa).unwrap();
    let b = glassbox::model::open(&pb).unwrap();
    set_len(&pa, len + 4096);
    match diff(&a, &b) {
        // No read faulted: the file is known, the tensor is not.
        Err(DiffError::FileChanged(Error::FileChanged { path, tensor })) => {
            assert_eq!(path, pa);
            assert_eq!(tensor, None);
        }
        other => panic!("expected FileChanged, got {other:?}"),
    }
}

#[test]
fn the_cli_reports_a_changed_file_in_one_line_with_exit_2() {
    // The binary cannot be paused between open and read, so this checks the message and exit code
    // of the error the library returns, through the same `?` the CLI uses.
    let dir = tempfile::tempdir().unwrap();
    let pa = dir.path().join("a.safetensors");
    sparse_f32(&pa, 1, 1024);
    let a = glassbox::model::open(&pa).unwrap();
    set_len(&pa, 8);
    let err = diff(&a, &a).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("a.safetensors: the file changed while it was being read"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    // And a file already cut before open is the ordinary invalid-input error of the CLI.
    let out = glassbox(&["diff", pa.to_str().unwrap(), pa.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end().lines().count(),
        1,
        "{}",
        stderr(&out)
    );
}
