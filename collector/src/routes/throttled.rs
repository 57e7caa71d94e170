//! Handlers' use of [`crate::throttle`]: password checks counted as guesses, and the 429 with
//! `Retry-After` and a metric when a limit is reached.

use crate::error::{AppError, AppResult};
use crate::metrics::ThrottleLabel;
use crate::state::AppState;
use crate::throttle::{retry_after_secs, Guess, Limiter};

/// A 429 for a request [`crate::throttle`] refused (`what` labels the metric), with the wait.
pub fn throttled(state: &AppState, what: &'static str, message: &str, wait: std::time::Duration) -> AppError {
    state.metrics.throttled.get_or_create(&ThrottleLabel { what }).inc();
    AppError::TooManyRequests {
        message: message.to_owned(),
        retry_after_secs: retry_after_secs(wait),
    }
}

/// Runs the password check `check` as a [`Guess`] of `client` against `target`: refused with a
/// 429 when either has guessed too much; a wrong password (401, 400) counts, a right one clears
/// the target's count, an internal failure counts nothing.
pub async fn guarded_password_check<T>(
    state: &AppState,
    what: &'static str,
    client: String,
    target: Option<(&Limiter, String)>,
    check: impl std::future::Future<Output = AppResult<T>>,
) -> AppResult<T> {
    let client = (&state.throttles.password_failures_by_client, client);
    let guess = Guess::start(client, target, std::time::Instant::now()).map_err(|wait| {
        throttled(
            state,
            what,
            "too many wrong passwords for this account or from this address",
            wait,
        )
    })?;
    let outcome = check.await;
    match &outcome {
        Ok(_) => guess.succeeded(),
        Err(AppError::Unauthorized(_) | AppError::BadRequest { .. }) => {}
        Err(_) => guess.cancel(),
    }
    outcome
}
