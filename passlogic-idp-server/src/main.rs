//! The `passlogic-idp` binary: everything lives in the library so that the end-to-end test crate
//! can build the very same program under its own name.
fn main() -> std::process::ExitCode {
    passlogic_idp_server::cli::main()
}
