//! Host names to socket addresses, without a thread for an address.
//!
//! ureq's default resolver runs every lookup on a new thread when a
//! timeout is set (so that the lookup can be abandoned), even for a URL
//! whose host is already an IP address. A local index server, or a mirror
//! addressed by IP, then costs a thread per connection: on the build-deps
//! benchmark's cold run (188 connections to 127.0.0.1) that was a thread
//! start per request. An IP literal needs no lookup, and gets none here;
//! names go to ureq's resolver as before.

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Answers an IP literal itself; asks ureq's resolver for a name.
#[derive(Debug, Default)]
pub(crate) struct LiteralFirst {
    names: DefaultResolver,
}

/// The socket address of `uri` when its host is an IP literal (an IPv6
/// one in brackets), with its port or the scheme's default.
fn literal_address(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = uri.port_u16().or_else(|| match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal_address(uri) {
            Some(address) if config.ip_family().keep_wanted(std::iter::once(address)).next().is_some() => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            _ => self.names.resolve(uri, config, timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_literal_is_its_own_address_and_a_name_is_not() {
        let address = |url: &str| literal_address(&url.parse().unwrap());
        assert_eq!(address("http://127.0.0.1:8080/simple/"), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(address("http://127.0.0.1/simple/"), Some("127.0.0.1:80".parse().unwrap()));
        assert_eq!(address("https://[::1]/x"), Some("[::1]:443".parse().unwrap()));
        assert_eq!(address("https://[::1]:8443/x"), Some("[::1]:8443".parse().unwrap()));
        assert_eq!(address("https://pypi.org/simple/"), None);
        assert_eq!(address("http://localhost:8080/"), None);
        assert_eq!(address("http://127.0.0.1.example/"), None);
    }

    /// An IP literal is answered as it is, even with no time left for a
    /// lookup (ureq's resolver would wait for its lookup thread).
    #[test]
    fn an_ip_literal_is_answered_without_a_lookup() {
        let config = Config::default();
        let uri: Uri = "http://127.0.0.1:9/".parse().unwrap();
        let resolved = LiteralFirst::default().resolve(&uri, &config, NextTimeout::default()).unwrap();
        assert_eq!(&resolved[..], &["127.0.0.1:9".parse::<SocketAddr>().unwrap()]);
    }
}
