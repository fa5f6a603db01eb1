//! Authentication factors, one module per method.

pub mod bingo;
pub mod face;
pub mod matrix;
pub mod otp;
pub mod pin;
pub mod token_import;
pub mod unlock;
pub mod webauthn;
