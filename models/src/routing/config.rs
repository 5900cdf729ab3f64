//! The predictive-routing configuration of an OU, and the features a lead gives the model.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::LeadFeatures;
use crate::leads::Lead;
use crate::{validate, DomainError, Result};

/// When a prediction is made for a lead without being asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingTriggers {
    /// When a lead is created (default true).
    pub on_lead_created: bool,
    /// When a lead reaches one of these engagement levels (by name).
    pub on_levels: Vec<String>,
    /// When a lead's engagement score reaches this.
    pub score_threshold: Option<f64>,
}

/// What the model learns from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureConfig {
    /// Lead metadata keys used: numbers as numeric features, text and booleans as
    /// categories.
    pub metadata_keys: Vec<String>,
    /// Engagement, profile and account scores (default true).
    pub scores: bool,
    /// The engagement level (default true).
    pub level: bool,
    /// The lead's source: metadata `source`, else `utm_source` (default true).
    pub source: bool,
}

/// `GET /v1/predictive-routing/config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingConfig {
    /// Predictions are made (and triggers fire) only when enabled (default false).
    pub enabled: bool,
    pub triggers: RoutingTriggers,
    /// A prediction at least this confident is routed (its owner assigned) at once; none:
    /// every prediction waits for a person.
    pub auto_route_confidence: Option<f64>,
    /// Training is refused with fewer past assignments than this (default 200).
    pub min_training_samples: u32,
    /// Retrain this often; 0: only when asked (default 24).
    pub retrain_interval_hours: u32,
    pub features: FeatureConfig,
    /// A lead event of one of these types is a conversion of its assignment (a won deal
    /// always is).
    pub conversion_event_types: Vec<String>,
    /// How long after an assignment a conversion still counts (default 30 days).
    pub conversion_window_days: u32,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            enabled: false,
            triggers: RoutingTriggers {
                on_lead_created: true,
                on_levels: Vec::new(),
                score_threshold: None,
            },
            auto_route_confidence: None,
            min_training_samples: 200,
            retrain_interval_hours: 24,
            features: FeatureConfig {
                metadata_keys: ["industry", "region", "country", "company_size", "employees"]
                    .map(String::from)
                    .to_vec(),
                scores: true,
                level: true,
                source: true,
            },
            conversion_event_types: Vec::new(),
            conversion_window_days: 30,
            updated_at: None,
            updated_by: None,
        }
    }
}

/// Most entries of a list setting (metadata keys, levels, conversion types).
pub const MAX_LIST: usize = 50;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggersInput {
    pub on_lead_created: Option<bool>,
    pub on_levels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<f64>)]
    pub score_threshold: Option<Option<f64>>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesInput {
    pub metadata_keys: Option<Vec<String>>,
    pub scores: Option<bool>,
    pub level: Option<bool>,
    pub source: Option<bool>,
}

/// `PUT /v1/predictive-routing/config`: the fields sent change, the others keep their
/// value (null clears `auto_route_confidence` and `triggers.score_threshold`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfigInput {
    pub enabled: Option<bool>,
    pub triggers: Option<TriggersInput>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<f64>)]
    pub auto_route_confidence: Option<Option<f64>>,
    pub min_training_samples: Option<u32>,
    pub retrain_interval_hours: Option<u32>,
    pub features: Option<FeaturesInput>,
    pub conversion_event_types: Option<Vec<String>>,
    pub conversion_window_days: Option<u32>,
}

/// A checked list of names: trimmed, 1–100 characters each, no duplicates, at most 50.
fn names(field: &str, list: Vec<String>) -> Result<Vec<String>> {
    if list.len() > MAX_LIST {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for n in list {
        let n = validate::name(field, &n, 1, 100)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Whether a metadata key names personal data, which routing features must not use:
/// training snapshots keep the metadata the features use.
fn personal(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    const ANYWHERE: [&str; 6] = ["email", "phone", "mobile", "address", "note", "password"];
    const WHOLE: [&str; 10] = [
        "name",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "surname",
        "ssn",
        "dob",
        "dateofbirth",
        "birthday",
    ];
    ANYWHERE.iter().any(|p| k.contains(p)) || WHOLE.contains(&k.as_str())
}

fn within(field: &str, v: u32, min: u32, max: u32) -> Result<u32> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(DomainError::invalid(field, format!("must be {min}-{max}")))
    }
}

impl RoutingConfigInput {
    /// The configuration after this change.
    pub fn apply(self, mut c: RoutingConfig) -> Result<RoutingConfig> {
        if let Some(e) = self.enabled {
            c.enabled = e;
        }
        if let Some(t) = self.triggers {
            if let Some(v) = t.on_lead_created {
                c.triggers.on_lead_created = v;
            }
            if let Some(levels) = t.on_levels {
                c.triggers.on_levels = names("triggers.on_levels", levels)?;
            }
            if let Some(s) = t.score_threshold {
                if s.is_some_and(|v| !v.is_finite()) {
                    return Err(DomainError::invalid(
                        "triggers.score_threshold",
                        "must be a number",
                    ));
                }
                c.triggers.score_threshold = s;
            }
        }
        if let Some(a) = self.auto_route_confidence {
            if a.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                return Err(DomainError::invalid(
                    "auto_route_confidence",
                    "must be from 0 to 1",
                ));
            }
            c.auto_route_confidence = a;
        }
        if let Some(n) = self.min_training_samples {
            c.min_training_samples = within("min_training_samples", n, 10, 1_000_000)?;
        }
        if let Some(h) = self.retrain_interval_hours {
            c.retrain_interval_hours = within("retrain_interval_hours", h, 0, 8_760)?;
        }
        if let Some(f) = self.features {
            if let Some(keys) = f.metadata_keys {
                let keys = names("features.metadata_keys", keys)?;
                if let Some(k) = keys.iter().find(|k| personal(k)) {
                    return Err(DomainError::invalid(
                        "features.metadata_keys",
                        format!(
                            "{k:?} holds personal data (an email, phone, name, address or notes): \
                             routing features may not use it, and assignments keep only what \
                             the features use"
                        ),
                    ));
                }
                c.features.metadata_keys = keys;
            }
            if let Some(v) = f.scores {
                c.features.scores = v;
            }
            if let Some(v) = f.level {
                c.features.level = v;
            }
            if let Some(v) = f.source {
                c.features.source = v;
            }
        }
        if let Some(types) = self.conversion_event_types {
            c.conversion_event_types = names("conversion_event_types", types)?;
        }
        if let Some(d) = self.conversion_window_days {
            c.conversion_window_days = within("conversion_window_days", d, 1, 365)?;
        }
        Ok(c)
    }
}

/// The largest magnitude a numeric feature keeps: beyond it a value counts as the bound,
/// so that no value (1e308 employees, say) overflows a column's mean and variance.
pub const MAX_FEATURE_MAGNITUDE: f64 = 1e12;

fn bounded(x: f64) -> f64 {
    x.clamp(-MAX_FEATURE_MAGNITUDE, MAX_FEATURE_MAGNITUDE)
}

/// A metadata value as a feature: numbers are numeric, text (trimmed, lower-cased, at most
/// 100 characters) and booleans are categories; anything else is left out.
fn put_value(f: &mut LeadFeatures, key: &str, v: &Value) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                f.numeric.insert(key.to_string(), bounded(x));
            }
        }
        Value::String(s) => {
            let s = s.trim().to_lowercase();
            if !s.is_empty() && s.chars().count() <= 100 {
                f.categorical.insert(key.to_string(), s);
            }
        }
        Value::Bool(b) => {
            f.categorical.insert(key.to_string(), b.to_string());
        }
        _ => {}
    }
}

/// What the model may learn from a lead: its properties, scores and level at a moment (at
/// assignment, or as imported from another system).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadSnapshot {
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub engagement_score: f64,
    pub profile_score: f64,
    pub account_score: f64,
    /// The engagement level's name.
    pub level: Option<String>,
}

impl From<&Lead> for LeadSnapshot {
    fn from(lead: &Lead) -> Self {
        LeadSnapshot {
            metadata: lead.metadata.clone(),
            engagement_score: lead.score,
            profile_score: lead.profile_score,
            account_score: lead.account_score,
            level: lead.level.as_ref().map(|l| l.name.clone()),
        }
    }
}

impl LeadSnapshot {
    /// The lead as an assignment keeps it: only the metadata `features` may use (its keys,
    /// `source`, `utm_source`), so training data holds no more of a person than the model
    /// needs (no emails, names or notes).
    pub fn for_training(lead: &Lead, features: &FeatureConfig) -> LeadSnapshot {
        let mut s = LeadSnapshot::from(lead);
        s.metadata.retain(|k, _| {
            features.metadata_keys.contains(k) || k == "source" || k == "utm_source"
        });
        s
    }
}

/// What the model sees of a lead under `features`.
pub fn lead_features(lead: &LeadSnapshot, features: &FeatureConfig) -> LeadFeatures {
    let mut f = LeadFeatures::default();
    for key in &features.metadata_keys {
        if let Some(v) = lead.metadata.get(key) {
            put_value(&mut f, key, v);
        }
    }
    if features.scores {
        f.numeric
            .insert("engagement_score".into(), bounded(lead.engagement_score));
        f.numeric
            .insert("profile_score".into(), bounded(lead.profile_score));
        f.numeric
            .insert("account_score".into(), bounded(lead.account_score));
    }
    if features.level {
        let level = lead.level.as_ref().map(|l| l.to_lowercase());
        f.categorical
            .insert("level".into(), level.unwrap_or_else(|| "none".into()));
    }
    if features.source {
        if let Some(v) = lead
            .metadata
            .get("source")
            .or_else(|| lead.metadata.get("utm_source"))
        {
            put_value(&mut f, "source", v);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(v: Value) -> Result<RoutingConfig> {
        serde_json::from_value::<RoutingConfigInput>(v)
            .unwrap()
            .apply(RoutingConfig::default())
    }

    #[test]
    fn changes_keep_the_rest_and_are_checked() {
        let c = change(json!({"enabled": true, "auto_route_confidence": 0.8,
                              "triggers": {"on_levels": ["Hot", " Hot "]}}))
        .unwrap();
        assert!(c.enabled);
        assert_eq!(c.auto_route_confidence, Some(0.8));
        assert_eq!(c.triggers.on_levels, ["Hot"]);
        assert!(c.triggers.on_lead_created, "kept");
        assert_eq!(c.min_training_samples, 200, "kept");
        let cleared =
            serde_json::from_value::<RoutingConfigInput>(json!({"auto_route_confidence": null}))
                .unwrap()
                .apply(c)
                .unwrap();
        assert_eq!(cleared.auto_route_confidence, None);
        for (v, field) in [
            (
                json!({"auto_route_confidence": 1.5}),
                "auto_route_confidence",
            ),
            (json!({"min_training_samples": 5}), "min_training_samples"),
            (
                json!({"retrain_interval_hours": 9000}),
                "retrain_interval_hours",
            ),
            (
                json!({"conversion_window_days": 0}),
                "conversion_window_days",
            ),
            (
                json!({"conversion_event_types": [""]}),
                "conversion_event_types",
            ),
            (
                json!({"features": {"metadata_keys": vec!["k"; 51]}}),
                "features.metadata_keys",
            ),
            (
                json!({"features": {"metadata_keys": ["industry", "Work Email"]}}),
                "features.metadata_keys",
            ),
            (
                json!({"features": {"metadata_keys": ["first_name"]}}),
                "features.metadata_keys",
            ),
            (
                json!({"features": {"metadata_keys": ["notes"]}}),
                "features.metadata_keys",
            ),
        ] {
            let e = change(v).unwrap_err();
            assert_eq!(e.details.unwrap()["field"], field);
        }
        assert!(serde_json::from_value::<RoutingConfigInput>(json!({"nope": 1})).is_err());
    }

    #[test]
    fn a_lead_becomes_features() {
        let mut lead = Lead::new("o", "u", "l1", "2026-11-24T00:00:00Z");
        lead.metadata = json!({"industry": " SaaS ", "employees": 120, "region": null,
                               "utm_source": "Ads", "vip": true, "notes": {"a": 1}})
        .as_object()
        .cloned()
        .unwrap();
        lead.score = 42.0;
        let mut features = RoutingConfig::default().features;
        features.metadata_keys.push("vip".into());
        features.metadata_keys.push("notes".into());
        let f = lead_features(&LeadSnapshot::from(&lead), &features);
        assert_eq!(f.categorical["industry"], "saas");
        assert_eq!(f.categorical["source"], "ads");
        assert_eq!(f.categorical["vip"], "true");
        assert_eq!(f.categorical["level"], "none");
        assert!(!f.categorical.contains_key("region") && !f.categorical.contains_key("notes"));
        assert_eq!(f.numeric["employees"], 120.0);
        assert_eq!(f.numeric["engagement_score"], 42.0);
        let kept = LeadSnapshot::for_training(&lead, &features);
        assert_eq!(
            kept.metadata.keys().collect::<Vec<_>>(),
            [
                "employees",
                "industry",
                "notes",
                "region",
                "utm_source",
                "vip"
            ]
        );
        assert_eq!(lead_features(&kept, &features), f, "the same features");
        // a huge number counts as the bound: no column's mean or variance can overflow
        let mut huge = LeadSnapshot::from(&lead);
        huge.metadata.insert("employees".into(), json!(1e308));
        huge.engagement_score = -1e300;
        let hf = lead_features(&huge, &features);
        assert_eq!(hf.numeric["employees"], MAX_FEATURE_MAGNITUDE);
        assert_eq!(hf.numeric["engagement_score"], -MAX_FEATURE_MAGNITUDE);
        let encoder = crate::routing::Encoder::fit(&[&hf, &hf, &f], 10);
        for lead in [&hf, &f] {
            assert!(encoder.encode(lead).iter().all(|x| x.is_finite()));
        }
        lead.metadata.insert("email".into(), json!("ann@x.io"));
        assert!(!LeadSnapshot::for_training(&lead, &features)
            .metadata
            .contains_key("email"));
        features.scores = false;
        assert!(!lead_features(&(&lead).into(), &features)
            .numeric
            .contains_key("engagement_score"));
    }

    #[test]
    fn personal_keys_are_told_apart_from_company_ones() {
        for k in [
            "email",
            "Work Email",
            "phone_number",
            "mobile",
            "first_name",
            "Name",
            "notes",
            "home-address",
            "DOB",
        ] {
            assert!(personal(k), "{k}");
        }
        for k in [
            "industry",
            "company_name",
            "company_size",
            "region",
            "country",
            "employees",
            "source",
        ] {
            assert!(!personal(k), "{k}");
        }
    }
}
