//! The reference passlogic IdP server: it wires `passlogic-idp-core` to HTTP (axum), storage
//! (SQLite or PostgreSQL through sqlx), templates and a command line. It owns every I/O; the
//! core owns every decision.
//!
//! Map: [`cli`] parses the command line; [`server`] runs `serve`; [`web`] holds the routes;
//! [`signin`] is the sign-in service the routes call; [`store`] the database; [`keys`] and
//! [`secrets`] the key-encryption key and sealed secrets; [`admin`] user administration.

pub mod access;
pub mod admin;
pub mod api;
pub mod ca;
pub mod cli;
pub mod client_cert;
pub mod clock;
pub mod config;
pub mod demo;
pub mod devices;
pub mod eam_service;
pub mod face;
pub mod factors;
pub mod forward_auth;
pub mod hw_tokens;
pub mod i18n;
pub mod keys;
pub mod ldap;
pub mod login_protect;
pub mod mail;
pub mod oidc_service;
pub mod provisioning;
pub mod radius;
pub mod registry;
pub mod saml_service;
pub mod scim;
pub mod secrets;
pub mod server;
pub mod signin;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod web;
// Console configuration (groups & policies, services, audit, first sign-in guides).
pub mod config_admin;
pub mod guides;
// Passkeys (WebAuthn).
pub mod passkeys;
pub mod percent;
// The user portal and the first sign-in guides.
pub mod portal;
