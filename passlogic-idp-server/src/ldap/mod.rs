//! LDAP / Active Directory sync (issue 11 part 1): sources ([`source`]), mapping a directory
//! entry to our user fields ([`mapping`]), reading the directory with paged searches
//! ([`fetch`]), computing the changes ([`plan`]), and running a sync with its report, audit
//! and schedule ([`sync`]). See docs/integrations/ldap.md.
//!
//! Known gaps: simple bind only (no SASL EXTERNAL / Kerberos); a new user's initial pattern
//! follows the tenant's default policy, not the policy of the groups the sync puts them in; no
//! console page yet; no delta sync (every run reads the whole directory).

pub mod fetch;
pub mod mapping;
pub mod plan;
pub mod source;
pub mod sync;
