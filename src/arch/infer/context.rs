//! The observation context: the tensors, their roles and stacks, where to find a block's tensors,
//! and how an observation is recorded as a [`Check`] against the declared value.

use std::collections::BTreeMap;

use crate::arch::basis::{Basis, Dimension};
use crate::arch::blocks::{BlockGroup, Stack, split_block};
use crate::arch::config::Declared;
use crate::arch::note::Note;
use crate::arch::{Check, Role, Status, TensorRole, Value};
use crate::model::TensorInfo;

pub(super) struct Ctx<'a> {
    pub(super) tensors: &'a [TensorInfo],
    pub(super) roles: &'a [TensorRole],
    pub(super) stacks: &'a [Stack],
    pub(super) mtp: &'a BTreeMap<String, Vec<u64>>,
    pub(super) transposed: bool,
    pub(super) checks: Vec<Check>,
    pub(super) notes: &'a mut Vec<Note>,
}

/// An observed value with the words saying how.
pub(super) type Obs = Option<(Value, Basis)>;

impl Ctx<'_> {
    pub(super) fn push(
        &mut self,
        field: &'static str,
        declared: Option<Declared<Value>>,
        observed: Obs,
    ) {
        let status = match (&declared, &observed) {
            (Some(d), Some((o, _))) if d.value.agrees(o) => Status::Consistent,
            (Some(_), Some(_)) => Status::Contradicted,
            (Some(_), None) => Status::DeclaredOnly,
            (None, Some(_)) => Status::ObservedOnly,
            (None, None) => return,
        };
        self.push_with(field, declared, observed, status);
    }

    pub(super) fn push_with(
        &mut self,
        field: &'static str,
        declared: Option<Declared<Value>>,
        observed: Obs,
        status: Status,
    ) {
        let (observed, basis) = match observed {
            Some((v, b)) => (Some(v), Some(b)),
            None => (None, None),
        };
        let (declared, declared_key) = match declared {
            Some(d) => (Some(d.value), Some(d.key)),
            None => (None, None),
        };
        self.checks.push(Check {
            field,
            declared,
            observed,
            status,
            declared_key,
            basis,
        });
    }

    pub(super) fn main(&self) -> Option<&Stack> {
        self.stacks.first()
    }

    /// Blocks of the main stack that are not MTP modules.
    pub(super) fn main_blocks(&self) -> Vec<u64> {
        let Some(main) = self.main() else {
            return Vec::new();
        };
        let skip = self.mtp.get(&main.prefix);
        main.indices
            .iter()
            .copied()
            .filter(|i| !skip.is_some_and(|s| s.contains(i)))
            .collect()
    }

    /// Tensor indices of the first non-MTP block of the main stack whose group satisfies `pred`,
    /// preferring the typical group.
    pub(super) fn block_where(
        &self,
        pred: impl Fn(&BlockGroup) -> bool,
    ) -> Option<(String, u64, &[usize])> {
        let main = self.main()?;
        let skip = self.mtp.get(&main.prefix);
        let ok = |g: &&BlockGroup| {
            pred(g)
                && g.indices
                    .iter()
                    .any(|i| !skip.is_some_and(|s| s.contains(i)))
        };
        let group = main
            .groups
            .iter()
            .filter(|g| g.typical)
            .find(ok)
            .or_else(|| main.groups.iter().find(ok))?;
        let index = *group
            .indices
            .iter()
            .find(|i| !skip.is_some_and(|s| s.contains(i)))?;
        Some((
            main.prefix.clone(),
            index,
            main.members.get(&index).map(Vec::as_slice)?,
        ))
    }

    /// The weight (most dimensions, then largest) with `role` among `members`.
    pub(super) fn find(&self, members: &[usize], role: Role) -> Option<&TensorInfo> {
        members
            .iter()
            .filter(|&&i| self.roles[i].role == role)
            .map(|&i| &self.tensors[i])
            .max_by_key(|t| (t.shape.len(), t.parameters()))
    }

    /// First tensor anywhere with `role`.
    pub(super) fn find_global(&self, role: Role) -> Option<&TensorInfo> {
        self.tensors
            .iter()
            .zip(self.roles)
            .filter(|(_, r)| r.role == role)
            .map(|(t, _)| t)
            .max_by_key(|t| (t.shape.len(), std::cmp::Reverse(t.name.len())))
    }

    /// Output features of a 2-D weight (rows, or columns when stored transposed).
    pub(super) fn out_dim(&self, t: &TensorInfo) -> Option<u64> {
        match t.shape.as_slice() {
            [rows, cols] => Some(if self.transposed { *cols } else { *rows }),
            [n] => Some(*n),
            _ => None,
        }
    }

    /// The word for [`Ctx::out_dim`]: rows, or columns when stored transposed.
    pub(super) fn out_words(&self) -> Dimension {
        if self.transposed {
            Dimension::Columns
        } else {
            Dimension::Rows
        }
    }

    /// The word for [`Ctx::in_dim`].
    pub(super) fn in_words(&self) -> Dimension {
        if self.transposed {
            Dimension::Rows
        } else {
            Dimension::Columns
        }
    }

    pub(super) fn in_dim(&self, t: &TensorInfo) -> Option<u64> {
        match t.shape.as_slice() {
            [rows, cols] => Some(if self.transposed { *rows } else { *cols }),
            _ => None,
        }
    }
}

pub(super) fn pattern_name(prefix: &str, t: &TensorInfo) -> String {
    match split_block(&t.name) {
        Some(b) => format!("{prefix}.*.{}", b.rest),
        None => t.name.clone(),
    }
}

pub(super) fn cnt(d: Option<Declared<u64>>) -> Option<Declared<Value>> {
    d.map(|d| Declared::new(Value::Count(d.value), d.key))
}

/// A dimension of a tensor (or tensor pattern) as the basis of an observation.
pub(super) fn dim(tensor: impl Into<String>, dimension: Dimension) -> Basis {
    Basis::Dimension {
        tensor: tensor.into(),
        dimension,
    }
}

pub(super) fn obs(v: Option<u64>, basis: impl FnOnce() -> Basis) -> Obs {
    v.map(|v| (Value::Count(v), basis()))
}
