//! `glassbox stats`: a statistics table per tensor, aggregates per block and for the model, and
//! the health findings.

use std::collections::BTreeMap;

use serde::Serialize;

use super::json::{self, ModelJson, SCHEMA_VERSION, TensorJson};
use super::table::{Align, Table, human_count, shape, thousands};
use crate::finding::{Finding, Severity};
use crate::model::sort::natural_cmp;
use crate::model::{Model, TensorInfo};
use crate::stats::TensorStats;
use crate::stats::aggregate::{GroupStats, block_of};

/// Everything `glassbox stats` shows, computed once and rendered in any format.
#[derive(Debug)]
pub struct StatsReport<'m> {
    pub model: &'m Model,
    /// The tensors measured, in display order, with their statistics.
    pub tensors: Vec<(&'m TensorInfo, TensorStats)>,
    pub findings: Vec<Finding>,
}

/// A block's aggregate.
#[derive(Debug, Serialize)]
pub struct BlockJson {
    pub block: String,
    #[serde(flatten)]
    pub stats: GroupStats,
}

impl StatsReport<'_> {
    /// Aggregates per block (natural order of block names) and for every tensor shown.
    pub fn aggregates(&self) -> (Vec<BlockJson>, GroupStats) {
        let mut blocks: BTreeMap<&str, Vec<&TensorStats>> = BTreeMap::new();
        for (t, s) in &self.tensors {
            if let Some(b) = block_of(&t.name) {
                blocks.entry(b).or_default().push(s);
            }
        }
        let mut out: Vec<BlockJson> = blocks
            .into_iter()
            .map(|(b, s)| BlockJson {
                block: b.to_owned(),
                stats: GroupStats::of(s),
            })
            .collect();
        out.sort_by(|a, b| natural_cmp(&a.block, &b.block));
        let total = GroupStats::of(self.tensors.iter().map(|(_, s)| s));
        (out, total)
    }
}

/// A statistic with four significant digits, fixed or scientific by magnitude; `-` when absent.
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(0.0) => "0".into(),
        Some(v) if !v.is_finite() => format!("{v}"),
        Some(v) => {
            let a = v.abs();
            if (1e-3..1e5).contains(&a) {
                let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
                format!("{v:.decimals$}")
            } else {
                format!("{v:.3e}")
            }
        }
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 || part == 0 {
        "0".into()
    } else {
        let p = 100.0 * part as f64 / whole as f64;
        if p < 0.01 {
            "<0.01%".into()
        } else {
            format!("{p:.2}%")
        }
    }
}

fn non_finite(nan: u64, inf: u64) -> String {
    match (nan, inf) {
        (0, 0) => "0".into(),
        (n, 0) => format!("{} NaN", thousands(n)),
        (0, i) => format!("{} Inf", thousands(i)),
        (n, i) => format!("{} NaN, {} Inf", thousands(n), thousands(i)),
    }
}

/// Text or markdown.
pub fn render_stats_table(report: &StatsReport, markdown: bool) -> String {
    let mut out = String::new();
    let mut table = Table::new(&[
        ("name", Align::Left),
        ("dtype", Align::Left),
        ("shape", Align::Left),
        ("mean", Align::Right),
        ("std", Align::Right),
        ("min", Align::Right),
        ("max", Align::Right),
        ("zeros", Align::Right),
        ("non-finite", Align::Right),
    ]);
    for (t, s) in &report.tensors {
        table.push(vec![
            if markdown {
                format!("`{}`", t.name)
            } else {
                t.name.clone()
            },
            t.dtype.to_string(),
            shape(&t.shape),
            num(s.mean),
            num(s.std),
            num(s.min),
            num(s.max),
            percent(s.zeros, s.count),
            non_finite(s.nan, s.inf),
        ]);
    }
    let render = |t: &Table, out: &mut String| {
        if markdown {
            t.render_markdown(out)
        } else {
            t.render_text(out)
        }
    };
    render(&table, &mut out);

    let (blocks, total) = report.aggregates();
    if !blocks.is_empty() {
        out.push_str(if markdown {
            "\n**Blocks**\n\n"
        } else {
            "\nblocks:\n"
        });
        let mut bt = Table::new(&[
            ("block", Align::Left),
            ("tensors", Align::Right),
            ("parameters", Align::Right),
            ("mean", Align::Right),
            ("std", Align::Right),
            ("abs max", Align::Right),
            ("l2 norm", Align::Right),
            ("zeros", Align::Right),
            ("non-finite", Align::Right),
        ]);
        for b in &blocks {
            bt.push(group_row(&b.block, &b.stats));
        }
        render(&bt, &mut out);
    }
    out.push('\n');
    let bullet = if markdown { "- " } else { "" };
    out.push_str(&format!(
        "{bullet}{} tensors, {} values ({}): mean {}, std {}, min {}, max {}, zeros {}, non-finite {}\n",
        thousands(total.tensors as u64),
        thousands(total.count),
        human_count(total.count),
        num(total.mean),
        num(total.std),
        num(total.min),
        num(total.max),
        percent(total.zeros, total.count),
        non_finite(total.nan, total.inf),
    ));

    out.push_str(if markdown {
        "\n**Findings**\n\n"
    } else {
        "\nfindings:\n"
    });
    if report.findings.is_empty() {
        out.push_str("- none\n");
    }
    for f in &report.findings {
        let tensor = f
            .tensor()
            .map(|t| {
                if markdown {
                    format!(" `{t}`")
                } else {
                    format!(" {t}")
                }
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "- {} [{}]{tensor}: {}\n",
            severity_name(f.severity),
            f.code,
            f.message
        ));
    }
    out
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn group_row(name: &str, g: &GroupStats) -> Vec<String> {
    vec![
        name.to_owned(),
        thousands(g.tensors as u64),
        thousands(g.count),
        num(g.mean),
        num(g.std),
        num(g.abs_max),
        num(g.l2_norm),
        percent(g.zeros, g.count),
        non_finite(g.nan, g.inf),
    ]
}

#[derive(Serialize)]
struct StatsTensorJson<'a> {
    #[serde(flatten)]
    tensor: TensorJson<'a>,
    stats: &'a TensorStats,
}

#[derive(Serialize)]
struct StatsDocument<'a> {
    schema_version: u32,
    model: ModelJson<'a>,
    tensors: Vec<StatsTensorJson<'a>>,
    blocks: Vec<BlockJson>,
    total: GroupStats,
    findings: &'a [Finding],
}

/// The JSON document for `glassbox stats`.
pub fn render_stats_json(report: &StatsReport) -> String {
    let (blocks, total) = report.aggregates();
    json::to_string(&StatsDocument {
        schema_version: SCHEMA_VERSION,
        model: ModelJson::new(report.model),
        tensors: report
            .tensors
            .iter()
            .map(|(t, s)| StatsTensorJson {
                tensor: TensorJson::new(report.model, t),
                stats: s,
            })
            .collect(),
        blocks,
        total,
        findings: &report.findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(None), "-");
        assert_eq!(num(Some(0.0)), "0");
        assert_eq!(num(Some(0.019_987)), "0.01999");
        assert_eq!(num(Some(-1.5)), "-1.500");
        assert_eq!(num(Some(1234.5)), "1234");
        assert_eq!(num(Some(1.0e-5)), "1.000e-5");
        assert_eq!(num(Some(3.4e38)), "3.400e38");
        assert_eq!(percent(0, 10), "0");
        assert_eq!(percent(1, 3), "33.33%");
        assert_eq!(percent(1, 1_000_000), "<0.01%");
        assert_eq!(non_finite(2, 1), "2 NaN, 1 Inf");
    }
}
