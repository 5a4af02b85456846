//! The `glassbox` binary: parse arguments, call the library, map errors to exit codes.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on usage errors and 0 for --help/--version.
        Err(e) => e.exit(),
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
