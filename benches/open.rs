//! Opening a model reads headers only: 10,000 tensors over 20 shards with an index.

use std::fmt::Write as _;

use criterion::{Criterion, criterion_group, criterion_main};
use glassbox::format::safetensors::build_file;

const SHARDS: usize = 20;
const PER_SHARD: usize = 500;

/// Writes a sharded checkpoint of small BF16 tensors with llama-like names.
fn make_model(dir: &std::path::Path) {
    let mut weight_map = serde_json::Map::new();
    for s in 0..SHARDS {
        let shard = format!("model-{:05}-of-{SHARDS:05}.safetensors", s + 1);
        let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
        let mut offset = 0u64;
        for i in 0..PER_SHARD {
            let name = format!("model.layers.{s}.block.{i}.mlp.up_proj.weight");
            let bytes = 64 * 32 * 2;
            write!(
                header,
                ",\"{name}\":{{\"dtype\":\"BF16\",\"shape\":[64,32],\"data_offsets\":[{offset},{}]}}",
                offset + bytes
            )
            .unwrap();
            offset += bytes;
            weight_map.insert(name, shard.clone().into());
        }
        header.push('}');
        let file = build_file(&header, &vec![0u8; offset as usize]);
        std::fs::write(dir.join(&shard), file).unwrap();
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": weight_map});
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    make_model(dir.path());
    let model = glassbox::model::open(dir.path()).unwrap();
    assert_eq!(model.tensors.len(), SHARDS * PER_SHARD);
    c.bench_function("open 10,000 tensors in 20 shards", |b| {
        b.iter(|| glassbox::model::open(dir.path()).unwrap())
    });
}

criterion_group!(benches, open);
criterion_main!(benches);
