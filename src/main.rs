//! The `glassbox` binary: parse arguments, call the library, map errors to exit codes.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(2)
        }
    }
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
