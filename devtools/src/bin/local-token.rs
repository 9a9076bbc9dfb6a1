//! Prints a bearer token the local server accepts: `local-token <user> [role,role...] [organization]`.
//! The secret comes from `LOCAL_TOKEN_SECRET`, the claims' names from `ROLES_CLAIM` and
//! `ORGANIZATION_CLAIM`.

use std::time::{SystemTime, UNIX_EPOCH};

use devtools::local_token::LocalClaims;

const TWELVE_HOURS: u64 = 12 * 60 * 60;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let user = args.next().unwrap_or_else(|| "developer".to_owned());
    let roles = args.next().unwrap_or_default();
    let organization = args.next().filter(|org| !org.trim().is_empty());
    let roles: Vec<&str> = roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    let secret = std::env::var(shared::identity::LOCAL_TOKEN_SECRET_VAR).unwrap_or_default();
    if secret.is_empty() {
        return Err(
            "LOCAL_TOKEN_SECRET is not set (make token sets it from local/env.json)".into(),
        );
    }
    let roles_claim = std::env::var(shared::identity::ROLES_CLAIM_VAR)
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "groups".to_owned());
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = LocalClaims::new(&user, &roles, now, TWELVE_HOURS);
    if let Some(organization) = organization {
        let claim = std::env::var(shared::identity::ORGANIZATION_CLAIM_VAR)
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "org_id".to_owned());
        claims = claims.in_organization(&claim, organization.trim());
    }
    let token = claims.sign(&secret, &roles_claim)?;
    println!("{token}");
    Ok(())
}
