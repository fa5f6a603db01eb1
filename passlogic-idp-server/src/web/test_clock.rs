//! `POST /_test/clock` (only with `serve --test-clock`): moves the server clock forward.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Form;
use serde::Deserialize;

use super::AppState;

#[derive(Deserialize)]
pub struct Advance {
    advance_secs: i64,
}

pub async fn advance(
    State(state): State<Arc<AppState>>,
    Form(f): Form<Advance>,
) -> (StatusCode, String) {
    if f.advance_secs < 0 {
        return (
            StatusCode::BAD_REQUEST,
            "the clock only moves forward\n".into(),
        );
    }
    state.signin.clock.advance(f.advance_secs);
    (
        StatusCode::OK,
        format!("now: {}\n", state.signin.clock.unix()),
    )
}
