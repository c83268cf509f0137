//! The Docker backend: one warm container per session (`sleep infinity` under docker-init),
//! created on first use from the session's [`SandboxPolicy`], reused by its later commands,
//! removed when the session ends or idles out.
//!
//! Commands reach the container through an exec agent (`agent.py`, one long-lived
//! `docker exec -i` per container) when the image has `python3`, so a warm command costs a fork
//! instead of a runc exec; otherwise each command is its own docker exec under a shell
//! supervisor (`run.rs`). Both paths give the same contract: streamed bounded output, exit code,
//! timeout killing every process of the command, leftovers of a finished command killed, OOM
//! kills recognised from the container's memory cgroup counter.
//!
//! Invariants: every container carries `lathe.session`, `lathe.daemon`, `lathe.home` and
//! `lathe.pid`; images are never pulled; a container found gone, an agent found dead or an
//! engine found unreachable is forgotten at once (the command fails with a clear error and
//! the next command gets a fresh container); [`DockerSandbox::reap_orphans`] removes the
//! containers of this daemon's id that this instance does not own and those of this home
//! whose owning process is gone.

mod agent;
mod engine;
mod run;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures::FutureExt;
use futures::future::BoxFuture;

pub use engine::engine_host;

use crate::config::{DaemonId, SandboxConfig};
use crate::error::SandboxError;
use crate::exec::{ExecOutcome, ExecRequest, Termination};
use crate::policy::{
    DAEMON_LABEL, HOME_LABEL, PID_LABEL, SESSION_LABEL, SandboxPolicy, SessionSpec, WORKSPACE_MOUNT,
};
use crate::sandbox::{BackendKind, HealthCheck, OutputSender, Sandbox};

/// How to get the default image when it is missing.
pub const IMAGE_ADVICE: &str = "build it offline with `sandbox/image/build.sh` from the Lathe \
     source tree (needs root, debootstrap and a running Docker engine), or set `sandbox.image` \
     to an image present in the engine; images are never pulled";

/// One session's container.
struct Container {
    id: String,
    agent: Option<agent::Agent>,
    policy: SandboxPolicy,
    last_used: Mutex<Instant>,
    oom_kills: AtomicU64,
    busy: AtomicUsize,
}

impl Container {
    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }
}

/// Marks a container busy while a command runs in it (idle removal skips busy ones).
struct BusyGuard(Arc<Container>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Container>>>>;

struct Inner {
    docker: Docker,
    host: String,
    config: SandboxConfig,
    daemon: DaemonId,
    sessions: Mutex<HashMap<String, Slot>>,
    stale: Mutex<Vec<String>>,
    execs: AtomicU64,
}

/// The Docker backend. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct DockerSandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DockerSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerSandbox")
            .field("daemon", &self.inner.daemon)
            .field("image", &self.inner.config.image)
            .finish_non_exhaustive()
    }
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

fn sanitize(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    s
}

impl DockerSandbox {
    /// Connects to the engine (`docker_host` of the config, else `DOCKER_HOST`, else the local
    /// socket) and starts the idle reaper.
    /// Must be called inside a tokio runtime.
    pub async fn connect(config: SandboxConfig, daemon: DaemonId) -> Result<Self, SandboxError> {
        config.validate()?;
        let host = engine_host(config.docker_host.as_deref());
        let docker = engine::connect(&host).await?;
        let idle = Duration::from_secs(config.idle_timeout_secs.max(1));
        let inner = Arc::new(Inner {
            docker,
            host,
            config,
            daemon,
            sessions: Mutex::new(HashMap::new()),
            stale: Mutex::new(Vec::new()),
            execs: AtomicU64::new(0),
        });
        tokio::spawn(idle_reaper(Arc::downgrade(&inner), idle));
        Ok(Self { inner })
    }

    /// Whether the configured image exists in the engine.
    pub async fn image_present(&self) -> Result<bool, SandboxError> {
        self.inner.image_present(&self.inner.config.image).await
    }

    /// The container id of a session, if it has one now.
    pub async fn session_container(&self, session_id: &str) -> Option<String> {
        let slot = self.inner.slot_if_any(session_id)?;
        let guard = slot.lock().await;
        guard.as_ref().map(|c| c.id.clone())
    }

    /// Removes every container labelled with this daemon's id that this instance does not
    /// own (the leftovers of a daemon that died), and every container of this home whose
    /// owning process is gone (a killed `lathe run` or `lathe sandbox exec`). Call once at
    /// daemon start (the idle reaper removes dead processes' containers on its rounds).
    /// Returns the removed container ids.
    pub async fn reap_orphans(&self) -> Result<Vec<String>, SandboxError> {
        self.inner.reap_orphans(true).await
    }

    /// Removes the containers of sessions idle for at least `max_idle` (no command running).
    /// Returns the session ids whose container was removed. Runs periodically on its own with
    /// the configured idle timeout.
    pub async fn remove_idle(&self, max_idle: Duration) -> Vec<String> {
        self.inner.remove_idle(max_idle).await
    }
}

async fn idle_reaper(inner: Weak<Inner>, idle: Duration) {
    let mut tick = tokio::time::interval(idle.min(Duration::from_secs(60)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let removed = inner.remove_idle(idle).await;
        if !removed.is_empty() {
            tracing::info!(?removed, "sandbox: removed idle session containers");
        }
        // A `lathe run` or `lathe sandbox exec` of this home killed meanwhile: its
        // containers need not wait for the next daemon start.
        match inner.reap_orphans(false).await {
            Ok(reaped) if !reaped.is_empty() => {
                tracing::info!(?reaped, "sandbox: removed containers of dead processes");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "sandbox: reaping dead processes' containers failed")
            }
        }
    }
}

impl Inner {
    fn slot(&self, session_id: &str) -> Slot {
        let mut sessions = match self.sessions.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        sessions.entry(session_id.to_owned()).or_default().clone()
    }

    fn slot_if_any(&self, session_id: &str) -> Option<Slot> {
        let sessions = match self.sessions.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        sessions.get(session_id).cloned()
    }

    fn owned_ids(&self) -> Vec<Slot> {
        match self.sessions.lock() {
            Ok(s) => s.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        }
    }

    async fn image_present(&self, image: &str) -> Result<bool, SandboxError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) => match engine::classify(&e) {
                engine::Failure::Gone(_) => Ok(false),
                _ => Err(engine::to_error(&self.host, "inspect image", "-", &e)),
            },
        }
    }

    async fn remove(&self, container_id: &str) -> Result<(), bollard::errors::Error> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self
            .docker
            .remove_container(container_id, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if matches!(engine::classify(&e), engine::Failure::Gone(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes containers forgotten after a failure, when the engine answers again.
    async fn remove_stale(&self) {
        let ids = match self.stale.lock() {
            Ok(mut s) => std::mem::take(&mut *s),
            Err(_) => return,
        };
        for id in ids {
            if let Err(e) = self.remove(&id).await {
                tracing::debug!(container = %id, error = %e, "sandbox: stale container not removed yet");
                if let Ok(mut s) = self.stale.lock() {
                    s.push(id);
                }
            }
        }
    }

    async fn create(&self, policy: SandboxPolicy) -> Result<Container, SandboxError> {
        let session = policy.session_id.clone();
        if !self.image_present(&policy.image).await? {
            return Err(SandboxError::ImageMissing {
                image: policy.image.clone(),
                advice: IMAGE_ADVICE.to_owned(),
            });
        }
        self.remove_stale().await;
        for warning in &policy.warnings {
            tracing::warn!(session = %session, "sandbox: {warning}");
        }
        let spec = policy.container_spec();
        let name = format!(
            "lathe-{}-{}-{}",
            self.daemon,
            sanitize(&session),
            now_millis()
        );
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), engine::create_body(&spec))
            .await
            .map_err(|e| engine::to_error(&self.host, "create container", &session, &e))?;
        let started = async {
            self.docker
                .start_container(&created.id, None)
                .await
                .map_err(|e| engine::to_error(&self.host, "start container", &session, &e))?;
            let started = agent::Agent::start(&self.docker, &created.id)
                .await
                .map_err(|e| engine::to_error(&self.host, "start exec agent", &session, &e))?;
            match started {
                Some((agent, oom)) => Ok((Some(agent), oom)),
                None => {
                    tracing::info!(image = %policy.image, "sandbox: no python3 in the image; one docker exec per command");
                    run::oom_kills(&self.docker, &created.id)
                        .await
                        .map(|oom| (None, oom))
                        .map_err(|e| engine::to_error(&self.host, "check container", &session, &e))
                }
            }
        }
        .await;
        match started {
            Ok((agent, oom)) => Ok(Container {
                id: created.id,
                agent,
                policy,
                last_used: Mutex::new(Instant::now()),
                oom_kills: AtomicU64::new(oom),
                busy: AtomicUsize::new(0),
            }),
            Err(e) => {
                if let Err(rm) = self.remove(&created.id).await {
                    tracing::warn!(error = %rm, "sandbox: could not remove a container that failed to start");
                }
                Err(e)
            }
        }
    }

    /// The session's container, created (or re-created when the policy changed) on demand.
    async fn ensure(&self, session: &SessionSpec) -> Result<Arc<Container>, SandboxError> {
        let policy = SandboxPolicy::resolve(&self.config, &self.daemon, session)?;
        let slot = self.slot(&session.id);
        let mut guard = slot.lock().await;
        if let Some(existing) = guard.as_ref() {
            if existing.policy == policy {
                return Ok(existing.clone());
            }
            let old = existing.id.clone();
            *guard = None;
            if let Err(e) = self.remove(&old).await {
                tracing::warn!(container = %old, error = %e, "sandbox: could not remove container of a changed policy");
                self.forget(old);
            }
        }
        let container = Arc::new(self.create(policy).await?);
        *guard = Some(container.clone());
        Ok(container)
    }

    fn forget(&self, container_id: String) {
        if let Ok(mut s) = self.stale.lock() {
            s.push(container_id);
        }
    }

    /// Drops a session's container after it was found gone or the engine unreachable.
    async fn invalidate(&self, session_id: &str, container_id: &str) {
        if let Some(slot) = self.slot_if_any(session_id) {
            let mut guard = slot.lock().await;
            if guard.as_ref().is_some_and(|c| c.id == container_id) {
                *guard = None;
            }
        }
        self.forget(container_id.to_owned());
    }

    async fn exec(
        &self,
        session: &SessionSpec,
        request: ExecRequest,
        output: Option<OutputSender>,
    ) -> Result<ExecOutcome, SandboxError> {
        let working_dir = request.cwd_under(std::path::Path::new(WORKSPACE_MOUNT))?;
        let container = self.ensure(session).await?;
        container.busy.fetch_add(1, Ordering::SeqCst);
        let _busy = BusyGuard(container.clone());
        let marker = format!(
            "{}-{}-{}",
            self.daemon,
            now_millis(),
            self.execs.fetch_add(1, Ordering::Relaxed)
        );
        let mut env: Vec<String> = request
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        env.push(format!("{}={marker}", run::EXEC_MARKER));
        let timeout = request
            .timeout
            .unwrap_or(Duration::from_secs(self.config.timeout_secs));
        if let Some(agent) = container.agent.as_ref().filter(|a| a.alive()) {
            let started = Instant::now();
            let request = agent::AgentRequest {
                argv: &request.argv,
                env: request.env.into_iter().collect(),
                marker: format!("{}={marker}", run::EXEC_MARKER),
                cwd: working_dir.display().to_string(),
                timeout,
                grace: Duration::from_millis(self.config.kill_grace_ms),
                limit: self.config.max_output_bytes,
            };
            return match agent.run(request, output).await {
                Ok(done) => Ok(self.agent_outcome(&container, done, timeout, started)),
                Err(agent::AgentError::Lost) => Err(self.agent_lost(&session.id, &container).await),
            };
        }
        let plan = run::ExecPlan {
            container: &container.id,
            argv: run::supervised(request.argv),
            env,
            working_dir: working_dir.display().to_string(),
            timeout,
            grace: Duration::from_millis(self.config.kill_grace_ms),
            marker,
            limit: self.config.max_output_bytes,
        };
        let started = Instant::now();
        let raw = match run::run(&self.docker, plan, output).await {
            Ok(raw) => raw,
            Err(e) => {
                let err = engine::to_error(&self.host, "exec", &session.id, &e);
                if matches!(
                    err,
                    SandboxError::EngineUnavailable { .. } | SandboxError::ContainerLost { .. }
                ) {
                    self.invalidate(&session.id, &container.id).await;
                }
                return Err(err);
            }
        };
        if raw.exit_code != Some(0) && !raw.timed_out && !self.running(&container.id).await {
            self.invalidate(&session.id, &container.id).await;
            return Err(SandboxError::ContainerLost {
                session: session.id.clone(),
                detail: "the container stopped while the command ran".to_owned(),
            });
        }
        let termination = if raw.timed_out {
            Termination::TimedOut {
                after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }
        } else {
            let code = i32::try_from(raw.exit_code.unwrap_or(-1)).unwrap_or(-1);
            if code != 0 && self.oom_since_last_check(&container).await {
                Termination::OutOfMemory { code }
            } else {
                Termination::Exited { code }
            }
        };
        if raw.restarted {
            let fresh = run::oom_kills(&self.docker, &container.id)
                .await
                .unwrap_or(0);
            container.oom_kills.store(fresh, Ordering::SeqCst);
        }
        Ok(ExecOutcome {
            termination,
            stdout: raw.stdout,
            stderr: raw.stderr,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    fn agent_outcome(
        &self,
        container: &Container,
        done: agent::AgentOutcome,
        timeout: Duration,
        started: Instant,
    ) -> ExecOutcome {
        let oom = done
            .oom_kills
            .is_some_and(|n| n > container.oom_kills.swap(n, Ordering::SeqCst));
        let termination = match done.exit_code {
            None => Termination::TimedOut {
                after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            },
            Some(code) if code != 0 && oom => Termination::OutOfMemory { code },
            Some(code) => Termination::Exited { code },
        };
        ExecOutcome {
            termination,
            stdout: done.stdout,
            stderr: done.stderr,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The agent stopped answering: the container is forgotten (and removed when the engine
    /// still answers) and the error says why.
    async fn agent_lost(&self, session_id: &str, container: &Container) -> SandboxError {
        self.invalidate(session_id, &container.id).await;
        if let Err(e) = self.docker.ping().await {
            return engine::to_error(&self.host, "exec", session_id, &e);
        }
        let detail = if self.running(&container.id).await {
            "its exec agent stopped answering; the container was removed"
        } else {
            "the container stopped while the command ran"
        };
        self.remove_stale().await;
        SandboxError::ContainerLost {
            session: session_id.to_owned(),
            detail: detail.to_owned(),
        }
    }

    /// Whether the container still runs (false when the engine cannot tell).
    async fn running(&self, container_id: &str) -> bool {
        match self.docker.inspect_container(container_id, None).await {
            Ok(info) => info.state.and_then(|s| s.running).unwrap_or(false),
            Err(e) => {
                tracing::debug!(error = %e, "sandbox: container state unknown");
                false
            }
        }
    }

    async fn oom_since_last_check(&self, container: &Container) -> bool {
        match run::oom_kills(&self.docker, &container.id).await {
            Ok(now) => now > container.oom_kills.swap(now, Ordering::SeqCst),
            Err(e) => {
                tracing::warn!(error = %e, "sandbox: could not read the OOM counter");
                false
            }
        }
    }

    async fn end_session(&self, session_id: &str) -> Result<(), SandboxError> {
        let slot = match self.sessions.lock() {
            Ok(mut s) => s.remove(session_id),
            Err(poisoned) => poisoned.into_inner().remove(session_id),
        };
        let Some(slot) = slot else { return Ok(()) };
        let taken = slot.lock().await.take();
        if let Some(container) = taken {
            self.remove(&container.id)
                .await
                .map_err(|e| engine::to_error(&self.host, "remove container", session_id, &e))?;
        }
        Ok(())
    }

    async fn end_all_sessions(&self) -> Vec<String> {
        let sessions: Vec<String> = match self.sessions.lock() {
            Ok(s) => s.keys().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().keys().cloned().collect(),
        };
        let mut ended = Vec::new();
        for session in sessions {
            match self.end_session(&session).await {
                Ok(()) => ended.push(session),
                Err(e) => {
                    tracing::warn!(%session, error = %e, "sandbox: could not remove a session container")
                }
            }
        }
        ended
    }

    async fn remove_idle(&self, max_idle: Duration) -> Vec<String> {
        let mut removed = Vec::new();
        for slot in self.owned_ids() {
            let mut guard = slot.lock().await;
            let Some(container) = guard.as_ref() else {
                continue;
            };
            if container.busy.load(Ordering::SeqCst) > 0 || container.idle_for() < max_idle {
                continue;
            }
            let (id, session) = (container.id.clone(), container.policy.session_id.clone());
            *guard = None;
            if let Err(e) = self.remove(&id).await {
                tracing::warn!(container = %id, error = %e, "sandbox: could not remove idle container");
                self.forget(id);
            }
            removed.push(session);
        }
        removed
    }

    /// Removes the containers of dead processes of this home, and with `own_label` those
    /// under this backend's label that another process left (a dead daemon's): every
    /// container this process creates, through any backend, carries its pid, so one being
    /// created meanwhile is never taken.
    async fn reap_orphans(&self, own_label: bool) -> Result<Vec<String>, SandboxError> {
        let mut owned = Vec::new();
        for slot in self.owned_ids() {
            if let Some(c) = slot.lock().await.as_ref() {
                owned.push(c.id.clone());
            }
        }
        let mut listed = Vec::new();
        for label in [
            format!("{DAEMON_LABEL}={}", self.daemon),
            format!("{HOME_LABEL}={}", self.daemon.home()),
        ] {
            let filters = HashMap::from([("label".to_owned(), vec![label])]);
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build();
            listed.extend(
                self.docker
                    .list_containers(Some(options))
                    .await
                    .map_err(|e| engine::to_error(&self.host, "list containers", "-", &e))?,
            );
        }
        let mut reaped = Vec::new();
        for c in listed {
            let Some(id) = c.id else { continue };
            let label = |name: &str| c.labels.as_ref().and_then(|l| l.get(name).cloned());
            let ours = label(PID_LABEL) == Some(self.daemon.pid().to_string());
            let mine = label(DAEMON_LABEL).as_deref() == Some(self.daemon.as_str()) && !ours;
            // Another process of this home: left alone while it lives.
            let owner_gone = label(PID_LABEL)
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
            if owned.contains(&id) || reaped.contains(&id) || !((own_label && mine) || owner_gone) {
                continue;
            }
            let session = c
                .labels
                .as_ref()
                .and_then(|l| l.get(SESSION_LABEL).cloned())
                .unwrap_or_default();
            self.remove(&id)
                .await
                .map_err(|e| engine::to_error(&self.host, "remove container", &session, &e))?;
            reaped.push(id);
        }
        Ok(reaped)
    }

    async fn doctor(&self) -> Vec<HealthCheck> {
        let host = &self.host;
        let mut checks = Vec::new();
        match self.docker.version().await {
            Ok(v) => checks.push(HealthCheck::ok(
                "docker engine",
                format!(
                    "Docker {} (API {}) at {host}",
                    v.version.unwrap_or_default(),
                    v.api_version.unwrap_or_default()
                ),
            )),
            Err(e) => {
                checks.push(HealthCheck::error(
                    "docker engine",
                    format!("not reachable at {host}: {e}"),
                    "start the Docker engine (CI: `source .ci/dockerd.sh`), point DOCKER_HOST at it, or set LATHE_SANDBOX=bwrap",
                ));
                return checks;
            }
        }
        checks.push(image_check(
            &self.config.image,
            self.image_present(&self.config.image).await,
        ));
        if let Ok(info) = self.docker.info().await {
            let seccomp = info
                .security_options
                .unwrap_or_default()
                .iter()
                .any(|o| o.contains("name=seccomp"));
            checks.push(if seccomp {
                HealthCheck::ok("seccomp", "the engine applies a seccomp profile")
            } else {
                HealthCheck::warning(
                    "seccomp",
                    "the engine reports no seccomp support",
                    "use a Docker engine built with seccomp (Debian's docker.io is)",
                )
            });
        }
        checks
    }
}

/// The doctor line for the sandbox image.
pub fn image_check(image: &str, present: Result<bool, SandboxError>) -> HealthCheck {
    match present {
        Ok(true) => HealthCheck::ok("sandbox image", format!("{image} is present")),
        Ok(false) => {
            HealthCheck::error("sandbox image", format!("{image} is missing"), IMAGE_ADVICE)
        }
        Err(e) => HealthCheck::error("sandbox image", e.to_string(), IMAGE_ADVICE),
    }
}

impl Sandbox for DockerSandbox {
    fn kind(&self) -> BackendKind {
        BackendKind::Docker
    }

    fn prepare<'a>(&'a self, session: &'a SessionSpec) -> BoxFuture<'a, Result<(), SandboxError>> {
        async move { self.inner.ensure(session).await.map(|_| ()) }.boxed()
    }

    fn exec<'a>(
        &'a self,
        session: &'a SessionSpec,
        request: ExecRequest,
        output: Option<OutputSender>,
    ) -> BoxFuture<'a, Result<ExecOutcome, SandboxError>> {
        self.inner.exec(session, request, output).boxed()
    }

    fn end_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<(), SandboxError>> {
        self.inner.end_session(session_id).boxed()
    }

    fn end_all_sessions(&self) -> BoxFuture<'_, Vec<String>> {
        self.inner.end_all_sessions().boxed()
    }

    fn doctor(&self) -> BoxFuture<'_, Vec<HealthCheck>> {
        self.inner.doctor().boxed()
    }

    fn reap_orphans(&self) -> BoxFuture<'_, Result<Vec<String>, SandboxError>> {
        self.inner.reap_orphans(true).boxed()
    }
}
