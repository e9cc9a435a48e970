//! The format of API keys and client secrets. Both are 256 random bits in base62 with a visible
//! prefix and a CRC-32 checksum, so a mistyped or truncated key is refused without a database
//! look-up and secret scanners can recognise a leaked one (docs/api-keys.md gives the pattern).
//! Only a SHA-256 of the whole string is stored: with 256 bits of entropy a slow hash adds nothing.
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const KEY_PREFIX: &str = "ghk_";
pub const SECRET_PREFIX: &str = "ghs_";
/// Management API tokens (service accounts and personal tokens): the key format, another prefix.
pub const TOKEN_PREFIX: &str = "ght_";
/// Provisioning sources' SCIM bearer tokens.
pub const SOURCE_TOKEN_PREFIX: &str = "ghp_";
/// Shared Signals receivers' bearer tokens for the stream management API.
pub const RECEIVER_TOKEN_PREFIX: &str = "ghr_";
/// Key id: 12 base62 characters (71 bits), public, part of the visible prefix.
pub const KEY_ID_LEN: usize = 12;
/// 43 base62 characters carry 256 bits.
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;
/// `ghk_` + id + `_` + secret + checksum.
pub const KEY_LEN: usize = KEY_PREFIX.len() + KEY_ID_LEN + 1 + SECRET_LEN + CHECK_LEN;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn random_base62(n: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char)
        .collect()
}

fn checksum(body: &str) -> String {
    let mut n = CRC.checksum(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A new key: `(key id, the whole key)`.
pub fn new_key() -> (String, String) {
    new_with_id(KEY_PREFIX)
}

/// A new management API token: `(token id, the whole token)`.
pub fn new_token() -> (String, String) {
    new_with_id(TOKEN_PREFIX)
}

fn new_with_id(prefix: &str) -> (String, String) {
    let id = random_base62(KEY_ID_LEN);
    let body = format!("{prefix}{id}_{}", random_base62(SECRET_LEN));
    let key = format!("{body}{}", checksum(&body));
    (id, key)
}

/// A new client secret.
pub fn new_client_secret() -> String {
    with_checksum(SECRET_PREFIX)
}

/// A provisioning source's bearer token (`ghp_`, shaped as a client secret).
pub fn new_source_token() -> String {
    with_checksum(SOURCE_TOKEN_PREFIX)
}

/// A Shared Signals receiver's bearer token (`ghr_`, shaped as a client secret).
pub fn new_receiver_token() -> String {
    with_checksum(RECEIVER_TOKEN_PREFIX)
}

fn with_checksum(prefix: &str) -> String {
    let body = format!("{prefix}{}", random_base62(SECRET_LEN));
    format!("{body}{}", checksum(&body))
}

/// Why a presented key is refused before any look-up.
#[derive(Debug, PartialEq, Eq)]
pub enum Malformed {
    Shape,
    Checksum,
}

/// The key id of a well-formed key whose checksum matches.
pub fn parse_key(raw: &str) -> Result<&str, Malformed> {
    parse_with_id(raw, KEY_PREFIX)
}

/// The token id of a well-formed management API token whose checksum matches.
pub fn parse_token(raw: &str) -> Result<&str, Malformed> {
    parse_with_id(raw, TOKEN_PREFIX)
}

// Every prefix has four characters, so keys and tokens have the same length.
fn parse_with_id<'a>(raw: &'a str, prefix: &str) -> Result<&'a str, Malformed> {
    if raw.len() != KEY_LEN || !raw.is_ascii() || !raw.starts_with(prefix) {
        return Err(Malformed::Shape);
    }
    let id = &raw[prefix.len()..prefix.len() + KEY_ID_LEN];
    let sep = prefix.len() + KEY_ID_LEN;
    let rest = &raw[sep + 1..];
    if &raw[sep..sep + 1] != "_" || !is_base62(id) || !is_base62(rest) {
        return Err(Malformed::Shape);
    }
    let (body, check) = raw.split_at(KEY_LEN - CHECK_LEN);
    if checksum(body) != check {
        return Err(Malformed::Checksum);
    }
    Ok(id)
}

/// True when `raw` looks like a client secret (prefix, length, checksum).
pub fn is_client_secret(raw: &str) -> bool {
    let len = SECRET_PREFIX.len() + SECRET_LEN + CHECK_LEN;
    if raw.len() != len || !raw.is_ascii() || !raw.starts_with(SECRET_PREFIX) {
        return false;
    }
    let (body, check) = raw.split_at(len - CHECK_LEN);
    is_base62(&body[SECRET_PREFIX.len()..]) && checksum(body) == check
}

pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn hash_hex(secret: &str) -> String {
    hex::encode(hash(secret))
}

/// Compares a presented secret's hash with a stored one in constant time.
pub fn matches(presented: &[u8; 32], stored: &[u8; 32]) -> bool {
    presented.ct_eq(stored).into()
}

/// The last four characters, so people can tell two secrets apart.
pub fn hint(secret: &str) -> String {
    secret[secret.len().saturating_sub(4)..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_checksums_catch_typos() {
        let (id, key) = new_key();
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(parse_key(&key), Ok(id.as_str()));
        // One changed character anywhere is caught by the checksum (or the shape).
        for i in [5, 20, 40, KEY_LEN - 1] {
            let mut bytes = key.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(parse_key(&typo).is_err(), "{typo}");
        }
        assert_eq!(parse_key(&key[..KEY_LEN - 1]), Err(Malformed::Shape));
        assert_eq!(parse_key(""), Err(Malformed::Shape));
        assert_eq!(parse_key(&"é".repeat(KEY_LEN / 2)), Err(Malformed::Shape));
    }

    #[test]
    fn tokens_are_keys_with_their_own_prefix() {
        let (id, token) = new_token();
        assert!(token.starts_with("ght_"));
        assert_eq!(parse_token(&token), Ok(id.as_str()));
        assert_eq!(parse_key(&token), Err(Malformed::Shape));
        let (_, key) = new_key();
        assert_eq!(parse_token(&key), Err(Malformed::Shape));
    }

    #[test]
    fn secrets_are_random_and_recognisable() {
        let (a, b) = (new_client_secret(), new_client_secret());
        assert_ne!(a, b);
        assert!(is_client_secret(&a));
        assert!(!is_client_secret(&a.replace("ghs_", "ghx_")));
        assert!(matches(&hash(&a), &hash(&a)));
        assert!(!matches(&hash(&a), &hash(&b)));
        assert_eq!(hint(&a).len(), 4);
    }
}
