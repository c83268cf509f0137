//! The boundary with the Docker Engine API: connecting (local socket or `DOCKER_HOST`, API
//! version negotiated down to the engine's), classifying client errors into
//! [`SandboxError`]s, and converting a [`ContainerSpec`] into bollard's create body.

use std::collections::HashMap;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, Mount, MountBindOptions, MountBindOptionsPropagationEnum,
    MountType,
};

use crate::error::SandboxError;
use crate::spec::ContainerSpec;

/// The engine address to use: the configured one, else `DOCKER_HOST`, else the local socket.
pub fn engine_host(configured: Option<&str>) -> String {
    configured
        .map(str::to_owned)
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
}

/// Connects to the engine at `host` and negotiates the API version (this is also the
/// liveness check).
pub async fn connect(host: &str) -> Result<Docker, SandboxError> {
    let unavailable = |e: DockerError| SandboxError::EngineUnavailable {
        host: host.to_owned(),
        detail: e.to_string(),
    };
    let docker = Docker::connect_with_host(host).map_err(unavailable)?;
    docker.negotiate_version().await.map_err(unavailable)
}

/// How an engine error should be treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The engine is unreachable (connection refused, reset, timed out).
    Unavailable(String),
    /// The object is gone or unusable (404 no such container/exec, 409 not running).
    Gone(String),
    /// The engine answered with another error.
    Refused(String),
}

/// Classifies a bollard error.
pub fn classify(err: &DockerError) -> Failure {
    match err {
        DockerError::DockerResponseServerError {
            status_code: 404 | 409,
            message,
        } => Failure::Gone(message.clone()),
        DockerError::DockerResponseServerError { message, .. } => Failure::Refused(message.clone()),
        other => Failure::Unavailable(other.to_string()),
    }
}

/// Turns an error of the engine at `host`, met while doing `action`, into a [`SandboxError`]
/// for `session`.
pub fn to_error(
    host: &str,
    action: &'static str,
    session: &str,
    err: &DockerError,
) -> SandboxError {
    match classify(err) {
        Failure::Unavailable(detail) => SandboxError::EngineUnavailable {
            host: host.to_owned(),
            detail,
        },
        Failure::Gone(detail) => SandboxError::ContainerLost {
            session: session.to_owned(),
            detail,
        },
        Failure::Refused(detail) => SandboxError::Engine { action, detail },
    }
}

/// bollard's create body for `spec`.
pub fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mounts = spec
        .mounts
        .iter()
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: Some(m.source.display().to_string()),
            typ: Some(MountType::BIND),
            read_only: Some(m.read_only),
            bind_options: Some(MountBindOptions {
                propagation: Some(MountBindOptionsPropagationEnum::RPRIVATE),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let host_config = HostConfig {
        init: Some(spec.init),
        network_mode: Some(spec.network_mode.clone()),
        cap_drop: Some(spec.cap_drop.clone()),
        security_opt: Some(spec.security_opt.clone()),
        pids_limit: Some(spec.pids_limit),
        memory: Some(spec.memory),
        memory_swap: Some(spec.memory_swap),
        nano_cpus: Some(spec.nano_cpus),
        readonly_rootfs: Some(spec.readonly_rootfs),
        tmpfs: Some(
            spec.tmpfs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ),
        ipc_mode: Some(spec.ipc_mode.clone()),
        shm_size: Some(spec.shm_size),
        mounts: Some(mounts),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: Some(spec.cmd.clone()),
        user: Some(spec.user.clone()),
        working_dir: Some(spec.working_dir.clone()),
        hostname: Some(spec.hostname.clone()),
        env: Some(spec.env.clone()),
        labels: Some(
            spec.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ),
        network_disabled: Some(spec.network_mode == "none"),
        host_config: Some(host_config),
        ..Default::default()
    }
}
