//! The northbound API's callers checked by the Kubernetes API server: a TokenReview tells who
//! a bearer token is, a SubjectAccessReview whether RBAC lets that user do the call's
//! [`Access`] (see `cwmp_edge::api_access`). A user who may only read devices in namespace
//! `tenant-a` with kubectl may only read them there through the API too.

use std::collections::BTreeMap;

use cwmp_edge::api_access::{Access, Authorizer, BoxFuture, Caller, Denied};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

/// Checks API callers with TokenReview and SubjectAccessReview.
pub struct KubernetesAuthorizer {
    client: Client,
}

impl KubernetesAuthorizer {
    /// Reviews through `client` (which needs `create` on tokenreviews and
    /// subjectaccessreviews).
    pub fn new(client: Client) -> KubernetesAuthorizer {
        KubernetesAuthorizer { client }
    }
}

fn unavailable(error: kube::Error) -> Denied {
    Denied::Unavailable(error.to_string())
}

impl Authorizer for KubernetesAuthorizer {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, Denied>> {
        Box::pin(async move {
            let api: Api<TokenReview> = Api::all(self.client.clone());
            let review = TokenReview {
                spec: TokenReviewSpec {
                    token: Some(token.to_string()),
                    ..TokenReviewSpec::default()
                },
                ..TokenReview::default()
            };
            let reviewed = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(unavailable)?;
            let status = reviewed.status.unwrap_or_default();
            let user = status.user.unwrap_or_default();
            match (status.authenticated, user.username) {
                (Some(true), Some(name)) => Ok(Caller {
                    user: name,
                    uid: user.uid.unwrap_or_default(),
                    groups: user.groups.unwrap_or_default(),
                }),
                _ => Err(Denied::Unauthenticated(format!(
                    "the bearer token is not valid{}",
                    status.error.map(|e| format!(": {e}")).unwrap_or_default()
                ))),
            }
        })
    }

    fn allowed<'a>(
        &'a self,
        caller: &'a Caller,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<bool, Denied>> {
        Box::pin(async move {
            let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(caller.user.clone()),
                    uid: Some(caller.uid.clone()).filter(|u| !u.is_empty()),
                    groups: Some(caller.groups.clone()),
                    extra: None::<BTreeMap<String, Vec<String>>>,
                    resource_attributes: Some(ResourceAttributes {
                        group: Some("kubeacs.io".to_string()),
                        version: Some("v1alpha1".to_string()),
                        resource: Some(access.resource.clone()),
                        verb: Some(access.verb.to_string()),
                        namespace: access.namespace.clone(),
                        name: access.name.clone(),
                        ..ResourceAttributes::default()
                    }),
                    ..SubjectAccessReviewSpec::default()
                },
                ..SubjectAccessReview::default()
            };
            let reviewed = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(unavailable)?;
            Ok(reviewed.status.is_some_and(|s| s.allowed))
        })
    }
}
