//! A scripted editor for driving the server over an in-memory stream: it frames messages,
//! keeps its own copy of the documents, applies `workspace/applyEdit` like a real editor
//! (checking versions, then sending the incremental `didChange`), answers progress,
//! `showMessageRequest` and `showDocument` as told, and records everything the server sent.

use lathe_edits::{LineIndex, Position, PositionEncoding};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf,
};
use tokio::sync::{mpsc, oneshot};

/// How long any wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// What the editor does with `workspace/applyEdit`.
#[derive(Clone, Debug, PartialEq)]
pub enum OnApplyEdit {
    Apply,
    Refuse(String),
    Ignore,
    /// As Neovim while its user types with the `didChange` still debounced: the buffer is
    /// newer than the edit, so the edit is skipped, yet answered `applied`; then the typing
    /// (this text, appended) arrives as a `didChange`.
    SkipWhileTyping(String),
}

/// How the editor behaves.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub on_apply_edit: OnApplyEdit,
    /// The button pressed for `window/showMessageRequest` (`None`: never answers).
    pub press: Option<String>,
    /// Whether `window/workDoneProgress/create` succeeds.
    pub accept_progress: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            on_apply_edit: OnApplyEdit::Apply,
            press: Some("Allow once".into()),
            accept_progress: true,
        }
    }
}

#[derive(Clone, Debug)]
struct Doc {
    version: i32,
    text: String,
}

struct Shared {
    out: tokio::sync::Mutex<WriteHalf<DuplexStream>>,
    docs: Mutex<HashMap<String, Doc>>,
    pending: Mutex<HashMap<i64, oneshot::Sender<Value>>>,
    behaviour: Mutex<Behaviour>,
    encoding: Mutex<PositionEncoding>,
}

/// One editor connection.
pub struct Editor {
    shared: Arc<Shared>,
    seen: mpsc::UnboundedReceiver<Value>,
    /// Everything seen so far and not yet consumed by a wait, in order.
    backlog: Vec<Value>,
    next_id: i64,
}

pub async fn send_frame(out: &mut WriteHalf<DuplexStream>, body: &[u8]) {
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    out.write_all(header.as_bytes()).await.unwrap();
    out.write_all(body).await.unwrap();
    out.flush().await.unwrap();
}

async fn read_frame(reader: &mut BufReader<ReadHalf<DuplexStream>>) -> Option<Value> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    serde_json::from_slice(&body).ok()
}

/// Converts an LSP range to byte offsets of `text`.
fn offsets(text: &str, range: &Value, encoding: PositionEncoding) -> (usize, usize) {
    let index = LineIndex::new(text);
    let pos = |p: &Value| {
        Position::new(
            p["line"].as_u64().unwrap() as u32,
            p["character"].as_u64().unwrap() as u32,
        )
    };
    (
        index.offset(pos(&range["start"]), encoding),
        index.offset(pos(&range["end"]), encoding),
    )
}

impl Shared {
    async fn send(&self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        send_frame(&mut *self.out.lock().await, &body).await;
    }

    /// Applies a `WorkspaceEdit` to the documents; the `didChange`s to send, or why not.
    fn apply(&self, edit: &Value) -> Result<Vec<Value>, String> {
        let encoding = *self.encoding.lock().unwrap();
        let mut per_doc: Vec<(String, Option<i64>, Vec<Value>)> = Vec::new();
        if let Some(changes) = edit["documentChanges"].as_array() {
            for change in changes {
                let uri = change["textDocument"]["uri"].as_str().unwrap().to_owned();
                let version = change["textDocument"]["version"].as_i64();
                per_doc.push((uri, version, change["edits"].as_array().unwrap().clone()));
            }
        }
        if let Some(changes) = edit["changes"].as_object() {
            for (uri, edits) in changes {
                per_doc.push((uri.clone(), None, edits.as_array().unwrap().clone()));
            }
        }
        let mut docs = self.docs.lock().unwrap();
        let mut notifications = Vec::new();
        for (uri, version, edits) in per_doc {
            let doc = docs
                .get_mut(&uri)
                .ok_or_else(|| format!("{uri} is not open"))?;
            if let Some(version) = version
                && version != i64::from(doc.version)
            {
                return Err(format!(
                    "{uri} is at version {}, not {version}",
                    doc.version
                ));
            }
            let mut sorted = edits.clone();
            sorted.sort_by_key(|e| offsets(&doc.text, &e["range"], encoding).0);
            let mut changes = Vec::new();
            for e in sorted.iter().rev() {
                let (start, end) = offsets(&doc.text, &e["range"], encoding);
                doc.text
                    .replace_range(start..end, e["newText"].as_str().unwrap());
                changes.push(json!({"range": e["range"], "text": e["newText"]}));
            }
            doc.version += 1;
            notifications.push(json!({
                "jsonrpc": "2.0", "method": "textDocument/didChange",
                "params": {"textDocument": {"uri": uri, "version": doc.version},
                           "contentChanges": changes}
            }));
        }
        Ok(notifications)
    }

    /// Appends `typed` to the first document `edit` names, as its user would.
    fn type_at_end(&self, edit: &Value, typed: &str) -> Value {
        let uri = edit["documentChanges"][0]["textDocument"]["uri"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| edit["changes"].as_object()?.keys().next().cloned())
            .unwrap();
        let mut docs = self.docs.lock().unwrap();
        let doc = docs.get_mut(&uri).unwrap();
        doc.text.push_str(typed);
        doc.version += 1;
        json!({
            "jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uri, "version": doc.version},
                       "contentChanges": [{"text": doc.text}]}
        })
    }

    async fn answer(&self, request: &Value) {
        let id = request["id"].clone();
        let method = request["method"].as_str().unwrap_or_default();
        let behaviour = self.behaviour.lock().unwrap().clone();
        let result = match method {
            "workspace/applyEdit" => match behaviour.on_apply_edit {
                OnApplyEdit::Ignore => return,
                OnApplyEdit::SkipWhileTyping(typed) => {
                    self.send(json!({"jsonrpc": "2.0", "id": id, "result": {"applied": true}}))
                        .await;
                    let typing = self.type_at_end(&request["params"]["edit"], &typed);
                    self.send(typing).await;
                    return;
                }
                OnApplyEdit::Refuse(reason) => json!({"applied": false, "failureReason": reason}),
                OnApplyEdit::Apply => match self.apply(&request["params"]["edit"]) {
                    Ok(notifications) => {
                        for n in notifications {
                            self.send(n).await;
                        }
                        json!({"applied": true})
                    }
                    Err(reason) => json!({"applied": false, "failureReason": reason}),
                },
            },
            "window/workDoneProgress/create" => {
                if behaviour.accept_progress {
                    Value::Null
                } else {
                    self.send(json!({"jsonrpc": "2.0", "id": id,
                        "error": {"code": -32603, "message": "no progress here"}}))
                        .await;
                    return;
                }
            }
            "window/showMessageRequest" => match behaviour.press {
                None => return,
                Some(title) => json!({"title": title}),
            },
            "window/showDocument" => json!({"success": true}),
            _ => Value::Null,
        };
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}))
            .await;
    }
}

impl Editor {
    /// An editor on one end of `stream`.
    pub fn new(stream: DuplexStream) -> Self {
        let (read, write) = tokio::io::split(stream);
        let shared = Arc::new(Shared {
            out: tokio::sync::Mutex::new(write),
            docs: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            behaviour: Mutex::new(Behaviour::default()),
            encoding: Mutex::new(PositionEncoding::Utf16),
        });
        let (tx, seen) = mpsc::unbounded_channel();
        let reader_shared = shared.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(read);
            while let Some(message) = read_frame(&mut reader).await {
                let is_response = message.get("method").is_none();
                if is_response {
                    if let Some(id) = message["id"].as_i64()
                        && let Some(waiter) = reader_shared.pending.lock().unwrap().remove(&id)
                    {
                        let _ = waiter.send(message.clone());
                        continue;
                    }
                } else if message.get("id").is_some() {
                    let shared = reader_shared.clone();
                    let request = message.clone();
                    tokio::spawn(async move { shared.answer(&request).await });
                }
                let _ = tx.send(message);
            }
        });
        Self {
            shared,
            seen,
            backlog: Vec::new(),
            next_id: 0,
        }
    }

    pub fn behave(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.shared.behaviour.lock().unwrap());
    }

    /// Sends raw bytes (for malformed input).
    pub async fn send_raw(&self, bytes: &[u8]) {
        let mut out = self.shared.out.lock().await;
        out.write_all(bytes).await.unwrap();
        out.flush().await.unwrap();
    }

    /// Sends a request and waits for its response (the whole response object).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id, tx);
        self.shared
            .send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        tokio::time::timeout(PATIENCE, rx)
            .await
            .unwrap_or_else(|_| panic!("no response to {method}"))
            .unwrap()
    }

    /// Sends a request and returns its `result`, failing on an error.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response["result"].clone()
    }

    pub async fn notify(&self, method: &str, params: Value) {
        self.shared
            .send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// `initialize` + `initialized` with these capabilities; returns the result.
    pub async fn initialize(&mut self, root: &str, capabilities: Value, options: Value) -> Value {
        self.initialize_as("test-editor", root, capabilities, options)
            .await
    }

    /// `initialize` + `initialized` under a client name.
    pub async fn initialize_as(
        &mut self,
        name: &str,
        root: &str,
        capabilities: Value,
        options: Value,
    ) -> Value {
        let result = self
            .call(
                "initialize",
                json!({"processId": null, "rootUri": root, "capabilities": capabilities,
                       "clientInfo": {"name": name}, "initializationOptions": options}),
            )
            .await;
        let encoding = match result["capabilities"]["positionEncoding"].as_str() {
            Some("utf-8") => PositionEncoding::Utf8,
            _ => PositionEncoding::Utf16,
        };
        *self.shared.encoding.lock().unwrap() = encoding;
        self.notify("initialized", json!({})).await;
        result
    }

    pub async fn open(&self, uri: &str, language: &str, text: &str) {
        self.shared.docs.lock().unwrap().insert(
            uri.to_owned(),
            Doc {
                version: 1,
                text: text.to_owned(),
            },
        );
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        )
        .await;
    }

    /// Types: replaces `range` (LSP JSON) with `text`, like a user.
    pub async fn edit(&self, uri: &str, range: Value, text: &str) {
        let version = {
            let mut docs = self.shared.docs.lock().unwrap();
            let encoding = *self.shared.encoding.lock().unwrap();
            let doc = docs.get_mut(uri).unwrap();
            let (start, end) = offsets(&doc.text, &range, encoding);
            doc.text.replace_range(start..end, text);
            doc.version += 1;
            doc.version
        };
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"range": range, "text": text}]}),
        )
        .await;
    }

    /// The editor's copy of a document.
    pub fn text(&self, uri: &str) -> String {
        self.shared.docs.lock().unwrap()[uri].text.clone()
    }

    /// Waits for a message from the server matching `pred` (earlier unmatched ones stay
    /// available to later waits).
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let message = tokio::time::timeout_at(deadline, self.seen.recv())
                .await
                .unwrap_or_else(|_| panic!("waited in vain for {what}; seen: {:#?}", self.backlog))
                .unwrap_or_else(|| panic!("the server closed while waiting for {what}"));
            if pred(&message) {
                return message;
            }
            self.backlog.push(message);
        }
    }

    /// Waits for a notification or request by method.
    pub async fn wait_method(&mut self, method: &str) -> Value {
        let wanted = method.to_owned();
        self.wait_for(method, move |m| m["method"] == wanted.as_str())
            .await
    }

    /// Waits for the `$/progress` end of a run and returns every progress value of its token
    /// in order.
    pub async fn progress_until_end(&mut self, token: &Value) -> Vec<Value> {
        let mut values = Vec::new();
        loop {
            let t = token.clone();
            let message = self
                .wait_for("progress", move |m| {
                    m["method"] == "$/progress" && m["params"]["token"] == t
                })
                .await;
            let value = message["params"]["value"].clone();
            let end = value["kind"] == "end";
            values.push(value);
            if end {
                return values;
            }
        }
    }

    /// Messages seen and not consumed, with those from now on until `method` arrives.
    pub fn backlog(&self) -> &[Value] {
        &self.backlog
    }

    /// Closes the editor's side of the stream (the client exits).
    pub async fn close(self) {
        let mut out = self.shared.out.lock().await;
        let _ = out.shutdown().await;
    }
}

/// Capabilities of a modern editor (UTF-8 and UTF-16 offered, document changes,
/// progress, message actions, show document, resolve of edits).
pub fn modern_caps() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-8", "utf-16"]},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "window": {"workDoneProgress": true, "showMessage": {"messageActionItem": {}},
                   "showDocument": {"support": true}},
        "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]},
                         "dataSupport": true,
                         "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "refactor", "source"]}}}}
    })
}

/// Capabilities of an old editor: UTF-16 only, no document changes, no resolve.
pub fn utf16_caps() -> Value {
    json!({
        "workspace": {"applyEdit": true},
        "window": {"workDoneProgress": true, "showMessage": {"messageActionItem": {}}}
    })
}
