//! `lathe doctor`: checks the setup; every line says OK or exactly what to do.
//!
//! Exit code 0 when nothing failed (warnings allowed), 1 otherwise.

use crate::config::{self, NO_MODEL_HELP};
use crate::instance;
use crate::paths::Paths;
use lathe_sandbox::CheckStatus;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, verdict: Verdict, what: &str, detail: impl AsRef<str>) {
        let tag = match verdict {
            Verdict::Ok => "OK  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        self.failed |= verdict == Verdict::Fail;
        say!("{tag}  {what:<10} {}", detail.as_ref());
    }
}

pub async fn run(paths: Paths) -> anyhow::Result<ExitCode> {
    let mut report = Report { failed: false };
    let workspace = std::env::current_dir().ok();
    let loaded = config::load(&paths, workspace.as_deref());

    if loaded.problems.is_empty() {
        let files: Vec<String> = loaded
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let detail = if files.is_empty() {
            "no config files (defaults and environment)".to_owned()
        } else {
            files.join(", ")
        };
        report.line(Verdict::Ok, "config", detail);
    }
    for problem in &loaded.problems {
        report.line(
            Verdict::Fail,
            "config",
            format!("{problem} (fix it; the file is ignored until then)"),
        );
    }

    if let Some(workspace) = &workspace {
        let named = crate::trust::check(&paths, workspace);
        if named.untrusted() {
            report.line(Verdict::Warn, "trust", named.advice(workspace));
        }
    }
    check_model(&mut report, &loaded.config.model).await;
    check_sandbox(&mut report, &loaded.config.sandbox, &paths).await;
    check_skills(&mut report, &paths, workspace.as_deref()).await;

    match lathe_store::Store::open(&paths.store_file()) {
        Ok(store) => {
            let sessions = store.sessions().map(|s| s.len()).unwrap_or(0);
            report.line(
                Verdict::Ok,
                "store",
                format!(
                    "{} ({sessions} sessions, {} bytes)",
                    store.path().display(),
                    store.size_bytes()
                ),
            );
        }
        Err(error) => report.line(
            Verdict::Fail,
            "store",
            format!(
                "{error}; check the permissions of {}",
                paths.state_dir.display()
            ),
        ),
    }

    match (instance::is_locked(&paths), instance::read_info(&paths)) {
        (true, Some(info)) => report.line(
            Verdict::Ok,
            "daemon",
            format!("running, pid {}, {}", info.pid, info.url),
        ),
        _ => report.line(
            Verdict::Ok,
            "daemon",
            "not running; `lathe serve` starts it (editors start it on demand)",
        ),
    }

    Ok(if report.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn check_model(report: &mut Report, model: &lathe_protocol::config::ModelConfig) {
    let (Some(base_url), Some(name)) = (&model.base_url, &model.model) else {
        report.line(Verdict::Fail, "model", NO_MODEL_HELP);
        return;
    };
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            report.line(
                Verdict::Fail,
                "model",
                format!("cannot build an HTTP client: {error}"),
            );
            return;
        }
    };
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut request = client.get(&url);
    if let Some(key) = &model.api_key {
        request = request.bearer_auth(key);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            report.line(Verdict::Ok, "model", format!("{name} at {base_url} (endpoint answers)"))
        }
        Ok(response) if matches!(response.status().as_u16(), 401 | 403) => report.line(
            Verdict::Fail,
            "model",
            format!("{base_url} refused the API key ({}); set LATHE_API_KEY or [model] api_key", response.status()),
        ),
        Ok(response) => report.line(
            Verdict::Warn,
            "model",
            format!("{base_url} answers but GET /models gave {}; chat may still work — is the base URL the API root including /v1?", response.status()),
        ),
        Err(error) => report.line(
            Verdict::Fail,
            "model",
            format!("cannot reach {url}: {error}; is the model server running and LATHE_BASE_URL right?"),
        ),
    }
}

async fn check_sandbox(report: &mut Report, config: &lathe_sandbox::SandboxConfig, paths: &Paths) {
    let daemon = lathe_sandbox::DaemonId::from_home(&paths.state_dir);
    for check in lathe_sandbox::doctor(config, &daemon).await {
        let verdict = match check.status {
            CheckStatus::Ok => Verdict::Ok,
            CheckStatus::Warning => Verdict::Warn,
            CheckStatus::Error => Verdict::Fail,
        };
        let detail = match &check.advice {
            Some(advice) => format!("{}: {}; {advice}", check.name, check.detail),
            None => format!("{}: {}", check.name, check.detail),
        };
        report.line(verdict, "sandbox", detail);
    }
}

async fn check_skills(report: &mut Report, paths: &Paths, workspace: Option<&std::path::Path>) {
    let skills = lathe_skills::Registry::new(paths.skill_roots(workspace)).snapshot();
    let problems = skills.problems();
    if problems.is_empty() {
        report.line(
            Verdict::Ok,
            "skills",
            format!("{} skills load cleanly", skills.skills().len()),
        );
    }
    for problem in problems {
        let verdict = match problem.severity {
            lathe_skills::Severity::Error => Verdict::Fail,
            lathe_skills::Severity::Warning => Verdict::Warn,
        };
        report.line(verdict, "skills", problem.to_string());
    }
    let Some(workspace) = workspace else { return };
    let available = super::skills::available_tools(paths, workspace).await;
    for skill in skills.listing(Some(&available)).skills {
        for missing in skill.missing_tools {
            report.line(
                Verdict::Warn,
                "skills",
                format!("/{} needs `{}`: {}", skill.name, missing.tool, missing.hint),
            );
        }
    }
}
