//! Redis URLs as they may appear in logs and errors: without the password.

/// `url` with its password replaced by `***`: the user-info part
/// (`redis://user:secret@host` → `redis://user:***@host`, `redis://:secret@host` →
/// `redis://:***@host`, `redis://secret@host` → `redis://***@host`) and a `pass=` query
/// parameter (`redis+unix:///run/redis.sock?pass=secret`). Text that is not a URL is
/// replaced whole unless it has neither `@` nor `pass=`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    // The authority ends at the first `/`, `?` or `#`; user info is before its last `@`.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:***{host}"),
                None => format!("***{host}"),
            }
        }
        None => authority.to_string(),
    };
    let tail = redact_query_password(tail);
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None if url.contains('@') => "<redis URL>".to_string(),
        None => format!("{authority}{tail}"),
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let (query, fragment) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _))
                if k.eq_ignore_ascii_case("pass") || k.eq_ignore_ascii_case("password") =>
            {
                format!("{k}=***")
            }
            _ => p.to_string(),
        })
        .collect();
    format!("{path}{}{fragment}", params.join("&"))
}

/// `text` with every occurrence of `secret` replaced by `***` (errors of the client library
/// should never quote a password; this makes sure).
pub(crate) fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive() {
        let cases = [
            (
                "redis://user:s3cret@cache.internal:6379/0",
                "redis://user:***@cache.internal:6379/0",
            ),
            ("redis://:s3cret@127.0.0.1", "redis://:***@127.0.0.1"),
            ("rediss://s3cret@host/1", "rediss://***@host/1"),
            (
                "redis://u:p%40ss@w@host:1/2?protocol=resp3",
                "redis://u:***@host:1/2?protocol=resp3",
            ),
            (
                "redis+unix:///run/redis.sock?db=1&pass=s3cret",
                "redis+unix:///run/redis.sock?db=1&pass=***",
            ),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("not a url with s3cret@x", "<redis URL>"),
        ];
        for (url, want) in cases {
            let got = redact(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("s3cret") && !got.contains("p%40ss"), "{got}");
        }
    }

    #[test]
    fn scrub_removes_the_secret_anywhere() {
        assert_eq!(
            scrub("auth failed for s3cret (s3cret)", Some("s3cret")),
            "auth failed for *** (***)"
        );
        assert_eq!(scrub("nothing", None), "nothing");
        assert_eq!(scrub("nothing", Some("")), "nothing");
    }
}
