//! The videval command line, built inside the test crate so end-to-end tests can run it as a
//! child process (cargo only exposes a package's own binaries to its tests).

fn main() {
    std::process::exit(videval::cli::main());
}
