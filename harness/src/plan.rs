//! Plans: suites expanded into work units with deterministic seeds, content keys and shards.
//!
//! A unit is one generation: (suite, case, seed index). Its `gen_key` hashes everything that
//! determines the video — the model's identity, the resolved case content, what its conditioning
//! inputs hold (file hashes, source scenes) and the seed — so a
//! unit is generated once however many runs, shards or restarts ask for it. The plan hash covers
//! the model, the suite hashes and the unit keys, never the shard count: re-sharding is safe.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::hash::{key_of, sha256_hex};
use crate::suite::schema::{Generation, Input, Mode};
use crate::suite::{Case, Suite};
use videval_models::world::Scene;

pub const PLAN_SCHEMA: &str = "videval/plan/v1";

/// Who generates the videos: enough to tell two models or two checkpoints apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelIdentity {
    pub adapter: String,
    pub name: String,
    /// `sha256:…` of the checkpoint (or of whatever defines the adapter's output).
    pub digest: String,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

/// (suite, case, seed index): the name of a unit, stable across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnitId {
    pub suite: String,
    pub case_id: String,
    pub seed_idx: u32,
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}#{}", self.suite, self.case_id, self.seed_idx)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    #[serde(flatten)]
    pub id: UnitId,
    pub seed: u64,
    pub gen_key: String,
    pub prompt: String,
    /// Unit of the clustered bootstrap (the case's `cluster`).
    pub cluster: String,
    /// The case's capability tags (`physics.gravity`), for capability pass rates.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Relative cost (frames × pixels × steps), for balancing shards.
    pub cost: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRef {
    pub name: String,
    pub version: u32,
    pub content_hash: String,
    pub metrics: Vec<String>,
    /// Probe pass rates the suite's cases produce (`probe:<name>`), sorted.
    #[serde(default)]
    pub probes: Vec<String>,
    /// Per planned case that is conditioned on files (images, videos), the hash of their
    /// contents: the suite's content hash names the files, not what they hold, and `compare`
    /// must not pair runs conditioned on different pictures under one name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Selection {
    pub limit: Option<usize>,
    pub cases: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema: String,
    pub plan_hash: String,
    pub model: ModelIdentity,
    pub suites: Vec<SuiteRef>,
    pub selection: Selection,
    /// Suites the selection narrowed: their cases planned and their cases in all (not part of
    /// the plan's hash, which the units already fix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub narrowed: BTreeMap<String, [usize; 2]>,
    /// Sorted by unit id.
    pub units: Vec<Unit>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("--cases names {0} which no selected suite has")]
    UnknownCases(String),
    #[error("--limit must be at least 1")]
    ZeroLimit,
    #[error("the selection is empty: no unit to run")]
    Empty,
    #[error("suite \"{0}\" is selected twice")]
    DuplicateSuite(String),
}

/// What a generation depends on, hashed into its `gen_key`. The case id and suite name are not
/// part of it: identical requests share one video wherever they appear.
#[derive(Serialize)]
struct GenKeyInput<'a> {
    v: u32,
    model: &'a ModelIdentity,
    prompt: &'a str,
    mode: Mode,
    input: &'a Option<Input>,
    /// What the inputs hold: each file's SHA-256 and each `scene_of` case's scene and settings
    /// (absent without inputs, so the keys of unconditioned cases are unchanged).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    input_content: &'a [String],
    scene: &'a Option<Scene>,
    generation: &'a Generation,
    seed: u64,
}

/// The seed of sample `k` of a case: the first 8 bytes of
/// SHA-256("videval/seed/v1\0{suite}\0{case}\0{k}\0{base}"), masked to 53 bits so that every
/// JSON reader holds it exactly.
pub fn derive_seed(suite: &str, case_id: &str, k: u32, base: u64) -> u64 {
    let text = format!("videval/seed/v1\0{suite}\0{case_id}\0{k}\0{base}");
    let hex = sha256_hex(text.as_bytes());
    u64::from_str_radix(&hex[..16], 16).unwrap_or(0) & ((1u64 << 53) - 1)
}

/// `input_content` is [`input_content`] of the case (computed once per case: it hashes files).
pub fn gen_key(model: &ModelIdentity, case: &Case, input_content: &[String], seed: u64) -> String {
    // A path as written, spelt plainly: `./in/x.png` and `in/x.png` name one file (what it holds
    // is in `input_content`), and the first made the video again. Plain paths are unchanged, and
    // so are their keys.
    let mut input = case.input.clone();
    if let Some(i) = input.as_mut() {
        for m in [&mut i.image, &mut i.video, &mut i.video2].into_iter().flatten() {
            if let Some(p) = m.path.as_mut() {
                let plain: std::path::PathBuf = std::path::Path::new(p.as_str())
                    .components()
                    .filter(|c| *c != std::path::Component::CurDir)
                    .collect();
                if let Some(s) = plain.to_str().filter(|s| !s.is_empty()) {
                    *p = s.to_string();
                }
            }
        }
    }
    key_of(&GenKeyInput {
        v: 1,
        model,
        prompt: &case.prompt,
        mode: case.mode,
        input: &input,
        input_content,
        scene: &case.scene,
        generation: &case.generation,
        seed,
    })
}

/// What a case's conditioning inputs hold, for keys, without decoding them: each file's SHA-256
/// (or why it cannot be read — the generation then fails with its own error) and each
/// `scene_of` case's scene and settings, in the order image, video, video2. A file rewritten in
/// place, or a source scene edited, changes the keys of the generations and scores that read it.
pub fn input_content(suite: &Suite, case: &Case) -> Vec<String> {
    let input = case.input.clone().unwrap_or_default();
    [&input.image, &input.video, &input.video2]
        .into_iter()
        .flatten()
        .map(|m| match (m.file(), &m.scene_of) {
            (Some(p), _) => match crate::store::regular_or_absent(&p) {
                // A FIFO or a device would block the read for ever (/dev/zero never ends).
                Err(e) => format!("unreadable {}: {e}", p.display()),
                Ok(()) => crate::hash::sha256_file(&p).unwrap_or_else(|e| format!("unreadable {}: {e}", p.display())),
            },
            (None, Some(id)) => key_of(&suite.case(id).map(|c| (&c.scene, &c.generation))),
            (None, None) => String::new(),
        })
        .collect()
}

/// A deterministic, stratified subset of `limit` cases: strata are the cases' first capability
/// family (`physics.gravity` → `physics`); within a stratum cases are ordered by a hash of their
/// id; strata are visited round-robin in name order. Independent of the model, so every
/// checkpoint sees the same subset.
pub fn stratified(cases: &[Case], limit: usize) -> BTreeSet<String> {
    let mut strata: BTreeMap<String, Vec<&Case>> = BTreeMap::new();
    for c in cases {
        let family = c.capabilities.first().map_or("-", |cap| videval_reports::results::capability_family(cap));
        strata.entry(family.to_string()).or_default().push(c);
    }
    for v in strata.values_mut() {
        v.sort_by_key(|c| sha256_hex(format!("videval/limit/v1\0{}", c.id).as_bytes()));
    }
    let mut chosen = BTreeSet::new();
    let mut depth = 0;
    while chosen.len() < limit.min(cases.len()) {
        for v in strata.values() {
            if let Some(c) = v.get(depth) {
                if chosen.len() < limit {
                    chosen.insert(c.id.clone());
                }
            }
        }
        depth += 1;
    }
    chosen
}

impl Plan {
    pub fn build(suites: &[Suite], model: &ModelIdentity, selection: Selection) -> Result<Plan, PlanError> {
        if selection.limit == Some(0) {
            return Err(PlanError::ZeroLimit);
        }
        let mut seen = BTreeSet::new();
        for s in suites {
            if !seen.insert(&s.name) {
                return Err(PlanError::DuplicateSuite(s.name.clone()));
            }
        }
        if let Some(ids) = &selection.cases {
            let unknown: Vec<&str> =
                ids.iter().filter(|id| !suites.iter().any(|s| s.case(id).is_some())).map(String::as_str).collect();
            if !unknown.is_empty() {
                return Err(PlanError::UnknownCases(unknown.join(", ")));
            }
        }
        let mut units = Vec::new();
        let mut inputs: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        let mut narrowed = BTreeMap::new();
        for suite in suites {
            let mut cases: Vec<&Case> = suite.cases.iter().collect();
            if let Some(ids) = &selection.cases {
                cases.retain(|c| ids.contains(&c.id));
            }
            if let Some(limit) = selection.limit {
                let owned: Vec<Case> = cases.iter().map(|c| (*c).clone()).collect();
                let keep = stratified(&owned, limit);
                cases.retain(|c| keep.contains(&c.id));
            }
            if cases.len() < suite.cases.len() {
                narrowed.insert(suite.name.clone(), [cases.len(), suite.cases.len()]);
            }
            for case in cases {
                let content = input_content(suite, case);
                let input = case.input.as_ref();
                if input
                    .is_some_and(|i| [&i.image, &i.video, &i.video2].into_iter().flatten().any(|m| m.file().is_some()))
                {
                    inputs.entry(&suite.name).or_default().insert(case.id.clone(), key_of(&content));
                }
                for k in 0..case.seeds.per_case {
                    let seed = derive_seed(&suite.name, &case.id, k, case.seeds.base);
                    let g = &case.generation;
                    units.push(Unit {
                        id: UnitId { suite: suite.name.clone(), case_id: case.id.clone(), seed_idx: k },
                        seed,
                        gen_key: gen_key(model, case, &content, seed),
                        prompt: case.prompt.clone(),
                        cluster: case.cluster.clone(),
                        capabilities: case.capabilities.clone(),
                        // A balancing hint: saturates rather than overflows.
                        cost: [g.frames, g.width, g.height, g.steps]
                            .iter()
                            .fold(1u64, |c, &x| c.saturating_mul(u64::from(x))),
                    });
                }
            }
        }
        if units.is_empty() {
            return Err(PlanError::Empty);
        }
        units.sort_by(|a, b| a.id.cmp(&b.id));
        let suites: Vec<SuiteRef> = suites
            .iter()
            .map(|s| SuiteRef {
                name: s.name.clone(),
                version: s.version,
                content_hash: s.content_hash(),
                metrics: s.metrics.clone(),
                probes: s
                    .cases
                    .iter()
                    .flat_map(|c| c.expect.iter().map(|e| format!("probe:{}", e.probe())))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                inputs: inputs.remove(s.name.as_str()).unwrap_or_default(),
            })
            .collect();
        let keyed: Vec<(&UnitId, &str)> = units.iter().map(|u| (&u.id, u.gen_key.as_str())).collect();
        // The suites in name order: `--suite a,b` and `--suite b,a` plan the same units (a shard
        // of one was refused beside a shard of the other as another plan).
        let mut by_name: Vec<&SuiteRef> = suites.iter().collect();
        by_name.sort_by(|a, b| a.name.cmp(&b.name));
        let plan_hash = key_of(&(PLAN_SCHEMA, model, &by_name, &keyed));
        Ok(Plan { schema: PLAN_SCHEMA.into(), plan_hash, model: model.clone(), suites, selection, narrowed, units })
    }

    /// Shard of every unit (same order as `units`): greedy longest-processing-time over the cost
    /// hints, ties broken by unit id, so the assignment is a pure function of the plan and `n`.
    pub fn assign(&self, n: u32) -> Vec<u32> {
        let mut order: Vec<usize> = (0..self.units.len()).collect();
        order.sort_by(|&a, &b| {
            self.units[b].cost.cmp(&self.units[a].cost).then_with(|| self.units[a].id.cmp(&self.units[b].id))
        });
        let mut load = vec![0u64; n as usize];
        let mut shard = vec![0u32; self.units.len()];
        for i in order {
            // The least-loaded shard; the lowest index among equals.
            let (k, _) = load.iter().enumerate().min_by_key(|&(k, l)| (*l, k)).unwrap_or((0, &0));
            load[k] = load[k].saturating_add(self.units[i].cost.max(1));
            shard[i] = k as u32;
        }
        shard
    }

    pub fn suite(&self, name: &str) -> Option<&SuiteRef> {
        self.suites.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::bundled::{Bundled, file_of};

    fn model(name: &str) -> ModelIdentity {
        ModelIdentity {
            adapter: "test".into(),
            name: name.into(),
            digest: format!("sha256:{name}"),
            params: BTreeMap::new(),
        }
    }

    fn suite(name: &str) -> Suite {
        crate::suite::load(&Bundled, file_of(name).unwrap()).unwrap()
    }

    /// Cost hints of the largest clips the suite allows (8192×8192, 4096 frames, 10,000 steps,
    /// 16 × 1000 units) saturate instead of overflowing (a panic in `plan` and `run`).
    #[test]
    fn the_largest_allowed_units_plan_and_balance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "schema: 1\nsuite: big\nversion: 1\ndefaults: {generation: {width: 8192, height: 8192, frames: 4096, steps: 10000}, seeds: {per_case: 1000}}\ncases:\n  - id: \"c{{ i }}\"\n    matrix: {i: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]}\n    prompt: p\n",
        )
        .unwrap();
        let s = vec![crate::suite::load(&crate::suite::Disk, path.to_str().unwrap()).unwrap()];
        let plan = Plan::build(&s, &model("a"), Selection::default()).unwrap();
        assert_eq!(plan.units.len(), 16_000);
        let shards = plan.assign(3);
        assert!((0..3).all(|k| shards.iter().filter(|&&s| s == k).count() > 5000));
    }

    #[test]
    fn seeds_are_deterministic_distinct_and_json_safe() {
        let a = derive_seed("physics", "drop", 0, 1);
        assert_eq!(a, derive_seed("physics", "drop", 0, 1));
        assert_ne!(a, derive_seed("physics", "drop", 1, 1));
        assert_ne!(a, derive_seed("physics", "drop", 0, 2));
        assert_ne!(a, derive_seed("physic", "sdrop", 0, 1));
        assert!(a < 1 << 53);
    }

    #[test]
    fn plan_hash_depends_on_model_and_selection_not_on_call() {
        let s = vec![suite("smoke")];
        let p1 = Plan::build(&s, &model("a"), Selection::default()).unwrap();
        let p2 = Plan::build(&s, &model("a"), Selection::default()).unwrap();
        let p3 = Plan::build(&s, &model("b"), Selection::default()).unwrap();
        assert_eq!(p1, p2);
        assert_ne!(p1.plan_hash, p3.plan_hash);
        assert_ne!(p1.units[0].gen_key, p3.units[0].gen_key);
        let n = s[0].cases.iter().map(|c| c.seeds.per_case as usize).sum::<usize>();
        assert_eq!(p1.units.len(), n);
        // The order the suites are named in plans nothing different.
        let ab = Plan::build(&[suite("smoke"), suite("physics")], &model("a"), Selection::default()).unwrap();
        let ba = Plan::build(&[suite("physics"), suite("smoke")], &model("a"), Selection::default()).unwrap();
        assert_eq!(ab.plan_hash, ba.plan_hash);
        assert_eq!(ab.units, ba.units);
    }

    #[test]
    fn limit_is_stratified_and_model_independent() {
        let s = vec![suite("physics")];
        let a = Plan::build(&s, &model("a"), Selection { limit: Some(3), cases: None }).unwrap();
        let b = Plan::build(&s, &model("b"), Selection { limit: Some(3), cases: None }).unwrap();
        let ids = |p: &Plan| p.units.iter().map(|u| u.id.case_id.clone()).collect::<BTreeSet<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(ids(&a).len(), 3);
        // Across the whole bundled set a limit of 1 per suite still samples every suite.
        let all: Vec<Suite> = crate::suite::bundled::names().into_iter().map(suite).collect();
        let p = Plan::build(&all, &model("a"), Selection { limit: Some(1), cases: None }).unwrap();
        let suites: BTreeSet<_> = p.units.iter().map(|u| u.id.suite.clone()).collect();
        assert_eq!(suites.len(), all.len());
    }

    #[test]
    fn stratified_round_robins_over_families() {
        let base = suite("smoke").cases[0].clone();
        let mk = |id: &str, cap: &str| Case { id: id.into(), capabilities: vec![cap.into()], ..base.clone() };
        let cases = vec![mk("a1", "a.x"), mk("a2", "a.y"), mk("a3", "a.z"), mk("b1", "b.x")];
        let chosen = stratified(&cases, 2);
        assert!(chosen.contains("b1"), "{chosen:?}");
        assert_eq!(chosen.len(), 2);
    }

    #[test]
    fn explicit_cases_and_bad_selections() {
        let s = vec![suite("smoke")];
        let p =
            Plan::build(&s, &model("a"), Selection { limit: None, cases: Some(vec!["physics-drop".into()]) }).unwrap();
        assert!(p.units.iter().all(|u| u.id.case_id == "physics-drop"));
        assert_eq!(
            Plan::build(&s, &model("a"), Selection { limit: None, cases: Some(vec!["nope".into()]) }).unwrap_err(),
            PlanError::UnknownCases("nope".into())
        );
        assert_eq!(
            Plan::build(&s, &model("a"), Selection { limit: Some(0), cases: None }).unwrap_err(),
            PlanError::ZeroLimit
        );
    }

    #[test]
    fn assignment_is_balanced_deterministic_and_total() {
        let s = vec![suite("physics")];
        let p = Plan::build(&s, &model("a"), Selection::default()).unwrap();
        let a = p.assign(3);
        assert_eq!(a, p.assign(3));
        let mut load = [0u64; 3];
        for (u, k) in p.units.iter().zip(&a) {
            load[*k as usize] += u.cost;
        }
        let (lo, hi) = (*load.iter().min().unwrap(), *load.iter().max().unwrap());
        let biggest = p.units.iter().map(|u| u.cost).max().unwrap();
        assert!(hi - lo <= biggest, "{load:?}");
        assert!(p.assign(1).iter().all(|&k| k == 0));
    }
}
