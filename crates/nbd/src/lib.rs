//! Platter's NBD server.
//!
//! Volumes are served only while attached, each attachment under its own
//! unguessable export name ([`Exports`], which the service drives through
//! the `DataPath` trait). The protocol lives in [`proto`] (bytes in, bytes
//! out); [`server`] runs the handshake and the transmission phase over any
//! async stream, many requests in flight per connection, replies in the
//! order requests finish. QoS is a token bucket per volume ([`qos`]).

pub mod client;
pub mod exports;
mod metrics;
pub mod proto;
pub mod qos;
pub mod server;

pub use exports::Exports;
pub use server::{handle_connection, serve, serve_halves, Limits};

#[derive(Debug, thiserror::Error)]
pub enum NbdError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Proto(#[from] proto::ProtoError),
    #[error("client violated the protocol: {0}")]
    Client(String),
}
