//! What every API family needs once: authentication (tokens and AK/SK
//! signatures), body parsing, request ids, the route table with its
//! authorization gate, and the normalising of framework errors into the
//! family's format. A family is a folder beside this one that uses these
//! pieces and registers itself in [`crate::FAMILIES`].

pub mod aksk;
pub mod auth;
pub mod body;
pub mod normalize;
pub mod request_id;
pub mod routes;
pub mod server;
