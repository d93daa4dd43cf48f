//! Documentation rows: cluster commands.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("asking", "O(1)", ""),
    doc("cluster", "See each subcommand.", ""),
    doc("cluster|addslots", "O(N) for N slots given", "slot:int..."),
    doc(
        "cluster|addslotsrange",
        "O(N) for N slots in the ranges",
        "range=(start-slot:int end-slot:int)...",
    ),
    doc("cluster|bumpepoch", "O(1)", ""),
    doc(
        "cluster|count-failure-reports",
        "O(N) for N failure reports",
        "node-id",
    ),
    doc("cluster|countkeysinslot", "O(1)", "slot:int"),
    doc("cluster|delslots", "O(N) for N slots given", "slot:int..."),
    doc(
        "cluster|delslotsrange",
        "O(N) for N slots in the ranges",
        "range=(start-slot:int end-slot:int)...",
    ),
    doc("cluster|failover", "O(1)", "options=[FORCE|TAKEOVER]"),
    doc("cluster|flushslots", "O(1)", ""),
    doc("cluster|forget", "O(1)", "node-id"),
    doc(
        "cluster|getkeysinslot",
        "O(N) for N keys asked for",
        "slot:int count:int",
    ),
    doc("cluster|help", "O(1)", ""),
    doc("cluster|info", "O(1)", ""),
    doc("cluster|keyslot", "O(N) for a key of N bytes", "key"),
    doc("cluster|links", "O(N) for N cluster nodes", ""),
    doc(
        "cluster|meet",
        "O(1)",
        "ip port:int [cluster-bus-port:int+4.0.0]",
    )
    .history(&[("4.0.0", "cluster-bus-port argument.")]),
    doc("cluster|myid", "O(1)", ""),
    doc("cluster|myshardid", "O(1)", ""),
    doc("cluster|nodes", "O(N) for N cluster nodes", ""),
    doc("cluster|replicas", "O(N) for N replicas", "node-id"),
    doc("cluster|replicate", "O(1)", "node-id"),
    doc(
        "cluster|reset",
        "O(N) for N known nodes (may flush the data)",
        "reset-type=[HARD|SOFT]",
    ),
    doc("cluster|saveconfig", "O(1)", ""),
    doc("cluster|set-config-epoch", "O(1)", "config-epoch:int"),
    doc(
        "cluster|setslot",
        "O(1)",
        "slot:int subcommand=(IMPORTING importing=node-id|MIGRATING migrating=node-id|NODE node=node-id|STABLE)",
    ),
    doc("cluster|shards", "O(N) for N cluster nodes", ""),
    doc("cluster|slaves", "O(N) for N replicas", "node-id").deprecated("5.0.0", "CLUSTER REPLICAS"),
    doc("cluster|slots", "O(N) for N cluster nodes", "")
        .history(&[
            ("4.0.0", "Node IDs in the reply."),
            ("7.0.0", "More networking metadata per node."),
        ])
        .deprecated("7.0.0", "CLUSTER SHARDS"),
    doc("readonly", "O(1)", ""),
    doc("readwrite", "O(1)", ""),
];
