//! Documentation rows: hashes and hash-field expiry.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("hdel", "O(N) for N fields given", "key:key field...")
        .history(&[("2.4.0", "Takes several fields.")]),
    doc("hexists", "O(1)", "key:key field"),
    doc(
        "hexpire",
        "O(N) for N fields given",
        "key:key seconds:int condition=[NX|XX|GT|LT] (FIELDS numfields:int field...)",
    ),
    doc(
        "hexpireat",
        "O(N) for N fields given",
        "key:key unix-time-seconds:time condition=[NX|XX|GT|LT] (FIELDS numfields:int field...)",
    ),
    doc(
        "hexpiretime",
        "O(N) for N fields given",
        "key:key (FIELDS numfields:int field...)",
    ),
    doc("hget", "O(1)", "key:key field"),
    doc("hgetall", "O(N) for a hash of N fields", "key:key"),
    doc(
        "hgetdel",
        "O(N) for N fields given",
        "key:key (FIELDS numfields:int field...)",
    ),
    doc(
        "hgetex",
        "O(N) for N fields given",
        "key:key expiration=[EX seconds:int|PX milliseconds:int|EXAT unix-time-seconds:time|PXAT unix-time-milliseconds:time|PERSIST] (FIELDS numfields:int field...)",
    ),
    doc("hincrby", "O(1)", "key:key field increment:int"),
    doc("hincrbyfloat", "O(1)", "key:key field increment:double"),
    doc("hkeys", "O(N) for a hash of N fields", "key:key"),
    doc("hlen", "O(1)", "key:key"),
    doc("hmget", "O(N) for N fields given", "key:key field..."),
    doc(
        "hmset",
        "O(N) for N fields given",
        "key:key data=(field value)...",
    )
    .deprecated("4.0.0", "HSET with several field-value pairs"),
    doc(
        "hpersist",
        "O(N) for N fields given",
        "key:key (FIELDS numfields:int field...)",
    ),
    doc(
        "hpexpire",
        "O(N) for N fields given",
        "key:key milliseconds:int condition=[NX|XX|GT|LT] (FIELDS numfields:int field...)",
    ),
    doc(
        "hpexpireat",
        "O(N) for N fields given",
        "key:key unix-time-milliseconds:time condition=[NX|XX|GT|LT] (FIELDS numfields:int field...)",
    ),
    doc(
        "hpexpiretime",
        "O(N) for N fields given",
        "key:key (FIELDS numfields:int field...)",
    ),
    doc(
        "hpttl",
        "O(N) for N fields given",
        "key:key (FIELDS numfields:int field...)",
    ),
    doc(
        "hrandfield",
        "O(N) for N fields returned",
        "key:key options=[count:int [WITHVALUES]]",
    ),
    doc(
        "hscan",
        "O(1) per call, O(N) for a full iteration over N elements",
        "key:key cursor:int [MATCH pattern:pattern] [COUNT count:int] [NOVALUES]",
    ),
    doc(
        "hset",
        "O(1) per field-value pair",
        "key:key data=(field value)...",
    )
    .history(&[("4.0.0", "Takes several field-value pairs.")]),
    doc(
        "hsetex",
        "O(N) for N fields given",
        "key:key condition=[FNX|FXX] expiration=[EX seconds:int|PX milliseconds:int|EXAT unix-time-seconds:time|PXAT unix-time-milliseconds:time|KEEPTTL] (FIELDS numfields:int data=(field value)...)",
    ),
    doc("hsetnx", "O(1)", "key:key field value"),
    doc("hstrlen", "O(1)", "key:key field"),
    doc(
        "httl",
        "O(N) for N fields given",
        "key:key (FIELDS numfields:int field...)",
    ),
    doc("hvals", "O(N) for a hash of N fields", "key:key"),
];
