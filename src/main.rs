fn main() -> std::process::ExitCode {
    // One malloc arena for every thread. Rows are built on SQLite's threads and freed on
    // tokio's; with glibc's arena per thread, each arena kept what the others freed into
    // it, and a launch's resident memory grew with the size of the base.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing, before any other thread exists; only tunes malloc.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    reconsent::cli::main()
}
