//! Random scenes per family, from a seed: training data for the generator and reference sets
//! for distribution metrics. The same (family, seed) always gives the same scene.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::render::Settings;
use super::spec::{Background, Camera, CameraMotion, Effect, Event, Layer, Object, Occluder, Scene, Shape};
use crate::palette::Color;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Physics,
    CauseEffect,
    LeftRight,
    Camera,
    Coherence,
    Aspect,
}

impl Family {
    pub const ALL: [Family; 6] =
        [Family::Physics, Family::CauseEffect, Family::LeftRight, Family::Camera, Family::Coherence, Family::Aspect];

    pub fn name(self) -> &'static str {
        match self {
            Family::Physics => "physics",
            Family::CauseEffect => "cause_effect",
            Family::LeftRight => "left_right",
            Family::Camera => "camera",
            Family::Coherence => "coherence",
            Family::Aspect => "aspect",
        }
    }

    pub fn from_name(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// Colours objects are drawn in: saturated, distinct from the gray/white/black backgrounds.
const OBJECT_COLORS: [Color; 8] =
    [Color::Red, Color::Green, Color::Blue, Color::Yellow, Color::Orange, Color::Purple, Color::Cyan, Color::Magenta];
const SHAPES: [Shape; 4] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Star];

fn object(id: &str, color: Color, shape: Shape, size: f64, pos: [f64; 2], vel: [f64; 2]) -> Object {
    Object {
        id: id.into(),
        shape,
        color,
        size,
        pos,
        vel,
        mass: 1.0,
        restitution: 0.7,
        fixed: false,
        layer: Layer::Midground,
        trail: false,
    }
}

fn empty() -> Scene {
    Scene {
        background: Background::Checker { cells: 8, a: Color::Gray, b: Color::White },
        objects: vec![],
        gravity: 0.0,
        floor: false,
        walls: false,
        occluders: vec![],
        camera: Camera::default(),
        events: vec![],
        cuts: vec![],
        style: Default::default(),
        photo: None,
    }
}

/// A random scene of `family` and the settings to render it at (64×64, 8 fps, 17 frames, except
/// the aspect family, which varies the frame shape).
pub fn sample(family: Family, seed: u64) -> (Scene, Settings) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (family as u64) << 56);
    let mut colors = OBJECT_COLORS;
    colors.shuffle(&mut rng);
    let shape = |rng: &mut ChaCha8Rng| SHAPES[rng.random_range(0..SHAPES.len())];
    let sign = |rng: &mut ChaCha8Rng| if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let mut settings = Settings { width: 64, height: 64, fps: 8.0, frames: 17 };
    let mut s = empty();
    match family {
        Family::Physics => {
            s.gravity = rng.random_range(1.5..2.5);
            s.floor = true;
            s.walls = rng.random_bool(0.5);
            let n = rng.random_range(1..=2);
            for k in 0..n {
                let x = if n == 1 { rng.random_range(0.3..0.7) } else { 0.25 + 0.5 * k as f64 };
                let mut o = if rng.random_bool(0.7) {
                    object(
                        &format!("o{k}"),
                        colors[k],
                        shape(&mut rng),
                        rng.random_range(0.1..0.18),
                        [x, rng.random_range(0.1..0.3)],
                        [0.0, 0.0],
                    )
                } else {
                    let vx = sign(&mut rng) * rng.random_range(0.3..0.6);
                    object(
                        &format!("o{k}"),
                        colors[k],
                        shape(&mut rng),
                        0.12,
                        [0.5 - vx * 0.5, 0.7],
                        [vx, -rng.random_range(0.9..1.3)],
                    )
                };
                o.restitution = rng.random_range(0.3..0.9);
                s.objects.push(o);
            }
        }
        Family::CauseEffect => {
            let dir = sign(&mut rng);
            let (x0, x1) = if dir > 0.0 { (0.15, 0.7) } else { (0.85, 0.3) };
            let y = rng.random_range(0.3..0.7);
            s.objects.push(object(
                "cause",
                colors[0],
                Shape::Circle,
                0.14,
                [x0, y],
                [dir * rng.random_range(0.6..0.9), 0.0],
            ));
            let mut target = object("effect", colors[1], shape(&mut rng), 0.18, [x1, y], [0.0, 0.0]);
            let then = match rng.random_range(0..3) {
                0 => {
                    Effect { object: "effect".into(), set_color: Some(colors[2]), set_shape: None, start_moving: None }
                }
                1 => Effect {
                    object: "effect".into(),
                    set_color: None,
                    set_shape: Some(if target.shape == Shape::Star { Shape::Circle } else { Shape::Star }),
                    start_moving: None,
                },
                _ => Effect {
                    object: "effect".into(),
                    set_color: None,
                    set_shape: None,
                    start_moving: Some([dir * 0.5, 0.0]),
                },
            };
            target.fixed = then.start_moving.is_none();
            s.objects.push(target);
            s.events.push(Event { contact: ["cause".into(), "effect".into()], then });
        }
        Family::LeftRight => {
            let n = rng.random_range(2..=3);
            let mut xs = [0.2, 0.5, 0.8];
            xs.shuffle(&mut rng);
            for k in 0..n {
                let vx = if rng.random_bool(0.5) { sign(&mut rng) * rng.random_range(0.2..0.4) } else { 0.0 };
                let y = 0.25 + 0.25 * k as f64;
                s.objects.push(object(&format!("o{k}"), colors[k], shape(&mut rng), 0.14, [xs[k], y], [vx, 0.0]));
            }
        }
        Family::Camera => {
            s.background = if rng.random_bool(0.5) {
                Background::Checker { cells: rng.random_range(4..10), a: Color::Gray, b: Color::White }
            } else {
                Background::Noise { seed: rng.random(), scale: rng.random_range(0.1..0.3) }
            };
            // Every camera class except keyframed paths (no single direction), static last.
            let motions: Vec<CameraMotion> =
                CameraMotion::ALL[1..7].iter().copied().chain([CameraMotion::Static]).collect();
            let motion = motions[rng.random_range(0..motions.len())];
            s.camera = Camera { motion, speed: rng.random_range(0.15..0.35), ..Default::default() };
            if rng.random_bool(0.7) {
                let mut o = object("o0", colors[0], shape(&mut rng), 0.16, [0.5, 0.5], [0.0, 0.0]);
                o.fixed = true;
                s.objects.push(o);
                // Half the time a second object nearer the camera: parallax under motion.
                if rng.random_bool(0.5) {
                    let mut near = object("o1", colors[1], shape(&mut rng), 0.14, [0.5, 0.25], [0.0, 0.0]);
                    near.fixed = true;
                    near.layer = Layer::Foreground;
                    s.objects.push(near);
                }
            }
        }
        Family::Coherence => {
            let dir = sign(&mut rng);
            // Crosses behind the central wall and ends inside the frame (≈ 0.7 widths in 3 s).
            let speed = rng.random_range(0.2..0.26);
            let mut o = object(
                "o0",
                colors[0],
                shape(&mut rng),
                0.12,
                [if dir > 0.0 { 0.1 } else { 0.9 }, 0.5],
                [dir * speed, 0.0],
            );
            o.trail = rng.random_bool(0.3);
            s.objects.push(o);
            s.occluders.push(Occluder {
                pos: [0.5, 0.5],
                size: [rng.random_range(0.15..0.25), 0.6],
                color: Color::Gray,
                vel: [0.0, 0.0],
            });
            settings.frames = 25;
            // Sometimes a hard cut to a closer shot, with a second character watching from the
            // back (top right, clear of the wall and of the mover's path); the cut comes early,
            // while the mover is still clear of the wall and inside the closer shot.
            if rng.random_bool(0.3) {
                let mut other = object("o1", colors[1], shape(&mut rng), 0.12, [0.75, 0.25], [0.0, 0.0]);
                other.fixed = true;
                other.layer = Layer::Background;
                s.objects.push(other);
                s.cuts.push(rng.random_range(0.75..0.9));
            }
        }
        Family::Aspect => {
            let sizes = [(112, 64), (64, 112), (64, 64), (148, 64), (84, 64), (64, 84)];
            let (w, h) = sizes[rng.random_range(0..sizes.len())];
            settings.width = w;
            settings.height = h;
            let vx = sign(&mut rng) * rng.random_range(0.2..0.4);
            s.objects.push(object("o0", colors[0], shape(&mut rng), 0.16, [0.5 - vx * 0.5, 0.5], [vx, 0.0]));
        }
    }
    (s, settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::caption::{Motion, describe, parse_caption, parse_prompt};
    use crate::world::sim::Simulation;

    #[test]
    fn same_seed_same_scene_other_seed_other_scene() {
        for f in Family::ALL {
            assert_eq!(sample(f, 7), sample(f, 7));
            assert_ne!(sample(f, 7).0, sample(f, 8).0, "{f:?}");
            assert!(sample(f, 7).0.problems().is_empty(), "{}: {:?}", f.name(), sample(f, 7).0.problems());
        }
    }

    /// Captions of random scenes read back to the scene's colours, shapes and camera, and every
    /// motion word agrees with the simulated displacement.
    #[test]
    fn captions_parse_back_against_the_scene() {
        let mut checked = 0;
        for seed in 0..60 {
            for f in Family::ALL {
                let (scene, settings) = sample(f, seed);
                let (long, short) = describe(&scene, &settings);
                let p = parse_caption(&long).unwrap_or_else(|| panic!("unparseable: {long}"));
                let q = parse_prompt(&short.clone()).or_else(|| (short.is_empty()).then(Default::default));
                assert_eq!(p.camera, Some(scene.camera.motion), "{long}");
                assert_eq!(p.objects.len(), scene.objects.len(), "{long}");
                let sim = Simulation::run(&scene, settings.aspect(), settings.duration());
                let (a, b) = (sim.state_at(0.0), sim.state_at(sim.duration));
                for (i, (o, (c, s, m))) in scene.objects.iter().zip(&p.objects).enumerate() {
                    assert_eq!((o.color, o.shape), (*c, *s), "{long}");
                    let (dx, dy) = (b[i].pos[0] - a[i].pos[0], b[i].pos[1] - a[i].pos[1]);
                    let ok = match m {
                        Motion::StaysStill => dx.abs() < 0.05 && dy.abs() < 0.05,
                        Motion::MovesRight | Motion::ArcRight => dx > 0.0,
                        Motion::MovesLeft | Motion::ArcLeft => dx < 0.0,
                        Motion::MovesUp => dy < 0.0,
                        Motion::MovesDown | Motion::Falls => dy > 0.0,
                        Motion::FallsAndBounces => {
                            sim.events.iter().any(|e| matches!(e, crate::world::sim::Event::Bounce { .. }))
                        }
                    };
                    assert!(ok, "{m:?} but dx={dx:.3} dy={dy:.3}: {long}");
                }
                let q = q.unwrap_or_else(|| panic!("unparseable prompt: {short}"));
                assert_eq!(
                    q.objects.iter().map(|o| o.2).collect::<Vec<_>>(),
                    p.objects.iter().map(|o| o.2).collect::<Vec<_>>()
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 360);
    }
}
