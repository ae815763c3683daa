//! The `videval` binary: a thin wrapper over [`videval::cli`].

fn main() {
    std::process::exit(videval::cli::main());
}
