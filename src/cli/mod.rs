//! The command line: clap definitions and the glue from arguments to library calls to output.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use glassbox::model::sort::{NameFilter, TensorOrder, select_tensor_indices, select_tensors};
use glassbox::render::{OutputFormat, Painted, json};
use glassbox::report::stats::{StatisticOrder, StatsReport};
use glassbox::report::summary::SummaryReport;
use glassbox::report::tensors::TensorTable;

const EXAMPLES: &str = "\
Examples:
  glassbox ./Llama-3.2-1B                     browse a model folder in the terminal (piped: its summary)
  glassbox ./base ./finetuned                 browse the second with a Diff tab (piped: the diff)
  glassbox summary ./ckpt --format markdown   the same, ready to paste into a model card
  glassbox tensors model.safetensors          every tensor: dtype, shape, parameters, size
  glassbox tensors ./ckpt --filter '*layers.0.*' --sort size
  glassbox tensors ./ckpt --format json | jq '.model.parameter_count'
  glassbox transparency ./ckpt                what the files prove, declare and hide (A–K)
  glassbox meta-llama/Llama-3.2-1B@main       a model in the Hugging Face cache, by repo id
  glassbox summary ollama:llama3.2:3b         a model in the Ollama store (its template, system
                                              prompt and licence layers too)
  glassbox tensors lmstudio:lmstudio-community/Qwen3-8B-GGUF
  glassbox summary hf:Qwen/Qwen3-8B           headers only, over HTTP (HF_ENDPOINT, HF_TOKEN)
  glassbox cache                              the models in the local caches and stores

Exit codes: 0 success, 1 the models differ (`diff`, and `glassbox A B` when not on a terminal), 2 error (bad arguments, unreadable or invalid input).";

/// glassbox: what an open-weight model's files reveal.
///
/// Point it at a `.safetensors` file, a sharded checkpoint (`model.safetensors.index.json` or the
/// folder holding it), a Hugging Face model folder or a `.gguf` file (any part of a split model);
/// or name a model: `ORG/NAME[@REVISION]` in the Hugging Face cache, `ollama:NAME[:TAG]`,
/// `lmstudio:PUBLISHER/NAME`, or `hf:ORG/NAME[@REVISION]` and an `https://` URL to a
/// `.safetensors` or `.gguf` file, read remotely (headers only). Files are opened read-only and
/// never modified.
#[derive(Debug, Parser)]
#[command(name = "glassbox", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A model: a `.safetensors` or `.gguf` file, an index, or a model folder; or a name:
    /// `ORG/NAME[@REV]` (Hugging Face cache), `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/NAME`,
    /// `hf:ORG/NAME[@REV]` or an `https://` URL (headers only).
    pub path: Option<PathBuf>,

    /// A second model: compared with the first (`glassbox diff PATH PATH2`), browsed on a terminal
    /// with a Diff tab.
    pub path_b: Option<PathBuf>,

    #[command(flatten)]
    pub common: Common,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text, global = true)]
    pub format: FormatArg,

    /// Only tensors whose name contains PATTERN (or matches it as a glob when it holds `*` or `?`):
    /// `tensors`, `stats` and the terminal UI.
    #[arg(long, value_name = "PATTERN", global = true)]
    pub filter: Option<String>,

    /// Worker threads for heavy work, 1 to 256 (default: all cores; more threads than cores
    /// only add overhead).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// When to colour output (`NO_COLOR` is honoured).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    pub color: ColorArg,

    /// No progress or warnings on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Read weight files with plain reads (`pread`) instead of mapping them: for network
    /// filesystems and files still being written. Same results, somewhat slower (Linux only).
    #[arg(long, global = true)]
    pub no_mmap: bool,
}

impl Common {
    /// Opens a model as the flags say (mapped, or read with `pread` under `--no-mmap`).
    fn open(&self, path: &std::path::Path) -> glassbox::Result<glassbox::Model> {
        let reading = if self.no_mmap {
            glassbox::model::Reading::Pread
        } else {
            glassbox::model::Reading::Mapped
        };
        glassbox::model::open_reference_with(path, reading)
    }

    /// Opens a model whose tensor values the command reads: a remote model (headers only) is
    /// refused.
    fn open_with_data(
        &self,
        path: &std::path::Path,
        command: &str,
    ) -> Result<glassbox::model::Model> {
        let model = self.open(path)?;
        if let Some(remote) = &model.remote {
            anyhow::bail!(
                "{}: `{command}` reads the weights, and a remote model is read by its headers only; download it (e.g. `hf download ORG/NAME`) and give its path or repo id",
                remote.reference
            );
        }
        Ok(model)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Markdown,
    Json,
    /// A CycloneDX 1.6 ML-BOM (`transparency` only).
    Cyclonedx,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => OutputFormat::Text,
            FormatArg::Markdown => OutputFormat::Markdown,
            // Refused before any other command runs (see `run_command`); JSON is its nearest kin.
            FormatArg::Json | FormatArg::Cyclonedx => OutputFormat::Json,
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
    /// The architecture at a glance: family, hyperparameters declared in config.json and observed
    /// in the weights, parameters by component, repeated blocks, memory estimate.
    #[command(
        after_help = "Examples:\n  glassbox summary ./model\n  glassbox summary ./model --format markdown >> README.md\n  glassbox summary model.safetensors --format json | jq '.checks[] | select(.status == \"contradicted\")'"
    )]
    Summary(SummaryArgs),
    /// The tensor table: name, dtype, shape, parameters, size and file of every tensor.
    #[command(
        after_help = "Examples:\n  glassbox tensors ./model --sort size\n  glassbox tensors model.safetensors --filter '*.mlp.*' --format markdown"
    )]
    Tensors(TensorsArgs),
    /// Statistics of every parameter tensor (mean, std, extremes, zeros, non-finite values,
    /// histogram, percentiles), per block and for the whole model, then the health findings.
    #[command(
        after_help = "Examples:\n  glassbox stats ./model\n  glassbox stats model.safetensors --filter '*norm*' --sort std\n  glassbox stats ./model --format json --threads 2 > stats.json\n  glassbox stats model.gguf --exact\n\nThe findings flag NaN/Inf, all-zero and constant tensors, dead rows and columns, a tensor unlike\nthe same tensor in its sibling layers, byte-identical tensors and norm weights that look\nuninitialised; heavy tails (normal in trained weights) are one info line for the model."
    )]
    Stats(StatsArgs),
    /// What the files prove, what they only declare, and what stays hidden, item by item (A–K),
    /// beside what a closed API model discloses: licence and its class, MOF / OSAID verdicts, the
    /// prompt-format audit (chat template, special tokens, remote code) and SHA-256 fingerprints.
    #[command(
        after_help = "Examples:\n  glassbox transparency ./model\n  glassbox transparency ./model --format markdown > TRANSPARENCY.md\n  glassbox transparency model.gguf --format json | jq '.items[] | select(.bucket == \"missing\") | .id'\n  glassbox transparency ./model --format cyclonedx > model.cdx.json\n\nStatuses: VERIFIED, CONSISTENT (verified), CONTRADICTED, DECLARED, DECLARED_TEXT, REFERENCED\n(declared), DERIVED (verified from one declared input), PLACEHOLDER, MISSING (missing), N/A,\nNOT_ASSESSABLE."
    )]
    Transparency(TransparencyArgs),
    /// Browse the model in the terminal: overview, tensor tree with live statistics, layers across
    /// depth, open versus closed (what `glassbox PATH` opens on a terminal).
    #[command(
        after_help = "Examples:\n  glassbox browse ./model\n  glassbox ./model          the same, when stdin and stdout are a terminal\n  glassbox browse ./base ./finetuned   the second model, with a Diff tab (key 5)\n  glassbox ./base ./finetuned          the same, when stdin and stdout are a terminal\n\nPress ? inside for every key, q to quit."
    )]
    Browse(BrowseArgs),
    /// The models in the local stores: the Hugging Face cache (HF_HUB_CACHE, HF_HOME), the
    /// Ollama store (OLLAMA_MODELS) and LM Studio's models folder (LMSTUDIO_MODELS), with their
    /// revisions, size on disk, format and family.
    #[command(
        after_help = "Examples:\n  glassbox cache\n  glassbox cache --format json | jq '.models[] | select(.formats[] == \"gguf\") | .reference'\n  HF_HUB_CACHE=/data/hub glassbox cache\n\nOpen one by the reference in the first column: `glassbox summary ORG/NAME`,\n`glassbox transparency ollama:NAME`."
    )]
    Cache(CacheArgs),
    /// Compare two checkpoints (any formats): what changed, tensor by tensor and layer by layer,
    /// and a verdict (identical, recast, quantised, fine_tuned, low_rank_merge, edited,
    /// derived_permuted, unrelated). Exit 0 when the weights are identical (or within --tolerance), 1 when they
    /// differ, 2 on error.
    #[command(
        after_help = "Examples:\n  glassbox diff ./base ./finetuned\n  glassbox diff model.safetensors model-Q4_K.gguf --format json\n  glassbox diff ./a ./b --map transformer.=model. --tolerance 1e-3"
    )]
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first model (the reference).
    pub a: PathBuf,
    /// The second model.
    pub b: PathBuf,
    /// Rewrite tensor names starting with FROM to start with TO (both models; repeatable).
    #[arg(long = "map", value_name = "FROM=TO")]
    pub maps: Vec<glassbox::diff::NameMap>,
    /// Exit 0 when every paired tensor has rel_l2 at most this (and none is added or removed).
    #[arg(long, value_name = "REL_L2", default_value_t = 0.0)]
    pub tolerance: f64,
    /// Skip the low-rank analysis of changed matrices (the slow part on large, fully changed
    /// models).
    #[arg(long)]
    pub no_rank: bool,
    /// Count every |B − A| into the p99 histogram (pairs above 4M values otherwise count a
    /// deterministic sample of at least 512K of them; every other number is exact either way).
    #[arg(long)]
    pub exact: bool,
}

#[derive(Debug, Args)]
pub struct TransparencyArgs {
    /// A model: a `.safetensors` or `.gguf` file, an index, or a model folder; or a name:
    /// `ORG/NAME[@REV]` (Hugging Face cache), `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/NAME`,
    /// `hf:ORG/NAME[@REV]` or an `https://` URL (headers only).
    pub path: PathBuf,

    /// Skip the SHA-256 fingerprints (item D4 is then NOT_ASSESSABLE).
    #[arg(long)]
    pub no_hash: bool,

    /// Check the declared lineage (item A3) against this base model's weights, with the
    /// comparison `glassbox diff BASE PATH` makes.
    #[arg(long, value_name = "BASE")]
    pub base: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CacheArgs {}

#[derive(Debug, Args)]
pub struct BrowseArgs {
    /// A model: a `.safetensors` or `.gguf` file, an index, or a model folder; or a name:
    /// `ORG/NAME[@REV]` (Hugging Face cache), `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/NAME`,
    /// `hf:ORG/NAME[@REV]` or an `https://` URL (headers only).
    pub path: PathBuf,
    /// A second model: the TUI browses it, with a Diff tab comparing PATH with it.
    pub b: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// A model: a `.safetensors` or `.gguf` file, an index, or a model folder; or a name:
    /// `ORG/NAME[@REV]` (Hugging Face cache), `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/NAME`,
    /// `hf:ORG/NAME[@REV]` or an `https://` URL (headers only).
    pub path: PathBuf,

    /// Row order (statistics sort largest first).
    #[arg(long, value_enum, default_value_t = StatsSortArg::Name)]
    pub sort: StatsSortArg,

    /// Count every value for percentiles, histograms and outliers, also in tensors of more than
    /// 4M values (which otherwise count their tails exactly and sample 1 in 16 central values).
    /// 16-bit values (BF16, F16) are then exact; F32 and wider are counted by 16-bit bucket
    /// (percentiles within 0.8%; JSON `distribution: "buckets"`). Mean, std, min, max, zeros,
    /// NaN and Inf are exact either way; this is 1.3-2x slower.
    #[arg(long)]
    pub exact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsSortArg {
    /// Natural name order.
    Name,
    /// Largest first.
    Size,
    /// File, then position in the file.
    Offset,
    /// Mean, largest first.
    Mean,
    /// Standard deviation, largest first.
    Std,
    /// Largest absolute value first.
    AbsMax,
    /// Share of zeros, largest first.
    Zeros,
    /// NaN + Inf count, largest first.
    NonFinite,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// A model: a `.safetensors` or `.gguf` file, an index, or a model folder; or a name:
    /// `ORG/NAME[@REV]` (Hugging Face cache), `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/NAME`,
    /// `hf:ORG/NAME[@REV]` or an `https://` URL (headers only).
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct TensorsArgs {
    /// A model: a `.safetensors` or `.gguf` file, an index, or a model folder; or a name:
    /// `ORG/NAME[@REV]` (Hugging Face cache), `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/NAME`,
    /// `hf:ORG/NAME[@REV]` or an `https://` URL (headers only).
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

/// What a command produced: stdout, and whether `diff` found differences (exit 1).
pub struct Outcome {
    pub stdout: String,
    pub differ: bool,
}

/// Runs the command and returns what goes to stdout.
pub fn run(cli: Cli) -> Result<Outcome> {
    let common = cli.common;
    if common.format == FormatArg::Cyclonedx
        && !matches!(cli.command, Some(Command::Transparency(_)))
    {
        anyhow::bail!("`--format cyclonedx` is only for `glassbox transparency`");
    }
    // `--filter` selects the tensors of `tensors`, `stats` and the TUI; the other commands read
    // the whole model, and a filter they silently ignored read as applied.
    if common.filter.is_some() {
        let whole_model = match &cli.command {
            Some(Command::Summary(_)) => Some("summary"),
            Some(Command::Transparency(_)) => Some("transparency"),
            Some(Command::Cache(_)) => Some("cache"),
            Some(Command::Diff(_)) => Some("diff"),
            None if !wants_tui(&common) => Some(if cli.path_b.is_some() {
                "diff"
            } else {
                "summary"
            }),
            _ => None,
        };
        if let Some(command) = whole_model {
            anyhow::bail!(
                "`--filter` selects tensors for `tensors`, `stats` and the terminal UI; `{command}` reads the whole model"
            );
        }
    }
    let (out, differ) = match (cli.command, cli.path, cli.path_b) {
        (Some(Command::Diff(args)), _, _) => diff(&args, &common)?,
        // `glassbox A B`: the TUI with a Diff tab on a terminal, else the diff's output.
        (None, Some(a), Some(b)) => {
            if wants_tui(&common) {
                (browse(&a, Some(&b), &common)?, false)
            } else {
                let args = DiffArgs {
                    a,
                    b,
                    maps: Vec::new(),
                    tolerance: 0.0,
                    no_rank: false,
                    exact: false,
                };
                diff(&args, &common)?
            }
        }
        (command, path, _) => (run_command(command, path, &common)?, false),
    };
    let stdout = if matches!(common.format, FormatArg::Json | FormatArg::Cyclonedx) {
        out.text // JSON escapes control characters itself
    } else {
        // Names and metadata come from the files: no control character reaches the terminal.
        // Colour comes from the spans the text renderers marked (severities, contradicted
        // checks, statuses of the diff map).
        let color = common.format == FormatArg::Text && use_color(common.color);
        out.to_terminal(color)
    };
    Ok(Outcome { stdout, differ })
}

/// Colour on a terminal unless `NO_COLOR` is set; `--color always|never` overrides both.
fn use_color(choice: ColorArg) -> bool {
    use std::io::IsTerminal;
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn run_command(
    command: Option<Command>,
    path: Option<PathBuf>,
    common: &Common,
) -> Result<Painted> {
    match command {
        Some(Command::Transparency(args)) => transparency(&args, common),
        Some(Command::Summary(args)) => summary(&args.path, common),
        Some(Command::Tensors(args)) => tensors(&args.path, args.sort.into(), common),
        Some(Command::Stats(args)) => stats(&args, common),
        Some(Command::Browse(args)) => browse(&args.path, args.b.as_deref(), common),
        Some(Command::Cache(_)) => Ok(cache(common)),
        Some(Command::Diff(_)) => unreachable!("`run` runs diff itself: it has an exit status"),
        None => {
            let Some(path) = path else {
                anyhow::bail!("no model given; try `glassbox --help`");
            };
            // On a terminal the TUI (unless another format is asked for); piped or redirected,
            // the summary.
            if wants_tui(common) {
                browse(&path, None, common)
            } else {
                summary(&path, common)
            }
        }
    }
}

/// Whether the default command opens the TUI: text format, stdin and stdout a terminal.
fn wants_tui(common: &Common) -> bool {
    use std::io::IsTerminal;
    common.format == FormatArg::Text
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
}

/// The TUI on `path`, or with `b` on `b` with a Diff tab comparing `path` with it; nothing goes to
/// stdout afterwards.
fn browse(path: &std::path::Path, b: Option<&std::path::Path>, common: &Common) -> Result<Painted> {
    use std::io::IsTerminal;
    let model = common.open_with_data(path, "browse")?;
    let b = b.map(|b| common.open_with_data(b, "browse")).transpose()?;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "`browse` needs a terminal and stdout is not one; try `glassbox {}`",
            if b.is_some() { "diff" } else { "summary" }
        );
    }
    let options = glassbox::tui::BrowseOptions {
        threads: common.threads.map(usize::from),
        filter: common.filter.clone(),
    };
    match b {
        Some(b) => glassbox::tui::browse_diff(model, b, options)?,
        None => glassbox::tui::browse(model, options)?,
    }
    Ok(Painted::plain(String::new()))
}

fn summary(path: &std::path::Path, common: &Common) -> Result<Painted> {
    use glassbox::render::summary::{render_summary_markdown, render_summary_text};
    let model = common.open(path)?;
    let arch = glassbox::arch::infer_architecture(&model);
    let report = SummaryReport::new(&model, &arch);
    Ok(match OutputFormat::from(common.format) {
        OutputFormat::Json => Painted::plain(json::to_string(&report)),
        OutputFormat::Markdown => Painted::plain(render_summary_markdown(&report)),
        OutputFormat::Text => render_summary_text(&report),
    })
}

fn tensors(path: &std::path::Path, order: TensorOrder, common: &Common) -> Result<Painted> {
    use glassbox::render::tensors::render_tensors_table;
    let model = common.open(path)?;
    let filter = common.filter.as_deref().map(NameFilter::new);
    let selected = select_tensors(&model, filter.as_ref(), order);
    warn_unmatched_filter(common, &model, selected.len());
    let report = TensorTable::new(&model, &selected);
    Ok(Painted::plain(match OutputFormat::from(common.format) {
        OutputFormat::Json => json::to_string(&report),
        OutputFormat::Markdown => render_tensors_table(&report, true),
        OutputFormat::Text => render_tensors_table(&report, false),
    }))
}

/// A `--filter` that matches no tensor is most likely a mistyped pattern: said on stderr (unless
/// `-q`), with a name to model it on; the output is still the empty table, and the exit code 0.
fn warn_unmatched_filter(common: &Common, model: &glassbox::Model, matched: usize) {
    use std::io::Write;
    if let (0, false, Some(pattern), Some(first)) =
        (matched, common.quiet, &common.filter, model.tensors.first())
    {
        // A glob matches whole names: `layers.0.*` meant `*layers.0.*` more often than not.
        let widened = format!("*{pattern}");
        let filter = NameFilter::new(&widened);
        let hint = if pattern.contains(['*', '?'])
            && !pattern.starts_with('*')
            && model.tensors.iter().any(|t| filter.matches(&t.name))
        {
            format!("; a pattern with * matches whole names: '{widened}' matches")
        } else {
            format!(" (names look like `{}`)", first.name)
        };
        let _ = writeln!(
            std::io::stderr(),
            "warning: --filter '{pattern}' matches none of the {} tensors{hint}",
            model.tensors.len(),
        );
    }
}

fn stats(args: &StatsArgs, common: &Common) -> Result<Painted> {
    use glassbox::render::stats::render_stats_table;
    use glassbox::stats::StatsOptions;

    let model = std::sync::Arc::new(common.open_with_data(&args.path, "stats")?);
    let filter = common.filter.as_deref().map(NameFilter::new);
    let (order, statistic) = match args.sort {
        StatsSortArg::Name => (TensorOrder::Name, StatisticOrder::Selection),
        StatsSortArg::Size => (TensorOrder::Size, StatisticOrder::Selection),
        StatsSortArg::Offset => (TensorOrder::Offset, StatisticOrder::Selection),
        StatsSortArg::Mean => (TensorOrder::Name, StatisticOrder::Mean),
        StatsSortArg::Std => (TensorOrder::Name, StatisticOrder::Std),
        StatsSortArg::AbsMax => (TensorOrder::Name, StatisticOrder::AbsMax),
        StatsSortArg::Zeros => (TensorOrder::Name, StatisticOrder::Zeros),
        StatsSortArg::NonFinite => (TensorOrder::Name, StatisticOrder::NonFinite),
    };
    let indices = select_tensor_indices(&model, filter.as_ref(), order);
    warn_unmatched_filter(common, &model, indices.len());
    let selected: Vec<&glassbox::TensorInfo> = indices.iter().map(|&i| &model.tensors[i]).collect();
    let options = StatsOptions {
        sample_above: if args.exact {
            None
        } else {
            StatsOptions::default().sample_above
        },
        ..StatsOptions::default()
    };
    let total: u64 = selected.iter().map(|t| t.bytes).sum();
    let bar = progress_bar(common, total, "measuring");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let progress = |p: glassbox::stats::Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.bytes_done);
        }
    };
    let pool = glassbox::stats::thread_pool(common.threads.map(usize::from))?;
    let measured =
        glassbox::stats::compute_model_stats(&model, &indices, &options, &pool, &progress, &cancel);
    // A weight file that shrank under a read stops the run (the engine drops what it read after the
    // fault), and one extended or rewritten meanwhile makes every result suspect: either way the
    // error names the file, rather than reporting numbers computed from bytes that are gone.
    model.check_unchanged()?;
    let (stats, findings) = measured?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = StatsReport::new(&model, &selected, stats, findings, statistic);
    Ok(match OutputFormat::from(common.format) {
        OutputFormat::Json => Painted::plain(json::to_string(&report)),
        OutputFormat::Markdown => Painted::plain(render_stats_table(&report, true).text),
        OutputFormat::Text => render_stats_table(&report, false),
    })
}

fn transparency(args: &TransparencyArgs, common: &Common) -> Result<Painted> {
    use glassbox::render::transparency::{
        render_transparency_cyclonedx, render_transparency_json, render_transparency_markdown,
        render_transparency_text,
    };
    use glassbox::transparency as t;

    let model = common.open(&args.path)?;
    let arch = glassbox::arch::infer_architecture(&model);
    let sources = t::open_sources(&model);
    // A remote model's weights are not here to hash.
    let hashes = if args.no_hash || model.remote.is_some() {
        None
    } else {
        let files = t::hashable_files(&model, &sources.files);
        let total = files
            .iter()
            .map(|(p, _, _)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        let bar = progress_bar(common, total, "hashing");
        let progress = |p: t::HashProgress| {
            if let Some(bar) = &bar {
                bar.set_position(p.bytes_done);
            }
        };
        let pool = glassbox::stats::thread_pool(common.threads.map(usize::from))?;
        let hashes = pool.install(|| t::compute_hashes(&files, &progress));
        // A weight file rewritten while it was hashed has no fingerprint worth printing.
        model.check_unchanged()?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Some(hashes)
    };
    let base = match &args.base {
        Some(path) => Some(base_check(path, &model, common)?),
        None => None,
    };
    let report = t::build_report(&model, &arch, &sources, hashes, base.as_ref());
    Ok(match common.format {
        FormatArg::Cyclonedx => Painted::plain(render_transparency_cyclonedx(&report)),
        FormatArg::Json => Painted::plain(render_transparency_json(&model, &report)),
        FormatArg::Markdown => Painted::plain(render_transparency_markdown(&report, &model.notes)),
        FormatArg::Text => render_transparency_text(&report, &model.notes),
    })
}

/// Compares the base with the model, as `glassbox diff BASE PATH` does, for the lineage item.
fn base_check(
    path: &std::path::Path,
    model: &glassbox::model::Model,
    common: &Common,
) -> Result<glassbox::transparency::BaseCheck> {
    let base = common.open_with_data(path, "transparency --base")?;
    let options = glassbox::diff::DiffOptions::default();
    let bar = progress_bar(
        common,
        base.tensor_bytes_total() + model.tensor_bytes_total(),
        "comparing with the base",
    );
    let progress = |done: u64| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let pool = glassbox::stats::thread_pool(common.threads.map(usize::from))?;
    let diff = stop_on_fault(&cancel, || {
        glassbox::diff::compute_diff(&base, model, &options, &pool, &progress, &cancel)
    });
    base.check_unchanged()?;
    model.check_unchanged()?;
    let diff = diff?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let kind = diff.verdict.kind;
    let mut verdict = format!("verdict {}", kind.name());
    if let Some(l) = &diff.lineage {
        verdict.push_str(&format!(
            " (lineage test {}: {}, p = {:.3e})",
            l.test, l.conclusion, l.p_value
        ));
    }
    Ok(glassbox::transparency::BaseCheck {
        base: path.display().to_string(),
        related: kind != glassbox::diff::VerdictKind::Unrelated,
        verdict,
    })
}

/// `glassbox diff A B`: the report, and whether the weights differ beyond the tolerance.
fn diff(args: &DiffArgs, common: &Common) -> Result<(Painted, bool)> {
    use glassbox::render::diff::{render_diff_json, render_diff_markdown, render_diff_text};
    if !(args.tolerance >= 0.0 && args.tolerance.is_finite()) {
        anyhow::bail!(
            "`--tolerance` must be a finite number ≥ 0, found {}",
            args.tolerance
        );
    }
    let a = common.open_with_data(&args.a, "diff")?;
    let b = common.open_with_data(&args.b, "diff")?;
    let options = glassbox::diff::DiffOptions {
        maps: args.maps.clone(),
        tolerance: args.tolerance,
        no_rank: args.no_rank,
        exact: args.exact,
    };
    let bar = progress_bar(
        common,
        a.tensor_bytes_total() + b.tensor_bytes_total(),
        "measuring",
    );
    let progress = |done: u64| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let pool = glassbox::stats::thread_pool(common.threads.map(usize::from))?;
    let diff = stop_on_fault(&cancel, || {
        glassbox::diff::compute_diff(&a, &b, &options, &pool, &progress, &cancel)
    });
    // As for stats: a file that shrank, grew or was rewritten while read is an error, never a
    // comparison of bytes that are gone.
    a.check_unchanged()?;
    b.check_unchanged()?;
    let diff = diff?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = glassbox::report::diff::DiffReport::new(&a, &b, diff);
    let out = match OutputFormat::from(common.format) {
        OutputFormat::Json => Painted::plain(render_diff_json(&report)),
        OutputFormat::Markdown => Painted::plain(render_diff_markdown(&report)),
        OutputFormat::Text => render_diff_text(&report),
    };
    Ok((out, !report.diff.within_tolerance))
}

/// `glassbox cache`: the models in the local stores.
fn cache(common: &Common) -> Painted {
    use glassbox::render::cache::render_cache;
    let report = glassbox::report::cache::CacheReport::gather();
    Painted::plain(match OutputFormat::from(common.format) {
        OutputFormat::Json => json::to_string(&report),
        OutputFormat::Markdown => render_cache(&report, true),
        OutputFormat::Text => render_cache(&report, false),
    })
}

/// Runs `work` with `cancel` set as soon as a read of a weight file faults (a file shrank while
/// read: `model::guard`), so a long comparison stops within a chunk instead of reading on through
/// the zeros that stand in for the missing bytes; the caller's `check_unchanged` then names the
/// file. One thread polling an atomic every 20 ms.
fn stop_on_fault<T>(cancel: &std::sync::atomic::AtomicBool, work: impl FnOnce() -> T) -> T {
    use glassbox::model::guard::fault_count;
    use std::sync::atomic::{AtomicBool, Ordering};
    let faults = fault_count();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if fault_count() != faults {
                    cancel.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        let out = work();
        done.store(true, Ordering::Relaxed);
        out
    })
}

/// A byte progress bar on stderr, only when stderr is a terminal and `-q` is not given.
fn progress_bar(common: &Common, total: u64, verb: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if common.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            &format!("{{spinner}} {verb} {{bar:40}} {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} eta {{eta}}"),
        )
        .expect("valid template"),
    );
    Some(bar)
}
