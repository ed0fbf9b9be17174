//! Errors of starting the simulated providers.

use std::net::SocketAddr;

/// Why a [`crate::SimServer`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot bind the simulated providers to {addr}: {source}")]
    Bind {
        /// Address that was asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bound socket did not report its address.
    #[error("cannot read the address of the simulated providers' socket: {0}")]
    LocalAddr(std::io::Error),
}
