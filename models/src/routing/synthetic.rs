//! Synthetic routing history with a known ground truth, to measure what the model is worth.
//!
//! Each rep's true chance of converting a lead is
//!
//! ```text
//! σ(−1.5 + 0.02·(engagement − 50) + base_r + industry_r[i] + region_r[g]
//!   + size_r·z(ln employees) + interaction·combo_r[i][g])
//! ```
//!
//! Reps differ by industry, region and company size, plus an industry × region interaction
//! per rep that a model without crossed features cannot express exactly. `source` is noise.
//! History assigns leads to reps uniformly at random (as round robin would) and draws each
//! outcome from the true chance.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{LeadFeatures, RoutingModel, TrainingExample};

pub const INDUSTRIES: [&str; 6] = [
    "saas",
    "fintech",
    "health",
    "retail",
    "manufacturing",
    "media",
];
pub const REGIONS: [&str; 4] = ["emea", "na", "apac", "latam"];
pub const SOURCES: [&str; 4] = ["web", "ads", "referral", "event"];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryOptions {
    pub reps: usize,
    pub examples: usize,
    /// Weight of the per-rep industry × region interaction.
    pub interaction: f64,
    pub seed: u64,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            reps: 20,
            examples: 50_000,
            interaction: 0.5,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone)]
struct RepTruth {
    id: String,
    base: f64,
    industry: Vec<f64>,
    region: Vec<f64>,
    size: f64,
    combo: Vec<Vec<f64>>,
}

/// A lead's true attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueLead {
    pub industry: usize,
    pub region: usize,
    pub employees: f64,
    pub engagement: f64,
    pub source: usize,
}

impl TrueLead {
    fn draw(rng: &mut StdRng) -> TrueLead {
        TrueLead {
            industry: rng.gen_range(0..INDUSTRIES.len()),
            region: rng.gen_range(0..REGIONS.len()),
            employees: (4.0 + normal(rng)).exp().round().max(1.0),
            engagement: rng.gen_range(0.0..100.0_f64).round(),
            source: rng.gen_range(0..SOURCES.len()),
        }
    }

    /// What the model is given: the attributes as a lead's metadata and scores would carry
    /// them.
    pub fn features(&self) -> LeadFeatures {
        let level = match self.engagement {
            e if e >= 70.0 => "hot",
            e if e >= 30.0 => "warm",
            _ => "cold",
        };
        LeadFeatures {
            numeric: BTreeMap::from([
                ("engagement_score".to_string(), self.engagement),
                ("employees".to_string(), self.employees),
            ]),
            categorical: BTreeMap::from([
                (
                    "industry".to_string(),
                    INDUSTRIES[self.industry].to_string(),
                ),
                ("region".to_string(), REGIONS[self.region].to_string()),
                ("source".to_string(), SOURCES[self.source].to_string()),
                ("level".to_string(), level.to_string()),
            ]),
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A generated history and the truth behind it.
#[derive(Debug, Clone)]
pub struct History {
    reps: Vec<RepTruth>,
    interaction: f64,
    pub examples: Vec<TrainingExample>,
}

/// Expected conversions per lead when leads go to the model's pick, by round robin, and to
/// the truly best eligible rep.
#[derive(Debug, Clone, PartialEq)]
pub struct LiftReport {
    pub leads: usize,
    pub model: f64,
    pub round_robin: f64,
    pub oracle: f64,
    /// (model − round robin) / (oracle − round robin).
    pub share_of_oracle_lift: f64,
}

impl History {
    pub fn generate(opts: &HistoryOptions) -> History {
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let reps: Vec<RepTruth> = (0..opts.reps.max(1))
            .map(|i| RepTruth {
                id: format!("rep_{i:02}"),
                base: 0.3 * normal(&mut rng),
                industry: (0..INDUSTRIES.len())
                    .map(|_| 0.8 * normal(&mut rng))
                    .collect(),
                region: (0..REGIONS.len()).map(|_| 0.5 * normal(&mut rng)).collect(),
                size: 0.4 * normal(&mut rng),
                combo: (0..INDUSTRIES.len())
                    .map(|_| (0..REGIONS.len()).map(|_| normal(&mut rng)).collect())
                    .collect(),
            })
            .collect();
        let mut h = History {
            reps,
            interaction: opts.interaction,
            examples: Vec::with_capacity(opts.examples),
        };
        for _ in 0..opts.examples {
            let lead = TrueLead::draw(&mut rng);
            let r = rng.gen_range(0..h.reps.len());
            let converted = rng.gen_bool(h.chance(&lead, r));
            h.examples.push(TrainingExample {
                lead: lead.features(),
                rep_id: h.reps[r].id.clone(),
                converted,
            });
        }
        h
    }

    pub fn rep_ids(&self) -> Vec<String> {
        self.reps.iter().map(|r| r.id.clone()).collect()
    }

    /// The true chance that `lead` converts with rep number `r`.
    pub fn chance(&self, lead: &TrueLead, r: usize) -> f64 {
        let rep = &self.reps[r];
        let size_z = (lead.employees.ln() - 4.0) / 1.0;
        sigmoid(
            -1.5 + 0.02 * (lead.engagement - 50.0)
                + rep.base
                + rep.industry[lead.industry]
                + rep.region[lead.region]
                + rep.size * size_z
                + self.interaction * rep.combo[lead.industry][lead.region],
        )
    }

    /// Routes `leads` fresh leads (each rep eligible with chance 0.8, at least one) three
    /// ways and compares the expected conversions.
    pub fn lift(&self, model: &RoutingModel, leads: usize, seed: u64) -> LiftReport {
        self.lift_with(
            |lead, ids| model.rank(lead, ids)[0].rep_id.clone(),
            leads,
            seed,
        )
    }

    /// [`History::lift`] of any policy that picks one of the eligible reps' ids.
    pub fn lift_with(
        &self,
        mut pick: impl FnMut(&LeadFeatures, &[String]) -> String,
        leads: usize,
        seed: u64,
    ) -> LiftReport {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut by_model, mut by_rr, mut by_oracle) = (0.0, 0.0, 0.0);
        let mut rr_next = 0usize;
        for _ in 0..leads {
            let lead = TrueLead::draw(&mut rng);
            let mut eligible: Vec<usize> =
                (0..self.reps.len()).filter(|_| rng.gen_bool(0.8)).collect();
            if eligible.is_empty() {
                eligible.push(rng.gen_range(0..self.reps.len()));
            }
            let ids: Vec<String> = eligible.iter().map(|r| self.reps[*r].id.clone()).collect();
            let pick = pick(&lead.features(), &ids);
            let picked = eligible
                .iter()
                .copied()
                .find(|r| self.reps[*r].id == pick)
                .unwrap_or(eligible[0]);
            by_model += self.chance(&lead, picked);
            // round robin: the next rep in turn that is eligible
            let rr = (0..self.reps.len())
                .map(|k| (rr_next + k) % self.reps.len())
                .find(|r| eligible.contains(r))
                .unwrap_or(eligible[0]);
            rr_next = rr + 1;
            by_rr += self.chance(&lead, rr);
            by_oracle += eligible
                .iter()
                .map(|r| self.chance(&lead, *r))
                .fold(0.0, f64::max);
        }
        let n = leads.max(1) as f64;
        let (model, round_robin, oracle) = (by_model / n, by_rr / n, by_oracle / n);
        LiftReport {
            leads,
            model,
            round_robin,
            oracle,
            share_of_oracle_lift: if oracle > round_robin {
                (model - round_robin) / (oracle - round_robin)
            } else {
                0.0
            },
        }
    }
}
