//! A real headless Chromium driven over W3C WebDriver (ChromeDriver), for the dashboard's
//! end-to-end tests: navigate, find by CSS selector, click, type, read text, wait.
//!
//! Invariants: each [`Browser`] has its own ChromeDriver process on a free port and its own
//! throwaway profile; dropping it ends the WebDriver session (ChromeDriver then closes
//! Chromium) and kills the driver.

use crate::http::{Response, send};
use crate::peers;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium session.
    pub fn start() -> anyhow::Result<Browser> {
        let (chromium, chromedriver) = peers::browser();
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", chromedriver.display()))?;
        let profile = tempfile::tempdir()?;
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while send(&browser.base, "GET", "/status", &[], None)
            .ok()
            .and_then(|r| r.json().ok())
            .is_none_or(|status| status["value"]["ready"] != true)
        {
            if Instant::now() > deadline {
                bail!("ChromeDriver did not become ready on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", browser._profile.path().display()),
                ],
            },
        }}});
        let created = browser.command("POST", "/session", &capabilities)?;
        browser.session = created["sessionId"]
            .as_str()
            .context("no sessionId in the new session")?
            .to_owned();
        Ok(browser)
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.session_command("POST", "url", &json!({ "url": url }))?;
        Ok(())
    }

    /// The address the browser shows now.
    pub fn current_url(&self) -> anyhow::Result<String> {
        let url = self.session_command("GET", "url", &Value::Null)?;
        Ok(url.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `script` (a function body; its arguments are `arguments[i]`) in the page.
    pub fn execute(&self, script: &str, args: &[Value]) -> anyhow::Result<Value> {
        self.session_command(
            "POST",
            "execute/sync",
            &json!({ "script": script, "args": args }),
        )
    }

    /// The visible text of the first element matching `css`, `None` if there is none.
    pub fn text(&self, css: &str) -> anyhow::Result<Option<String>> {
        let text = self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
            &[json!(css)],
        )?;
        Ok(text.as_str().map(str::to_owned))
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> anyhow::Result<usize> {
        let count = self.execute(
            "return document.querySelectorAll(arguments[0]).length;",
            &[json!(css)],
        )?;
        Ok(count.as_u64().unwrap_or(0) as usize)
    }

    /// Waits until the text of `css` satisfies `want`, and returns it.
    pub fn wait_for_text(
        &self,
        css: &str,
        timeout: Duration,
        want: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text(css)?;
            if let Some(text) = text.as_deref().filter(|t| want(t)) {
                return Ok(text.to_owned());
            }
            if Instant::now() > deadline {
                bail!("after {timeout:?}, {css} shows {text:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `count(css)` satisfies `want`, and returns it.
    pub fn wait_for_count(
        &self,
        css: &str,
        timeout: Duration,
        want: impl Fn(usize) -> bool,
    ) -> anyhow::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.count(css)?;
            if want(count) {
                return Ok(count);
            }
            if Instant::now() > deadline {
                bail!("after {timeout:?}, {count} elements match {css}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the first element matching `css`, as a user would.
    pub fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.find(css)?;
        self.session_command("POST", &format!("element/{element}/click"), &json!({}))?;
        Ok(())
    }

    /// Types `text` into the first element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.find(css)?;
        self.session_command(
            "POST",
            &format!("element/{element}/value"),
            &json!({ "text": text }),
        )?;
        Ok(())
    }

    /// Empties the input matching `css`.
    pub fn clear(&self, css: &str) -> anyhow::Result<()> {
        let element = self.find(css)?;
        self.session_command("POST", &format!("element/{element}/clear"), &json!({}))?;
        Ok(())
    }

    fn find(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .session_command(
                "POST",
                "element",
                &json!({ "using": "css selector", "value": css }),
            )
            .with_context(|| format!("no element matches {css}"))?;
        Ok(found[ELEMENT]
            .as_str()
            .with_context(|| format!("no element reference in {found}"))?
            .to_owned())
    }

    fn session_command(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.command(method, &format!("/session/{}/{path}", self.session), body)
    }

    /// One WebDriver command: its `value`, or the driver's error.
    fn command(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let body = (method == "POST").then_some(body);
        let response: Response = send(&self.base, method, path, &[], body)?;
        let mut answer = response.json()?;
        if response.status != 200 {
            bail!(
                "WebDriver {method} {path}: {} {}",
                answer["value"]["error"],
                answer["value"]["message"]
            );
        }
        Ok(answer["value"].take())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = send(
                &self.base,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
