//! The lineage test on plain (ungated) MLPs: BERT-style `intermediate.dense` / `output.dense` and
//! GPT-2's Conv1D `mlp.c_fc` / `mlp.c_proj` (stored transposed). A copy with its hidden units
//! permuted (rows of the up projection and columns of the down projection, by construction here)
//! must read as derived and permuted, an independently drawn model of the same shape as
//! unrelated, and an unchanged copy as the same units in the same order.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{glassbox, stderr, stdout};
use safetensors::{Dtype, tensor::TensorView};

const HIDDEN: usize = 32;
const UNITS: usize = 96;
const LAYERS: usize = 3;

/// Standard normal draws from a fixed xorshift stream (Box–Muller).
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn matrix(&mut self, rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|_| {
                let (u, v) = (self.uniform(), self.uniform());
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos() * 0.05) as f32
            })
            .collect()
    }
}

/// A row-major matrix.
#[derive(Clone)]
struct Matrix {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
}

impl Matrix {
    fn permute_rows(&self, p: &[usize]) -> Matrix {
        let mut values = Vec::with_capacity(self.values.len());
        for &r in p {
            values.extend_from_slice(&self.values[r * self.cols..(r + 1) * self.cols]);
        }
        Matrix { values, ..*self }
    }

    fn permute_cols(&self, p: &[usize]) -> Matrix {
        let values = (0..self.rows)
            .flat_map(|r| p.iter().map(move |&c| (r, c)))
            .map(|(r, c)| self.values[r * self.cols + c])
            .collect();
        Matrix { values, ..*self }
    }
}

/// Per layer: the up projection `[UNITS, HIDDEN]` and the down projection `[HIDDEN, UNITS]` in
/// `nn.Linear` layout.
fn draw(seed: u64) -> Vec<(Matrix, Matrix)> {
    draw_wide(seed, HIDDEN)
}

/// [`draw`] with `hidden` values per unit row.
fn draw_wide(seed: u64, hidden: usize) -> Vec<(Matrix, Matrix)> {
    let mut n = Normal(seed);
    (0..LAYERS)
        .map(|_| {
            let up = Matrix {
                rows: UNITS,
                cols: hidden,
                values: n.matrix(UNITS, hidden),
            };
            let down = Matrix {
                rows: hidden,
                cols: UNITS,
                values: n.matrix(hidden, UNITS),
            };
            (up, down)
        })
        .collect()
}

/// The same units in another order: unit `i` of the copy is unit `perm[i]` of the original.
fn permuted(layers: &[(Matrix, Matrix)]) -> Vec<(Matrix, Matrix)> {
    let perm: Vec<usize> = (0..UNITS).map(|i| (i * 37 + 11) % UNITS).collect();
    layers
        .iter()
        .map(|(up, down)| (up.permute_rows(&perm), down.permute_cols(&perm)))
        .collect()
}

fn transpose(m: &Matrix) -> Matrix {
    let values = (0..m.cols)
        .flat_map(|c| (0..m.rows).map(move |r| (r, c)))
        .map(|(r, c)| m.values[r * m.cols + c])
        .collect();
    Matrix {
        rows: m.cols,
        cols: m.rows,
        values,
    }
}

/// Writes the layers as a BERT-style or GPT-2-style (Conv1D, `[in, out]`) safetensors file.
fn write(dir: &Path, layers: &[(Matrix, Matrix)], gpt2: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    let mut put = |name: String, m: &Matrix| {
        let bytes = m.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.insert(name, (vec![m.rows, m.cols], bytes));
    };
    for (i, (up, down)) in layers.iter().enumerate() {
        if gpt2 {
            put(format!("h.{i}.mlp.c_fc.weight"), &transpose(up));
            put(format!("h.{i}.mlp.c_proj.weight"), &transpose(down));
        } else {
            put(format!("encoder.layer.{i}.intermediate.dense.weight"), up);
            put(format!("encoder.layer.{i}.output.dense.weight"), down);
        }
    }
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(k, (shape, bytes))| {
            (
                k.clone(),
                TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
}

/// `glassbox diff A B --format json`: (verdict kind, lineage conclusion).
fn verdict(a: &Path, b: &Path) -> (String, String) {
    let out = glassbox(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    (
        doc["verdict"]["kind"].as_str().unwrap().to_owned(),
        doc["lineage"]["conclusion"]
            .as_str()
            .expect("a lineage result")
            .to_owned(),
    )
}

fn check(gpt2: bool) {
    let dir = tempfile::tempdir().unwrap();
    let base = draw(0x9E37_79B9_7F4A_7C15);
    let (a, same, perm, other) = (
        dir.path().join("a"),
        dir.path().join("same"),
        dir.path().join("perm"),
        dir.path().join("other"),
    );
    write(&a, &base, gpt2);
    write(&same, &base, gpt2);
    write(&perm, &permuted(&base), gpt2);
    write(&other, &draw(0xD1B5_4A32_D192_ED03), gpt2);
    assert_eq!(
        verdict(&a, &same),
        ("identical".to_owned(), "same_order".to_owned())
    );
    assert_eq!(
        verdict(&a, &perm),
        ("derived_permuted".to_owned(), "permuted".to_owned())
    );
    assert_eq!(
        verdict(&a, &other),
        ("unrelated".to_owned(), "unrelated".to_owned())
    );
}

#[test]
fn bert_style_mlps_are_matched_by_up_rows_and_down_columns() {
    check(false);
}

#[test]
fn gpt2_conv1d_mlps_are_matched_transposed() {
    check(true);
}

/// The same units, every value moved by independent noise of `scale` (a fine-tune).
fn fine_tuned(layers: &[(Matrix, Matrix)], seed: u64, scale: f32) -> Vec<(Matrix, Matrix)> {
    let mut n = Normal(seed);
    let mut nudge = |m: &Matrix| Matrix {
        values: m
            .values
            .iter()
            .zip(n.matrix(m.rows, m.cols))
            .map(|(v, e)| v + e * scale / 0.05)
            .collect(),
        ..*m
    };
    layers.iter().map(|(u, d)| (nudge(u), nudge(d))).collect()
}

#[test]
fn rows_wider_than_the_coordinate_sample_still_tell_derived_from_unrelated() {
    // 1024 values per unit row: matched on 512 of its coordinates projected to 128. A fine-tune
    // whose noise is half the weights' scale (cosine about 0.9 per unit) still reads as the same
    // units in order, a permuted copy as permuted, another draw as unrelated.
    let dir = tempfile::tempdir().unwrap();
    let base = draw_wide(0x0123_4567_89AB_CDEF, 1024);
    let paths: Vec<_> = ["a", "tuned", "perm", "other"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    write(&paths[0], &base, false);
    write(&paths[1], &fine_tuned(&base, 77, 0.025), false);
    write(&paths[2], &permuted(&base), false);
    write(&paths[3], &draw_wide(0x0FED_CBA9_8765_4321, 1024), false);
    assert_eq!(verdict(&paths[0], &paths[1]).1, "same_order");
    assert_eq!(
        verdict(&paths[0], &paths[2]),
        ("derived_permuted".to_owned(), "permuted".to_owned())
    );
    assert_eq!(
        verdict(&paths[0], &paths[3]),
        ("unrelated".to_owned(), "unrelated".to_owned())
    );
}
