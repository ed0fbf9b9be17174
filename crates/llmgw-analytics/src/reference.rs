//! The reference model that savings are measured against.

use llmgw_config::{Catalog, CatalogModel};
use serde::Serialize;

use crate::AnalyticsError;

/// Where the reference model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceSource {
    /// The request named it (`reference_model=`).
    Request,
    /// The config's `analytics.reference_model`.
    Config,
    /// Neither: the catalog's most expensive model (by output price, then input price).
    MostExpensive,
}

/// A model and its prices: what every request would have cost had it gone there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// Catalog id of the reference model.
    pub model: String,
    /// USD per 1M input tokens.
    pub input_per_mtok: f64,
    /// USD per 1M output tokens.
    pub output_per_mtok: f64,
    /// USD per 1M cached input tokens.
    pub cached_input_per_mtok: f64,
    /// Why this model.
    pub source: ReferenceSource,
}

impl Reference {
    /// The reference of `model` with its catalog prices.
    pub fn of(model: &CatalogModel, source: ReferenceSource) -> Reference {
        Reference {
            model: model.id.clone(),
            input_per_mtok: model.input_per_mtok,
            output_per_mtok: model.output_per_mtok,
            cached_input_per_mtok: model.cached_input_price(),
            source,
        }
    }

    /// Picks the reference: `requested` (a query parameter) if given, else `configured`,
    /// else the catalog's most expensive model. A requested or configured id must be in
    /// the catalog; an unknown requested id is an error on `reference_model`.
    pub fn choose(
        catalog: &Catalog,
        requested: Option<&str>,
        configured: Option<&str>,
    ) -> Result<Reference, AnalyticsError> {
        if let Some(id) = requested {
            return catalog
                .get(id)
                .map(|m| Reference::of(m, ReferenceSource::Request))
                .ok_or_else(|| {
                    AnalyticsError::invalid(
                        "reference_model",
                        format!("`{id}` is not a model of the catalog"),
                    )
                });
        }
        if let Some(m) = configured.and_then(|id| catalog.get(id)) {
            return Ok(Reference::of(m, ReferenceSource::Config));
        }
        catalog
            .most_expensive()
            .map(|m| Reference::of(m, ReferenceSource::MostExpensive))
            .ok_or_else(|| AnalyticsError::Read("the catalog has no models".into()))
    }

    /// What `prompt` input tokens (of which `cached` read from a prompt cache) and
    /// `completion` output tokens cost on the reference model, in USD.
    pub fn cost_usd(&self, prompt: u64, cached: u64, completion: u64) -> f64 {
        let cached = cached.min(prompt);
        ((prompt - cached) as f64 * self.input_per_mtok
            + cached as f64 * self.cached_input_per_mtok
            + completion as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn catalog() -> Catalog {
        Catalog::parse(
            r#"
[[model]]
id = "small"
provider = "p"
input_per_mtok = 0.1
output_per_mtok = 0.4
context_window = 1000

[[model]]
id = "big"
provider = "p"
input_per_mtok = 5.0
output_per_mtok = 20.0
cached_input_per_mtok = 1.0
context_window = 1000
"#,
            Path::new("test.toml"),
        )
        .unwrap()
    }

    #[test]
    fn request_beats_config_beats_most_expensive() {
        let c = catalog();
        let r = Reference::choose(&c, None, None).unwrap();
        assert_eq!(
            (r.model.as_str(), r.source),
            ("big", ReferenceSource::MostExpensive)
        );
        let r = Reference::choose(&c, None, Some("small")).unwrap();
        assert_eq!(
            (r.model.as_str(), r.source),
            ("small", ReferenceSource::Config)
        );
        let r = Reference::choose(&c, Some("big"), Some("small")).unwrap();
        assert_eq!(
            (r.model.as_str(), r.source),
            ("big", ReferenceSource::Request)
        );
        let e = Reference::choose(&c, Some("nope"), None).unwrap_err();
        assert_eq!(e.param(), Some("reference_model"));
    }

    #[test]
    fn cached_tokens_use_the_cached_price() {
        let r = Reference::choose(&catalog(), None, None).unwrap();
        // 1000 prompt of which 400 cached, 100 completion:
        // 600 * 5 + 400 * 1 + 100 * 20 = 3000 + 400 + 2000 = 5400 per 1M.
        assert!((r.cost_usd(1000, 400, 100) - 0.0054).abs() < 1e-12);
        // The small model has no cached price: cached tokens cost the input price.
        let s = Reference::choose(&catalog(), Some("small"), None).unwrap();
        assert!((s.cost_usd(1000, 400, 0) - 0.0001).abs() < 1e-12);
    }
}
