//! The example SAML SP (`examples/saml-sp`), built inside the test package (see Cargo.toml).
fn main() -> std::process::ExitCode {
    match passlogic_example_saml_sp::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
