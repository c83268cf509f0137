//! Policy resolution against real directories: owner, `.git`, root-owned fallback.

use lathe_sandbox::{
    DaemonId, SandboxConfig, SandboxError, SandboxPolicy, SessionSpec, UserSetting, WorkspaceAccess,
};
use pretty_assertions::assert_eq;

use crate::support::{Fixture, OWNER, chown_tree};

#[test]
fn the_workspace_owner_and_git_dir_are_found() {
    let fx = Fixture::new(WorkspaceAccess::ReadOnly);
    let policy =
        SandboxPolicy::resolve(&SandboxConfig::default(), &fx.daemon, &fx.session).unwrap();
    let ws = fx.workspace().canonicalize().unwrap();
    assert_eq!(
        (
            policy.uid,
            policy.gid,
            policy.workspace.clone(),
            policy.git_dir.clone(),
            policy.warnings.clone()
        ),
        (OWNER, OWNER, ws.clone(), Some(ws.join(".git")), vec![])
    );
    assert_eq!(policy.access, WorkspaceAccess::ReadOnly);
}

#[test]
fn a_root_owned_workspace_runs_as_nobody_with_a_warning() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    chown_tree(fx.workspace(), 0);
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(fx.workspace()).unwrap());
    let policy =
        SandboxPolicy::resolve(&SandboxConfig::default(), &fx.daemon, &fx.session).unwrap();
    if owner == 0 {
        assert_eq!((policy.uid, policy.gid), (65534, 65534));
        assert_eq!(policy.warnings.len(), 1);
        assert!(
            policy.warnings[0].contains("owned by root"),
            "{}",
            policy.warnings[0]
        );
    }
    let explicit = SandboxConfig {
        user: UserSetting::Fixed { uid: 0, gid: 0 },
        ..SandboxConfig::default()
    };
    let policy = SandboxPolicy::resolve(&explicit, &fx.daemon, &fx.session).unwrap();
    assert_eq!((policy.uid, policy.gid, policy.warnings), (0, 0, vec![]));
}

#[test]
fn a_missing_workspace_is_a_clear_error() {
    let session = SessionSpec {
        id: "s".into(),
        workspace: "/nonexistent/lathe-ws".into(),
        access: WorkspaceAccess::WorkspaceWrite,
    };
    let err = SandboxPolicy::resolve(
        &SandboxConfig::default(),
        &DaemonId::from_home("/h".as_ref()),
        &session,
    )
    .unwrap_err();
    assert!(matches!(err, SandboxError::Workspace { .. }));
    assert_eq!(
        err.to_string(),
        "workspace /nonexistent/lathe-ws: No such file or directory (os error 2)"
    );
}
