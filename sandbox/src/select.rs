//! Choosing a backend and checking the setup.
//!
//! Choice: `LATHE_SANDBOX`, else the config's `backend`; `auto` means docker if the engine
//! answers and the image exists, else bwrap if installed, else none with a warning. An explicit
//! choice that cannot work is an error, never a silent fallback.

use std::sync::Arc;
use std::time::Duration;

use crate::bwrap::BwrapSandbox;
use crate::config::{BackendChoice, DaemonId, SandboxConfig};
use crate::docker::{DockerSandbox, IMAGE_ADVICE, engine_host, image_check};
use crate::error::SandboxError;
use crate::host::HostSandbox;
use crate::sandbox::{BackendKind, CheckStatus, HealthCheck, Sandbox};

/// How long `auto` waits for the Docker engine to answer.
const ENGINE_PROBE: Duration = Duration::from_secs(5);

/// The chosen backend and why.
pub struct Selection {
    /// The backend to use.
    pub sandbox: Arc<dyn Sandbox>,
    /// Why a better backend was not chosen (show these to the user).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("kind", &self.sandbox.kind())
            .field("warnings", &self.warnings)
            .finish()
    }
}

async fn docker_with_image(
    config: &SandboxConfig,
    daemon: &DaemonId,
) -> Result<DockerSandbox, SandboxError> {
    let docker = tokio::time::timeout(
        ENGINE_PROBE,
        DockerSandbox::connect(config.clone(), daemon.clone()),
    )
    .await
    .map_err(|_| SandboxError::EngineUnavailable {
        host: engine_host(config.docker_host.as_deref()),
        detail: format!("no answer within {} s", ENGINE_PROBE.as_secs()),
    })??;
    if docker.image_present().await? {
        Ok(docker)
    } else {
        Err(SandboxError::ImageMissing {
            image: config.image.clone(),
            advice: IMAGE_ADVICE.to_owned(),
        })
    }
}

/// Picks the backend for `config` (with `LATHE_SANDBOX` applied from the process environment).
/// Must be called inside a tokio runtime.
pub async fn select(config: &SandboxConfig, daemon: &DaemonId) -> Result<Selection, SandboxError> {
    let mut config = config.clone();
    config.apply_env(|k| std::env::var(k).ok())?;
    let one = |sandbox: Arc<dyn Sandbox>| Selection {
        sandbox,
        warnings: Vec::new(),
    };
    match config.backend {
        BackendChoice::Docker => Ok(one(Arc::new(docker_with_image(&config, daemon).await?))),
        BackendChoice::Bwrap => Ok(one(Arc::new(BwrapSandbox::new(config, daemon.clone())?))),
        BackendChoice::None => Ok(one(Arc::new(HostSandbox::new(config)))),
        BackendChoice::Auto => {
            let mut warnings = Vec::new();
            match docker_with_image(&config, daemon).await {
                Ok(docker) => return Ok(one(Arc::new(docker))),
                Err(e) => warnings.push(format!("docker sandbox unavailable: {e}")),
            }
            match BwrapSandbox::new(config.clone(), daemon.clone()) {
                Ok(bwrap) => {
                    return Ok(Selection {
                        sandbox: Arc::new(bwrap),
                        warnings,
                    });
                }
                Err(e) => warnings.push(e.to_string()),
            }
            warnings.push(
                "no sandbox available: commands run on the host and each one needs approval"
                    .to_owned(),
            );
            Ok(Selection {
                sandbox: Arc::new(HostSandbox::new(config)),
                warnings,
            })
        }
    }
}

/// Every sandbox check for `lathe doctor`: the backend that would be chosen, the Docker engine
/// and image, bubblewrap. Each failing line carries exact advice.
pub async fn doctor(config: &SandboxConfig, daemon: &DaemonId) -> Vec<HealthCheck> {
    let mut checks = Vec::new();
    match select(config, daemon).await {
        Ok(selection) => {
            let kind = selection.sandbox.kind();
            let detail = format!("{} backend selected", kind.name());
            checks.push(
                if selection.warnings.is_empty() && kind != BackendKind::None {
                    HealthCheck::ok("sandbox backend", detail)
                } else {
                    HealthCheck::warning("sandbox backend", detail, selection.warnings.join("; "))
                },
            );
        }
        Err(e) => checks.push(HealthCheck::error(
            "sandbox backend",
            e.to_string(),
            "fix the error or choose another backend with LATHE_SANDBOX=docker|bwrap|none",
        )),
    }
    match tokio::time::timeout(
        ENGINE_PROBE,
        DockerSandbox::connect(config.clone(), daemon.clone()),
    )
    .await
    {
        Ok(Ok(docker)) => checks.extend(docker.doctor().await),
        Ok(Err(e)) => {
            checks.push(HealthCheck::error(
                "docker engine",
                e.to_string(),
                "start the Docker engine (CI: `source .ci/dockerd.sh`) or point DOCKER_HOST at one",
            ));
            checks.push(image_check(&config.image, Err(e)));
        }
        Err(_) => checks.push(HealthCheck::error(
            "docker engine",
            format!(
                "no answer from {} within {} s",
                engine_host(config.docker_host.as_deref()),
                ENGINE_PROBE.as_secs()
            ),
            "check that dockerd is running and answering",
        )),
    }
    match BwrapSandbox::new(config.clone(), daemon.clone()) {
        Ok(bwrap) => checks.extend(bwrap.doctor().await),
        Err(e) => checks.push(HealthCheck {
            name: "bwrap".to_owned(),
            status: CheckStatus::Warning,
            detail: e.to_string(),
            advice: Some("apt-get install bubblewrap".to_owned()),
        }),
    }
    checks
}
