//! The `passlogic-idp` program, built inside the test package (see Cargo.toml).
fn main() -> std::process::ExitCode {
    passlogic_idp_server::cli::main()
}
