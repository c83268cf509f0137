//! tracing: human-readable lines on stderr and a daily rolling log file under the state dir.
//!
//! Nothing is ever written to stdout here: `lathe lsp` and `lathe mcp` own stdout for their
//! protocol. `LATHE_LOG` (an `EnvFilter` directive) sets the level, `info` by default.
//! Colours only on a terminal, never in the file.

use std::io::IsTerminal;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

/// The default field format under a type of its own. tracing-subscriber keeps a span's
/// fields formatted once per formatter type, so a file layer sharing stderr's type would
/// write stderr's colour codes into every span of the file.
struct FileFields(DefaultFields);

impl<'writer> FormatFields<'writer> for FileFields {
    fn format_fields<R: RecordFields>(
        &self,
        writer: Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// Keeps the file writer flushing; hold it until the process exits.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Installs the global subscriber. `log_dir` adds the rolling file; `quiet` keeps stderr to
/// warnings (for short CLI commands).
pub fn init(log_dir: Option<&std::path::Path>, quiet: bool) -> LogGuard {
    let filter = || {
        EnvFilter::try_from_env("LATHE_LOG")
            .unwrap_or_else(|_| EnvFilter::new(if quiet { "warn" } else { "info" }))
    };
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(filter());
    let (file_layer, guard) = match log_dir.and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("lathe")
            .filename_suffix("log")
            .max_log_files(7)
            .build(dir)
            .ok()
    }) {
        Some(appender) => {
            // The default queue holds 128,000 lines, all allocated at start (~4 MB of an
            // idle daemon); 4,096 is plenty for a log written at human pace. A full queue
            // drops lines rather than block a request.
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(4096)
                .finish(appender);
            let layer = fmt::layer()
                .fmt_fields(FileFields(DefaultFields::new()))
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(
                    EnvFilter::try_from_env("LATHE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
                );
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    LogGuard { _file: guard }
}
