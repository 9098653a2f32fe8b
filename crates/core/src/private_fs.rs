//! Files and folders at rest readable by their owner only (SPEC §7): the
//! SQLite database, the key folder and its keys, the outbox.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents, owner-only (0700 on Unix); a
/// folder that exists is left as it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the empty file `path` owner-only (0600 on Unix) unless it
/// exists: a program that then opens it (SQLite, which gives its WAL and
/// shared-memory files the database file's mode) finds it private.
pub fn create_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
