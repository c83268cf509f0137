//! Backend choice in `auto`: docker when the engine answers and the image exists, else
//! bubblewrap, each fallback with a warning that says why (and, for a missing image, how to
//! build it).

use crate::support::{Fixture, config};
use lathe_sandbox::{BackendChoice, BackendKind, SandboxConfig, WorkspaceAccess};

async fn choose(config: SandboxConfig) -> (BackendKind, Vec<String>) {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let selection = lathe_sandbox::select(
        &SandboxConfig {
            backend: BackendChoice::Auto,
            ..config
        },
        &fx.daemon,
    )
    .await
    .unwrap();
    (selection.sandbox.kind(), selection.warnings)
}

#[tokio::test]
async fn auto_takes_docker_when_the_engine_and_image_are_there() {
    let (kind, warnings) = choose(config()).await;
    assert_eq!((kind, warnings), (BackendKind::Docker, Vec::new()));
}

#[tokio::test]
async fn auto_falls_back_to_bwrap_without_an_engine_and_says_why() {
    let (kind, warnings) = choose(SandboxConfig {
        docker_host: Some("unix:///nonexistent/docker.sock".into()),
        ..config()
    })
    .await;
    assert_eq!(kind, BackendKind::Bwrap);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("docker sandbox unavailable:")
            && warnings[0].contains("/nonexistent/docker.sock"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn auto_falls_back_to_bwrap_without_the_image_and_says_how_to_build_it() {
    let (kind, warnings) = choose(SandboxConfig {
        image: "lathe-sandbox:not-built".into(),
        ..config()
    })
    .await;
    assert_eq!(kind, BackendKind::Bwrap);
    assert!(
        warnings.len() == 1 && warnings[0].contains("sandbox/image/build.sh"),
        "{warnings:?}"
    );
}
