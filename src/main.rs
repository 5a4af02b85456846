//! The `glassbox` binary: parse arguments, call the library, map errors to exit codes.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli::run(cli) {
        Ok(out) => match write_stdout(out.stdout.as_bytes()) {
            // diff(1)'s convention: 1 when the inputs differ.
            code if code == ExitCode::SUCCESS && out.differ => ExitCode::from(1),
            code => code,
        },
        Err(e) => {
            // One line: the library's messages already name the file and the fault (and include
            // their source), so the chain is not repeated.
            let message = e.to_string().replace('\n', " ");
            let message = glassbox::render::printable(&message, false);
            let hint = command_typo().map_or_else(String::new, |c| {
                format!(" (did you mean the command `{c}`?)")
            });
            let _ = writeln!(std::io::stderr(), "error: {message}{hint}");
            ExitCode::from(2)
        }
    }
}

/// The command the first argument was probably meant to be (`stat`, `transparancy`), when it is
/// not a path that exists and is at most two edits from a command's name: without a command,
/// the first argument is the model to browse, so a misspelt command reads as a missing model.
/// A panic (a bug in glassbox, never a hostile file: those are errors) ends the process at once
/// from whichever thread it happens on, with one line on stderr and exit code 2, rather than a
/// backtrace (unless `RUST_BACKTRACE` asks for one) or a worker waiting for a thread that died.
/// The TUI wraps this hook: it restores the terminal first, and shows a worker's panic in the UI.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = message.replace('\n', " ");
        let message = glassbox::render::printable(&message, false);
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "error: internal error{place}: {message} (a bug in glassbox; please report it)"
        );
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            let _ = writeln!(stderr, "{backtrace}");
        }
        std::process::exit(2);
    }));
}

fn command_typo() -> Option<String> {
    use clap::CommandFactory;
    let first = std::env::args().nth(1)?;
    if first.starts_with('-')
        || first.contains(['/', '\\', '.'])
        || std::path::Path::new(&first).exists()
    {
        return None;
    }
    let names: Vec<String> = cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    if names.contains(&first) {
        return None;
    }
    names
        .into_iter()
        .map(|name| (glassbox::text::edit_distance(&first, &name, 3), name))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// `--help` and `--version` print and exit 0 as clap does; a usage error is one line on stderr
/// (clap's message without its usage block and blank lines) and exit 2, as every other error.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.render().to_string();
            let message: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            let _ = writeln!(std::io::stderr(), "{} (see --help)", message.join(" "));
            ExitCode::from(2)
        }
    }
}

/// Writes the data; a closed pipe (`glassbox … | head`) ends quietly.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: writing output: {e}");
            ExitCode::from(2)
        }
    }
}
