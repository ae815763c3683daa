//! Captions in a closed vocabulary: a long descriptive caption of a scene (the recaptioning
//! idea), a short prompt, a parser that reads captions back, and a prompt expander that turns a
//! short prompt into the descriptive form (the prompt up-sampling step).
//!
//! Grammar (every word comes from the lists below; nothing else is produced or accepted):
//!
//! ```text
//! caption   := background-sentence object-sentence+ occluder-sentence* event-sentence*
//!              camera-sentence cut-sentence*
//! background-sentence := "The background is " BACKGROUND "."
//! object-sentence     := "A " COLOR " " SHAPE " starts " PLACE " and " MOTION ["," " leaving a trail"] "."
//! occluder-sentence   := "A " COLOR " wall stands in front " PLACE "."
//! event-sentence      := "When the " COLOR " " SHAPE " touches the " COLOR " " SHAPE ", the "
//!                        COLOR " " SHAPE " " CHANGE "."
//! camera-sentence     := "The camera " CAMERA "."
//! cut-sentence        := "The shot cuts to a closer view."
//! prompt    := item (", " item)*        item := "a " COLOR " " SHAPE " " MOTION | "the camera " CAMERA
//! PLACE  := "in the center" | "at the " ("top" | "middle" | "bottom") " " ("left" | "center" | "right")
//! MOTION := "stays still" | "falls and bounces" | "falls" | "flies in an arc to the left|right"
//!         | "moves left" | "moves right" | "moves up" | "moves down"
//! CHANGE := "turns " COLOR | "becomes a " SHAPE | "starts moving"
//! CAMERA := "stays still" | "pans left" | "pans right" | "tilts up" | "tilts down" | "zooms in"
//!         | "zooms out" | "follows a path"
//! BACKGROUND := "a " COLOR " and " COLOR " checkerboard" | "plain " COLOR
//!             | "a gradient from " COLOR " to " COLOR | "a textured wall"
//! ```

use super::render::Settings;
use super::sim::{Event, Simulation};
use super::spec::{Background, CameraMotion, Scene, Shape};
use crate::palette::Color;

/// Displacement (canvas heights) below which an object "stays still".
const STILL: f64 = 0.05;

/// What an object does over the clip, in caption words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    StaysStill,
    FallsAndBounces,
    Falls,
    ArcLeft,
    ArcRight,
    MovesLeft,
    MovesRight,
    MovesUp,
    MovesDown,
}

impl Motion {
    pub const ALL: [Motion; 9] = [
        Motion::StaysStill,
        Motion::FallsAndBounces,
        Motion::Falls,
        Motion::ArcLeft,
        Motion::ArcRight,
        Motion::MovesLeft,
        Motion::MovesRight,
        Motion::MovesUp,
        Motion::MovesDown,
    ];

    pub fn words(self) -> &'static str {
        match self {
            Motion::StaysStill => "stays still",
            Motion::FallsAndBounces => "falls and bounces",
            Motion::Falls => "falls",
            Motion::ArcLeft => "flies in an arc to the left",
            Motion::ArcRight => "flies in an arc to the right",
            Motion::MovesLeft => "moves left",
            Motion::MovesRight => "moves right",
            Motion::MovesUp => "moves up",
            Motion::MovesDown => "moves down",
        }
    }

    fn parse(s: &str) -> Option<Motion> {
        Motion::ALL.into_iter().find(|m| m.words() == s)
    }
}

pub fn camera_words(c: CameraMotion) -> &'static str {
    match c {
        CameraMotion::Static => "stays still",
        CameraMotion::PanLeft => "pans left",
        CameraMotion::PanRight => "pans right",
        CameraMotion::TiltUp => "tilts up",
        CameraMotion::TiltDown => "tilts down",
        CameraMotion::ZoomIn => "zooms in",
        CameraMotion::ZoomOut => "zooms out",
        CameraMotion::Keyframes => "follows a path",
    }
}

fn parse_camera(s: &str) -> Option<CameraMotion> {
    CameraMotion::ALL.into_iter().find(|c| camera_words(*c) == s)
}

/// "in the center" / "at the top left" for a normalised position.
pub fn place(x: f64, y: f64) -> String {
    let h = if x < 1.0 / 3.0 {
        "left"
    } else if x > 2.0 / 3.0 {
        "right"
    } else {
        "center"
    };
    let v = if y < 1.0 / 3.0 {
        "top"
    } else if y > 2.0 / 3.0 {
        "bottom"
    } else {
        "middle"
    };
    if (h, v) == ("center", "middle") { "in the center".into() } else { format!("at the {v} {h}") }
}

/// Classifies an object's motion over the simulated clip.
pub fn motion_of(scene: &Scene, sim: &Simulation, i: usize) -> Motion {
    let (a, b) = (sim.state_at(0.0)[i], sim.state_at(sim.duration)[i]);
    let (dx, dy) = (b.pos[0] - a.pos[0], b.pos[1] - a.pos[1]);
    let id = &sim.ids[i];
    let bounced = sim.events.iter().any(|e| matches!(e, Event::Bounce { object, .. } if object == id));
    let falling = scene.gravity > 0.0 && a.dynamic;
    if dx.abs() < STILL && dy.abs() < STILL {
        Motion::StaysStill
    } else if falling && a.vel[1] < -0.2 && dx.abs() >= STILL {
        if dx > 0.0 { Motion::ArcRight } else { Motion::ArcLeft }
    } else if falling && bounced && dx.abs() < dy.abs().max(STILL) {
        Motion::FallsAndBounces
    } else if falling && dy > 0.0 && dy.abs() >= dx.abs() {
        Motion::Falls
    } else if dx.abs() >= dy.abs() {
        if dx > 0.0 { Motion::MovesRight } else { Motion::MovesLeft }
    } else if dy > 0.0 {
        Motion::MovesDown
    } else {
        Motion::MovesUp
    }
}

/// A photo setting as the long caption says it.
fn setting_words(setting: crate::world::spec::Setting) -> String {
    use crate::world::spec::Setting;
    match setting {
        Setting::Wood | Setting::Auto => "a wooden surface",
        Setting::Brick => "a brick wall",
        Setting::Tiles => "a tiled surface",
        Setting::Fabric => "a fabric surface",
        Setting::Sky => "the sky",
        Setting::Plaster => "a plaster wall",
    }
    .to_string()
}

fn background_words(bg: &Background) -> String {
    match bg {
        Background::Solid { color } => format!("plain {}", color.name()),
        Background::Gradient { from, to } => format!("a gradient from {} to {}", from.name(), to.name()),
        Background::Checker { a, b, .. } => format!("a {} and {} checkerboard", a.name(), b.name()),
        Background::Noise { .. } => "a textured wall".into(),
    }
}

fn name_of(c: Color, s: Shape) -> String {
    format!("{} {}", c.name(), s.name())
}

/// The long caption and the short prompt of a scene rendered at `settings`.
pub fn describe(scene: &Scene, settings: &Settings) -> (String, String) {
    describe_over(scene, settings, None)
}

/// [`describe`], the background told in `backdrop`'s words where the scene is drawn over a
/// picture its spec does not hold (a user's photograph: it was captioned as the setting the
/// spec names, "a tiled surface" over a cat).
pub fn describe_over(scene: &Scene, settings: &Settings, backdrop: Option<&str>) -> (String, String) {
    let sim = Simulation::run(scene, settings.aspect(), settings.duration());
    let start = sim.state_at(0.0);
    // The photo style draws its setting, not the flat background (photo captions said "a gray
    // and white checkerboard" over wood).
    let background = match (backdrop, &scene.style, &scene.photo) {
        (Some(words), _, _) => words.to_string(),
        (None, crate::world::spec::Style::Photo, photo) => {
            let photo = photo.clone().unwrap_or_default();
            setting_words(crate::world::photo::setting_for(&photo))
        }
        _ => background_words(&scene.background),
    };
    let mut long = vec![format!("The background is {background}.")];
    let mut short = Vec::new();
    for (i, o) in scene.objects.iter().enumerate() {
        let m = motion_of(scene, &sim, i);
        let trail = if o.trail { ", leaving a trail" } else { "" };
        long.push(format!(
            "A {} starts {} and {}{trail}.",
            name_of(o.color, o.shape),
            place(o.pos[0], o.pos[1]),
            m.words()
        ));
        short.push(format!("a {} {}", name_of(start[i].color, start[i].shape), m.words()));
    }
    for oc in &scene.occluders {
        long.push(format!("A {} wall stands in front {}.", oc.color.name(), place(oc.pos[0], oc.pos[1])));
    }
    for ev in &scene.events {
        let find = |id: &str| scene.objects.iter().position(|o| o.id == id);
        let (Some(a), Some(b), Some(t)) = (find(&ev.contact[0]), find(&ev.contact[1]), find(&ev.then.object)) else {
            continue;
        };
        let n = |k: usize| name_of(scene.objects[k].color, scene.objects[k].shape);
        let change = if let Some(c) = ev.then.set_color {
            format!("turns {}", c.name())
        } else if let Some(s) = ev.then.set_shape {
            format!("becomes a {}", s.name())
        } else {
            "starts moving".to_string()
        };
        long.push(format!("When the {} touches the {}, the {} {change}.", n(a), n(b), n(t)));
    }
    long.push(format!("The camera {}.", camera_words(scene.camera.motion)));
    if scene.camera.motion != CameraMotion::Static {
        short.push(format!("the camera {}", camera_words(scene.camera.motion)));
    }
    for _ in scene.cuts.iter().filter(|&&t| t < settings.duration()) {
        long.push("The shot cuts to a closer view.".into());
    }
    (long.join(" "), short.join(", "))
}

/// What a caption or prompt says, read back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub objects: Vec<(Color, Shape, Motion)>,
    pub camera: Option<CameraMotion>,
}

fn color_shape(words: &[&str]) -> Option<(Color, Shape)> {
    match words {
        [c, s] => Some((Color::from_name(c)?, Shape::from_name(s)?)),
        _ => None,
    }
}

/// Reads a long caption back; `None` if anything falls outside the grammar.
pub fn parse_caption(caption: &str) -> Option<Parsed> {
    let mut out = Parsed::default();
    for sentence in caption.split_terminator(". ").map(|s| s.trim_end_matches('.')) {
        if let Some(rest) = sentence.strip_prefix("The camera ") {
            out.camera = Some(parse_camera(rest)?);
        } else if sentence.starts_with("The background is ")
            || sentence.starts_with("When the ")
            || sentence == "The shot cuts to a closer view"
            || sentence.contains(" wall stands in front ")
        {
            continue;
        } else if let Some(rest) = sentence.strip_prefix("A ") {
            let (head, tail) = rest.split_once(" starts ")?;
            let (_, motion) = tail.split_once(" and ")?;
            let motion = motion.trim_end_matches(", leaving a trail");
            let (c, s) = color_shape(&head.split(' ').collect::<Vec<_>>())?;
            out.objects.push((c, s, Motion::parse(motion)?));
        } else {
            return None;
        }
    }
    Some(out)
}

/// Reads a short prompt back; `None` if it is outside the grammar.
pub fn parse_prompt(prompt: &str) -> Option<Parsed> {
    let mut out = Parsed::default();
    for item in prompt.split(", ") {
        if let Some(rest) = item.strip_prefix("the camera ") {
            out.camera = Some(parse_camera(rest)?);
            continue;
        }
        let words: Vec<&str> = item.strip_prefix("a ")?.splitn(3, ' ').collect();
        let [c, s, m] = words.as_slice() else { return None };
        let (c, s) = color_shape(&[c, s])?;
        out.objects.push((c, s, Motion::parse(m)?));
    }
    Some(out)
}

/// Expands a short prompt into the descriptive caption form (positions unknown to a prompt are
/// placed left to right across the middle; the background defaults to a gray and white
/// checkerboard and the camera to still). `None` if the prompt is outside the grammar.
pub fn expand(prompt: &str) -> Option<String> {
    let p = parse_prompt(prompt)?;
    let mut out = vec!["The background is a gray and white checkerboard.".to_string()];
    let n = p.objects.len();
    for (k, (c, s, m)) in p.objects.iter().enumerate() {
        let x = (k as f64 + 0.5) / n as f64;
        out.push(format!("A {} starts {} and {}.", name_of(*c, *s), place(x, 0.5), m.words()));
    }
    out.push(format!("The camera {}.", camera_words(p.camera.unwrap_or(CameraMotion::Static))));
    Some(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_scene_is_captioned_with_its_setting() {
        use crate::world::spec::{Photo, Setting, Style};
        let (mut scene, settings) = crate::world::sample::sample(crate::world::sample::Family::ALL[0], 3);
        let (flat, _) = describe(&scene, &settings);
        assert!(flat.contains("checkerboard") || flat.contains("plain"), "{flat}");
        scene.style = Style::Photo;
        scene.photo = Some(Photo { setting: Setting::Brick, ..Photo::default() });
        let (photo, _) = describe(&scene, &settings);
        assert!(photo.starts_with("The background is a brick wall."), "{photo}");
    }

    #[test]
    fn places_and_grammar_round_trip() {
        assert_eq!(place(0.5, 0.5), "in the center");
        assert_eq!(place(0.1, 0.9), "at the bottom left");
        let p = parse_prompt("a red circle falls and bounces, the camera pans left").unwrap();
        assert_eq!(p.objects, vec![(Color::Red, Shape::Circle, Motion::FallsAndBounces)]);
        assert_eq!(p.camera, Some(CameraMotion::PanLeft));
        assert!(parse_prompt("a teal circle falls").is_none());
        assert!(parse_prompt("a red circle dances").is_none());
        let long = expand("a red circle falls and bounces, a blue square moves right").unwrap();
        let back = parse_caption(&long).unwrap();
        assert_eq!(back.objects.len(), 2);
        assert_eq!(back.camera, Some(CameraMotion::Static));
    }
}
