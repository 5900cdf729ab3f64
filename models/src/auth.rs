//! Secrets as Leadwire makes and checks them: passwords (argon2), personal access tokens
//! and API credential secrets (random, stored as SHA-256).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{DomainError, Result};

/// Every personal access token starts with this.
pub const PAT_PREFIX: &str = "lw_pat_";
/// Every API credential client id starts with this.
pub const CLIENT_ID_PREFIX: &str = "lw_ci_";
/// How many characters of a token are kept in clear to recognise it (`token_prefix`).
pub const TOKEN_DISPLAY_LEN: usize = PAT_PREFIX.len() + 8;

/// An argon2id hash (PHC string) of a password.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| DomainError::internal())
}

/// Whether `password` matches the stored PHC hash; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A human-typable random password (for the first admin).
pub fn random_password() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a high-entropy secret (tokens, client secrets), as hex. Such secrets are
/// random, so a fast hash is safe; passwords use argon2.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new personal access token value: `lw_pat_` + 40 hex characters (160 bits).
pub fn new_pat() -> String {
    format!("{PAT_PREFIX}{}", random_hex(20))
}

/// A new API credential pair: (client_id, client_secret).
pub fn new_client_credentials() -> (String, String) {
    (
        format!("{CLIENT_ID_PREFIX}{}", random_hex(8)),
        random_hex(24),
    )
}

/// The displayable start of a token (`lw_pat_a1b2c3d4`).
pub fn token_display_prefix(token: &str) -> String {
    token.chars().take(TOKEN_DISPLAY_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_and_rejects() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not-a-hash"));
    }

    #[test]
    fn tokens_have_the_documented_shape() {
        let t = new_pat();
        assert!(t.starts_with("lw_pat_"));
        assert_eq!(t.len(), 7 + 40);
        assert_eq!(token_display_prefix(&t).len(), 15);
        assert_ne!(new_pat(), t);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

/// An API credential (HTTP Basic client_id:client_secret), bound to one OU.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApiCredential {
    pub id: String,
    pub org_id: String,
    pub ou_id: String,
    /// The member the credential acts as (its creator).
    pub member_id: String,
    pub name: String,
    pub client_id: String,
    pub secret_hash: String,
    pub created_at: String,
}

/// A personal access token as stored (only the hash of its value).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccessToken {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub name: String,
    pub token_hash: String,
    pub token_prefix: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}
