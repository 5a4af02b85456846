//! Ordering and selecting tensors by name: natural numeric order and name patterns.

use std::cmp::Ordering;

use super::{Model, TensorInfo};

/// Orders for tensor tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TensorOrder {
    /// Natural name order (`layers.2` before `layers.10`).
    #[default]
    Name,
    /// Largest first (bytes), then by name.
    Size,
    /// Storage order: file, then offset.
    Offset,
}

/// The tensors matching `filter`, in `order`.
pub fn select_tensors<'m>(
    model: &'m Model,
    filter: Option<&NameFilter>,
    order: TensorOrder,
) -> Vec<&'m TensorInfo> {
    select_tensor_indices(model, filter, order)
        .into_iter()
        .map(|i| &model.tensors[i])
        .collect()
}

/// The indices (into [`Model::tensors`]) of the tensors matching `filter`, in `order`: what the
/// statistics engine takes.
pub fn select_tensor_indices(
    model: &Model,
    filter: Option<&NameFilter>,
    order: TensorOrder,
) -> Vec<usize> {
    let tensors = &model.tensors;
    let mut out: Vec<usize> = (0..tensors.len())
        .filter(|&i| filter.is_none_or(|f| f.matches(&tensors[i].name)))
        .collect();
    match order {
        TensorOrder::Name => out.sort_by(|&a, &b| natural_cmp(&tensors[a].name, &tensors[b].name)),
        TensorOrder::Size => out.sort_by(|&a, &b| {
            let (a, b) = (&tensors[a], &tensors[b]);
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| natural_cmp(&a.name, &b.name))
        }),
        TensorOrder::Offset => out.sort_by_key(|&i| {
            let t = &tensors[i];
            (t.file, t.offset, t.bytes)
        }),
    }
    out
}

/// Compares names so that runs of digits compare as numbers: `layers.2` before `layers.10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                // Longer digit strings (without leading zeros) are larger numbers; equal lengths
                // compare bytewise. No parsing, so any length works.
                let ord = na
                    .len()
                    .cmp(&nb.len())
                    .then_with(|| na.cmp(nb))
                    .then(da.cmp(&db));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// A tensor-name filter: a glob when the pattern holds `*` or `?` (matched against the whole
/// name), otherwise a plain substring. Case-sensitive, as tensor names are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameFilter {
    pattern: String,
    glob: bool,
}

impl NameFilter {
    pub fn new(pattern: &str) -> Self {
        NameFilter {
            pattern: pattern.to_owned(),
            glob: pattern.contains(['*', '?']),
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        if self.glob {
            glob_match(self.pattern.as_bytes(), name.as_bytes())
        } else {
            name.contains(&self.pattern)
        }
    }
}

/// Iterative glob matching with single-star backtracking: linear in practice, never exponential.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec![
            "layers.10.w",
            "layers.2.w",
            "layers.1.w",
            "layers.02.w",
            "embed",
            "layers.2.a",
            "layers.99999999999999999999999.w",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec![
                "embed",
                "layers.1.w",
                "layers.2.a",
                "layers.2.w",
                "layers.02.w",
                "layers.10.w",
                "layers.99999999999999999999999.w",
            ]
        );
    }

    #[test]
    fn filters() {
        let f = NameFilter::new("self_attn");
        assert!(f.matches("model.layers.0.self_attn.q_proj.weight"));
        assert!(!f.matches("model.norm.weight"));
        let g = NameFilter::new("*.layers.1?.*proj*");
        assert!(g.matches("model.layers.12.mlp.up_proj.weight"));
        assert!(!g.matches("model.layers.1.mlp.up_proj.weight"));
        assert!(NameFilter::new("*").matches(""));
        assert!(!NameFilter::new("a*b").matches("acbc"));
        assert!(NameFilter::new("a*b*").matches("acbc"));
    }
}
