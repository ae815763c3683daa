//! Event-driven simulation of a scene.
//!
//! Units are canvas heights (x spans 0..aspect, y spans 0..1, y down) and seconds. Between
//! events every moving object follows its closed-form parabola; the next event (a floor or wall
//! bounce, or a contact between two objects) is found by solving for its exact time and
//! resolved there. Floor and wall times, and contacts between two free-flying objects (their
//! relative motion is linear: gravity cancels), are roots of quadratics. A contact between a
//! falling object and one that is not falling has quartic timing; it is bracketed on a 1 ms grid
//! and bisected to 1e-12 s. For physics every shape collides as its bounding circle.

use serde::{Deserialize, Serialize};

use super::spec::{Layer, Scene, Shape};
use crate::palette::Color;

/// Below this rebound speed (heights/s) a bouncing object comes to rest on the floor, which
/// ends the infinite sequence of ever smaller bounces.
pub const REST_SPEED: f64 = 0.05;
const EPS_T: f64 = 1e-9;
pub const MAX_EVENTS: usize = 10_000;

/// One object's state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Body {
    pub pos: [f64; 2],
    pub vel: [f64; 2],
    pub color: Color,
    pub shape: Shape,
    /// Moves (and falls); false for static objects until something sets them moving.
    pub dynamic: bool,
    /// Sitting on the floor: no gravity, no vertical motion.
    pub resting: bool,
}

/// What happened, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Bounce { t: f64, object: String, speed: f64 },
    Rest { t: f64, object: String },
    Wall { t: f64, object: String },
    Contact { t: f64, a: String, b: String },
    StateChange { t: f64, object: String, change: String },
    Cut { t: f64 },
}

impl Event {
    pub fn t(&self) -> f64 {
        match self {
            Event::Bounce { t, .. }
            | Event::Rest { t, .. }
            | Event::Wall { t, .. }
            | Event::Contact { t, .. }
            | Event::StateChange { t, .. }
            | Event::Cut { t } => *t,
        }
    }
}

/// A simulated scene: piecewise states that can be evaluated at any time.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub aspect: f64,
    pub gravity: f64,
    pub duration: f64,
    pub ids: Vec<String>,
    pub radii: Vec<f64>,
    pub layers: Vec<Layer>,
    pub masses: Vec<f64>,
    /// `(start time, states)`: between starts bodies move ballistically.
    pub segments: Vec<(f64, Vec<Body>)>,
    pub events: Vec<Event>,
    /// The simulation stopped at [`MAX_EVENTS`] events before the clip's end: past that time
    /// nothing collides (objects fly through walls and each other).
    pub truncated: bool,
}

fn gravity_of(b: &Body, g: f64) -> f64 {
    if b.dynamic && !b.resting { g } else { 0.0 }
}

/// Advances one body by `dt` along its parabola.
pub fn advance(b: &Body, g: f64, dt: f64) -> Body {
    let mut n = *b;
    if b.dynamic {
        let gy = gravity_of(b, g);
        n.pos = [b.pos[0] + b.vel[0] * dt, b.pos[1] + b.vel[1] * dt + 0.5 * gy * dt * dt];
        n.vel = [b.vel[0], b.vel[1] + gy * dt];
    }
    n
}

/// Smallest root in (EPS_T, horizon] of a·t² + b·t + c = 0 satisfying `accept`.
fn quadratic_root(a: f64, b: f64, c: f64, horizon: f64, accept: impl Fn(f64) -> bool) -> Option<f64> {
    let mut roots = Vec::new();
    if a.abs() < 1e-15 {
        if b.abs() > 1e-15 {
            roots.push(-c / b);
        }
    } else {
        let disc = b * b - 4.0 * a * c;
        if disc >= 0.0 {
            let s = disc.sqrt();
            // Numerically stable pair of roots.
            let q = -0.5 * (b + b.signum() * s);
            if q != 0.0 {
                roots.push(q / a);
                roots.push(c / q);
            } else {
                roots.push(0.0);
            }
        }
    }
    roots.into_iter().filter(|&t| t > EPS_T && t <= horizon && accept(t)).min_by(f64::total_cmp)
}

impl Simulation {
    pub fn run(scene: &Scene, aspect: f64, duration: f64) -> Simulation {
        let ids: Vec<String> = scene.objects.iter().map(|o| o.id.clone()).collect();
        let radii: Vec<f64> = scene.objects.iter().map(|o| o.size / 2.0).collect();
        let layers = scene.objects.iter().map(|o| o.layer).collect();
        let masses = scene.objects.iter().map(|o| o.mass).collect();
        let mut bodies: Vec<Body> = scene
            .objects
            .iter()
            .map(|o| Body {
                pos: [o.pos[0] * aspect, o.pos[1]],
                vel: if o.fixed { [0.0, 0.0] } else { o.vel },
                color: o.color,
                shape: o.shape,
                dynamic: !o.fixed,
                resting: false,
            })
            .collect();
        // An object placed on the floor with no vertical speed starts at rest.
        for (b, r) in bodies.iter_mut().zip(&radii) {
            if scene.floor && b.dynamic && (b.pos[1] + r - 1.0).abs() < 1e-9 && b.vel[1].abs() < 1e-12 {
                b.resting = true;
            }
        }
        let mut sim = Simulation {
            aspect,
            gravity: scene.gravity,
            duration,
            ids,
            radii,
            layers,
            masses,
            segments: vec![(0.0, bodies.clone())],
            events: scene.cuts.iter().filter(|&&t| t < duration).map(|&t| Event::Cut { t }).collect(),
            truncated: false,
        };
        let mut fired = vec![false; scene.events.len()];
        let mut t = 0.0;
        for n in 0..=MAX_EVENTS {
            let horizon = duration - t;
            let Some((dt, what)) = sim.next_event(scene, &bodies, horizon) else { break };
            if n == MAX_EVENTS {
                sim.truncated = true;
                break;
            }
            bodies = bodies.iter().map(|b| advance(b, sim.gravity, dt)).collect();
            t += dt;
            sim.resolve(scene, &mut bodies, what, t, &mut fired);
            sim.segments.push((t, bodies.clone()));
        }
        sim.events.sort_by(|a, b| a.t().total_cmp(&b.t()));
        sim
    }

    fn next_event(&self, scene: &Scene, bodies: &[Body], horizon: f64) -> Option<(f64, Next)> {
        let g = self.gravity;
        let mut best: Option<(f64, Next)> = None;
        let mut consider = |t: Option<f64>, what: Next| {
            if let Some(t) = t {
                if best.as_ref().is_none_or(|(bt, _)| t < *bt) {
                    best = Some((t, what));
                }
            }
        };
        for (i, b) in bodies.iter().enumerate() {
            if !b.dynamic {
                continue;
            }
            let r = self.radii[i];
            if scene.floor && !b.resting {
                let gy = gravity_of(b, g);
                let t = quadratic_root(0.5 * gy, b.vel[1], b.pos[1] + r - 1.0, horizon, |t| b.vel[1] + gy * t > 0.0);
                consider(t, Next::Floor(i));
            }
            // A body wider than the space between the walls cannot be between them: they leave it be.
            if scene.walls && b.vel[0] != 0.0 && 2.0 * r < self.aspect {
                let wall = if b.vel[0] < 0.0 { r } else { self.aspect - r };
                let t = (wall - b.pos[0]) / b.vel[0];
                // At or past the wall and moving out (placed there, or too fast for the step
                // between events): it bounces now, never leaves through the wall.
                let t = if t <= EPS_T { 2.0 * EPS_T } else { t };
                consider((t <= horizon).then_some(t), Next::Wall(i));
            }
        }
        for i in 0..bodies.len() {
            for j in i + 1..bodies.len() {
                let (a, b) = (&bodies[i], &bodies[j]);
                if self.layers[i] != self.layers[j] || !(a.dynamic || b.dynamic) {
                    continue;
                }
                consider(self.contact_time(a, b, self.radii[i] + self.radii[j], horizon), Next::Pair(i, j));
            }
        }
        best
    }

    /// First time two bodies touch while approaching.
    fn contact_time(&self, a: &Body, b: &Body, reach: f64, horizon: f64) -> Option<f64> {
        let g = self.gravity;
        let d0 = [b.pos[0] - a.pos[0], b.pos[1] - a.pos[1]];
        // A hair of overlap that a resolved contact can leave (rounding over a few immediate
        // contacts in a row) must not hide their next approach: they touch again at the distance
        // they are now. (Overlaps placed in a scene, larger than this, pass through as before.)
        let dist = d0[0].hypot(d0[1]);
        let reach = if dist < reach && dist > reach - 1e-6 { dist * (1.0 - 1e-12) } else { reach };
        let dv = [b.vel[0] - a.vel[0], b.vel[1] - a.vel[1]];
        let dg = gravity_of(b, g) - gravity_of(a, g);
        // Touching (a resolved contact leaves them a hair apart) or overlapping, and closing in,
        // by speed or by gravity: they meet again now. (A ball knocked down off its rest on a
        // block was already a hair inside it at the first step of the search, and fell through;
        // one caught up by another it had just bounced off passed through it.)
        let gap = d0[0] * d0[0] + d0[1] * d0[1] - reach * reach;
        let closing = d0[0] * dv[0] + d0[1] * dv[1];
        let pulled = dv[0] * dv[0] + dv[1] * dv[1] + d0[1] * dg;
        if gap <= 1e-9 && (closing < 0.0 || (closing == 0.0 && pulled < 0.0)) {
            return (2.0 * EPS_T <= horizon).then_some(2.0 * EPS_T);
        }
        if dg == 0.0 {
            let qa = dv[0] * dv[0] + dv[1] * dv[1];
            let qb = 2.0 * (d0[0] * dv[0] + d0[1] * dv[1]);
            let qc = d0[0] * d0[0] + d0[1] * d0[1] - reach * reach;
            if qc < 0.0 {
                return None; // overlapping already: not a new contact
            }
            return quadratic_root(qa, qb, qc, horizon, |t| {
                let d = [d0[0] + dv[0] * t, d0[1] + dv[1] * t];
                d[0] * dv[0] + d[1] * dv[1] < 0.0
            });
        }
        let f = |t: f64| {
            let d = [d0[0] + dv[0] * t, d0[1] + dv[1] * t + 0.5 * dg * t * t];
            d[0] * d[0] + d[1] * d[1] - reach * reach
        };
        if f(0.0) < 0.0 {
            return None;
        }
        // Only while both offsets are within reach can they touch: the horizontal one is linear
        // in time and the vertical one a parabola, so those times are a few intervals, searched
        // on the 1 ms grid (the whole clip was searched, for every pair at every event).
        let Some(windows) = reach_windows(d0, dv, dg, reach, horizon) else { return None };
        let step = 1e-3;
        for (start, end) in windows {
            if let Some(t) = first_root_in(&f, start.max(EPS_T), end, step) {
                return Some(t);
            }
        }
        None
    }

    /// Whether body `k` (in state `b`) sits on the scene's floor.
    fn on_floor(&self, scene: &Scene, b: &Body, k: usize) -> bool {
        scene.floor && (b.pos[1] + self.radii[k] - 1.0).abs() < 1e-6
    }

    fn resolve(&mut self, scene: &Scene, bodies: &mut [Body], what: Next, t: f64, fired: &mut [bool]) {
        match what {
            Next::Floor(i) => {
                let e = scene.objects[i].restitution;
                let speed = bodies[i].vel[1];
                bodies[i].pos[1] = 1.0 - self.radii[i];
                bodies[i].vel[1] = -e * speed;
                if e * speed < REST_SPEED {
                    bodies[i].vel[1] = 0.0;
                    bodies[i].resting = true;
                    self.events.push(Event::Rest { t, object: self.ids[i].clone() });
                } else {
                    self.events.push(Event::Bounce { t, object: self.ids[i].clone(), speed });
                }
            }
            Next::Wall(i) => {
                let e = scene.objects[i].restitution;
                bodies[i].vel[0] = -e * bodies[i].vel[0];
                self.events.push(Event::Wall { t, object: self.ids[i].clone() });
            }
            Next::Pair(i, j) => {
                let (pa, pb) = (bodies[i].pos, bodies[j].pos);
                let len = ((pb[0] - pa[0]).powi(2) + (pb[1] - pa[1]).powi(2)).sqrt().max(1e-12);
                let n = [(pb[0] - pa[0]) / len, (pb[1] - pa[1]) / len];
                let v_rel = (bodies[j].vel[0] - bodies[i].vel[0]) * n[0] + (bodies[j].vel[1] - bodies[i].vel[1]) * n[1];
                if v_rel < 0.0 {
                    let e = scene.objects[i].restitution.min(scene.objects[j].restitution);
                    let ima = if bodies[i].dynamic { 1.0 / self.masses[i] } else { 0.0 };
                    let imb = if bodies[j].dynamic { 1.0 / self.masses[j] } else { 0.0 };
                    let jimp = -(1.0 + e) * v_rel / (ima + imb);
                    for (k, sign, im) in [(i, -1.0, ima), (j, 1.0, imb)] {
                        let kick = [sign * jimp * im * n[0], sign * jimp * im * n[1]];
                        bodies[k].vel[0] += kick[0];
                        bodies[k].vel[1] += kick[1];
                        // A body resting on the floor stays on it unless knocked upwards; one
                        // resting on something else falls again once knocked harder than a
                        // settling touch (what settles on it does not shake it loose).
                        if bodies[k].resting {
                            let on_floor = self.on_floor(scene, &bodies[k], k);
                            if on_floor && bodies[k].vel[1] >= -REST_SPEED {
                                bodies[k].vel[1] = 0.0;
                            } else if !on_floor && kick[0].hypot(kick[1]) <= REST_SPEED {
                                bodies[k].vel = [0.0, 0.0];
                            } else {
                                bodies[k].resting = false;
                            }
                        }
                    }
                }
                // A body bouncing ever lower on a static one (gravity pulling it on) would bounce
                // ever shorter, slipping between the contact search's steps and through it. On
                // top (the contact within 25° of straight down) it comes to rest there, as on the
                // floor (and stops: friction); on a side it leaves with the least rebound, and
                // rolls off in small hops.
                for (k, other, toward) in [(i, j, 1.0), (j, i, -1.0)] {
                    let down = toward * n[1] * self.gravity.signum();
                    let away = -toward * (bodies[k].vel[0] * n[0] + bodies[k].vel[1] * n[1]);
                    // What holds it: a static body, or one at rest itself (a stack).
                    let holds = !bodies[other].dynamic || bodies[other].resting;
                    if !bodies[k].dynamic || !holds || self.gravity == 0.0 || down <= 0.0 {
                        continue;
                    }
                    if away >= REST_SPEED {
                        continue;
                    }
                    if down > 0.9 {
                        bodies[k].vel = [0.0, 0.0];
                        bodies[k].resting = true;
                        self.events.push(Event::Rest { t, object: self.ids[k].clone() });
                    } else {
                        let add = REST_SPEED - away;
                        bodies[k].vel[0] -= toward * add * n[0];
                        bodies[k].vel[1] -= toward * add * n[1];
                    }
                }
                self.events.push(Event::Contact { t, a: self.ids[i].clone(), b: self.ids[j].clone() });
                for (k, ev) in scene.events.iter().enumerate() {
                    let hit = (ev.contact[0] == self.ids[i] && ev.contact[1] == self.ids[j])
                        || (ev.contact[0] == self.ids[j] && ev.contact[1] == self.ids[i]);
                    if !hit || fired[k] {
                        continue;
                    }
                    fired[k] = true;
                    let Some(o) = self.ids.iter().position(|id| *id == ev.then.object) else { continue };
                    if let Some(c) = ev.then.set_color {
                        bodies[o].color = c;
                        self.events.push(Event::StateChange {
                            t,
                            object: self.ids[o].clone(),
                            change: format!("color:{}", c.name()),
                        });
                    }
                    if let Some(s) = ev.then.set_shape {
                        bodies[o].shape = s;
                        self.events.push(Event::StateChange {
                            t,
                            object: self.ids[o].clone(),
                            change: format!("shape:{}", s.name()),
                        });
                    }
                    if let Some(v) = ev.then.start_moving {
                        bodies[o].vel = v;
                        bodies[o].dynamic = true;
                        bodies[o].resting = self.on_floor(scene, &bodies[o], o) && v[1] >= 0.0;
                        if bodies[o].resting {
                            bodies[o].vel[1] = 0.0;
                        }
                        self.events.push(Event::StateChange {
                            t,
                            object: self.ids[o].clone(),
                            change: "starts_moving".into(),
                        });
                        // What rests on something other than the floor may have rested on this:
                        // it falls again (and comes back to rest at once if still held up).
                        for k in 0..bodies.len() {
                            let on_floor = self.on_floor(scene, &bodies[k], k);
                            if k != o && bodies[k].resting && !on_floor {
                                bodies[k].resting = false;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every body's state at time `t` (clamped to the simulated span).
    pub fn state_at(&self, t: f64) -> Vec<Body> {
        let t = t.clamp(0.0, self.duration);
        let k = self.segments.partition_point(|(t0, _)| *t0 <= t).saturating_sub(1);
        let (t0, bodies) = &self.segments[k];
        bodies.iter().map(|b| advance(b, self.gravity, t - t0)).collect()
    }
}

/// The first time in `[from, to]` at which `f` goes from positive to not (bracketed on a
/// grid of `step`, bisected to 1e-12 s), taking the positive side.
fn first_root_in(f: &impl Fn(f64) -> f64, from: f64, to: f64, step: f64) -> Option<f64> {
    let mut lo = from;
    let mut f_lo = f(lo);
    while lo < to {
        let hi = (lo + step).min(to);
        let f_hi = f(hi);
        if f_lo > 0.0 && f_hi <= 0.0 {
            let (mut a_t, mut b_t) = (lo, hi);
            for _ in 0..80 {
                let m = 0.5 * (a_t + b_t);
                if f(m) > 0.0 {
                    a_t = m
                } else {
                    b_t = m
                }
                if b_t - a_t < 1e-12 {
                    break;
                }
            }
            // The side where they do not overlap yet: from an overlap no later contact is
            // found, and the body fell through the other after its first bounce.
            return Some(a_t);
        }
        lo = hi;
        f_lo = f_hi;
    }
    None
}

/// The spans of `[0, horizon]` during which a relative offset `d0 + dv·t + (0, dg/2)·t²` is within
/// `reach` on both axes (a superset of the contact times), widened by a grid step so that a
/// crossing at a span's edge is bracketed; `None` when there are none.
fn reach_windows(d0: [f64; 2], dv: [f64; 2], dg: f64, reach: f64, horizon: f64) -> Option<Vec<(f64, f64)>> {
    // Horizontal: |d0x + dvx·t| ≤ reach.
    let (mut x0, mut x1) = (0.0, horizon);
    if dv[0] == 0.0 {
        if d0[0].abs() > reach {
            return None;
        }
    } else {
        let (a, b) = ((-reach - d0[0]) / dv[0], (reach - d0[0]) / dv[0]);
        (x0, x1) = (a.min(b).max(0.0), a.max(b).min(horizon));
    }
    if x0 > x1 {
        return None;
    }
    // Vertical: |d0y + dvy·t + dg/2·t²| ≤ reach changes only at the roots of d_y = ±reach.
    let (a, b) = (0.5 * dg, dv[1]);
    let mut cuts = vec![x0, x1];
    for c in [d0[1] - reach, d0[1] + reach] {
        if a.abs() < 1e-300 {
            if b != 0.0 {
                cuts.push(-c / b);
            }
        } else {
            let disc = b * b - 4.0 * a * c;
            if disc >= 0.0 {
                cuts.push((-b - disc.sqrt()) / (2.0 * a));
                cuts.push((-b + disc.sqrt()) / (2.0 * a));
            }
        }
    }
    cuts.retain(|t| t.is_finite() && *t >= x0 && *t <= x1);
    cuts.sort_by(f64::total_cmp);
    let dy = |t: f64| d0[1] + b * t + a * t * t;
    let pad = 2e-3;
    let mut out: Vec<(f64, f64)> = Vec::new();
    for w in cuts.windows(2) {
        let mid = 0.5 * (w[0] + w[1]);
        if dy(mid).abs() <= reach || (w[1] - w[0] < 1e-12 && dy(w[0]).abs() <= reach) {
            let (s, e) = ((w[0] - pad).max(0.0), (w[1] + pad).min(horizon));
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

#[derive(Debug, Clone, Copy)]
enum Next {
    Floor(usize),
    Wall(usize),
    Pair(usize, usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::spec::Object;

    fn ball(id: &str, pos: [f64; 2], vel: [f64; 2], e: f64) -> Object {
        Object {
            id: id.into(),
            shape: Shape::Circle,
            color: Color::Red,
            size: 0.1,
            pos,
            vel,
            mass: 1.0,
            restitution: e,
            fixed: false,
            layer: Layer::Midground,
            trail: false,
        }
    }

    fn scene(objects: Vec<Object>, gravity: f64, floor: bool) -> Scene {
        Scene {
            background: Default::default(),
            objects,
            gravity,
            floor,
            walls: false,
            occluders: vec![],
            camera: Default::default(),
            events: vec![],
            cuts: vec![],
            style: Default::default(),
            photo: None,
        }
    }

    #[test]
    fn free_fall_is_the_exact_parabola() {
        let s = Simulation::run(&scene(vec![ball("a", [0.5, 0.1], [0.2, -0.3], 0.5)], 2.0, false), 1.0, 1.0);
        for t in [0.0, 0.13, 0.5, 0.99] {
            let b = s.state_at(t)[0];
            assert!((b.pos[1] - (0.1 - 0.3 * t + t * t)).abs() < 1e-12);
            assert!((b.pos[0] - (0.5 + 0.2 * t)).abs() < 1e-12);
        }
    }

    #[test]
    fn bounce_time_and_rebound_follow_restitution() {
        // Dropped from rest at y0 = 0.2 with r = 0.05: the floor is reached when
        // 0.2 + t²·g/2 = 0.95 → t = sqrt(0.75) at g = 2; rebound speed e·g·t.
        let s = Simulation::run(&scene(vec![ball("a", [0.5, 0.2], [0.0, 0.0], 0.6)], 2.0, true), 1.0, 3.0);
        let Event::Bounce { t, speed, .. } = s.events.iter().find(|e| matches!(e, Event::Bounce { .. })).unwrap()
        else {
            unreachable!()
        };
        assert!((t - 0.75f64.sqrt()).abs() < 1e-12);
        assert!((speed - 2.0 * 0.75f64.sqrt()).abs() < 1e-12);
        // Apex after the first bounce: (e·v)² / 2g above the floor contact height = e²·0.75.
        let t_apex = t + 0.6 * speed / 2.0;
        let apex = s.state_at(t_apex)[0].pos[1];
        assert!(((0.95 - apex) - 0.36 * 0.75).abs() < 1e-9, "{apex}");
    }

    #[test]
    fn bouncing_ends_at_rest_on_the_floor() {
        let s = Simulation::run(&scene(vec![ball("a", [0.5, 0.2], [0.0, 0.0], 0.5)], 2.0, true), 1.0, 10.0);
        assert!(s.events.iter().any(|e| matches!(e, Event::Rest { .. })));
        let b = s.state_at(10.0)[0];
        assert!((b.pos[1] - 0.95).abs() < 1e-12 && b.resting);
    }

    #[test]
    fn elastic_collision_conserves_momentum_and_energy() {
        let mut a = ball("a", [0.2, 0.5], [0.8, 0.1], 1.0);
        let mut b = ball("b", [0.7, 0.52], [-0.3, 0.0], 1.0);
        a.mass = 2.0;
        b.mass = 0.5;
        let s = Simulation::run(&scene(vec![a, b], 0.0, false), 1.5, 1.5);
        let contact =
            s.events.iter().find_map(|e| if let Event::Contact { t, .. } = e { Some(*t) } else { None }).unwrap();
        let (before, after) = (s.state_at(contact - 0.01), s.state_at(contact + 0.01));
        let p = |bs: &[Body]| [2.0 * bs[0].vel[0] + 0.5 * bs[1].vel[0], 2.0 * bs[0].vel[1] + 0.5 * bs[1].vel[1]];
        let e = |bs: &[Body]| {
            0.5 * 2.0 * (bs[0].vel[0].powi(2) + bs[0].vel[1].powi(2))
                + 0.5 * 0.5 * (bs[1].vel[0].powi(2) + bs[1].vel[1].powi(2))
        };
        let (p0, p1) = (p(&before), p(&after));
        assert!((p0[0] - p1[0]).abs() < 1e-12 && (p0[1] - p1[1]).abs() < 1e-12);
        assert!((e(&before) - e(&after)).abs() < 1e-12);
        // At the contact time the centres are exactly one reach apart.
        let at = s.state_at(contact);
        let d = ((at[1].pos[0] - at[0].pos[0]).powi(2) + (at[1].pos[1] - at[0].pos[1]).powi(2)).sqrt();
        assert!((d - 0.1).abs() < 1e-9, "{d}");
    }

    #[test]
    fn a_falling_ball_hits_a_static_block_at_the_bisected_time() {
        let mut block = ball("b", [0.5, 0.8], [0.0, 0.0], 0.5);
        block.fixed = true;
        let s =
            Simulation::run(&scene(vec![ball("a", [0.5, 0.2], [0.0, 0.0], 0.5), block.clone()], 2.0, false), 1.0, 2.0);
        let t = s.events.iter().find_map(|e| if let Event::Contact { t, .. } = e { Some(*t) } else { None }).unwrap();
        // Gap 0.6 − 0.1 = 0.5 closed by t²: t = sqrt(0.5).
        assert!((t - 0.5f64.sqrt()).abs() < 1e-9, "{t}");
        assert!(s.state_at(t + 0.01)[0].vel[1] < 0.0, "the ball bounces back up");
        // Every later bounce too, ever lower, until it rests on the block: never inside it (it
        // fell through after its first bounce), over ten seconds.
        let s = Simulation::run(&scene(vec![ball("a", [0.5, 0.2], [0.0, 0.0], 0.5), block], 2.0, false), 1.0, 10.0);
        let top = 0.8 - 0.1;
        for k in 0..=10_000 {
            let y = s.state_at(k as f64 * 1e-3)[0].pos[1];
            assert!(y <= top + 1e-9, "inside the block at t = {} s: y = {y}", k as f64 * 1e-3);
        }
        assert!(s.events.iter().filter(|e| matches!(e, Event::Contact { .. })).count() >= 3, "{:?}", s.events);
        assert!(s.events.iter().any(|e| matches!(e, Event::Rest { object, .. } if object == "a")), "{:?}", s.events);
        assert!((s.state_at(10.0)[0].pos[1] - top).abs() < 1e-6 && !s.truncated);
    }

    /// A ball resting on a block, hit from above by another, stays out of the block (it was a
    /// hair inside it when knocked down, and fell through); when the block is set moving it
    /// falls (it hung in the air). A ball landing on the side of a fixed ball rolls off it.
    #[test]
    fn what_rests_on_a_block_is_held_by_it_and_falls_when_it_leaves() {
        use crate::world::spec::{Effect, Event as Trigger};
        let mut block = ball("b", [0.5, 0.8], [0.0, 0.0], 0.5);
        (block.fixed, block.size) = (true, 0.2);
        let (a, c) = (ball("a", [0.5, 0.2], [0.0, 0.0], 0.5), ball("c", [0.5, -6.0], [0.0, 0.0], 0.5));
        let mut sc = scene(vec![a, c, block], 2.0, false);
        sc.events = vec![Trigger {
            contact: ["c".into(), "a".into()],
            then: Effect { object: "b".into(), set_color: None, set_shape: None, start_moving: Some([3.0, 0.0]) },
        }];
        let s = Simulation::run(&sc, 1.0, 5.0);
        assert!(!s.truncated, "{:?}", &s.events[..40.min(s.events.len())]);
        let hit = s
            .events
            .iter()
            .find_map(|e| match e {
                Event::Contact { t, a, b } if a == "a" && b == "c" || a == "c" && b == "a" => Some(*t),
                _ => None,
            })
            .expect("c lands on a");
        assert!(s.events.iter().any(|e| matches!(e, Event::Rest { t, object } if object == "a" && *t < hit)));
        for k in 0..=5000 {
            let st = s.state_at(k as f64 * 1e-3);
            let d = ((st[0].pos[0] - st[2].pos[0]).powi(2) + (st[0].pos[1] - st[2].pos[1]).powi(2)).sqrt();
            assert!(d >= 0.15 - 1e-6, "a inside the block at t = {} s (distance {d})", k as f64 * 1e-3);
        }
        assert!(s.state_at(5.0)[0].pos[1] > 1.0, "a falls once the block has gone: {:?}", s.state_at(5.0)[0]);
        // Without the event the three stay stacked: c on a on the block.
        sc.events.clear();
        let s = Simulation::run(&sc, 1.0, 6.0);
        let end = s.state_at(6.0);
        assert!(!s.truncated && (end[0].pos[1] - 0.65).abs() < 1e-6 && (end[1].pos[1] - 0.55).abs() < 1e-6, "{end:?}");
        // Off-centre onto a fixed ball, with no rebound at all: it rolls off in small hops.
        let mut post = ball("p", [0.5, 0.8], [0.0, 0.0], 0.0);
        post.fixed = true;
        let s = Simulation::run(&scene(vec![ball("a", [0.56, 0.3], [0.0, 0.0], 0.0), post], 2.0, false), 1.0, 3.0);
        assert!(!s.truncated && s.state_at(3.0)[0].pos[1] > 1.0, "{:?}", s.state_at(3.0)[0]);
    }

    /// Starting at (or past) a wall and moving out, a ball bounces off it at once: it left the
    /// frame through the wall.
    #[test]
    fn a_ball_at_a_wall_moving_out_bounces_at_once() {
        let mut sc = scene(vec![ball("a", [0.97, 0.5], [0.5, 0.0], 1.0)], 0.0, false);
        sc.walls = true;
        let s = Simulation::run(&sc, 1.0, 2.0);
        assert!(s.state_at(0.5)[0].pos[0] < 0.97 && s.state_at(0.5)[0].vel[0] < 0.0, "{:?}", s.state_at(0.5)[0]);
        for k in 0..=200 {
            let x = s.state_at(k as f64 * 0.01)[0].pos[0];
            assert!((0.0..=1.0).contains(&x), "left the frame at t = {}: x = {x}", k as f64 * 0.01);
        }
    }

    /// The contact search looks only where both offsets are within reach: the same contact
    /// times as a search over the whole clip, on falling balls meeting static ones from many
    /// places, and none where they never come close.
    #[test]
    fn the_contact_search_windows_find_what_the_whole_clip_search_finds() {
        let mut found = 0;
        for i in 0..40 {
            let x = 0.2 + 0.015 * i as f64;
            let vx = 0.3 - 0.015 * i as f64;
            let (d0, dv, dg, reach) = ([0.5 - x, 0.6], [-vx, 0.1], -2.0, 0.1);
            let f = |t: f64| {
                let d = [d0[0] + dv[0] * t, d0[1] + dv[1] * t + 0.5 * dg * t * t];
                d[0] * d[0] + d[1] * d[1] - reach * reach
            };
            // The first crossing on a fine grid over the whole horizon.
            let whole = (1..=300_000).map(|k| k as f64 * 1e-5).find(|&t| f(t) <= 0.0);
            let windows = reach_windows(d0, dv, dg, reach, 3.0);
            match whole {
                Some(t) => {
                    let w = windows.unwrap_or_default();
                    assert!(w.iter().any(|&(a, b)| a <= t && t <= b), "{i}: contact at {t} outside {w:?}");
                    found += 1;
                }
                None => {
                    let apart = |a: f64, b: f64| (0..=1000).all(|k| f(a + (b - a) * k as f64 / 1000.0) > 0.0);
                    assert!(windows.is_none_or(|w| w.iter().all(|&(a, b)| apart(a, b))), "{i}");
                }
            }
        }
        assert!(found >= 5, "the cases include contacts ({found})");
    }
}
