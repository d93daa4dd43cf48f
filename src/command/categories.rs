//! ACL categories of the command table's rows, as Redis 8.0 assigns them:
//! the group's category (`@string`, `@keyspace`...), the ones implied by
//! the command's flags (Redis's `setImplicitACLCategories`), and the few a
//! command states on its own. COMMAND INFO, COMMAND LIST FILTERBY ACLCAT,
//! ACL CAT and the ACL `+@category` rules all read them from here.

use super::CommandSpec;
use super::flags::*;

/// Category names, in Redis's order (ACL CAT lists them so); bit `i` of a
/// category mask is `NAMES[i]`.
pub const NAMES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of the category `name` (case-insensitive), if there is one.
pub fn bit(name: &[u8]) -> Option<u32> {
    NAMES
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

fn b(name: &str) -> u32 {
    bit(name.as_bytes()).unwrap_or(0)
}

/// The category mask of `spec` (a subcommand of `parent`, if given).
pub fn mask(spec: &CommandSpec, parent: Option<&CommandSpec>) -> u32 {
    let name = parent.map_or(spec.name, |p| p.name);
    let group = parent.map_or(spec.group, |p| p.group);
    let container = parent.is_none() && !spec.subcommands.is_empty();
    let mut m = 0;
    // A container has its group's category only when it says so (COMMAND),
    // and so does PUBSUB HELP, unlike its siblings. SORT (filed with the
    // generic commands) is categorised by the types it sorts instead, WAIT
    // and WAITAOF as connection commands.
    let own_group = if container {
        name == "command"
    } else {
        let help_of_pubsub = name == "pubsub" && spec.name == "help";
        !help_of_pubsub && !matches!(name, "sort" | "sort_ro" | "wait" | "waitaof")
    };
    if own_group {
        m |= b(match group {
            "string" => "string",
            "list" => "list",
            "set" => "set",
            "sorted-set" => "sortedset",
            "hash" => "hash",
            "stream" => "stream",
            "bitmap" => "bitmap",
            "hyperloglog" => "hyperloglog",
            "geo" => "geo",
            "pubsub" => "pubsub",
            "transactions" => "transaction",
            "scripting" => "scripting",
            "connection" => "connection",
            "generic" => "keyspace",
            _ => "",
        });
    }
    m |= explicit(name);
    // Flag-implied categories. Scripts that only read are still not
    // `@read`: what they run is checked on its own.
    if spec.has(WRITE) {
        m |= b("write");
    }
    if spec.has(READONLY) && m & b("scripting") == 0 {
        m |= b("read");
    }
    if spec.has(ADMIN) {
        m |= b("admin") | b("dangerous");
    }
    if spec.has(PUBSUB) {
        m |= b("pubsub");
    }
    if spec.has(FAST) {
        m |= b("fast");
    }
    if spec.has(BLOCKING) {
        m |= b("blocking");
    }
    if m & b("fast") == 0 {
        m |= b("slow");
    }
    m
}

/// Categories a command states beyond its group and flags.
fn explicit(name: &str) -> u32 {
    match name {
        "flushall" | "flushdb" | "swapdb" => b("keyspace") | b("dangerous"),
        "dbsize" => b("keyspace"),
        "keys" | "debug" | "shutdown" | "info" | "migrate" | "restore" | "restore-asking" => {
            b("dangerous")
        }
        "lastsave" | "role" => b("admin") | b("dangerous"),
        "sort" | "sort_ro" => b("set") | b("sortedset") | b("list") | b("dangerous"),
        "asking" | "readonly" | "readwrite" | "command" => b("connection"),
        "wait" | "waitaof" => b("connection"),
        _ => 0,
    }
}

/// The names in `mask`, in Redis's order.
pub fn names(mask: u32) -> impl Iterator<Item = &'static str> {
    NAMES
        .iter()
        .enumerate()
        .filter(move |(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
}
