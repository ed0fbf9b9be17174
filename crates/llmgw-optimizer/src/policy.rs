//! Routing policies and per-request constraints.

use serde::{Deserialize, Serialize};

use crate::OptimizerError;

/// How the optimizer trades predicted quality against expected cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Policy {
    /// The cheapest eligible candidate whose predicted quality is at least `target`; when
    /// none reaches it, the eligible candidate with the highest predicted quality.
    MinQuality {
        /// Quality target in `[0, 1]`.
        target: f64,
    },
    /// RouterBench's willingness to pay: the eligible candidate maximising
    /// `predicted_quality - estimated_cost_usd / lambda`. `lambda` is in USD per unit of
    /// quality: how many dollars one request may spend to gain 1.0 of quality.
    WillingnessToPay {
        /// Dollars per unit of quality; must be positive.
        lambda: f64,
    },
}

impl Policy {
    /// Short name of the policy: `min_quality` or `willingness_to_pay`.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::MinQuality { .. } => "min_quality",
            Policy::WillingnessToPay { .. } => "willingness_to_pay",
        }
    }

    /// Checks the policy's parameter.
    pub fn validate(&self) -> Result<(), OptimizerError> {
        match *self {
            Policy::MinQuality { target }
                if !(target.is_finite() && (0.0..=1.0).contains(&target)) =>
            {
                Err(OptimizerError::InvalidPolicy(format!(
                    "min_quality must be a number between 0 and 1, got {target}"
                )))
            }
            Policy::WillingnessToPay { lambda } if !(lambda.is_finite() && lambda > 0.0) => {
                Err(OptimizerError::InvalidPolicy(format!(
                    "willingness to pay (lambda) must be a positive number of USD, got {lambda}"
                )))
            }
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Policy::MinQuality { target } => write!(f, "min_quality({target})"),
            Policy::WillingnessToPay { lambda } => write!(f, "willingness_to_pay(lambda={lambda})"),
        }
    }
}

/// Hard limits that exclude candidates before the policy ranks them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Exclude candidates whose estimated cost exceeds this many USD.
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
    /// Only these model ids may be chosen; `None` or an empty list allows every model.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Candidates of these providers are never chosen.
    #[serde(default)]
    pub excluded_providers: Vec<String>,
}

impl Constraints {
    /// Checks the constraint values.
    pub fn validate(&self) -> Result<(), OptimizerError> {
        if let Some(cap) = self.max_cost_usd {
            if !(cap.is_finite() && cap >= 0.0) {
                return Err(OptimizerError::InvalidConstraint(format!(
                    "max_cost_usd must be a non-negative number, got {cap}"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn allows_model(&self, model: &str) -> bool {
        match &self.allowed_models {
            Some(list) if !list.is_empty() => list.iter().any(|m| m == model),
            _ => true,
        }
    }

    pub(crate) fn excludes_provider(&self, provider: &str) -> bool {
        self.excluded_providers.iter().any(|p| p == provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_parameters_are_checked() {
        assert!(Policy::MinQuality { target: 0.7 }.validate().is_ok());
        assert!(Policy::MinQuality { target: 1.2 }.validate().is_err());
        assert!(Policy::MinQuality { target: f64::NAN }.validate().is_err());
        assert!(Policy::WillingnessToPay { lambda: 0.01 }.validate().is_ok());
        assert!(Policy::WillingnessToPay { lambda: 0.0 }.validate().is_err());
        assert!(Policy::WillingnessToPay {
            lambda: f64::INFINITY
        }
        .validate()
        .is_err());
    }

    #[test]
    fn policy_serde_shape() {
        let p: Policy = serde_json::from_str(r#"{"policy":"min_quality","target":0.8}"#).unwrap();
        assert_eq!(p, Policy::MinQuality { target: 0.8 });
        let p: Policy =
            serde_json::from_str(r#"{"policy":"willingness_to_pay","lambda":0.5}"#).unwrap();
        assert_eq!(p, Policy::WillingnessToPay { lambda: 0.5 });
    }

    #[test]
    fn constraints_are_checked() {
        let c = Constraints {
            max_cost_usd: Some(-1.0),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = Constraints {
            allowed_models: Some(vec![]),
            ..Default::default()
        };
        assert!(c.allows_model("anything"));
    }
}
