//! What the service's integration tests share.

use platter_model::AuthContext;
use platter_service::{AuthRequest, Platter, ProjectScope, UserRef};

/// Bootstraps identity with admin password `pw` and returns the admin's
/// context on project `admin`.
pub async fn bootstrap_admin(platter: &Platter) -> AuthContext {
    platter.bootstrap(Some("pw")).await.unwrap();
    let token = platter
        .authenticate(&AuthRequest {
            methods: vec!["password".into()],
            password: Some((
                UserRef {
                    name: Some("admin".into()),
                    ..Default::default()
                },
                "pw".into(),
            )),
            project: Some(ProjectScope {
                name: Some("admin".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    token.info.auth_context().unwrap()
}
