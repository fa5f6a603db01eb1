//! Measures the cost of one Argon2id PIN hash for each OWASP configuration on this machine, so
//! operators can pick parameters (docs/factors.md records one run). Run in release mode:
//! `cargo run --release -p passlogic-idp-core --example calibrate_pin`.
use std::time::Instant;

use passlogic_idp_core::factor::pin::{hash_pin, verify_pin, Argon2Params};
use rand::SeedableRng;

fn main() {
    // Salts need no real entropy for a timing run.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    println!("| m_kib | t | p | hash ms | verify ms |");
    println!("|---:|---:|---:|---:|---:|");
    for (m_kib, t) in [
        (47_104, 1),
        (19_456, 2),
        (12_288, 3),
        (9_216, 4),
        (7_168, 5),
        (65_536, 3),
    ] {
        let params = Argon2Params { m_kib, t, p: 1 };
        let rounds = 10;
        let start = Instant::now();
        let mut phc = String::new();
        for _ in 0..rounds {
            phc = hash_pin("482916", &params, &mut rng).expect("hash");
        }
        let hash_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(verify_pin("482916", &phc).expect("verify"));
        }
        let verify_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        println!("| {m_kib} | {t} | 1 | {hash_ms:.1} | {verify_ms:.1} |");
    }
}
