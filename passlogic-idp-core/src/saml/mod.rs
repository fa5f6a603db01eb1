//! SAML 2.0 protocol (being written).
