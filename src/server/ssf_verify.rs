//! Checking a pushed Security Event Token (RFC 8417, RFC 8935, SSF 1.0), Gatehouse as
//! receiver: the pure steps, in the order the receive pipeline runs them, each refusal with
//! its RFC 8935 error code. Signatures are verified by `jsonwebtoken` against keys from the
//! transmitter's JWKS; nothing here touches I/O.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

pub const SET_MEDIA_TYPE: &str = "application/secevent+jwt";
/// Seconds an `iat` may be ahead of this clock (the transmitter's clock may run fast).
pub const FUTURE_LEEWAY_SECS: i64 = 300;
pub const DEFAULT_MAX_AGE_SECS: i64 = 86_400;
const MAX_JTI: usize = 200;

/// Signature algorithms accepted: asymmetric only, never `none` or an HMAC (a public key used
/// as an HMAC secret would let anyone forge).
const ALGORITHMS: [(&str, Algorithm); 8] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
];

/// A refused token: the RFC 8935 §2.4 error code and a description for the transmitter.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub err: &'static str,
    pub description: String,
}

impl Refusal {
    pub fn new(err: &'static str, description: impl Into<String>) -> Refusal {
        Refusal {
            err,
            description: description.into(),
        }
    }
    pub fn request(description: impl Into<String>) -> Refusal {
        Refusal::new("invalid_request", description)
    }
    pub fn key(description: impl Into<String>) -> Refusal {
        Refusal::new("invalid_key", description)
    }
}

/// The first `n` characters of something a stranger sent, for descriptions and the audit log.
pub fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).filter(|c| !c.is_control()).collect()
}

/// RFC 8935 §2: the body is the token, as `application/secevent+jwt`.
pub fn check_content_type(value: Option<&str>) -> Result<(), Refusal> {
    let media = value
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if media.eq_ignore_ascii_case(SET_MEDIA_TYPE) {
        return Ok(());
    }
    Err(Refusal::request(format!(
        "Content-Type must be {SET_MEDIA_TYPE}, not {}",
        if media.is_empty() {
            "absent".to_string()
        } else {
            clip(media, 100)
        }
    )))
}

/// A compact JWS, its header and payload read (nothing verified yet).
#[derive(Debug)]
pub struct Compact {
    pub token: String,
    pub header: Value,
    pub claims: Value,
}

fn json_part(part: &str, what: &str) -> Result<Value, Refusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::request(format!("the {what} is not base64url")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Refusal::request(format!("the {what} is not a JSON object"))),
    }
}

pub fn parse(body: &[u8]) -> Result<Compact, Refusal> {
    let not_jws = || Refusal::request("the body is not a compact JWS (header.payload.signature)");
    let token = std::str::from_utf8(body).map_err(|_| not_jws())?.trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts[0].is_empty() || parts[1].is_empty() {
        return Err(not_jws());
    }
    Ok(Compact {
        header: json_part(parts[0], "JWS header")?,
        claims: json_part(parts[1], "payload")?,
        token: token.to_string(),
    })
}

/// `typ` (RFC 8417 §2.3; a `typ` without "/" means "application/" + it, RFC 7515 §4.1.9), then
/// `alg`. Returns the algorithm.
pub fn check_header(header: &Value) -> Result<Algorithm, Refusal> {
    let typ = header["typ"].as_str().unwrap_or_default();
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    if !typ.eq_ignore_ascii_case("secevent+jwt") {
        return Err(Refusal::request(format!(
            "header typ must be secevent+jwt, not {}",
            match header.get("typ") {
                None => "absent".to_string(),
                Some(v) => clip(&v.to_string(), 60),
            }
        )));
    }
    let alg = header["alg"].as_str().unwrap_or_default();
    ALGORITHMS
        .iter()
        .find(|(name, _)| *name == alg)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            Refusal::request(format!(
                "alg {} is not accepted: RS256, RS384, RS512, PS256, PS384, PS512, ES256 or ES384",
                clip(&header["alg"].to_string(), 30)
            ))
        })
}

/// The unverified `iss`, to find the transmitter by.
pub fn issuer(claims: &Value) -> Result<&str, Refusal> {
    claims["iss"]
        .as_str()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| Refusal::new("invalid_issuer", "the token has no iss"))
}

/// The signature keys of a JWKS (JSON): public RSA and EC keys not marked for encryption.
/// Symmetric keys are never taken from a JWKS; keys this library cannot read are skipped.
pub fn usable_keys(jwks: &str) -> Vec<Jwk> {
    let Ok(doc) = serde_json::from_str::<Value>(jwks) else {
        return Vec::new();
    };
    doc["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter(|k| {
                    matches!(
                        k.algorithm,
                        AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_)
                    ) && !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The key the header names by `kid`; without a `kid`, the only key there is.
pub fn find_key<'a>(keys: &'a [Jwk], kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
}

/// Verifies the signature only: `exp`, `nbf`, `aud` and `iss` are checked by [`check_claims`]
/// (a SET has no `exp`, so nothing is required here).
pub fn verify_signature(token: &str, key: &Jwk, alg: Algorithm) -> Result<(), Refusal> {
    let kid = key.common.key_id.clone().unwrap_or_default();
    if let Some(bound) = key.common.key_algorithm {
        if bound.to_string() != format!("{alg:?}") {
            return Err(Refusal::key(format!(
                "key {kid:?} is for {bound}, the token says {alg:?}"
            )));
        }
    }
    let decoding = DecodingKey::from_jwk(key)
        .map_err(|e| Refusal::key(format!("key {kid:?} cannot be used: {e}")))?;
    if decoding.family() != alg.family() {
        return Err(Refusal::key(format!(
            "key {kid:?} is not a key for {alg:?}"
        )));
    }
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Value>(token, &decoding, &validation) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => Err(
            Refusal::key(format!("the signature does not verify with key {kid:?}")),
        ),
        Err(e) => Err(Refusal::request(format!("the JWS is not acceptable: {e}"))),
    }
}

/// A verified token's parts the pipeline uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub jti: String,
    /// Unix seconds.
    pub iat: i64,
    pub event_type: String,
    pub event: Value,
}

fn seconds(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// `aud`, `iat`, `exp`, `jti` and `events`, in this order (RFC 8417, SSF 1.0 §4).
pub fn check_claims(
    claims: &Value,
    audience: &str,
    max_age_secs: i64,
    now_secs: i64,
) -> Result<Checked, Refusal> {
    let listed = match &claims["aud"] {
        Value::String(a) => a == audience,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !listed {
        return Err(Refusal::new(
            "invalid_audience",
            format!(
                "aud {} does not contain {audience:?}",
                clip(&claims["aud"].to_string(), 200)
            ),
        ));
    }
    let iat = seconds(&claims["iat"])
        .ok_or_else(|| Refusal::request("iat is required (a NumericDate)"))?;
    if iat > now_secs + FUTURE_LEEWAY_SECS {
        return Err(Refusal::request(format!(
            "iat is {} seconds in the future",
            iat - now_secs
        )));
    }
    if now_secs - iat > max_age_secs {
        return Err(Refusal::request(format!(
            "expired: iat is {} seconds old, more than the {max_age_secs} accepted",
            now_secs - iat
        )));
    }
    if let Some(exp) = claims.get("exp").filter(|e| !e.is_null()) {
        match seconds(exp) {
            Some(exp) if exp > now_secs => {}
            Some(_) => return Err(Refusal::request("expired: exp is in the past")),
            None => return Err(Refusal::request("exp is not a NumericDate")),
        }
    }
    let jti = match claims["jti"].as_str().map(str::trim) {
        Some(j) if !j.is_empty() && j.chars().count() <= MAX_JTI => j.to_string(),
        Some(j) if !j.is_empty() => {
            return Err(Refusal::request(format!(
                "jti is longer than {MAX_JTI} characters"
            )))
        }
        _ => return Err(Refusal::request("jti is required")),
    };
    let events = claims["events"]
        .as_object()
        .ok_or_else(|| Refusal::request("events is required: an object of one event"))?;
    let mut events = events.iter();
    let (event_type, event) = match (events.next(), events.next()) {
        (Some((t, e @ Value::Object(_))), None) => (t.clone(), e.clone()),
        (Some(_), None) => return Err(Refusal::request("the event must be a JSON object")),
        _ => return Err(Refusal::request("events must hold exactly one event")),
    };
    if event_type.chars().count() > 300 {
        return Err(Refusal::request(
            "the event type is longer than 300 characters",
        ));
    }
    Ok(Checked {
        jti,
        iat,
        event_type,
        event,
    })
}

/// Whom a token is about (RFC 9493 subject identifiers).
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    Email(String),
    IssSub {
        iss: String,
        sub: String,
    },
    /// A user id or a person's GUID; for a device event, the device.
    Opaque(String),
    Complex {
        user: Option<Box<Subject>>,
        device: Option<String>,
    },
    Aliases(Vec<Subject>),
    /// A format Gatehouse does not match on; its name.
    Other(String),
}

impl Subject {
    pub fn describe(&self) -> String {
        match self {
            Subject::Email(e) => format!("email {e}"),
            Subject::IssSub { sub, .. } => format!("iss_sub {sub}"),
            Subject::Opaque(id) => format!("opaque {id}"),
            Subject::Complex { user, device } => {
                let mut parts = Vec::new();
                if let Some(u) = user {
                    parts.push(format!("user {}", u.describe()));
                }
                if let Some(d) = device {
                    parts.push(format!("device {d}"));
                }
                format!("complex ({})", parts.join(", "))
            }
            Subject::Aliases(list) => format!("{} aliases", list.len()),
            Subject::Other(f) => format!("format {f}"),
        }
    }
}

fn text(v: &Value, name: &str) -> Option<String> {
    v[name]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| clip(s, 300))
}

fn subject_of(v: &Value, depth: u8) -> Option<Subject> {
    let format = v["format"].as_str()?;
    Some(match format {
        "email" => Subject::Email(text(v, "email")?),
        "iss_sub" => Subject::IssSub {
            iss: text(v, "iss").unwrap_or_default(),
            sub: text(v, "sub")?,
        },
        "opaque" => Subject::Opaque(text(v, "id")?),
        "complex" if depth == 0 => Subject::Complex {
            user: subject_of(&v["user"], 1).map(Box::new),
            device: match subject_of(&v["device"], 1) {
                Some(Subject::Opaque(id)) => Some(id),
                _ => None,
            },
        },
        "aliases" if depth == 0 => Subject::Aliases(
            v["identifiers"]
                .as_array()?
                .iter()
                .take(10)
                .filter_map(|s| subject_of(s, 1))
                .collect(),
        ),
        other => Subject::Other(clip(other, 60)),
    })
}

/// SSF 1.0: the subject is the top-level `sub_id`; older CAEP drafts put it in the event
/// (`subject`). `None` when neither names one.
pub fn subject(claims: &Value, event: &Value) -> Option<Subject> {
    subject_of(&claims["sub_id"], 0).or_else(|| subject_of(&event["subject"], 0))
}

/// SSF transmitter discovery: `/.well-known/ssf-configuration` goes between the issuer's host
/// and its path (without a trailing slash), as RFC 8414 does for OAuth metadata.
pub fn metadata_url(issuer: &str) -> Result<String, String> {
    let url = url::Url::parse(issuer).map_err(|e| format!("the issuer is not a URL ({e})"))?;
    let host = url.host_str().ok_or("the issuer has no host")?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!(
        "{}://{host}{port}/.well-known/ssf-configuration{}",
        url.scheme(),
        url.path().trim_end_matches('/')
    ))
}

#[cfg(test)]
#[path = "ssf_verify_tests.rs"]
mod tests;
