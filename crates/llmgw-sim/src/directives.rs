//! `[[sim:...]]` directives: fault injection and answer shaping written into the prompt.
//!
//! They are read from the text of the last user message, so they pass through any translation
//! a gateway applies. Unknown directives and unparsable values are ignored.

/// Everything the directives of one prompt ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    /// `[[sim:status=N]]`: answer with status N (400..=599) and the provider's error body.
    pub status: Option<u16>,
    /// `[[sim:error=bad_request]]`: a 400 in the provider's own error shape.
    pub bad_request: bool,
    /// `[[sim:error=context_length]]`: the provider's "prompt too long" 400.
    pub context_length: bool,
    /// `[[sim:html=N]]`: status N with an HTML page.
    pub html: Option<u16>,
    /// `[[sim:delay_ms=N]]`: wait before answering.
    pub delay_ms: Option<u64>,
    /// `[[sim:cut_after=N]]`: drop the connection after N content chunks.
    pub cut_after: Option<usize>,
    /// `[[sim:fail_first=N]]`: the first N identical prompts fail with 503.
    pub fail_first: Option<u32>,
    /// `[[sim:tokens=N]]`: exactly N completion tokens.
    pub tokens: Option<u32>,
    /// `[[sim:parallel_tools]]`: two parallel tool calls when two or more tools are offered.
    pub parallel_tools: bool,
    /// `[[sim:cached_tokens=N]]`: report N of the prompt tokens as served from the prompt cache.
    pub cached_tokens: Option<u32>,
}

impl Directives {
    /// Parses every `[[sim:NAME]]` / `[[sim:NAME=VALUE]]` occurrence in `text`; a later one wins.
    pub(crate) fn parse(text: &str) -> Directives {
        let mut d = Directives::default();
        let mut rest = text;
        while let Some(start) = rest.find("[[sim:") {
            let after = &rest[start + "[[sim:".len()..];
            let Some(end) = after.find("]]") else {
                break;
            };
            d.apply(after[..end].trim());
            rest = &after[end + 2..];
        }
        d
    }

    fn apply(&mut self, directive: &str) {
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => (directive, ""),
        };
        match name {
            "status" => {
                if let Some(code) = value
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (400..=599).contains(c))
                {
                    self.status = Some(code);
                }
            }
            "error" => match value {
                "bad_request" => self.bad_request = true,
                "context_length" => self.context_length = true,
                _ => {}
            },
            "html" => {
                if let Some(code) = value
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (400..=599).contains(c))
                {
                    self.html = Some(code);
                }
            }
            "delay_ms" => self.delay_ms = value.parse().ok().or(self.delay_ms),
            "cut_after" => self.cut_after = value.parse().ok().or(self.cut_after),
            "fail_first" => self.fail_first = value.parse().ok().or(self.fail_first),
            "tokens" => self.tokens = value.parse().ok().or(self.tokens),
            "cached_tokens" => self.cached_tokens = value.parse().ok().or(self.cached_tokens),
            "parallel_tools" => self.parallel_tools = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_directive_anywhere_in_the_text() {
        let d = Directives::parse(
            "hi [[sim:status=429]] and [[sim:delay_ms=250]][[sim:cut_after=3]] \
             [[sim:fail_first=2]] [[sim:tokens=17]] [[sim:parallel_tools]] [[sim:html=502]] \
             [[sim:error=bad_request]] [[sim:cached_tokens=64]] [[sim:error=context_length]]",
        );
        assert_eq!(
            d,
            Directives {
                status: Some(429),
                bad_request: true,
                context_length: true,
                html: Some(502),
                delay_ms: Some(250),
                cut_after: Some(3),
                fail_first: Some(2),
                tokens: Some(17),
                parallel_tools: true,
                cached_tokens: Some(64),
            }
        );
    }

    #[test]
    fn ignores_plain_text_unknown_names_and_bad_values() {
        assert_eq!(
            Directives::parse("no directives [sim:status=500] [[sim:"),
            Directives::default()
        );
        let d = Directives::parse(
            "[[sim:status=200]] [[sim:status=abc]] [[sim:tokens=-1]] [[sim:nope=1]]",
        );
        assert_eq!(d, Directives::default());
    }

    #[test]
    fn later_directive_wins() {
        let d = Directives::parse(
            "[[sim:status=500]] [[sim:status=503]] [[sim:tokens=4]] [[sim:tokens=x]]",
        );
        assert_eq!(d.status, Some(503));
        assert_eq!(d.tokens, Some(4));
    }
}
