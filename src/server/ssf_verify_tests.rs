use super::*;
use crate::server::service::ssf_keys::SsfKeys;
use serde_json::json;

const SIGNING: &str = include_str!("../../tests/fixtures/ssf-test-signing-key.pem");

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn claims(now: i64) -> Value {
    json!({
        "iss": "https://idp.example", "aud": "https://gh.example", "iat": now, "jti": "j-1",
        "sub_id": {"format": "email", "email": "ada@example.com"},
        "events": {"https://schemas.openid.net/secevent/risc/event-type/account-disabled": {}},
    })
}

#[test]
fn only_a_secevent_body_is_read() {
    assert!(check_content_type(Some("application/secevent+jwt")).is_ok());
    assert!(check_content_type(Some("Application/SecEvent+JWT; charset=utf-8")).is_ok());
    assert_eq!(
        check_content_type(Some("application/json"))
            .unwrap_err()
            .err,
        "invalid_request"
    );
    assert!(check_content_type(None)
        .unwrap_err()
        .description
        .contains("absent"));
}

#[test]
fn a_compact_jws_is_three_parts_with_json_objects() {
    let header = json!({"alg": "RS256", "typ": "secevent+jwt"});
    let token = format!("{}.{}.sig", b64(&header), b64(&claims(1)));
    let c = parse(token.as_bytes()).unwrap();
    assert_eq!(c.header["alg"], "RS256");
    assert_eq!(c.claims["jti"], "j-1");
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.b.c",
        &format!("{}.{}.x", b64(&header), b64(&json!([1]))),
    ] {
        assert_eq!(
            parse(bad.as_bytes()).unwrap_err().err,
            "invalid_request",
            "{bad}"
        );
    }
}

#[test]
fn the_header_must_be_typed_and_asymmetric() {
    let ok = json!({"typ": "secevent+jwt", "alg": "ES256"});
    assert_eq!(check_header(&ok).unwrap(), Algorithm::ES256);
    assert!(check_header(&json!({"typ": "application/secevent+jwt", "alg": "RS256"})).is_ok());
    for bad in [
        json!({"alg": "RS256"}),
        json!({"typ": "JWT", "alg": "RS256"}),
        json!({"typ": "secevent+jwt", "alg": "none"}),
        json!({"typ": "secevent+jwt", "alg": "HS256"}),
        json!({"typ": "secevent+jwt"}),
    ] {
        assert_eq!(
            check_header(&bad).unwrap_err().err,
            "invalid_request",
            "{bad}"
        );
    }
}

#[test]
fn claims_are_checked_in_order_with_their_codes() {
    let now = 1_700_000_000;
    let aud = "https://gh.example";
    let ok = check_claims(&claims(now), aud, 86_400, now).unwrap();
    assert_eq!(ok.jti, "j-1");
    assert!(ok.event_type.ends_with("account-disabled"));
    let mut c = claims(now);
    c["aud"] = json!(["x", aud]);
    assert!(check_claims(&c, aud, 86_400, now).is_ok());
    c["aud"] = json!("https://other.example");
    assert_eq!(
        check_claims(&c, aud, 86_400, now).unwrap_err().err,
        "invalid_audience"
    );
    let refused = |c: Value| check_claims(&c, aud, 86_400, now).unwrap_err().description;
    assert!(refused(claims(now - 86_401)).starts_with("expired"));
    assert!(refused(claims(now + 301)).contains("future"));
    let mut c = claims(now);
    c["exp"] = json!(now - 1);
    assert!(refused(c).starts_with("expired"));
    let mut c = claims(now);
    c["jti"] = json!(null);
    assert!(refused(c).contains("jti"));
    let mut c = claims(now);
    c["events"] = json!({"a": {}, "b": {}});
    assert!(refused(c).contains("exactly one"));
    let mut c = claims(now);
    c.as_object_mut().unwrap().remove("iat");
    assert!(refused(c).contains("iat"));
}

#[test]
fn a_signature_verifies_only_with_the_published_key() {
    let keys = SsfKeys::parse(SIGNING, None).unwrap();
    let token = keys.sign(&claims(1)).unwrap();
    let jwks = keys.jwks().to_string();
    let usable = usable_keys(&jwks);
    assert_eq!(usable.len(), 1);
    let key = find_key(&usable, Some(keys.kid())).unwrap();
    assert!(verify_signature(&token, key, Algorithm::RS256).is_ok());
    assert!(find_key(&usable, Some("other")).is_none());
    assert!(find_key(&usable, None).is_some(), "the only key");
    // Another payload under the same signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut other = claims(1);
    other["jti"] = json!("j-2");
    let forged = format!("{}.{}.{}", parts[0], b64(&other), parts[2]);
    assert_eq!(
        verify_signature(&forged, key, Algorithm::RS256)
            .unwrap_err()
            .err,
        "invalid_key"
    );
    assert_eq!(
        verify_signature(&token, key, Algorithm::RS512)
            .unwrap_err()
            .err,
        "invalid_key",
        "the key is bound to RS256"
    );
    // Symmetric keys in a JWKS are never used.
    assert!(usable_keys(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_empty());
    assert!(usable_keys("not json").is_empty());
}

#[test]
fn subjects_come_from_sub_id_or_the_event() {
    let c = claims(1);
    assert_eq!(
        subject(&c, &json!({})),
        Some(Subject::Email("ada@example.com".into()))
    );
    let event = json!({"subject": {"format": "opaque", "id": "g_1"}});
    assert_eq!(
        subject(&json!({}), &event),
        Some(Subject::Opaque("g_1".into()))
    );
    let complex = json!({"sub_id": {"format": "complex",
        "user": {"format": "iss_sub", "iss": "https://i", "sub": "42"},
        "device": {"format": "opaque", "id": "dev-9"}}});
    assert_eq!(
        subject(&complex, &json!({})),
        Some(Subject::Complex {
            user: Some(Box::new(Subject::IssSub {
                iss: "https://i".into(),
                sub: "42".into()
            })),
            device: Some("dev-9".into()),
        })
    );
    assert_eq!(
        subject(
            &json!({"sub_id": {"format": "phone_number", "phone_number": "+1"}}),
            &json!({})
        ),
        Some(Subject::Other("phone_number".into()))
    );
    assert_eq!(subject(&json!({}), &json!({})), None);
}

#[test]
fn the_metadata_sits_between_host_and_path() {
    assert_eq!(
        metadata_url("http://127.0.0.1:4195/transmitters/t1").unwrap(),
        "http://127.0.0.1:4195/.well-known/ssf-configuration/transmitters/t1"
    );
    assert_eq!(
        metadata_url("https://idp.example.com/").unwrap(),
        "https://idp.example.com/.well-known/ssf-configuration"
    );
}
