//! Predictive routing: the model that estimates, for a lead and each eligible rep, the
//! chance the lead converts when that rep owns it, and ranks the reps by it.
//!
//! **Algorithm: one L2-regularised logistic regression per rep** (linfa-logistic), over the
//! lead's encoded features, with a pooled regression (every rep's examples) as the fallback
//! for reps with too few examples or outcomes of one kind. Why this one:
//! - the question is per rep ("how likely does *this* lead convert with *this* rep"), so a
//!   separate model per rep captures each rep's strengths (industries, regions, deal sizes)
//!   without hand-made interaction features; a single model over `[lead, rep]` would need
//!   every lead feature crossed with every rep to say the same;
//! - logistic regression gives calibrated probabilities (a confidence means what it says,
//!   never stuck at 0 or 100 for lack of data, thanks to the L2 penalty), trains in
//!   milliseconds per rep, and its weights explain a choice: the top features behind a
//!   prediction are the largest `weight × value` differences between the picked rep's model
//!   and the other eligible reps' average;
//! - on the synthetic history (a ground truth with per-rep affinities and an interaction
//!   the model cannot express exactly) it captures most of the oracle's lift (see
//!   `benches/routing.rs` and benches/README.md for the figures).
//!
//! The fitted weights are plain numbers: a model is stored as JSON and predicts without
//! linfa after a restart.

use std::collections::BTreeMap;

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use prediction::round4;
use serde::{Deserialize, Serialize};

pub mod config;
pub mod prediction;
pub mod synthetic;
pub mod training;

/// The algorithm a model reports.
pub const ALGORITHM: &str = "per_rep_logistic_regression_l2";

/// A lead as the model sees it: numeric features (scores, numeric attributes) and
/// categorical ones (level, source, text attributes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadFeatures {
    #[serde(default)]
    pub numeric: BTreeMap<String, f64>,
    #[serde(default)]
    pub categorical: BTreeMap<String, String>,
}

/// One past assignment and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingExample {
    pub lead: LeadFeatures,
    pub rep_id: String,
    pub converted: bool,
}

/// How a training run is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// L2 penalty of every regression.
    pub alpha: f64,
    /// Fewer examples than this in total: training is refused.
    pub min_samples: usize,
    /// A rep with fewer examples (or only one kind of outcome) uses the pooled model.
    pub min_rep_samples: usize,
    /// Share of examples held out for the reported metrics (0 = none).
    pub holdout_fraction: f64,
    /// Most distinct values kept per categorical feature (the most frequent).
    pub max_categories: usize,
    pub max_iterations: u64,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 1.0,
            min_samples: 100,
            min_rep_samples: 40,
            holdout_fraction: 0.2,
            max_categories: 20,
            max_iterations: 200,
            seed: 7,
        }
    }
}

/// Why training did not produce a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("not enough training data: {have} examples, at least {need} are needed")]
    TooFewSamples { have: usize, need: usize },
    #[error(
        "the training data has only {0} outcomes: both conversions and non-conversions are needed"
    )]
    OneOutcome(&'static str),
    #[error("training failed: {0}")]
    Fit(String),
}

/// Turns lead features into the model's numbers: numeric features standardised (heavy-
/// tailed non-negative ones such as employee counts on a log scale first), categorical ones
/// one-hot over the values seen in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    pub numeric: Vec<NumericColumn>,
    /// (name, kept values)
    pub categorical: Vec<(String, Vec<String>)>,
}

/// How one numeric feature is scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericColumn {
    pub name: String,
    /// `ln(1 + v)` before standardising.
    pub log: bool,
    pub mean: f64,
    pub sd: f64,
}

impl NumericColumn {
    fn fit(name: &str, values: &[f64]) -> NumericColumn {
        let n = values.len().max(1) as f64;
        let moments = |vs: &mut dyn Iterator<Item = f64>| {
            let v: Vec<f64> = vs.collect();
            let mean = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            let sd = var.sqrt();
            let skew = if sd > 0.0 {
                v.iter().map(|x| ((x - mean) / sd).powi(3)).sum::<f64>() / n
            } else {
                0.0
            };
            (mean, sd, skew)
        };
        let (mean, sd, skew) = moments(&mut values.iter().copied());
        let log = skew > 2.0 && values.iter().all(|v| *v >= 0.0);
        let (mean, sd) = if log {
            let (m, s, _) = moments(&mut values.iter().map(|v| v.ln_1p()));
            (m, s)
        } else {
            (mean, sd)
        };
        NumericColumn {
            name: name.to_string(),
            log,
            mean,
            sd: sd.max(1e-9),
        }
    }

    fn scale(&self, v: f64) -> f64 {
        let v = if self.log { v.max(0.0).ln_1p() } else { v };
        (v - self.mean) / self.sd
    }
}

impl Encoder {
    /// Learns the encoding from training leads.
    pub fn fit(leads: &[&LeadFeatures], max_categories: usize) -> Encoder {
        let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for l in leads {
            for (k, v) in &l.numeric {
                if v.is_finite() {
                    values.entry(k).or_default().push(*v);
                }
            }
            for (k, v) in &l.categorical {
                *counts.entry(k).or_default().entry(v).or_default() += 1;
            }
        }
        let numeric = values
            .into_iter()
            .map(|(k, v)| NumericColumn::fit(k, &v))
            .collect();
        let categorical = counts
            .into_iter()
            .map(|(k, values)| {
                let mut v: Vec<(&str, usize)> = values.into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                v.truncate(max_categories);
                let mut kept: Vec<String> = v.into_iter().map(|(s, _)| s.to_string()).collect();
                kept.sort();
                (k.to_string(), kept)
            })
            .collect();
        Encoder {
            numeric,
            categorical,
        }
    }

    pub fn width(&self) -> usize {
        self.numeric.len() + self.categorical.iter().map(|(_, v)| v.len()).sum::<usize>()
    }

    /// Each column's readable name (`engagement_score`, `industry=saas`).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.numeric.iter().map(|c| c.name.clone()).collect();
        for (k, values) in &self.categorical {
            names.extend(values.iter().map(|v| format!("{k}={v}")));
        }
        names
    }

    /// A lead's row: a missing numeric feature is the training mean (0 once standardised),
    /// an unseen category is all zeros.
    pub fn encode(&self, lead: &LeadFeatures) -> Vec<f64> {
        let mut row = Vec::with_capacity(self.width());
        for c in &self.numeric {
            let v = lead.numeric.get(&c.name).copied().filter(|v| v.is_finite());
            row.push(v.map(|v| c.scale(v)).unwrap_or(0.0));
        }
        for (k, values) in &self.categorical {
            let have = lead.categorical.get(k);
            row.extend(values.iter().map(|v| f64::from(have == Some(v))));
        }
        row
    }
}

/// One logistic regression: P(convert) = σ(weights · x + intercept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// Examples it was trained on, and how many converted.
    pub samples: usize,
    pub conversions: usize,
}

impl Regression {
    pub fn probability(&self, x: &[f64]) -> f64 {
        let z: f64 = self.intercept + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// Quality on the held-out examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HoldoutMetrics {
    pub samples: usize,
    /// Area under the ROC curve of the predicted conversion chance (0.5 = chance).
    pub auc: f64,
    pub log_loss: f64,
    /// Share of held-out examples whose outcome the model got right at 0.5.
    pub accuracy: f64,
    /// Observed conversion rate of the held-out examples.
    pub base_rate: f64,
}

/// A trained model: the encoding, one regression per rep with enough data, and the pooled
/// fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingModel {
    pub algorithm: String,
    pub encoder: Encoder,
    pub pooled: Regression,
    pub reps: BTreeMap<String, Regression>,
    pub samples: usize,
    pub metrics: HoldoutMetrics,
}

/// A rep's estimated chance of converting a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepScore {
    pub rep_id: String,
    pub probability: f64,
}

/// A feature that made the picked rep stand out for this lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeatureContribution {
    pub feature: String,
    /// How much it raised (or lowered) the picked rep's log-odds against the other eligible
    /// reps' average.
    pub contribution: f64,
}

fn fit_one(x: &Array2<f64>, y: &[bool], opts: &TrainOptions) -> Result<Regression, TrainError> {
    let targets = Array1::from(y.to_vec());
    let dataset = Dataset::new(x.clone(), targets);
    let fitted = LogisticRegression::default()
        .alpha(opts.alpha)
        .max_iterations(opts.max_iterations)
        .fit(&dataset)
        .map_err(|e| TrainError::Fit(e.to_string()))?;
    // linfa predicts the "larger" class; orient the weights to predict a conversion
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Regression {
        weights: fitted.params().iter().map(|w| w * sign).collect(),
        intercept: fitted.intercept() * sign,
        samples: y.len(),
        conversions: y.iter().filter(|c| **c).count(),
    })
}

fn matrix(rows: &[Vec<f64>], width: usize) -> Array2<f64> {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Array2::from_shape_vec((rows.len(), width), flat).unwrap_or_else(|_| Array2::zeros((0, width)))
}

/// Trains on past assignments. Deterministic for the same examples and options.
pub fn train(
    examples: &[TrainingExample],
    opts: &TrainOptions,
) -> Result<RoutingModel, TrainError> {
    if examples.len() < opts.min_samples.max(2) {
        return Err(TrainError::TooFewSamples {
            have: examples.len(),
            need: opts.min_samples.max(2),
        });
    }
    let conversions = examples.iter().filter(|e| e.converted).count();
    if conversions == 0 {
        return Err(TrainError::OneOutcome("non-conversion"));
    }
    if conversions == examples.len() {
        return Err(TrainError::OneOutcome("conversion"));
    }
    // a deterministic holdout: every k-th example by a seeded shuffle of indices
    let mut order: Vec<usize> = (0..examples.len()).collect();
    {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
        order.shuffle(&mut rng);
    }
    let holdout_n = ((examples.len() as f64) * opts.holdout_fraction.clamp(0.0, 0.5)) as usize;
    let (held, trained) = order.split_at(holdout_n);
    let train_set: Vec<&TrainingExample> = trained.iter().map(|i| &examples[*i]).collect();
    let encoder = Encoder::fit(
        &train_set.iter().map(|e| &e.lead).collect::<Vec<_>>(),
        opts.max_categories,
    );
    let width = encoder.width();
    let rows: Vec<Vec<f64>> = train_set.iter().map(|e| encoder.encode(&e.lead)).collect();
    let outcomes: Vec<bool> = train_set.iter().map(|e| e.converted).collect();
    if !outcomes.iter().any(|c| *c) || outcomes.iter().all(|c| *c) {
        return Err(TrainError::OneOutcome(if outcomes.iter().any(|c| *c) {
            "conversion"
        } else {
            "non-conversion"
        }));
    }
    let pooled = fit_one(&matrix(&rows, width), &outcomes, opts)?;
    let mut by_rep: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in train_set.iter().enumerate() {
        by_rep.entry(e.rep_id.as_str()).or_default().push(i);
    }
    let mut reps = BTreeMap::new();
    for (rep, idx) in by_rep {
        let y: Vec<bool> = idx.iter().map(|i| outcomes[*i]).collect();
        let positives = y.iter().filter(|c| **c).count();
        if idx.len() < opts.min_rep_samples || positives == 0 || positives == y.len() {
            continue;
        }
        let x = matrix(
            &idx.iter().map(|i| rows[*i].clone()).collect::<Vec<_>>(),
            width,
        );
        reps.insert(rep.to_string(), fit_one(&x, &y, opts)?);
    }
    let mut model = RoutingModel {
        algorithm: ALGORITHM.to_string(),
        encoder,
        pooled,
        reps,
        samples: train_set.len(),
        metrics: HoldoutMetrics::default(),
    };
    let held: Vec<&TrainingExample> = held.iter().map(|i| &examples[*i]).collect();
    model.metrics = model.evaluate(&held);
    Ok(model)
}

impl RoutingModel {
    fn regression(&self, rep_id: &str) -> &Regression {
        self.reps.get(rep_id).unwrap_or(&self.pooled)
    }

    /// The chance `lead` converts with `rep_id` (the pooled estimate for a rep the model
    /// has not learned).
    pub fn probability(&self, lead: &LeadFeatures, rep_id: &str) -> f64 {
        self.regression(rep_id)
            .probability(&self.encoder.encode(lead))
    }

    /// The eligible reps, best first (ties by id).
    pub fn rank(&self, lead: &LeadFeatures, eligible: &[String]) -> Vec<RepScore> {
        let x = self.encoder.encode(lead);
        let mut scores: Vec<RepScore> = eligible
            .iter()
            .map(|r| RepScore {
                rep_id: r.clone(),
                probability: self.regression(r).probability(&x),
            })
            .collect();
        scores.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then_with(|| a.rep_id.cmp(&b.rep_id))
        });
        scores
    }

    /// The `n` features that most set `rep_id` apart from the other eligible reps for this
    /// lead: its weight minus their mean weight, times the lead's value.
    pub fn top_features(
        &self,
        lead: &LeadFeatures,
        rep_id: &str,
        eligible: &[String],
        n: usize,
    ) -> Vec<FeatureContribution> {
        let x = self.encoder.encode(lead);
        let picked = self.regression(rep_id);
        let others: Vec<&Regression> = eligible
            .iter()
            .filter(|r| r.as_str() != rep_id)
            .map(|r| self.regression(r))
            .collect();
        let names = self.encoder.names();
        let mut contributions: Vec<FeatureContribution> = names
            .into_iter()
            .enumerate()
            .filter(|(j, _)| x[*j] != 0.0)
            .map(|(j, feature)| {
                let mean_other = if others.is_empty() {
                    0.0
                } else {
                    others.iter().map(|r| r.weights[j]).sum::<f64>() / others.len() as f64
                };
                FeatureContribution {
                    feature,
                    contribution: (picked.weights[j] - mean_other) * x[j],
                }
            })
            .filter(|c| c.contribution.abs() > 1e-6)
            .collect();
        contributions.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        contributions.truncate(n);
        for c in &mut contributions {
            c.contribution = round4(c.contribution);
        }
        contributions
    }

    /// Metrics of the model's conversion estimates on examples it did not train on.
    pub fn evaluate(&self, examples: &[&TrainingExample]) -> HoldoutMetrics {
        if examples.is_empty() {
            return HoldoutMetrics::default();
        }
        let scored: Vec<(f64, bool)> = examples
            .iter()
            .map(|e| (self.probability(&e.lead, &e.rep_id), e.converted))
            .collect();
        let n = scored.len() as f64;
        let log_loss = scored
            .iter()
            .map(|(p, y)| {
                let p = p.clamp(1e-9, 1.0 - 1e-9);
                if *y {
                    -p.ln()
                } else {
                    -(1.0 - p).ln()
                }
            })
            .sum::<f64>()
            / n;
        let accuracy = scored.iter().filter(|(p, y)| (*p >= 0.5) == *y).count() as f64 / n;
        let base_rate = scored.iter().filter(|(_, y)| *y).count() as f64 / n;
        HoldoutMetrics {
            samples: scored.len(),
            auc: auc(&scored),
            log_loss: round4(log_loss),
            accuracy: round4(accuracy),
            base_rate: round4(base_rate),
        }
    }
}

/// Area under the ROC curve by ranks (ties share their average rank).
fn auc(scored: &[(f64, bool)]) -> f64 {
    let pos = scored.iter().filter(|(_, y)| *y).count() as f64;
    let neg = scored.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    let mut sorted: Vec<&(f64, bool)> = scored.iter().collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * sorted[i..=j].iter().filter(|(_, y)| *y).count() as f64;
        i = j + 1;
    }
    round4((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

#[cfg(test)]
mod tests {
    use super::synthetic::{History, HistoryOptions};
    use super::*;

    #[test]
    fn refuses_too_little_or_one_sided_data() {
        let h = History::generate(&HistoryOptions {
            reps: 3,
            examples: 50,
            ..HistoryOptions::default()
        });
        let err = train(&h.examples, &TrainOptions::default()).unwrap_err();
        assert_eq!(
            err,
            TrainError::TooFewSamples {
                have: 50,
                need: 100
            }
        );
        assert!(err.to_string().contains("at least 100"));
        let mut all_won = History::generate(&HistoryOptions::default()).examples;
        for e in &mut all_won {
            e.converted = true;
        }
        assert_eq!(
            train(&all_won, &TrainOptions::default()).unwrap_err(),
            TrainError::OneOutcome("conversion")
        );
    }

    #[test]
    fn learns_who_converts_what_and_explains_it() {
        let h = History::generate(&HistoryOptions {
            reps: 5,
            examples: 8_000,
            ..HistoryOptions::default()
        });
        let model = train(&h.examples, &TrainOptions::default()).unwrap();
        assert_eq!(model.reps.len(), 5);
        assert!(model.metrics.auc > 0.6, "{:?}", model.metrics);
        let report = h.lift(&model, 2_000, 11);
        assert!(report.share_of_oracle_lift > 0.7, "{report:?}");
        // probabilities are estimates, never stuck at 0 or 1
        let lead = &h.examples[0].lead;
        let ranked = model.rank(lead, &h.rep_ids());
        assert_eq!(ranked.len(), 5);
        assert!(ranked
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability));
        assert!(ranked
            .iter()
            .all(|r| r.probability > 0.0 && r.probability < 1.0));
        let why = model.top_features(lead, &ranked[0].rep_id, &h.rep_ids(), 3);
        assert!(!why.is_empty() && why.len() <= 3);
        // reported to 4 places, as written (no 0.14429999999999998)
        for c in &why {
            let text = serde_json::to_string(&c.contribution).unwrap();
            let places = text.split('.').nth(1).map_or(0, str::len);
            assert!(places <= 4, "{text}");
        }
        // the stored form predicts the same
        let back: RoutingModel =
            serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
        assert_eq!(back.rank(lead, &h.rep_ids()), ranked);
    }

    #[test]
    fn an_unknown_rep_gets_the_pooled_estimate() {
        let h = History::generate(&HistoryOptions {
            reps: 3,
            examples: 2_000,
            ..HistoryOptions::default()
        });
        let model = train(&h.examples, &TrainOptions::default()).unwrap();
        let lead = &h.examples[1].lead;
        let p = model.probability(lead, "rep_new");
        assert_eq!(p, model.pooled.probability(&model.encoder.encode(lead)));
    }
}
