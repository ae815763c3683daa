//! The fixed colour palette and shape set of the world. Scenes name colours and shapes from
//! them, prompts mention them, and the probes segment videos by these colours (the entries are
//! far apart in RGB).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Color {
    Red,
    Green,
    Blue,
    Yellow,
    Orange,
    Purple,
    Cyan,
    Magenta,
    White,
    Black,
    Gray,
}

impl Color {
    pub const ALL: [Color; 11] = [
        Color::Red,
        Color::Green,
        Color::Blue,
        Color::Yellow,
        Color::Orange,
        Color::Purple,
        Color::Cyan,
        Color::Magenta,
        Color::White,
        Color::Black,
        Color::Gray,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Color::Red => "red",
            Color::Green => "green",
            Color::Blue => "blue",
            Color::Yellow => "yellow",
            Color::Orange => "orange",
            Color::Purple => "purple",
            Color::Cyan => "cyan",
            Color::Magenta => "magenta",
            Color::White => "white",
            Color::Black => "black",
            Color::Gray => "gray",
        }
    }

    pub fn from_name(name: &str) -> Option<Color> {
        Color::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn rgb(self) -> [u8; 3] {
        match self {
            Color::Red => [220, 40, 40],
            Color::Green => [40, 180, 60],
            Color::Blue => [40, 80, 220],
            Color::Yellow => [240, 210, 40],
            Color::Orange => [245, 140, 30],
            Color::Purple => [140, 60, 190],
            Color::Cyan => [40, 200, 210],
            Color::Magenta => [220, 50, 190],
            Color::White => [245, 245, 245],
            Color::Black => [15, 15, 15],
            Color::Gray => [128, 128, 128],
        }
    }
}

/// The shapes of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Star,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Star];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "square",
            Shape::Triangle => "triangle",
            Shape::Star => "star",
        }
    }

    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_colours_are_far_apart() {
        for c in Color::ALL {
            assert_eq!(Color::from_name(c.name()), Some(c));
        }
        // Segmentation by nearest palette colour needs a margin against compression noise.
        for (i, a) in Color::ALL.iter().enumerate() {
            for b in &Color::ALL[i + 1..] {
                let d: i32 = a.rgb().iter().zip(b.rgb()).map(|(&x, y)| (i32::from(x) - i32::from(y)).abs()).sum();
                assert!(d >= 60, "{a:?} and {b:?} are only {d} apart");
            }
        }
    }
}
