//! The command line: clap definitions and the glue from arguments to library calls to output.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use glassbox::model::sort::{NameFilter, TensorOrder, select_tensors};
use glassbox::render::OutputFormat;
use glassbox::render::tensors::{render_tensors_json, render_tensors_table};

const EXAMPLES: &str = "\
Examples:
  glassbox ./Llama-3.2-1B                     summary of a Hugging Face model folder
  glassbox tensors model.safetensors          every tensor: dtype, shape, parameters, size
  glassbox tensors ./ckpt --filter 'layers.0.*' --sort size
  glassbox tensors ./ckpt --format json | jq '.model.parameter_count'

Exit codes: 0 success, 2 error (bad arguments, unreadable or invalid input).";

/// glassbox: what an open-weight model's files reveal.
///
/// Point it at a `.safetensors` file, a sharded checkpoint (`model.safetensors.index.json` or the
/// folder holding it) or a Hugging Face model folder. Files are opened read-only and never modified.
#[derive(Debug, Parser)]
#[command(name = "glassbox", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A model: a `.safetensors` file, an index, or a model folder.
    pub path: Option<PathBuf>,

    #[command(flatten)]
    pub common: Common,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text, global = true)]
    pub format: FormatArg,

    /// Only tensors whose name contains PATTERN (or matches it as a glob when it holds `*` or `?`).
    #[arg(long, value_name = "PATTERN", global = true)]
    pub filter: Option<String>,

    /// Worker threads for heavy work (default: all cores).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// When to colour output (`NO_COLOR` is honoured).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    pub color: ColorArg,

    /// No progress or warnings on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Markdown,
    Json,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => OutputFormat::Text,
            FormatArg::Markdown => OutputFormat::Markdown,
            FormatArg::Json => OutputFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The tensor table: name, dtype, shape, parameters, size and file of every tensor.
    #[command(
        after_help = "Examples:\n  glassbox tensors ./model --sort size\n  glassbox tensors model.safetensors --filter '*.mlp.*' --format markdown"
    )]
    Tensors(TensorsArgs),
}

#[derive(Debug, Args)]
pub struct TensorsArgs {
    /// A model: a `.safetensors` file, an index, or a model folder.
    pub path: PathBuf,

    /// Row order.
    #[arg(long, value_enum, default_value_t = SortArg::Name)]
    pub sort: SortArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Natural name order (`layers.2` before `layers.10`).
    Name,
    /// Largest first.
    Size,
    /// File, then position in the file.
    Offset,
}

impl From<SortArg> for TensorOrder {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Name => TensorOrder::Name,
            SortArg::Size => TensorOrder::Size,
            SortArg::Offset => TensorOrder::Offset,
        }
    }
}

/// Runs the command and returns what goes to stdout.
pub fn run(cli: Cli) -> Result<String> {
    let common = cli.common;
    match cli.command {
        Some(Command::Tensors(args)) => tensors(&args.path, args.sort.into(), &common),
        None => {
            let Some(path) = cli.path else {
                anyhow::bail!("no model given; try `glassbox --help`");
            };
            // Until the summary and the TUI exist, the tensor table is the default view.
            tensors(&path, TensorOrder::Name, &common)
        }
    }
}

fn tensors(path: &std::path::Path, order: TensorOrder, common: &Common) -> Result<String> {
    let model = glassbox::model::open(path)?;
    let filter = common.filter.as_deref().map(NameFilter::new);
    let selected = select_tensors(&model, filter.as_ref(), order);
    Ok(match OutputFormat::from(common.format) {
        OutputFormat::Json => render_tensors_json(&model, &selected),
        OutputFormat::Markdown => render_tensors_table(&model, &selected, true),
        OutputFormat::Text => render_tensors_table(&model, &selected, false),
    })
}
