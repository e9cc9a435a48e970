//! Where `/metrics` is served (issue 17): on a listener of its own, or on the main one behind a
//! bearer token; neither configured, it is not served at all.
use crate::server::config::{err, ConfigError, Secret};
use std::net::SocketAddr;

/// The shortest token accepted: a scrape token is a long random secret, not a password.
pub const MIN_TOKEN_CHARS: usize = 32;

#[derive(Clone, Debug, Default)]
pub struct MetricsPolicy {
    /// `GATEHOUSE_METRICS_BIND`: a private address where `/metrics` is served without
    /// authentication, apart from the console's listener.
    pub bind: Option<SocketAddr>,
    /// `GATEHOUSE_METRICS_TOKEN`: `/metrics` on the main listener answers only
    /// `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
}

impl MetricsPolicy {
    /// `main_bind` is `GATEHOUSE_BIND`: the metrics listener needs a port of its own.
    pub(crate) fn from_lookup(
        var: &impl Fn(&'static str) -> Option<String>,
        main_bind: SocketAddr,
    ) -> Result<MetricsPolicy, ConfigError> {
        const BIND: &str = "GATEHOUSE_METRICS_BIND";
        const TOKEN: &str = "GATEHOUSE_METRICS_TOKEN";
        let bind = match var(BIND) {
            None => None,
            Some(raw) => {
                let addr: SocketAddr = raw.trim().parse().map_err(|_| {
                    err(
                        BIND,
                        format!("is not an address:port, e.g. 127.0.0.1:9464 (got {raw:?})"),
                    )
                })?;
                if addr == main_bind {
                    return Err(err(
                        BIND,
                        format!("must differ from GATEHOUSE_BIND (both are {addr})"),
                    ));
                }
                Some(addr)
            }
        };
        let token = match var(TOKEN) {
            None => None,
            Some(raw) => {
                let token = raw.trim();
                if token.chars().count() < MIN_TOKEN_CHARS {
                    return Err(err(
                        TOKEN,
                        format!(
                            "must be at least {MIN_TOKEN_CHARS} characters (e.g. openssl rand -hex 32)"
                        ),
                    ));
                }
                // It travels in a header: visible ASCII only.
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(err(
                        TOKEN,
                        "must be visible ASCII characters without spaces (e.g. openssl rand -hex 32)",
                    ));
                }
                Some(Secret::new(token))
            }
        };
        Ok(MetricsPolicy { bind, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&'static str, &'static str)]) -> Result<MetricsPolicy, ConfigError> {
        let m: HashMap<&'static str, &'static str> = pairs.iter().copied().collect();
        let var = |k: &'static str| m.get(k).map(|v| v.to_string());
        MetricsPolicy::from_lookup(&var, "127.0.0.1:3000".parse().unwrap())
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn nothing_configured_serves_nothing() {
        let p = load(&[]).unwrap();
        assert!(p.bind.is_none() && p.token.is_none());
    }

    #[test]
    fn a_bind_address_and_a_token_are_read() {
        let p = load(&[
            ("GATEHOUSE_METRICS_BIND", " 127.0.0.1:9464 "),
            ("GATEHOUSE_METRICS_TOKEN", TOKEN),
        ])
        .unwrap();
        assert_eq!(p.bind, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(p.token.as_ref().map(Secret::expose), Some(TOKEN));
        assert!(!format!("{p:?}").contains(TOKEN), "never logged");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&'static str, &'static str, &str)] = &[
            ("GATEHOUSE_METRICS_BIND", "localhost:9464", "address:port"),
            ("GATEHOUSE_METRICS_BIND", "9464", "address:port"),
            ("GATEHOUSE_METRICS_BIND", "127.0.0.1:3000", "differ"),
            ("GATEHOUSE_METRICS_TOKEN", "short", "32"),
            (
                "GATEHOUSE_METRICS_TOKEN",
                "0123456789abcdef 0123456789abcdef",
                "visible",
            ),
        ];
        for (var, value, says) in cases {
            let e = load(&[(*var, *value)]).unwrap_err();
            assert_eq!(&e.var, var, "{e}");
            assert!(e.problem.contains(says), "{e}");
            assert!(!e.problem.contains("0123456789abcdef"), "no token in {e}");
        }
    }
}
