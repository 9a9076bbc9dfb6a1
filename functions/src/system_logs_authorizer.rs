//! The system-log routes' Lambda authorizer (HTTP API, payload 2.0, simple responses): judges
//! the Authorization header (a Bearer JWT of the platform's issuer, or a Waldur API token when
//! `WALDUR_API_URL` is set) and passes the [`Verdict`] on in the context. It always lets the
//! request through: the function answers the verdict in Waldur's own words (401 `Invalid token.`,
//! 403, 503 with `Retry-After`), which API Gateway's deny (`{"message":"Forbidden"}`) cannot.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use shared::authorizer::{Authorizer, Verdict};
use std::collections::HashMap;

/// A simple response: `isAuthorized` and the context the function reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerAnswer {
    pub is_authorized: bool,
    pub context: HashMap<String, String>,
}

pub async fn handler(
    state: &Authorizer,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<AuthorizerAnswer, Error> {
    let authorization = event
        .payload
        .headers
        .get(lambda_http::http::header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    let verdict: Verdict = state.verdict(authorization).await;
    Ok(AuthorizerAnswer {
        is_authorized: true,
        context: verdict.to_context(),
    })
}
