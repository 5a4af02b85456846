//! `glassbox stats`: a statistics table per tensor, aggregates per block and for the model, and
//! the health findings.

use super::table::{Align, Table, human_count, shape, thousands};
use super::{Painted, Tone};
use crate::report::stats::StatsReport;
use crate::stats::aggregate::GroupStats;
use crate::text::{percent, plural};

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

fn non_finite(nan: u64, inf: u64) -> String {
    match (nan, inf) {
        (0, 0) => "0".into(),
        (n, 0) => format!("{} NaN", thousands(n)),
        (0, i) => format!("{} Inf", thousands(i)),
        (n, i) => format!("{} NaN, {} Inf", thousands(n), thousands(i)),
    }
}

/// Text (severities marked for colour) or markdown.
pub fn render_stats_table(report: &StatsReport, markdown: bool) -> Painted {
    let mut out = Painted::default();
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
    for row in &report.tensors {
        let (t, s) = (&row.tensor, &row.stats);
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
    let render = |t: &Table, out: &mut Painted| {
        if markdown {
            t.render_markdown(&mut out.text)
        } else {
            t.render_text_painted(out)
        }
    };
    render(&table, &mut out);

    let (blocks, total) = (&report.blocks, &report.total);
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
        for b in blocks {
            bt.push(group_row(&b.block, &b.stats));
        }
        render(&bt, &mut out);
    }
    out.push('\n');
    let bullet = if markdown { "- " } else { "" };
    // The weights' total, then the integer and boolean buffers' apart (each when there is one).
    for (label, group) in [
        ("", total),
        ("integer and boolean buffers: ", &report.buffers),
    ] {
        if group.tensors == 0 && !(label.is_empty() && report.buffers.tensors == 0) {
            continue;
        }
        // "(135M)" beside a count only when it says something shorter.
        let values = thousands(group.count);
        let short = human_count(group.count);
        let short = if short == values {
            String::new()
        } else {
            format!(" ({short})")
        };
        out.push_str(&format!(
            "{bullet}{label}{} {}, {values} values{short}: mean {}, std {}, min {}, max {}, zeros {}, non-finite {}\n",
            thousands(group.tensors as u64),
            plural(group.tensors as u64, "tensor", "tensors"),
            num(group.mean),
            num(group.std),
            num(group.min),
            num(group.max),
            percent(group.zeros, group.count),
            non_finite(group.nan, group.inf),
        ));
    }

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
        out.push_str("- ");
        out.push_marked(f.severity.name(), Tone::of_severity(f.severity));
        out.push_str(&format!(" [{}]{tensor}: {}\n", f.code, f.message));
    }
    out.push_str(&super::open_notes(&report.model.notes, "notes", markdown));
    out
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
