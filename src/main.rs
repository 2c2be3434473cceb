fn main() -> std::process::ExitCode {
    reconsent::cli::main()
}
