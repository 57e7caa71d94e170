//! A request body that must arrive whole before a deadline. tower-http's `RequestBodyTimeout`
//! times the gap between two chunks, so a client dripping a byte every few seconds holds a
//! connection and a handler for as long as it likes; this one bounds the whole body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error a body gives when its deadline passes before its end.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyDeadlineExceeded(pub Duration);

/// The [`BodyDeadlineExceeded`] that `error` is or was caused by, if any.
pub fn body_deadline_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyDeadlineExceeded> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<BodyDeadlineExceeded>() {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

/// `body`, failing with [`BodyDeadlineExceeded`] when it is still incomplete `within` after the
/// request arrived.
pub struct DeadlineBody {
    body: Body,
    within: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    pub fn new(body: Body, within: Duration) -> Self {
        Self {
            body,
            within,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + within)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyDeadlineExceeded(self.within))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A body that sends one chunk and then nothing, like a client that stopped mid-body.
    struct Stalling {
        sent: bool,
    }

    impl http_body::Body for Stalling {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.sent {
                return Poll::Pending;
            }
            self.sent = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from("half")))))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_fails_at_its_deadline_and_a_prompt_one_does_not() {
        let whole = DeadlineBody::new(Body::from("all here"), Duration::from_secs(1));
        assert_eq!(whole.collect().await.unwrap().to_bytes(), "all here");

        let started = Instant::now();
        let error = DeadlineBody::new(Body::new(Stalling { sent: false }), Duration::from_secs(30))
            .collect()
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert!(body_deadline_in(&error).is_some(), "{error}");
    }
}
