//! Streams are retried only before their first item: once a chunk has reached the client,
//! the answer cannot be taken back.

use futures::stream::{self, Chain, Iter, Stream, StreamExt};

/// A stream that yields an already-received first item, then the rest.
pub type Started<S, T, E> = Chain<Iter<std::option::IntoIter<Result<T, E>>>, S>;

/// Waits for a stream's first item: an error there is returned (so the executor can retry or
/// fall back), otherwise the whole stream is handed back, first item included.
pub async fn start_stream<S, T, E>(mut stream: S) -> Result<Started<S, T, E>, E>
where
    S: Stream<Item = Result<T, E>> + Unpin,
{
    let first = match stream.next().await {
        Some(Err(e)) => return Err(e),
        Some(Ok(item)) => Some(Ok(item)),
        None => None,
    };
    Ok(stream::iter(first).chain(stream))
}
