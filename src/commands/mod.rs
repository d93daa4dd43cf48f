//! Command families: each module holds one family's handlers and exports its
//! rows of the command table as `COMMANDS`.

pub mod acl;
pub mod bitops;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod introspection;
pub mod keys;
pub mod latency;
pub mod list;
pub mod lolwut;
pub mod migrate;
pub mod multi;
pub mod pqsort;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;
