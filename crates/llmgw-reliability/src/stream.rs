//! Streams are retried only until they have produced something: once output has reached the
//! client, the answer cannot be taken back.

use futures::stream::{self, Chain, Iter, Stream, StreamExt};

/// Most items held back while waiting for a stream's first output.
pub const MAX_HELD_ITEMS: usize = 32;

/// A stream that yields the items already received, then the rest.
pub type Started<S, T, E> = Chain<Iter<std::vec::IntoIter<Result<T, E>>>, S>;

/// Waits until a stream yields an item for which `is_output` holds (e.g. the first chunk with
/// text, a tool call or a finish reason), holding back the items before it (at most
/// [`MAX_HELD_ITEMS`]; then the stream counts as started). An error before that is returned,
/// so the caller can retry or fall back; otherwise the whole stream is handed back, held items
/// first. A stream that ends before any output is handed back as is.
pub async fn start_stream<S, T, E>(
    mut stream: S,
    is_output: impl Fn(&T) -> bool,
) -> Result<Started<S, T, E>, E>
where
    S: Stream<Item = Result<T, E>> + Unpin,
{
    let mut held = Vec::new();
    while held.len() < MAX_HELD_ITEMS {
        match stream.next().await {
            Some(Err(e)) => return Err(e),
            Some(Ok(item)) => {
                let started = is_output(&item);
                held.push(Ok(item));
                if started {
                    break;
                }
            }
            None => break,
        }
    }
    Ok(stream::iter(held).chain(stream))
}
