//! Decoding `expect:` entries from located YAML. The expectation types and the probes that check
//! them live in `videval_metrics::probes`; this is only the edge where YAML becomes types.

pub use videval_metrics::probes::*;

use crate::yaml::{Node, Value, YamlError, decode as decode_node};

/// Decodes one `expect:` entry; `path` is its field path (e.g. `cases[2].expect[0]`).
pub fn decode(node: &Node, path: &str) -> Result<Expectation, YamlError> {
    let Some(entry) = node.entry("probe") else {
        return Err(YamlError::at(
            &node.loc,
            path,
            format!("missing field `probe`, expected one of {}", PROBES.join(", ")),
        ));
    };
    let probe_path = format!("{path}.probe");
    let Some(name) = entry.value.as_str() else {
        return Err(YamlError::at(
            &entry.value.loc,
            probe_path,
            format!("expected a probe name, found {}", entry.value.kind()),
        ));
    };
    let params = Node {
        value: Value::Map(node.entries().unwrap_or_default().iter().filter(|e| e.key != "probe").cloned().collect()),
        loc: node.loc.clone(),
    };
    Ok(match name {
        "gravity" => Expectation::Gravity(decode_node(&params, path)?),
        "bounce" => Expectation::Bounce(decode_node(&params, path)?),
        "cause_effect" => Expectation::CauseEffect(decode_node(&params, path)?),
        "position" => Expectation::Position(decode_node(&params, path)?),
        "motion" => Expectation::Motion(decode_node(&params, path)?),
        "camera" => Expectation::Camera(decode_node(&params, path)?),
        "permanence" => Expectation::Permanence(decode_node(&params, path)?),
        "persistence" => Expectation::Persistence(decode_node(&params, path)?),
        "framing" => Expectation::Framing(decode_node(&params, path)?),
        "aspect" => Expectation::Aspect(decode_node(&params, path)?),
        "continuity" => Expectation::Continuity(decode_node(&params, path)?),
        "loop" => Expectation::Loop(decode_node(&params, path)?),
        "count" => Expectation::Count(decode_node(&params, path)?),
        "parallax" => Expectation::Parallax(decode_node(&params, path)?),
        "shots" => Expectation::Shots(decode_node(&params, path)?),
        other => {
            return Err(YamlError::at(
                &entry.value.loc,
                probe_path,
                format!("unknown probe \"{other}\", expected one of {}", PROBES.join(", ")),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn every_probe_name_decodes_to_its_variant() {
        let samples = [
            "{probe: gravity, object: {color: red}}",
            "{probe: bounce, object: {color: red}, count: {min: 1}}",
            "{probe: cause_effect, cause: {color: red}, effect: {color: blue}, change: starts_moving}",
            "{probe: position, object: {color: red}, relation: left_of, other: {color: blue}}",
            "{probe: motion, object: {color: red}, direction: left}",
            "{probe: camera, motion: pan_right}",
            "{probe: permanence, object: {color: red}}",
            "{probe: persistence, object: {color: red}, what: trail}",
            "{probe: framing, object: {color: red}}",
            "{probe: aspect, ratio: \"9:16\"}",
            "{probe: continuity, psnr: {min: 20}}",
            "{probe: loop, psnr: {min: 25}}",
            "{probe: count, count: {between: [2, 2]}}",
            "{probe: parallax, near: {color: orange}, far: {color: blue}}",
            "{probe: shots, cuts: {min: 1}}",
        ];
        assert_eq!(samples.len(), PROBES.len());
        for (text, name) in samples.iter().zip(PROBES) {
            let e = decode(&parse("t", text).unwrap(), "x").unwrap();
            assert_eq!(e.probe(), *name);
            assert!(e.problems().is_empty(), "{text}: {:?}", e.problems());
        }
    }
}
