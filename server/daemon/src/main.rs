//! `lathe`: the daemon and the command line.
//!
//! This is the only crate that knows every other: it loads configuration, sets up tracing,
//! and wires the store, the agent and the front ends together. Commands that share stdout
//! with a protocol (`lsp`, `mcp`) never print to it themselves.

/// `println!` for command output: a stdout closed early (`lathe context … | head`) ends
/// the output quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` with the same rule as [`say!`] (a hung-up terminal fails writes to
/// stderr too, and `lathe run` must still release its sandbox).
macro_rules! esay {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `print!` with the same rule as [`say!`].
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod agents;
mod cli;
mod client;
mod config;
mod daemon;
mod instance;
mod logging;
mod paths;
mod sandboxes;
mod trust;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lathe: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(cli::run(cli));
    // stdin readers of the shims may still be blocked in a read: do not wait for them.
    runtime.shutdown_background();
    code
}
