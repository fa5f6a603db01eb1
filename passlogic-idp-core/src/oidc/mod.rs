//! OpenID Connect provider core (being written).
