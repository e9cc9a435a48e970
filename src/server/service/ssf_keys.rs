//! The key Gatehouse signs Security Event Tokens with (RS256, at least 2048 bits: the CAEP
//! interoperability profile), and the JWKS receivers verify them with. The key comes from the
//! environment (`GATEHOUSE_SSF_SIGNING_KEY`); keys retired by a rotation stay in the JWKS
//! (`GATEHOUSE_SSF_RETIRED_KEYS`) so tokens signed before it still verify (docs/decisions.md).
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::Value;

const MIN_BITS: usize = 2048;

#[derive(Clone)]
pub struct SsfKeys {
    signing: EncodingKey,
    kid: String,
    jwks: JwkSet,
}

impl std::fmt::Debug for SsfKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SsfKeys(kid {})", self.kid)
    }
}

/// A value given in the environment: the PEM itself, or the path of a file holding it.
pub fn pem_text(value: &str) -> Result<String, String> {
    if value.trim_start().starts_with("-----BEGIN") {
        return Ok(value.to_string());
    }
    std::fs::read_to_string(value.trim())
        .map_err(|e| format!("is neither a PEM nor a readable file ({e})"))
}

fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

/// Marks a key for RS256 signatures and names it by its RFC 7638 thumbprint.
fn published(mut jwk: Jwk) -> Result<Jwk, String> {
    if let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
        let bits = rsa.n.trim_end_matches('=').len() * 6;
        if bits < MIN_BITS - 6 {
            return Err(format!(
                "the RSA key has about {bits} bits; at least {MIN_BITS} are needed"
            ));
        }
    } else {
        return Err("must be an RSA key (SETs are signed RS256)".into());
    }
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_id = Some(
        jwk.thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| e.to_string())?,
    );
    Ok(jwk)
}

impl SsfKeys {
    /// `signing`: an RSA private key (PKCS#1 or PKCS#8 PEM); `retired`: public keys (PEM),
    /// kept in the JWKS only.
    pub fn parse(signing: &str, retired: Option<&str>) -> Result<SsfKeys, String> {
        let key = EncodingKey::from_rsa_pem(signing.as_bytes())
            .map_err(|e| format!("is not an RSA private key in PEM ({e})"))?;
        let current =
            published(Jwk::from_encoding_key(&key, Algorithm::RS256).map_err(|e| e.to_string())?)?;
        let kid = current.common.key_id.clone().unwrap_or_default();
        let mut keys = vec![current];
        for block in retired.map(pem_blocks).unwrap_or_default() {
            let public = DecodingKey::from_rsa_pem(block.as_bytes())
                .map_err(|e| format!("a retired key is not an RSA public key in PEM ({e})"))?;
            let jwk = published(
                Jwk::from_decoding_key(&public, Some(Algorithm::RS256))
                    .map_err(|e| e.to_string())?,
            )?;
            if !keys.iter().any(|k| k.common.key_id == jwk.common.key_id) {
                keys.push(jwk);
            }
        }
        Ok(SsfKeys {
            signing: key,
            kid,
            jwks: JwkSet { keys },
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys, current first.
    pub fn jwks(&self) -> Value {
        serde_json::to_value(&self.jwks).unwrap_or_default()
    }

    /// A Security Event Token: JWS compact, `typ` secevent+jwt (RFC 8417 §2.3).
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("secevent+jwt".into());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing)
            .map_err(|e| format!("cannot sign the event: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNING: &str = include_str!("../../../tests/fixtures/ssf-test-signing-key.pem");
    const RETIRED: &str = include_str!("../../../tests/fixtures/ssf-test-retired-key.pub.pem");

    #[test]
    fn the_jwks_holds_the_current_key_first_and_the_retired_ones() {
        let keys = SsfKeys::parse(SIGNING, Some(RETIRED)).unwrap();
        let jwks = keys.jwks();
        let list = jwks["keys"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["kid"], keys.kid());
        assert_ne!(list[0]["kid"], list[1]["kid"]);
        for k in list {
            assert_eq!(k["alg"], "RS256");
            assert_eq!(k["use"], "sig");
            assert!(k.get("d").is_none(), "public parts only");
        }
    }

    #[test]
    fn a_token_is_typed_and_verifies_with_the_published_key() {
        let keys = SsfKeys::parse(SIGNING, None).unwrap();
        let token = keys
            .sign(&serde_json::json!({"iss": "https://gh", "jti": "j1", "aud": "r"}))
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
        assert_eq!(header.kid.as_deref(), Some(keys.kid()));
        let jwk: Jwk = serde_json::from_value(keys.jwks()["keys"][0].clone()).unwrap();
        let mut check = jsonwebtoken::Validation::new(Algorithm::RS256);
        check.set_audience(&["r"]);
        check.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &check)
                .unwrap();
        assert_eq!(data.claims["jti"], "j1");
    }

    #[test]
    fn anything_but_an_rsa_private_key_is_refused() {
        assert!(SsfKeys::parse(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            None
        )
        .is_err());
        assert!(
            SsfKeys::parse(RETIRED, None).is_err(),
            "a public key cannot sign"
        );
        assert!(SsfKeys::parse(
            SIGNING,
            Some("-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----\n")
        )
        .is_err());
        assert!(pem_text("/nonexistent/key.pem").is_err());
    }
}
