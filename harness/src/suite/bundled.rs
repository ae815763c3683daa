//! The suites compiled into the binary, so `videval run` works from any directory. Adding a
//! suite is one file in `suites/` plus one line here (a test checks the two agree).

use super::load::Source;

/// `(name as shown in locations, contents)`; partials (`_*.yaml`) are include-only.
pub static FILES: &[(&str, &str)] = &[
    ("suites/_defaults.yaml", include_str!("../../../suites/_defaults.yaml")),
    ("suites/smoke.yaml", include_str!("../../../suites/smoke.yaml")),
    ("suites/physics.yaml", include_str!("../../../suites/physics.yaml")),
    ("suites/cause_effect.yaml", include_str!("../../../suites/cause_effect.yaml")),
    ("suites/left_right.yaml", include_str!("../../../suites/left_right.yaml")),
    ("suites/camera.yaml", include_str!("../../../suites/camera.yaml")),
    ("suites/coherence.yaml", include_str!("../../../suites/coherence.yaml")),
    ("suites/aspect.yaml", include_str!("../../../suites/aspect.yaml")),
    ("suites/capabilities.yaml", include_str!("../../../suites/capabilities.yaml")),
    ("suites/photoreal.yaml", include_str!("../../../suites/photoreal.yaml")),
];

/// Reads bundled files by their `suites/…` name.
#[derive(Debug, Clone, Copy)]
pub struct Bundled;

impl Source for Bundled {
    fn read(&self, name: &str) -> std::io::Result<String> {
        FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| (*text).to_string())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no bundled suite file by that name"))
    }
}

/// Names of the bundled suites (partials excluded), in listing order.
pub fn names() -> Vec<&'static str> {
    FILES
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("suites/")?.strip_suffix(".yaml"))
        .filter(|n| !n.starts_with('_'))
        .collect()
}

pub fn file_of(name: &str) -> Option<&'static str> {
    FILES
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.strip_prefix("suites/").and_then(|r| r.strip_suffix(".yaml")) == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_suites_dir_is_bundled_and_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../suites");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".yaml"))
            .map(|n| format!("suites/{n}"))
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        bundled.sort();
        assert_eq!(on_disk, bundled, "suites/ and the bundled list disagree");
        for name in names() {
            let suite = crate::suite::load(&Bundled, file_of(name).unwrap()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(suite.name, name);
            if name != "smoke" {
                let entries = suite.cases.iter().map(|c| c.cluster.as_str()).count();
                assert!(entries >= 8, "{name} has only {entries} cases");
            }
        }
    }
}
