//! Bounded reads of error bodies: never more than a cap in memory, never
//! longer than a deadline.

use std::time::Duration;

use reqwest::Response;

/// What was read of a body, and why reading stopped early, if it did.
#[derive(Debug, Default)]
pub(crate) struct Capped {
    pub(crate) bytes: Vec<u8>,
    /// The body was longer than the cap; the rest was not read.
    pub(crate) truncated: bool,
    /// Reading failed part way (reset, truncated transfer).
    pub(crate) error: Option<reqwest::Error>,
    /// The deadline passed before the body ended.
    pub(crate) timed_out: bool,
}

/// Reads at most `cap` bytes of `response`'s body, for at most `deadline`
/// (no limit when `None`, or where tokio has no timers). The rest of the body is dropped with the response,
/// which closes the connection instead of draining it.
pub(crate) async fn read_capped(
    mut response: Response,
    cap: usize,
    deadline: Option<Duration>,
) -> Capped {
    let mut out = Capped::default();
    let read = async {
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap - out.bytes.len();
                    if chunk.len() > room {
                        out.bytes.extend_from_slice(&chunk[..room]);
                        out.truncated = true;
                        break;
                    }
                    if out.bytes.is_empty() && out.bytes.capacity() == 0 {
                        out.bytes.reserve(chunk.len().min(cap));
                    }
                    out.bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => {
                    out.error = Some(err);
                    break;
                }
            }
        }
    };
    // Without timers (a runtime built without them), no deadline: see
    // `timer`.
    out.timed_out = crate::timer::with_deadline(deadline, read).await;
    out
}
