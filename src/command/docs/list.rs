//! Documentation rows: lists.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc(
        "blmove",
        "O(1)",
        "source:key destination:key wherefrom=(LEFT|RIGHT) whereto=(LEFT|RIGHT) timeout:double",
    ),
    doc(
        "blmpop",
        "O(N+M): N keys, M elements popped",
        "timeout:double numkeys:int key:key... where=(LEFT|RIGHT) [COUNT count:int]",
    ),
    doc(
        "blpop",
        "O(N) for N keys given",
        "key:key... timeout:double",
    )
    .history(&[("6.0.0", "timeout may be fractional (a double).")]),
    doc(
        "brpop",
        "O(N) for N keys given",
        "key:key... timeout:double",
    )
    .history(&[("6.0.0", "timeout may be fractional (a double).")]),
    doc(
        "brpoplpush",
        "O(1)",
        "source:key destination:key timeout:double",
    )
    .history(&[("6.0.0", "timeout may be fractional (a double).")])
    .deprecated("6.2.0", "BLMOVE ... RIGHT LEFT"),
    doc(
        "lindex",
        "O(N) for N elements walked; O(1) at either end",
        "key:key index:int",
    ),
    doc(
        "linsert",
        "O(N) for N elements walked to the pivot",
        "key:key where=(BEFORE|AFTER) pivot element",
    ),
    doc("llen", "O(1)", "key:key"),
    doc(
        "lmove",
        "O(1)",
        "source:key destination:key wherefrom=(LEFT|RIGHT) whereto=(LEFT|RIGHT)",
    ),
    doc(
        "lmpop",
        "O(N+M): N keys, M elements popped",
        "numkeys:int key:key... where=(LEFT|RIGHT) [COUNT count:int]",
    ),
    doc(
        "lpop",
        "O(N) for N elements popped",
        "key:key [count:int+6.2.0]",
    )
    .history(&[("6.2.0", "count argument.")]),
    doc(
        "lpos",
        "O(N) for a list of N on average",
        "key:key element [RANK rank:int] [COUNT num-matches:int] [MAXLEN len:int]",
    ),
    doc("lpush", "O(1) per element added", "key:key element...")
        .history(&[("2.4.0", "Takes several elements.")]),
    doc("lpushx", "O(1) per element added", "key:key element...")
        .history(&[("4.0.0", "Takes several elements.")]),
    doc(
        "lrange",
        "O(S+N): S to reach start, N returned",
        "key:key start:int stop:int",
    ),
    doc(
        "lrem",
        "O(N+M): list of N, M removed",
        "key:key count:int element",
    ),
    doc(
        "lset",
        "O(N) for a list of N; O(1) at either end",
        "key:key index:int element",
    ),
    doc(
        "ltrim",
        "O(N) for N elements removed",
        "key:key start:int stop:int",
    ),
    doc(
        "rpop",
        "O(N) for N elements popped",
        "key:key [count:int+6.2.0]",
    )
    .history(&[("6.2.0", "count argument.")]),
    doc("rpoplpush", "O(1)", "source:key destination:key")
        .deprecated("6.2.0", "LMOVE ... RIGHT LEFT"),
    doc("rpush", "O(1) per element added", "key:key element...")
        .history(&[("2.4.0", "Takes several elements.")]),
    doc("rpushx", "O(1) per element added", "key:key element...")
        .history(&[("4.0.0", "Takes several elements.")]),
];
