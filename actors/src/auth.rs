//! Authentication (JWT, API credentials, personal access tokens), choosing the OU a
//! request acts in, and the management of credentials and tokens.

use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use leadwire_models::auth::{self as secrets, AccessToken, ApiCredential};
use leadwire_models::ids::{is_plausible_id, new_id, prefix};
use leadwire_models::tenancy::{Access, AuthKind, Caller, Member, Tenant};
use leadwire_models::{time, validate, DomainError, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Core;

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 signing secret for JWTs; generated and stored in the database when absent.
    pub jwt_secret: Option<String>,
    /// Lifetime of a login token.
    pub jwt_ttl_seconds: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: None,
            jwt_ttl_seconds: 12 * 3600,
        }
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_seconds: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_seconds: i64) -> Self {
        // two crypto backends are compiled in (SurrealDB brings aws-lc): choose one, once
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_seconds,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    org: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// What a request presented in its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Bearer(String),
    Basic {
        client_id: String,
        client_secret: String,
    },
}

impl Credentials {
    /// Parses an `Authorization` header value; `None` for schemes Leadwire does not accept.
    pub fn parse(header: &str) -> Option<Credentials> {
        let (scheme, rest) = header.trim().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Some(Credentials::Bearer(rest.to_string()));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (id, secret) = text.split_once(':')?;
            return Some(Credentials::Basic {
                client_id: id.to_string(),
                client_secret: secret.to_string(),
            });
        }
        None
    }
}

/// A successful login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginResult {
    pub token: String,
    pub expires_at: String,
}

/// A credential pair as shown once at creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedCredential {
    pub secret_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub ou_id: String,
    pub created_at: String,
}

/// A credential as listed (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialView {
    pub secret_id: String,
    pub client_id: String,
    pub name: String,
    pub ou_id: String,
    pub created_by: String,
    pub created_at: String,
}

impl From<&ApiCredential> for CredentialView {
    fn from(c: &ApiCredential) -> Self {
        CredentialView {
            secret_id: c.id.clone(),
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            ou_id: c.ou_id.clone(),
            created_by: c.member_id.clone(),
            created_at: c.created_at.clone(),
        }
    }
}

/// A personal access token as shown once at creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    /// The full token: shown only in this response.
    pub token: String,
    pub token_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// A personal access token as listed (never the value).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub token_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub expired: bool,
}

fn unauthorized() -> DomainError {
    DomainError::unauthorized("missing, invalid, expired or revoked credentials")
}

fn caller_of(member: &Member, auth: AuthKind, bound_ou: Option<String>) -> Caller {
    Caller {
        org_id: member.org_id.clone(),
        member_id: member.id.clone(),
        email: member.email.clone(),
        org_role: member.role,
        auth,
        bound_ou,
    }
}

impl Core {
    /// Email + password → a signed JWT. Wrong email and wrong password are indistinguishable.
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResult> {
        let email = email.trim().to_lowercase();
        let member = self.store.member_by_email(&email).await?;
        // verify against a dummy hash when the member is unknown, so timing does not tell
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy =
            DUMMY.get_or_init(|| secrets::hash_password("not-a-real-password").unwrap_or_default());
        let hash = member
            .as_ref()
            .map(|m| m.password_hash.as_str())
            .unwrap_or(dummy);
        let ok = secrets::verify_password(password, hash);
        let Some(member) = member.filter(|_| ok) else {
            return Err(DomainError::unauthorized("invalid email or password"));
        };
        let now = time::now();
        let exp = now.timestamp() + self.auth.ttl_seconds;
        let claims = Claims {
            sub: member.id.clone(),
            org: member.org_id.clone(),
            iat: now.timestamp(),
            exp,
            jti: new_id("jwt"),
        };
        let token =
            encode(&Header::new(Algorithm::HS256), &claims, &self.auth.encoding).map_err(|e| {
                tracing::error!(error = %e, "jwt-encode-failed");
                DomainError::internal()
            })?;
        let expires_at = chrono::DateTime::from_timestamp(exp, 0)
            .map(|t| time::format(&t))
            .unwrap_or_default();
        Ok(LoginResult { token, expires_at })
    }

    /// Who presented these credentials. Every failure is the same 401.
    pub async fn authenticate(&self, creds: &Credentials) -> Result<Caller> {
        match creds {
            Credentials::Bearer(token) if token.starts_with(secrets::PAT_PREFIX) => {
                self.authenticate_pat(token).await
            }
            Credentials::Bearer(jwt) => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.leeway = 5;
                let data = decode::<Claims>(jwt, &self.auth.decoding, &validation)
                    .map_err(|_| unauthorized())?;
                let member = self
                    .store
                    .member_by_id(&data.claims.sub)
                    .await?
                    .ok_or_else(unauthorized)?;
                if member.org_id != data.claims.org {
                    return Err(unauthorized());
                }
                Ok(caller_of(&member, AuthKind::Jwt, None))
            }
            Credentials::Basic {
                client_id,
                client_secret,
            } => {
                let cred = self
                    .store
                    .credential_by_client_id(client_id)
                    .await?
                    .ok_or_else(unauthorized)?;
                if !constant_time_eq(&secrets::hash_secret(client_secret), &cred.secret_hash) {
                    return Err(unauthorized());
                }
                let member = self
                    .store
                    .member_by_id(&cred.member_id)
                    .await?
                    .ok_or_else(unauthorized)?;
                if member.org_id != cred.org_id {
                    return Err(unauthorized());
                }
                Ok(caller_of(
                    &member,
                    AuthKind::ApiCredential,
                    Some(cred.ou_id),
                ))
            }
        }
    }

    async fn authenticate_pat(&self, token: &str) -> Result<Caller> {
        let hash = secrets::hash_secret(token);
        let row = self
            .store
            .token_by_hash(&hash)
            .await?
            .ok_or_else(unauthorized)?;
        let now = time::now();
        if let Some(exp) = row.expires_at.as_deref().and_then(time::parse) {
            if exp <= now {
                return Err(unauthorized());
            }
        }
        let member = self
            .store
            .member_by_id(&row.member_id)
            .await?
            .ok_or_else(unauthorized)?;
        if member.org_id != row.org_id {
            return Err(unauthorized());
        }
        // last use is informative: recorded in the background, at most once a minute per token
        let stale = row
            .last_used_at
            .as_deref()
            .and_then(time::parse)
            .is_none_or(|t| (now - t).num_seconds() >= 60);
        if stale {
            let touch = self.store.touch_token(&hash, &row.id, &time::format(&now));
            tokio::spawn(async move {
                if let Err(e) = touch.await {
                    tracing::warn!(error = %e, "token-touch-failed");
                }
            });
        }
        Ok(caller_of(&member, AuthKind::PersonalAccessToken, None))
    }

    /// The OU a caller acts in: `requested` (the `X-OU-Id` header, the `activeOu` cookie or
    /// an explicit argument) when they may act there, else their default OU. An OU the
    /// caller may not see is "not found", never "forbidden".
    pub async fn resolve_tenant(&self, caller: &Caller, requested: Option<&str>) -> Result<Tenant> {
        let requested = requested.map(str::trim).filter(|s| !s.is_empty());
        if let Some(bound) = &caller.bound_ou {
            if requested.is_some_and(|r| r != bound) {
                return Err(DomainError::not_found("org unit"));
            }
            return self.tenant_in(caller, bound).await;
        }
        if let Some(ou_id) = requested {
            return self.tenant_in(caller, ou_id).await;
        }
        let memberships = self
            .store
            .memberships_of_member(&caller.org_id, &caller.member_id)
            .await?;
        if let Some(m) = memberships.first() {
            return self.tenant_in(caller, &m.ou_id).await;
        }
        if caller.is_admin() {
            if let Some(ou) = self.store.org_units(&caller.org_id).await?.first() {
                return self.tenant_in(caller, &ou.id).await;
            }
        }
        Err(DomainError::bad_request(
            "no active org unit: you are not a member of any org unit; ask an Owner to add you",
        ))
    }

    /// The caller acting in a named OU, if they may.
    pub async fn tenant_in(&self, caller: &Caller, ou_id: &str) -> Result<Tenant> {
        if !is_plausible_id(ou_id) || self.store.org_unit(&caller.org_id, ou_id).await?.is_none() {
            return Err(DomainError::not_found("org unit"));
        }
        let membership = self
            .store
            .membership(ou_id, &caller.member_id)
            .await?
            .map(|m| m.role);
        let role = caller
            .effective_role(membership)
            .ok_or_else(|| DomainError::not_found("org unit"))?;
        Ok(Tenant {
            caller: caller.clone(),
            ou_id: ou_id.to_string(),
            role,
        })
    }

    // ----- API credentials (bound to the OU they were created in) -----

    pub async fn create_credential(&self, t: &Tenant, name: &str) -> Result<CreatedCredential> {
        t.require(Access::Write)?;
        let name = validate::name("name", name, 1, 50)?;
        let (client_id, client_secret) = secrets::new_client_credentials();
        let row = ApiCredential {
            id: new_id(prefix::CREDENTIAL),
            org_id: t.org_id().to_string(),
            ou_id: t.ou_id.clone(),
            member_id: t.member_id().to_string(),
            name,
            client_id,
            secret_hash: secrets::hash_secret(&client_secret),
            created_at: time::format(&time::now()),
        };
        self.store.create_credential(&row).await?;
        Ok(CreatedCredential {
            secret_id: row.id,
            client_id: row.client_id,
            client_secret,
            name: row.name,
            ou_id: row.ou_id,
            created_at: row.created_at,
        })
    }

    pub async fn list_credentials(&self, t: &Tenant) -> Result<Vec<CredentialView>> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .credentials(t.org_id(), &t.ou_id)
            .await?
            .iter()
            .map(CredentialView::from)
            .collect())
    }

    pub async fn delete_credential(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        if !is_plausible_id(id)
            || !self
                .store
                .delete_credential(t.org_id(), &t.ou_id, id)
                .await?
        {
            return Err(DomainError::not_found("credential"));
        }
        Ok(())
    }

    // ----- personal access tokens (the caller's own) -----

    pub async fn create_token(
        &self,
        caller: &Caller,
        name: &str,
        expires_at: Option<&str>,
    ) -> Result<CreatedToken> {
        let name = validate::name("name", name, 1, 100)?;
        let now = time::now();
        let expires_at = match expires_at {
            None => None,
            Some(s) => {
                let t = time::parse(s).ok_or_else(|| {
                    DomainError::invalid("expires_at", "must be an RFC 3339 timestamp")
                })?;
                if t <= now {
                    return Err(DomainError::invalid("expires_at", "must be in the future"));
                }
                Some(time::format(&t))
            }
        };
        let token = secrets::new_pat();
        let row = AccessToken {
            id: new_id(prefix::TOKEN),
            org_id: caller.org_id.clone(),
            member_id: caller.member_id.clone(),
            name,
            token_hash: secrets::hash_secret(&token),
            token_prefix: secrets::token_display_prefix(&token),
            created_at: time::format(&now),
            expires_at,
            last_used_at: None,
        };
        self.store.create_token(&row).await?;
        Ok(CreatedToken {
            id: row.id,
            name: row.name,
            token,
            token_prefix: row.token_prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }

    pub async fn list_tokens(&self, caller: &Caller) -> Result<Vec<TokenView>> {
        let now = time::now();
        Ok(self
            .store
            .tokens_of_member(&caller.org_id, &caller.member_id)
            .await?
            .into_iter()
            .map(|t| TokenView {
                expired: t
                    .expires_at
                    .as_deref()
                    .and_then(time::parse)
                    .is_some_and(|e| e <= now),
                id: t.id,
                name: t.name,
                token_prefix: t.token_prefix,
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
            })
            .collect())
    }

    /// Revokes one of the caller's own tokens; it stops working at once.
    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> Result<()> {
        if !is_plausible_id(id)
            || !self
                .store
                .delete_token(&caller.org_id, &caller.member_id, id)
                .await?
        {
            return Err(DomainError::not_found("token"));
        }
        Ok(())
    }
}

/// Compares two strings in time independent of where they first differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_parse() {
        assert_eq!(
            Credentials::parse("Bearer abc"),
            Some(Credentials::Bearer("abc".into()))
        );
        assert_eq!(
            Credentials::parse("bearer  lw_pat_x "),
            Some(Credentials::Bearer("lw_pat_x".into()))
        );
        let b = base64::engine::general_purpose::STANDARD.encode("lw_ci_1:s3cr:et");
        assert_eq!(
            Credentials::parse(&format!("Basic {b}")),
            Some(Credentials::Basic {
                client_id: "lw_ci_1".into(),
                client_secret: "s3cr:et".into()
            })
        );
        assert_eq!(Credentials::parse("Basic !!!"), None);
        assert_eq!(Credentials::parse("Digest x"), None);
        assert_eq!(Credentials::parse("Bearer"), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
