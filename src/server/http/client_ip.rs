//! The client's address, decided once per request: the connecting peer, or, when the peer is a
//! trusted proxy (`GATEHOUSE_TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For` that is
//! not itself a trusted proxy. Every place that records or limits by client IP reads this.
use crate::server::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Proxies append the address they saw, so the list is read from the right: the first entry
/// that is not a trusted proxy is the client. A malformed entry stops the walk at the last
/// address we could believe, so a forged prefix cannot be reached.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    let mut believed = peer;
    for item in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
        let Ok(ip) = item.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
            return believed;
        };
        if !is_trusted(&ip) {
            return ip;
        }
        believed = ip;
    }
    believed
}

/// Middleware: puts the request's [`ClientIp`] into its extensions.
pub async fn attach(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let forwarded: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = resolve(peer, &forwarded, &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(resolve(ip("10.0.0.5"), &["1.2.3.4"], &[]), ip("10.0.0.5"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_read_from_the_right() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged "6.6.6.6"; the proxy appended the address it really saw.
        assert_eq!(
            resolve(ip("10.0.0.5"), &["6.6.6.6, 198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // Two trusted hops, and the header split over two lines.
        assert_eq!(
            resolve(ip("10.0.0.5"), &["198.51.100.7", "10.1.1.1"], &trusted),
            ip("198.51.100.7")
        );
        // IPv4 behind an IPv6 socket.
        assert_eq!(
            resolve(ip("::ffff:10.0.0.5"), &["198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn garbage_or_only_proxies_stop_at_the_last_believed_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("10.0.0.5"), &["6.6.6.6, not-an-ip, 10.2.2.2"], &trusted),
            ip("10.2.2.2")
        );
        assert_eq!(resolve(ip("10.0.0.5"), &[], &trusted), ip("10.0.0.5"));
        assert_eq!(
            resolve(ip("10.0.0.5"), &["10.9.9.9"], &trusted),
            ip("10.9.9.9")
        );
    }
}
