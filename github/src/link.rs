//! The `Link` header of GitHub's paged listings.
//!
//! GitHub answers `Link: <https://api.github.com/repositories/1/commits?page=2>; rel="next", <…>; rel="last"`.
//! The next page is followed only on the API's own host, as a path relative
//! to the API root: the token is never sent elsewhere, and the client's base
//! URL (GitHub Enterprise Server's `/api/v3`) keeps applying.

/// Why a next-page link is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The client's own API URL has no host to compare with.
    #[error("API URL `{0}` has no host")]
    NoApiHost(String),
    /// The link is on the API host but names no path.
    #[error("the next-page link `{0}` has no path")]
    NoPath(String),
    /// The link leads to another host, which must never see the token.
    #[error("the next-page link leads to another host ({0}); not followed")]
    OtherHost(String),
    /// The link is neither a path nor an absolute URL.
    #[error("the next-page link `{0}` is not an absolute URL")]
    NotAbsolute(String),
}

/// The next page's path and query, relative to `api_url`, if the header has
/// a `rel="next"` link. An error says why the link cannot be followed.
pub fn next(header: &str, api_url: &str) -> Result<Option<String>, LinkError> {
    let Some(url) = header.split(',').find_map(|entry| {
        let (target, params) = entry.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    }) else {
        return Ok(None);
    };
    if url.starts_with('/') {
        return Ok(Some(url));
    }
    let base = api_url.trim_end_matches('/');
    let (base_origin, base_path) =
        split_origin(base).ok_or_else(|| LinkError::NoApiHost(api_url.to_owned()))?;
    match split_origin(&url) {
        Some((origin, path)) if origin.eq_ignore_ascii_case(base_origin) => {
            let relative = path.strip_prefix(base_path).filter(|p| p.starts_with('/')).unwrap_or(path);
            if relative.starts_with('/') {
                Ok(Some(relative.to_owned()))
            } else {
                Err(LinkError::NoPath(url.clone()))
            }
        }
        Some((origin, _)) => Err(LinkError::OtherHost(origin.to_owned())),
        None => Err(LinkError::NotAbsolute(url.clone())),
    }
}

/// `("https://host:port", "/path?query")`.
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let path_start = url[scheme_end..].find(['/', '?']).map_or(url.len(), |i| scheme_end + i);
    (path_start > scheme_end).then(|| (&url[..path_start], &url[path_start..]))
}

#[cfg(test)]
mod tests {
    use super::next;

    #[test]
    fn follows_next_on_the_api_host_only() {
        let header = r#"<https://api.github.com/repositories/617210/commits/78b9/check-runs?per_page=2&page=3>; rel="next", <https://api.github.com/repositories/617210/commits/78b9/check-runs?per_page=2&page=4>; rel="last""#;
        assert_eq!(
            next(header, "https://api.github.com").unwrap().as_deref(),
            Some("/repositories/617210/commits/78b9/check-runs?per_page=2&page=3")
        );
        assert_eq!(
            next(r#"<https://api.github.com/x?page=1>; rel="prev""#, "https://api.github.com"),
            Ok(None)
        );
        let elsewhere = next(r#"<https://evil.example/x?page=2>; rel="next""#, "https://api.github.com");
        assert_eq!(
            elsewhere.unwrap_err().to_string(),
            "the next-page link leads to another host (https://evil.example); not followed"
        );
    }

    #[test]
    fn keeps_enterprise_base_paths_relative() {
        let header = r#"<https://ghe.example/api/v3/repositories/1/commits?page=2>; rel="next""#;
        assert_eq!(
            next(header, "https://ghe.example/api/v3/").unwrap().as_deref(),
            Some("/repositories/1/commits?page=2")
        );
    }
}
