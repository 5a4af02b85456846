//! Memory estimate: the weights at their stored precision and at 16, 8 and 4 bits per parameter,
//! and the KV cache of an autoregressive model per token and at the declared context length.
//!
//! The KV cache holds a key and a value vector per layer and token: `2 × layers × kv_width`
//! elements, `kv_width` = KV heads × head_dim, read from the k projection's rows. MLA (DeepSeek)
//! caches the compressed latent instead: `(kv_lora_rank + qk_rope_head_dim) × layers`. Sizes are
//! at 2 bytes per element (f16/bf16 cache). Layers with sliding-window attention keep at most
//! `sliding_window` tokens.

use serde::Serialize;

use super::Kind;
use crate::model::TensorInfo;

/// Bytes per cached element (f16 / bf16).
pub const KV_BYTES_PER_ELEMENT: u64 = 2;

/// MLA's cached latent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mla {
    pub kv_lora_rank: u64,
    pub rope_dim: u64,
}

/// What the KV estimate needs, gathered by inference.
#[derive(Debug, Clone, Default)]
pub struct KvInputs {
    /// Layers that cache keys and values (the decoder's, for an encoder-decoder).
    pub layers: Option<u64>,
    /// KV heads × head_dim, and how it was found.
    pub kv_width: Option<(u64, super::basis::Basis)>,
    pub mla: Option<Mla>,
    pub context_length: Option<u64>,
    pub sliding_window: Option<u64>,
    /// Layers using the sliding window, and the rule that says so.
    pub sliding_layers: Option<(u64, SlidingRule)>,
}

/// Which layers use the sliding window, and what says so. JSON: its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlidingRule {
    /// The config's per-layer list (`layer_types`), by its key.
    LayerTypes { key: String },
    /// The family slides every layer.
    EveryLayer,
    /// The family slides the even layers.
    EvenLayers,
    /// All but every `n`th layer, by the key declaring `n`.
    AllButEvery { n: u64, key: String },
    /// The window is switched off by the key.
    Disabled { key: String },
    /// Layers from `max_window_layers` on (Qwen2).
    FromMaxWindowLayers,
}

impl std::fmt::Display for SlidingRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlidingRule::LayerTypes { key } => write!(f, "`{key}`"),
            SlidingRule::EveryLayer => f.write_str("every layer"),
            SlidingRule::EvenLayers => f.write_str("even layers"),
            SlidingRule::AllButEvery { n, key } => {
                write!(f, "all but every {n}th layer (`{key}`)")
            }
            SlidingRule::Disabled { key } => write!(f, "`{key}` is false"),
            SlidingRule::FromMaxWindowLayers => f.write_str("layers from `max_window_layers` on"),
        }
    }
}

/// The formula of a KV cache estimate, with its numbers. JSON: the formula in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvFormula {
    pub layers: u64,
    pub cached: CachedPerLayer,
    /// An encoder-decoder: the decoder's self-attention only.
    pub decoder_only: bool,
}

/// What one layer caches per token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedPerLayer {
    /// A key and a value of the KV width.
    KeyAndValue { kv_width: u64 },
    /// MLA's compressed latent and decoupled RoPE key.
    MlaLatent { kv_lora_rank: u64, rope_dim: u64 },
}

impl std::fmt::Display for KvFormula {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers = self.layers;
        match self.cached {
            CachedPerLayer::MlaLatent {
                kv_lora_rank,
                rope_dim,
            } => write!(
                f,
                "{layers} layers × (kv_lora_rank {kv_lora_rank} + rope dim {rope_dim}) × {KV_BYTES_PER_ELEMENT} B (MLA caches the compressed latent)"
            )?,
            CachedPerLayer::KeyAndValue { kv_width } => write!(
                f,
                "2 (k, v) × {layers} layers × kv width {kv_width} × {KV_BYTES_PER_ELEMENT} B"
            )?,
        }
        if self.decoder_only {
            f.write_str(
                "; decoder self-attention only (the cross-attention cache grows with the input)",
            )?;
        }
        Ok(())
    }
}

/// Why there is no KV cache estimate. JSON: the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKvCache {
    Encoder,
    Vision,
    /// Not known to be autoregressive.
    UnknownArchitecture,
    LayersUnknown,
    /// No k projection found.
    KvWidthUnknown,
    /// Beyond `u64` bytes.
    Overflows,
}

impl std::fmt::Display for NoKvCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoKvCache::Encoder => "an encoder processes the whole input at once: no KV cache",
            NoKvCache::Vision => "a vision encoder has no KV cache",
            NoKvCache::UnknownArchitecture => {
                "unknown architecture: not known to be autoregressive"
            }
            NoKvCache::LayersUnknown => "layer count unknown",
            NoKvCache::KvWidthUnknown => "KV width unknown (no k projection found)",
            NoKvCache::Overflows => "KV size overflows",
        })
    }
}

/// Serialises a value as its `Display` words (the JSON of the memory's structured messages).
fn as_words<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn option_as_words<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// The memory estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// Tensor data bytes as stored.
    pub weights_stored_bytes: u64,
    /// At 16 bits per parameter.
    pub weights_16bit_bytes: u64,
    pub weights_8bit_bytes: u64,
    /// At 4 bits per parameter (no quantisation scales counted).
    pub weights_4bit_bytes: u64,
    pub kv_cache: Option<KvCache>,
    /// Why there is no KV estimate, when there is none.
    #[serde(serialize_with = "option_as_words")]
    pub kv_cache_note: Option<NoKvCache>,
}

/// The KV cache estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvCache {
    pub bytes_per_token: u64,
    /// The formula with the numbers in it.
    #[serde(serialize_with = "as_words")]
    pub formula: KvFormula,
    pub layers: u64,
    /// Elements cached per layer and token.
    pub elements_per_layer: u64,
    pub bytes_per_element: u64,
    pub context_length: Option<u64>,
    /// Bytes for one sequence of `context_length` tokens (sliding layers capped at the window);
    /// `None` when unknown or beyond `u64`.
    pub bytes_at_context: Option<u64>,
    pub sliding_window: Option<u64>,
    /// Layers using the window (0 when none or the window is disabled).
    pub sliding_layers: u64,
    #[serde(serialize_with = "option_as_words")]
    pub sliding_rule: Option<SlidingRule>,
}

/// Estimates memory from the tensor table and the inferred facts.
pub fn estimate(
    tensors: &[TensorInfo],
    parameters: u64,
    kind: Option<Kind>,
    kv: KvInputs,
) -> Memory {
    let stored: u64 = tensors.iter().map(|t| t.bytes).fold(0, u64::saturating_add);
    let (kv_cache, kv_cache_note) = match kind {
        Some(Kind::Decoder) | Some(Kind::EncoderDecoder) => match kv_cache(&kv, kind) {
            Ok(c) => (Some(c), None),
            Err(why) => (None, Some(why)),
        },
        Some(Kind::Encoder) => (None, Some(NoKvCache::Encoder)),
        Some(Kind::Vision) => (None, Some(NoKvCache::Vision)),
        None => (None, Some(NoKvCache::UnknownArchitecture)),
    };
    Memory {
        weights_stored_bytes: stored,
        weights_16bit_bytes: parameters.saturating_mul(2),
        weights_8bit_bytes: parameters,
        weights_4bit_bytes: parameters.div_ceil(2),
        kv_cache,
        kv_cache_note,
    }
}

fn kv_cache(kv: &KvInputs, kind: Option<Kind>) -> Result<KvCache, NoKvCache> {
    let layers = kv.layers.ok_or(NoKvCache::LayersUnknown)?;
    let (elements, cached) = match (&kv.mla, &kv.kv_width) {
        (Some(m), _) => (
            m.kv_lora_rank + m.rope_dim,
            CachedPerLayer::MlaLatent {
                kv_lora_rank: m.kv_lora_rank,
                rope_dim: m.rope_dim,
            },
        ),
        (None, Some((w, _))) => (2 * w, CachedPerLayer::KeyAndValue { kv_width: *w }),
        (None, None) => return Err(NoKvCache::KvWidthUnknown),
    };
    let formula = KvFormula {
        layers,
        cached,
        decoder_only: kind == Some(Kind::EncoderDecoder),
    };
    let per_layer_bytes = elements
        .checked_mul(KV_BYTES_PER_ELEMENT)
        .ok_or(NoKvCache::Overflows)?;
    let bytes_per_token = per_layer_bytes
        .checked_mul(layers)
        .ok_or(NoKvCache::Overflows)?;
    let (sliding_layers, sliding_rule) = match (&kv.sliding_window, &kv.sliding_layers) {
        (Some(_), Some((n, rule))) => ((*n).min(layers), Some(rule.clone())),
        _ => (0, None),
    };
    let bytes_at_context = kv.context_length.and_then(|ctx| {
        let window = kv.sliding_window.unwrap_or(ctx).min(ctx);
        let global = u128::from(layers - sliding_layers) * u128::from(ctx);
        let local = u128::from(sliding_layers) * u128::from(window);
        let total = (global + local) * u128::from(per_layer_bytes);
        u64::try_from(total).ok()
    });
    Ok(KvCache {
        bytes_per_token,
        formula,
        layers,
        elements_per_layer: elements,
        bytes_per_element: KV_BYTES_PER_ELEMENT,
        context_length: kv.context_length,
        bytes_at_context,
        sliding_window: kv.sliding_window,
        sliding_layers,
        sliding_rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_cache_with_sliding_layers_and_overflow() {
        let kv = KvInputs {
            layers: Some(4),
            kv_width: Some((16, crate::arch::basis::Basis::MlaKvHeads)),
            mla: None,
            context_length: Some(1000),
            sliding_window: Some(100),
            sliding_layers: Some((2, SlidingRule::EvenLayers)),
        };
        let m = estimate(&[], 10, Some(Kind::Decoder), kv.clone());
        let c = m.kv_cache.unwrap();
        assert_eq!(c.bytes_per_token, 2 * 4 * 16 * 2);
        assert_eq!(
            c.formula.to_string(),
            "2 (k, v) × 4 layers × kv width 16 × 2 B"
        );
        assert_eq!(
            serde_json::to_value(&c).unwrap()["sliding_rule"],
            "even layers"
        );
        assert_eq!(c.bytes_at_context, Some(2 * 16 * 2 * (2 * 1000 + 2 * 100)));
        assert_eq!(m.weights_4bit_bytes, 5);
        let huge = KvInputs {
            context_length: Some(u64::MAX),
            sliding_window: None,
            ..kv
        };
        let c = estimate(&[], 10, Some(Kind::Decoder), huge)
            .kv_cache
            .unwrap();
        assert_eq!(c.bytes_at_context, None);
        let m = estimate(&[], 10, Some(Kind::Encoder), KvInputs::default());
        assert!(m.kv_cache.is_none());
        assert_eq!(m.kv_cache_note, Some(NoKvCache::Encoder));
        assert_eq!(
            serde_json::to_value(&m).unwrap()["kv_cache_note"],
            "an encoder processes the whole input at once: no KV cache"
        );
        let none = estimate(&[], 10, Some(Kind::Decoder), KvInputs::default());
        assert_eq!(none.kv_cache_note, Some(NoKvCache::LayersUnknown));
    }
}
