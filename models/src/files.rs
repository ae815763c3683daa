//! Reading the small text files that configure things (a checkpoint's `config.json`, a loss
//! curve, a mapping): only regular files, and never more than a stated size. A path that names a
//! device or a FIFO (`/dev/zero` behind a link) read without end until memory ran out.

use std::io::Read;
use std::path::Path;

/// The largest checkpoint or network `config.json` read (they are a few kilobytes).
pub const CONFIG_BYTES: u64 = 16 << 20;

/// Gives `file` the permissions of `like`, a file written beside it the usual way: the
/// safetensors writer makes its files 0600, which others sharing a checkpoint folder could not
/// load.
pub fn permissions_like(file: &Path, like: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(file, std::fs::metadata(like)?.permissions())
}

/// The UTF-8 text of the regular file `path`, refused when it holds more than `max` bytes
/// (without reading more than that) or is not a regular file.
pub fn read_text(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    if !std::fs::metadata(path)?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("larger than {} MiB: not a file of this kind", max >> 20),
        ));
    }
    // A network's config read after its manifest check must be the one checked.
    crate::encoders::manifest::confirm(path, &bytes).map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = std::env::temp_dir().join(format!("videval-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = dir.join("small.json");
        std::fs::write(&small, "{}").unwrap();
        assert_eq!(read_text(&small, 2).unwrap(), "{}");
        let e = read_text(&small, 1).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        let e = read_text(Path::new("/dev/zero"), CONFIG_BYTES).unwrap_err();
        assert_eq!((e.kind(), e.to_string()), (std::io::ErrorKind::InvalidInput, "not a regular file".into()));
        assert_eq!(read_text(&dir, CONFIG_BYTES).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(read_text(&dir.join("none"), CONFIG_BYTES).unwrap_err().kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
