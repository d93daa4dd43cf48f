//! Documentation rows: sets.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("sadd", "O(1) per element added", "key:key member...")
        .history(&[("2.4.0", "Takes several members.")]),
    doc("scard", "O(1)", "key:key"),
    doc("sdiff", "O(N) for N elements in all the sets", "key:key..."),
    doc(
        "sdiffstore",
        "O(N) for N elements in all the sets",
        "destination:key key:key...",
    ),
    doc(
        "sinter",
        "O(N*M) worst case: smallest set of N, M sets",
        "key:key...",
    ),
    doc(
        "sintercard",
        "O(N*M) worst case: smallest set of N, M sets",
        "numkeys:int key:key... [LIMIT limit:int]",
    ),
    doc(
        "sinterstore",
        "O(N*M) worst case: smallest set of N, M sets",
        "destination:key key:key...",
    ),
    doc("sismember", "O(1)", "key:key member"),
    doc("smembers", "O(N) for a set of N", "key:key"),
    doc(
        "smismember",
        "O(N) for N members given",
        "key:key member...",
    ),
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
    doc("srem", "O(N) for N members given", "key:key member...")
        .history(&[("2.4.0", "Takes several members.")]),
    doc(
        "sscan",
        "O(1) per call, O(N) for a full iteration over N elements",
        "key:key cursor:int [MATCH pattern:pattern] [COUNT count:int]",
    ),
    doc(
        "sunion",
        "O(N) for N elements in all the sets",
        "key:key...",
    ),
    doc(
        "sunionstore",
        "O(N) for N elements in all the sets",
        "destination:key key:key...",
    ),
];
