//! User provisioning from outside sources: the CSV bulk import format and planner ([`csv`],
//! pure), running an import against the store ([`import`]) and scheduled CSV drops ([`drop`]).
//! The formats are documented in docs/provisioning-csv.md; the SCIM 2.0 endpoint is
//! [`crate::scim`].

pub mod csv;
pub mod drop;
pub mod import;
