//! Which colour the tracker sees when a checkpoint is prompted with each tracked colour:
//!
//! ```sh
//! cargo run --release -p videval-models --example colour_check -- models/weights/generator/tiny-{s,m,l}-long
//! ```
//!
//! For "a COLOUR ball rolls to the right" × the eight tracked colours × `SEEDS` seeds (17 frames,
//! 32×32, `STEPS` steps, guidance `GUIDANCE`; defaults the suites' 10 and 5), prints the main colour
//! of the longest track that moves at least 2 px (or `-`), and per checkpoint how many videos show
//! the prompted colour. This is the rule of the generator test `the_ladder_draws_the_prompted_colours`.

use std::path::Path;

use videval_metrics::palette::Color;
use videval_metrics::track::{TRACKED, Track, track};
use videval_models::generator::{Condition, Model, Request, default_device};

fn env<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (steps, guidance, seeds) = (env("STEPS", 10usize), env("GUIDANCE", 5.0f64), env("SEEDS", 3u64));
    let dev = default_device()?;
    for dir in std::env::args().skip(1) {
        let model = Model::load(Path::new(&dir), &dev)?;
        let mut right = 0;
        let mut line = Vec::new();
        for color in TRACKED {
            let prompt = format!("a {} ball rolls to the right", color.name());
            let mut seen = Vec::new();
            for seed in 0..seeds {
                let req = Request {
                    prompt: &prompt,
                    seed,
                    frames: 17,
                    width: 32,
                    height: 32,
                    fps: 8.0,
                    steps,
                    guidance,
                    condition: Condition::None,
                };
                let video = model.generate(&req)?.video;
                let main = moving_colour(&track(&video), req.frames);
                right += usize::from(main == Some(color));
                seen.push(main.map_or("-", |c| c.name()));
            }
            line.push(format!("{}→{}", color.name(), seen.join(",")));
        }
        println!("{dir}: {right}/{}  {}", TRACKED.len() as u64 * seeds, line.join(" "));
    }
    Ok(())
}

/// The main colour of the longest track seen in at least half the frames whose centre moves at
/// least 2 px between its first and last sighting.
fn moving_colour(tracks: &[Track], frames: usize) -> Option<Color> {
    tracks
        .iter()
        .filter(|t| 2 * t.seen().count() >= frames)
        .filter(|t| {
            let (a, b) = (t.first().unwrap().1.center, t.last().unwrap().1.center);
            (a[0] - b[0]).hypot(a[1] - b[1]) >= 2.0
        })
        .max_by_key(|t| t.seen().count())
        .and_then(Track::main_color)
}
