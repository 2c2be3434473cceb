fn main() -> std::process::ExitCode {
    // Every file and folder this process creates (the database, its log, `.eml` files,
    // previews, key files) is its owner's alone: they hold addresses, consent records
    // and keys.
    #[cfg(unix)]
    // SAFETY: called first thing, before any other thread exists; umask only sets the
    // process's file-creation mask and cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    // One malloc arena for every thread. Rows are built on the database driver's threads and freed on
    // tokio's; with glibc's arena per thread, each arena kept what the others freed into
    // it, and a launch's resident memory grew with the size of the base.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing, before any other thread exists; only tunes malloc.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    reconsent::cli::main()
}
