//! Inactivity deductions (see [`crate::decay`]) swept over a lead's history.
//!
//! Between two activities (a *stretch*), each decay rule takes its `decrease` off every
//! ruleset's score at every full period; with negative scores disallowed a step takes no
//! more than the score has left. Steps are taken in (time, rule) order.
//!
//! Two things keep this cheap whatever the history:
//! - **Runs.** A rule's consecutive steps that took the same points are one
//!   [`Deduction`] with a `count`. Steps that take their full `decrease` are counted in
//!   closed form (a binary search for the last of them), so a stretch costs
//!   O(rules × rulesets × log) instead of one pass per period. Only the steps near a score
//!   reaching zero, and stretches where a negative contribution can lift a score back up,
//!   are taken one at a time.
//! - **Memo.** A stretch that a later activity closed never changes, so the book keeps
//!   the runs and sums of its closed stretches ([`DecayMemo`]), extended as events are
//!   appended. A read sweeps only the open stretch since the latest activity.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use chrono::Duration;

use super::{Contribution, ScoringConfig, Sweep};
use crate::decay::{InactivityDecay, MAX_STEPS_PER_GAP};
use crate::time::Timestamp;

/// A run of inactivity deductions: `count` (≥ 1) steps of one decay rule, `period` apart
/// from `first_at`, each taking `amounts` off each ruleset (only the rulesets it took
/// something off).
#[derive(Debug, Clone, PartialEq)]
pub struct Deduction {
    pub decay_id: String,
    pub first_at: Timestamp,
    pub period: Duration,
    pub count: u32,
    pub amounts: BTreeMap<String, f64>,
}

impl Deduction {
    fn step_at(&self, j: u32) -> Timestamp {
        self.first_at + self.period * j as i32
    }

    /// The time of the run's last step.
    pub fn last_at(&self) -> Timestamp {
        self.step_at(self.count.saturating_sub(1))
    }

    /// Each step's time, oldest first.
    pub fn steps(&self) -> impl Iterator<Item = Timestamp> + '_ {
        (0..self.count).map(|j| self.step_at(j))
    }

    /// The points the whole run took off one ruleset.
    pub fn total(&self, ruleset_id: &str) -> f64 {
        self.amounts
            .get(ruleset_id)
            .map_or(0.0, |a| a * f64::from(self.count))
    }

    /// The steps of this run dated after `t` (at or after it when `inclusive`), if any.
    pub fn since(&self, t: Timestamp, inclusive: bool) -> Option<Deduction> {
        let p = nanos(self.period);
        let elapsed = (t - self.first_at).num_nanoseconds().unwrap_or(i64::MAX);
        let before = if elapsed < 0 {
            0
        } else if inclusive {
            elapsed.div_euclid(p) + i64::from(elapsed.rem_euclid(p) != 0)
        } else {
            elapsed.div_euclid(p) + 1
        };
        let skip = u32::try_from(before).unwrap_or(u32::MAX);
        (skip < self.count).then(|| Deduction {
            first_at: self.step_at(skip),
            count: self.count - skip,
            ..self.clone()
        })
    }
}

/// The points `deductions` took off one ruleset.
pub fn deducted(deductions: &[Deduction], ruleset_id: &str) -> f64 {
    deductions.iter().map(|d| d.total(ruleset_id)).sum()
}

fn nanos(d: Duration) -> i64 {
    d.num_nanoseconds().unwrap_or(i64::MAX).max(1)
}

/// What the deductions depend on in a config besides the book's own events.
fn key(config: &ScoringConfig) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for d in &config.decays {
        (&d.decay_id, nanos(d.period), d.decrease.to_bits()).hash(&mut h);
    }
    for r in &config.rulesets {
        r.ruleset_id.hash(&mut h);
    }
    config.allow_negative_scores.hash(&mut h);
    config.observe_only.hash(&mut h);
    h.finish()
}

/// The steps one rule may take in a stretch: step `k` falls `k` periods after its start.
struct Steps {
    period: Duration,
    nanos: i64,
    /// The next step to take (from 1).
    next: u32,
    /// The last step due: before the stretch's end, at or before `now`, and at most
    /// [`MAX_STEPS_PER_GAP`].
    last: u32,
}

impl Steps {
    fn new(
        d: &InactivityDecay,
        start: Timestamp,
        end: Option<Timestamp>,
        now: Option<Timestamp>,
    ) -> Steps {
        let n = nanos(d.period);
        let span = |t: Timestamp| (t - start).num_nanoseconds().unwrap_or(i64::MAX);
        let mut last = i64::from(MAX_STEPS_PER_GAP);
        if let Some(e) = end {
            last = last.min(span(e).saturating_sub(1).div_euclid(n));
        }
        if let Some(t) = now {
            last = last.min(span(t).div_euclid(n));
        }
        Steps {
            period: d.period,
            nanos: n,
            next: 1,
            last: u32::try_from(last.max(0)).unwrap_or(0),
        }
    }

    fn pending(&self) -> bool {
        self.next <= self.last
    }

    fn at(&self, start: Timestamp, k: u32) -> Timestamp {
        start + self.period * k as i32
    }

    /// How many pending steps fall at or before `t`.
    fn through(&self, start: Timestamp, t: Timestamp) -> u32 {
        let k = (t - start)
            .num_nanoseconds()
            .unwrap_or(i64::MAX)
            .div_euclid(self.nanos)
            .clamp(0, i64::from(self.last));
        (k + 1 - i64::from(self.next)).max(0) as u32
    }
}

/// Deductions swept up to the start of some stretch: per ruleset (in config order) its
/// contributions summed at that start, and the points deducted from it so far.
#[derive(Debug, Clone)]
struct Tally {
    rulesets: Vec<(String, Sweep, f64)>,
}

impl Tally {
    fn new(config: &ScoringConfig) -> Tally {
        Tally {
            rulesets: config
                .rulesets
                .iter()
                .map(|r| (r.ruleset_id.clone(), Sweep::default(), 0.0))
                .collect(),
        }
    }

    fn totals(&self) -> BTreeMap<String, f64> {
        self.rulesets
            .iter()
            .map(|(rs, _, d)| (rs.clone(), *d))
            .collect()
    }

    /// Sweeps the stretch from the activity at `start` until the next activity at `end`
    /// (none: open) and no later than `now` (none: unbounded), adding its runs to `out`.
    fn stretch(
        &mut self,
        config: &ScoringConfig,
        contributions: &BTreeMap<String, Vec<Contribution>>,
        start: Timestamp,
        (end, now): (Option<Timestamp>, Option<Timestamp>),
        out: Option<&mut Vec<Deduction>>,
    ) {
        for (rs, sweep, _) in &mut self.rulesets {
            let own = contributions.get(rs).map(Vec::as_slice).unwrap_or(&[]);
            sweep.advance(own, start);
        }
        let floor = !config.allow_negative_scores;
        let mut steps: Vec<Steps> = config
            .decays
            .iter()
            .map(|d| Steps::new(d, start, end, now))
            .collect();
        // without a floor every step takes its full decrease; with one, and no negative
        // points to lift a score back up, a score that reached zero stays there
        let closed_form = !floor || self.rulesets.iter().all(|(_, s, _)| !s.negative);
        let mut settled = vec![false; self.rulesets.len()];
        let mut runs = Runs::new(config.decays.len());
        loop {
            if floor && closed_form && settled.iter().all(|s| *s) {
                break;
            }
            if closed_form {
                self.skip_full(config, &mut steps, start, &mut settled, &mut runs);
            }
            // the next step in (time, rule) order, taken as defined
            let Some(i) = (0..steps.len())
                .filter(|&i| steps[i].pending())
                .min_by_key(|&i| (steps[i].at(start, steps[i].next), i))
            else {
                break;
            };
            let at = steps[i].at(start, steps[i].next);
            let decrease = config.decays[i].decrease;
            let mut amounts = BTreeMap::new();
            for (j, (rs, sweep, deducted)) in self.rulesets.iter_mut().enumerate() {
                let left = sweep.at(at) - *deducted;
                let amount = if floor {
                    decrease.min(left.max(0.0))
                } else {
                    decrease
                };
                *deducted += amount;
                settled[j] |= left - amount <= 0.0;
                if amount > 0.0 {
                    amounts.insert(rs.clone(), amount);
                }
            }
            runs.record(config, i, at, 1, amounts);
            steps[i].next += 1;
        }
        if let Some(out) = out {
            out.extend(runs.finish());
        }
    }

    /// Takes, in closed form, every pending step up to the latest time at which all of
    /// them still take their full decrease from each ruleset not yet at zero for good.
    fn skip_full(
        &mut self,
        config: &ScoringConfig,
        steps: &mut [Steps],
        start: Timestamp,
        settled: &mut [bool],
        runs: &mut Runs,
    ) {
        let pending = || steps.iter().filter(|s| s.pending());
        let (Some(first), Some(last)) = (
            pending().map(|s| s.at(start, s.next)).min(),
            pending().map(|s| s.at(start, s.last)).max(),
        ) else {
            return;
        };
        let floor = !config.allow_negative_scores;
        let taken = |t: Timestamp| -> f64 {
            steps
                .iter()
                .zip(&config.decays)
                .map(|(s, d)| f64::from(s.through(start, t)) * d.decrease)
                .sum()
        };
        // the scores are non-increasing and the deductions non-decreasing in time, so
        // whether every step through `t` is full only needs checking at `t`
        let full =
            |t: Timestamp| {
                !floor
                    || self.rulesets.iter().zip(settled.iter()).all(
                        |((_, sweep, deducted), done)| {
                            *done || sweep.at(t) - *deducted - taken(t) >= 0.0
                        },
                    )
            };
        let through = if full(last) {
            last
        } else if !full(first) {
            return;
        } else {
            let (mut ok, mut not) = (first, last);
            while let Some(half) = (not - ok).num_nanoseconds().filter(|n| *n > 1) {
                let mid = ok + Duration::nanoseconds(half / 2);
                if full(mid) {
                    ok = mid;
                } else {
                    not = mid;
                }
            }
            ok
        };
        let all = taken(through);
        let mut latest = first;
        for (i, s) in steps.iter_mut().enumerate() {
            let n = s.through(start, through);
            if n == 0 {
                continue;
            }
            let decrease = config.decays[i].decrease;
            let amounts = self
                .rulesets
                .iter()
                .zip(settled.iter())
                .filter(|(_, done)| !floor || !**done)
                .map(|((rs, _, _), _)| (rs.clone(), decrease))
                .collect();
            runs.record(config, i, s.at(start, s.next), n, amounts);
            s.next += n;
            latest = latest.max(s.at(start, s.next - 1));
        }
        for ((_, sweep, deducted), done) in self.rulesets.iter_mut().zip(settled.iter_mut()) {
            if !floor || !*done {
                *deducted += all;
                *done |= floor && sweep.at(latest) - *deducted <= 0.0;
            }
        }
    }
}

/// The runs of one stretch being built: per rule its open run.
struct Runs {
    open: Vec<Option<Deduction>>,
    done: Vec<(usize, Deduction)>,
}

impl Runs {
    fn new(rules: usize) -> Runs {
        Runs {
            open: vec![None; rules],
            done: Vec::new(),
        }
    }

    /// Adds `count` steps of rule `i` from `first_at`, each taking `amounts`.
    fn record(
        &mut self,
        config: &ScoringConfig,
        i: usize,
        first_at: Timestamp,
        count: u32,
        amounts: BTreeMap<String, f64>,
    ) {
        match &mut self.open[i] {
            // a rule's steps come in order and none is left out, so equal amounts extend
            Some(run) if run.amounts == amounts => run.count += count,
            open => {
                if let Some(run) = open.take() {
                    self.done.push((i, run));
                }
                if !amounts.is_empty() {
                    let d = &config.decays[i];
                    *open = Some(Deduction {
                        decay_id: d.decay_id.clone(),
                        first_at,
                        period: d.period,
                        count,
                        amounts,
                    });
                }
            }
        }
    }

    /// The stretch's runs in (first step, rule) order.
    fn finish(mut self) -> Vec<Deduction> {
        for (i, run) in self.open.into_iter().enumerate() {
            if let Some(run) = run {
                self.done.push((i, run));
            }
        }
        self.done.sort_by_key(|(i, d)| (d.first_at, *i));
        self.done.into_iter().map(|(_, d)| d).collect()
    }
}

/// The runs and sums of a book's closed stretches, kept as events are appended.
#[derive(Debug, Clone, Default)]
pub(super) enum DecayMemo {
    /// No activity yet.
    #[default]
    Fresh,
    /// Not kept (the config has no decay rules, or changed without a rebuild): every read
    /// sweeps the whole history.
    Off,
    Live(Box<Memo>),
}

#[derive(Debug, Clone)]
pub(super) struct Memo {
    key: u64,
    tally: Tally,
    runs: Vec<Deduction>,
    /// The latest activity: the start of the open stretch.
    open: Timestamp,
}

impl DecayMemo {
    /// Takes in an activity at `t`, no earlier than any before it: closes the stretch it
    /// ends.
    pub(super) fn activity(
        &mut self,
        config: &ScoringConfig,
        contributions: &BTreeMap<String, Vec<Contribution>>,
        t: Timestamp,
    ) {
        match self {
            DecayMemo::Fresh if config.decays.is_empty() => *self = DecayMemo::Off,
            DecayMemo::Fresh => {
                *self = DecayMemo::Live(Box::new(Memo {
                    key: key(config),
                    tally: Tally::new(config),
                    runs: Vec::new(),
                    open: t,
                }))
            }
            DecayMemo::Off => {}
            DecayMemo::Live(m) if m.key != key(config) => *self = DecayMemo::Off,
            DecayMemo::Live(m) => {
                if t > m.open {
                    m.tally.stretch(
                        config,
                        contributions,
                        m.open,
                        (Some(t), None),
                        Some(&mut m.runs),
                    );
                    m.open = t;
                }
            }
        }
    }
}

impl super::LeadBook {
    /// The points inactivity took off each ruleset up to `now`; with `out`, the runs too
    /// (in time order).
    pub(super) fn deducted_until(
        &self,
        config: &ScoringConfig,
        now: Timestamp,
        mut out: Option<&mut Vec<Deduction>>,
    ) -> BTreeMap<String, f64> {
        if config.decays.is_empty() {
            return BTreeMap::new();
        }
        if let DecayMemo::Live(m) = &self.decay {
            if m.open <= now && m.key == key(config) {
                if let Some(out) = out.as_deref_mut() {
                    out.extend(m.runs.iter().cloned());
                }
                let mut tally = m.tally.clone();
                tally.stretch(config, &self.contributions, m.open, (None, Some(now)), out);
                return tally.totals();
            }
        }
        // activity dated after `now`, or no memo: sweep the whole history
        let mut tally = Tally::new(config);
        let mut times = self.activity(config).peekable();
        while let Some(start) = times.next() {
            let end = times.peek().copied();
            if end == Some(start) {
                continue;
            }
            if start > now {
                break;
            }
            tally.stretch(
                config,
                &self.contributions,
                start,
                (end, Some(now)),
                out.as_deref_mut(),
            );
        }
        tally.totals()
    }
}
