fn main() -> std::process::ExitCode {
    collector::cli::main()
}
