//! A gateway serving in a background task: for programs that embed the gateway next to other
//! work, and for tests that need a real listening gateway.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Gateway;

/// A gateway serving on a listener in a background task (see [`Gateway::spawn`]).
///
/// Dropping it asks the gateway to stop (gracefully, as [`Gateway::serve`] does) without
/// waiting; [`Serving::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct Serving {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Serving {
    /// The address the gateway listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, the base URL clients use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks the gateway to stop and hands back its serving task (`None` once taken).
    pub fn begin_shutdown(&mut self) -> Option<JoinHandle<io::Result<()>>> {
        if let Some(stop) = self.stop.take() {
            // The task may have ended already; then there is nobody to tell.
            let _ = stop.send(());
        }
        self.task.take()
    }

    /// Stops the gateway and waits, at most `limit`, until it has: in-flight requests
    /// finished (within the configured grace) and the record stage's work done.
    pub async fn shutdown(mut self, limit: Duration) -> io::Result<()> {
        let Some(task) = self.begin_shutdown() else {
            return Ok(());
        };
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(io::Error::other(format!(
                "the gateway's serving task failed: {join}"
            ))),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the gateway did not stop within {limit:?}"),
            )),
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Gateway {
    /// Serve on `listener` in a background task of the current runtime, until
    /// [`Serving::shutdown`] (or dropping the handle) stops it.
    pub fn spawn(self, listener: TcpListener) -> io::Result<Serving> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Serving {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }
}
