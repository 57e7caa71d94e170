//! Who sent a request: IP, user agent and geography, for enrichment.
//!
//! The socket's peer address is the client unless the collector runs behind a trusted proxy
//! (`--trust-proxy`), in which case Cloudflare's `CF-Connecting-IP` or the first
//! `X-Forwarded-For` entry is, and Cloudflare's visitor-location headers give the geography.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use contract::enriched::{Geo, RequestContext};

use crate::state::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The client's IP as text.
pub fn client_ip(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(ip) = header(&parts.headers, "cf-connecting-ip") {
            return ip.to_owned();
        }
        if let Some(first) = header(&parts.headers, "x-forwarded-for").and_then(|v| v.split(',').next()) {
            return first.trim().to_owned();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default()
}

/// The client a request came from, as [`crate::throttle`] counts it ([`crate::throttle::client_key`]
/// of [`client_ip`]). Behind `--trust-proxy` it is what the proxy's headers say, so the proxy must
/// set them, not pass on what the client sent.
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(crate::throttle::client_key(&client_ip(parts, state.trust_proxy))))
    }
}

/// Geography from Cloudflare's headers, when the proxy is trusted.
pub fn geo(headers: &HeaderMap, trust_proxy: bool) -> Geo {
    if !trust_proxy {
        return Geo::default();
    }
    // "XX" is unknown and "T1" is Tor in Cloudflare's country header.
    let country = header(headers, "cf-ipcountry")
        .filter(|c| c.len() == 2 && *c != "XX" && *c != "T1")
        .map(str::to_ascii_uppercase);
    Geo {
        country,
        region: header(headers, "cf-region").map(str::to_owned),
        city: header(headers, "cf-ipcity").map(str::to_owned),
        timezone: header(headers, "cf-timezone").map(str::to_owned),
        colo: None,
        asn: None,
    }
}

/// The enrichment context of a request received now.
pub fn context(parts: &Parts, trust_proxy: bool) -> RequestContext {
    RequestContext {
        received_at: crate::now_ms(),
        ip: client_ip(parts, trust_proxy),
        user_agent: header(&parts.headers, "user-agent").unwrap_or_default().to_owned(),
        geo: geo(&parts.headers, trust_proxy),
        bot_score: None,
        verified_bot: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::builder();
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (mut parts, _) = req.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo::<SocketAddr>("10.0.0.9:5555".parse().unwrap()));
        parts
    }

    #[test]
    fn proxy_headers_count_only_when_trusted() {
        let p = parts(&[("x-forwarded-for", "203.0.113.1, 10.0.0.1"), ("cf-ipcountry", "de")]);
        assert_eq!(client_ip(&p, false), "10.0.0.9");
        assert_eq!(client_ip(&p, true), "203.0.113.1");
        assert_eq!(geo(&p.headers, false).country, None);
        assert_eq!(geo(&p.headers, true).country.as_deref(), Some("DE"));
        let cf = parts(&[
            ("cf-connecting-ip", "198.51.100.2"),
            ("x-forwarded-for", "203.0.113.1"),
            ("cf-ipcountry", "XX"),
        ]);
        assert_eq!(client_ip(&cf, true), "198.51.100.2");
        assert_eq!(geo(&cf.headers, true).country, None);
    }
}
