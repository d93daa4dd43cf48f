//! Persistence formats: RDB snapshots (also the payload of a full sync).

pub mod rdb;
