//! Outbound credentials (a provisioning target's bearer token) encrypted at rest with
//! XChaCha20-Poly1305 under the key of `GATEHOUSE_SECRETS_KEY`. The row's id is the associated
//! data, so a sealed value copied to another row does not open. Stored as `v1.` + base64 of
//! nonce and ciphertext; a new key version would get a new prefix.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct SecretsKey(chacha20poly1305::Key);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey([redacted])")
    }
}

impl SecretsKey {
    /// 32 bytes as 64 hex characters or as base64 (`openssl rand -base64 32`).
    pub fn parse(raw: &str) -> Result<SecretsKey, String> {
        let raw = raw.trim();
        let bytes = if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(raw).map_err(|e| e.to_string())?
        } else {
            B64.decode(raw)
                .map_err(|_| "must be 32 bytes as 64 hex characters or base64".to_string())?
        };
        if bytes.len() != 32 {
            return Err(format!(
                "must be 32 bytes (openssl rand -base64 32), got {}",
                bytes.len()
            ));
        }
        Ok(SecretsKey(*chacha20poly1305::Key::from_slice(&bytes)))
    }

    pub fn seal(&self, plaintext: &str, row_id: &str) -> String {
        let cipher = XChaCha20Poly1305::new(&self.0);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: row_id.as_bytes(),
        };
        // Encryption fails only for messages longer than the cipher's limit (256 GiB).
        let sealed = cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// The plaintext, or why it cannot be had (another key, another row, damaged).
    pub fn open(&self, sealed: &str, row_id: &str) -> Result<String, String> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or("the stored credential is damaged")?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(&self.0);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: row_id.as_bytes() })
            .map_err(|_| "the stored credential does not open with GATEHOUSE_SECRETS_KEY (was the key changed?)")?;
        String::from_utf8(plain).map_err(|_| "the stored credential is damaged".to_string())
    }
}

/// The last four characters, for recognising a credential without showing it.
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretsKey {
        SecretsKey::parse(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_row() {
        let sealed = key().seal("token-123", "pt_1");
        assert!(sealed.starts_with("v1.") && !sealed.contains("token-123"));
        assert_eq!(key().open(&sealed, "pt_1").unwrap(), "token-123");
        assert!(key().open(&sealed, "pt_2").is_err());
        let other = SecretsKey::parse(&"cd".repeat(32)).unwrap();
        assert!(other.open(&sealed, "pt_1").is_err());
        assert!(key().open("v1.AAAA", "pt_1").is_err());
        assert_ne!(
            key().seal("token-123", "pt_1"),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn keys_are_32_bytes_in_hex_or_base64() {
        assert!(SecretsKey::parse(&B64.encode([7u8; 32])).is_ok());
        assert!(SecretsKey::parse("short").is_err());
        assert!(SecretsKey::parse(&B64.encode([7u8; 16])).is_err());
        assert_eq!(hint("abcdefgh"), "…efgh");
        assert_eq!(hint("ab"), "…ab");
    }
}
