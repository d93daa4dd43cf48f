//! The wire protocol: an incremental request parser and a reply writer that
//! speaks RESP2 and RESP3.

pub mod parse;
pub mod reply;

pub use parse::{Args, ParseError, Parser};
pub use reply::ReplyBuf;
