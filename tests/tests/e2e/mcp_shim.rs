//! A bare MCP client over `lathe mcp`'s stdio (newline-delimited JSON-RPC), for tests that
//! need many concurrent clients or a client without elicitation; the Python SDK client
//! covers the protocol itself (`mcp_surface.rs`).

use lathe_tests::daemon::LatheHome;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;

/// One `lathe mcp --workspace W` shim with a finished handshake.
pub struct McpShim {
    child: Child,
    stdin: ChildStdin,
    /// Every message the shim wrote, in order (a reader thread drains its stdout).
    messages: mpsc::Receiver<Value>,
    next_id: u64,
}

impl McpShim {
    /// Starts the shim (it connects to `home`'s daemon, starting one if none runs) and
    /// initializes as a client without elicitation.
    pub fn start(home: &LatheHome, workspace: &Path) -> McpShim {
        let mut child = home
            .command()
            .args(["mcp", "--workspace"])
            .arg(workspace)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(message) = serde_json::from_str::<Value>(&line)
                    && sender.send(message).is_err()
                {
                    break;
                }
            }
        });
        let mut shim = McpShim {
            child,
            stdin,
            messages,
            next_id: 1,
        };
        let id = shim.send(
            "initialize",
            json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "lathe-e2e", "version": "1"},
            }),
        );
        shim.response(id);
        shim.notify("notifications/initialized", json!({}));
        shim
    }

    /// Sends a request; returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn write(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits (up to a minute) for the response to request `id`, skipping notifications.
    pub fn response(&mut self, id: u64) -> Value {
        loop {
            let message = self
                .messages
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("no response to request {id}: {e}"));
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }
}

impl Drop for McpShim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
