//! End-to-end tests of the videval CLI live in `tests/`; this library holds their shared helpers.
