//! `[analytics]`: spend analytics (`GET /v1/analytics/spend`, the dashboard).
//!
//! ```toml
//! [analytics]
//! reference_model = "gpt-4o"   # savings = cost on this model − actual cost
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::ConfigError;

/// The `[analytics]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Catalog model that savings are measured against. Default: the catalog's most
    /// expensive model (by output price, then input price).
    #[serde(default)]
    pub reference_model: Option<String>,
}

impl AnalyticsConfig {
    pub(crate) fn validate(&self, file: &Path, catalog: &Catalog) -> Result<(), ConfigError> {
        if let Some(id) = &self.reference_model {
            if !catalog.contains(id) {
                return Err(ConfigError::invalid(
                    file,
                    "analytics.reference_model",
                    format!("expected a model id of the catalog, got {id:?}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_model_must_be_in_the_catalog() {
        let catalog = Catalog::parse(
            "[[model]]\nid = \"m\"\nprovider = \"p\"\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\ncontext_window = 100\n",
            Path::new("catalog.toml"),
        )
        .unwrap();
        let file = Path::new("llmgw.toml");
        assert!(AnalyticsConfig::default().validate(file, &catalog).is_ok());
        let known = AnalyticsConfig {
            reference_model: Some("m".into()),
        };
        assert!(known.validate(file, &catalog).is_ok());
        let unknown = AnalyticsConfig {
            reference_model: Some("gpt-9".into()),
        };
        let err = unknown.validate(file, &catalog).unwrap_err().to_string();
        assert!(
            err.contains("analytics.reference_model") && err.contains("gpt-9"),
            "{err}"
        );
    }
}
