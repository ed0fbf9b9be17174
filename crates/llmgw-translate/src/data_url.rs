//! `data:` URL parsing for inline images, audio and files.

/// A parsed base64 `data:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    /// The media type, e.g. `image/png`.
    pub media_type: String,
    /// The base64 payload, as given.
    pub data: String,
}

impl DataUrl {
    /// Parses `data:<media type>;base64,<data>`. Returns `None` for anything else
    /// (other URLs, or data URLs that are not base64).
    pub fn parse(url: &str) -> Option<DataUrl> {
        let rest = url.strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let mut fields = meta.split(';');
        let media_type = fields
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !fields.any(|f| f.trim().eq_ignore_ascii_case("base64")) {
            return None;
        }
        let media_type = if media_type.is_empty() {
            "application/octet-stream".to_string()
        } else {
            media_type
        };
        Some(DataUrl {
            media_type,
            data: data.to_string(),
        })
    }
}

/// A media type guessed from a URL's file extension (`image/jpeg` when unknown).
pub(crate) fn media_type_from_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "mp3" => "audio/mp3",
        "mp4" => "video/mp4",
        _ => "image/jpeg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base64_data_urls_only() {
        let d = DataUrl::parse("data:image/PNG;base64,iVBORw0KGgo=").unwrap();
        assert_eq!(d.media_type, "image/png");
        assert_eq!(d.data, "iVBORw0KGgo=");
        assert!(DataUrl::parse("data:text/plain,hello").is_none());
        assert!(DataUrl::parse("https://example.com/cat.png").is_none());
    }

    #[test]
    fn guesses_media_type() {
        assert_eq!(media_type_from_url("https://x/y.webp?sig=1"), "image/webp");
        assert_eq!(
            media_type_from_url("gs://bucket/doc.pdf"),
            "application/pdf"
        );
        assert_eq!(media_type_from_url("https://x/y"), "image/jpeg");
    }
}
