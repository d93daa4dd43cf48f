//! Documentation rows: sets.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("sadd", "O(1) per element added", "key:key member...")
        .history(&[("2.4.0", "Takes several members.")]),
    doc("scard", "O(1)", "key:key"),
    doc("sdiff", "O(N)", "key:key..."),
    doc("sdiffstore", "O(N)", "destination:key key:key..."),
    doc("sinter", "O(N*M)", "key:key..."),
    doc(
        "sintercard",
        "O(N*M)",
        "numkeys:int key:key... [LIMIT limit:int]",
    ),
    doc("sinterstore", "O(N*M)", "destination:key key:key..."),
    doc("sismember", "O(1)", "key:key member"),
    doc("smembers", "O(N)", "key:key"),
    doc("smismember", "O(N)", "key:key member..."),
    doc("smove", "O(1)", "source:key destination:key member"),
    doc(
        "spop",
        "O(1), or O(N) for a count of N",
        "key:key [count:int+3.2.0]",
    )
    .history(&[("3.2.0", "count argument.")]),
    doc(
        "srandmember",
        "O(1), or O(N) for a count of N",
        "key:key [count:int+2.6.0]",
    )
    .history(&[("2.6.0", "count argument.")]),
    doc("srem", "O(N)", "key:key member...").history(&[("2.4.0", "Takes several members.")]),
    doc(
        "sscan",
        "O(1) per call, O(N) for a full iteration over N elements",
        "key:key cursor:int [MATCH pattern:pattern] [COUNT count:int]",
    ),
    doc("sunion", "O(N)", "key:key..."),
    doc("sunionstore", "O(N)", "destination:key key:key..."),
];
