//! The example SAML SP; see the crate documentation in `lib.rs` and README.md.
fn main() -> anyhow::Result<()> {
    passlogic_example_saml_sp::run()
}
