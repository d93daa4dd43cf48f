//! Documentation rows: strings, bitmaps and HyperLogLogs.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("append", "O(1) amortized", "key:key value"),
    doc("bitcount", "O(N)", "key:key range=[start:int end:int unit=[BYTE|BIT]+7.0.0]")
        .history(&[
            ("7.0.0", "BYTE and BIT units."),
        ]),
    doc("bitfield", "O(1) per operation", "key:key operation=[get-block=(GET encoding offset:int)|write=(overflow-block=[OVERFLOW (WRAP|SAT|FAIL)] write-operation=(set-block=(SET encoding offset:int value:int)|incrby-block=(INCRBY encoding offset:int increment:int)))]..."),
    doc("bitfield_ro", "O(1) per operation", "key:key get-block=[GET... encoding offset:int]"),
    doc("bitop", "O(N)", "operation=(AND|OR|XOR|NOT) destkey:key key:key..."),
    doc("bitpos", "O(N)", "key:key bit:int range=[start:int end-unit-block=[end:int unit=[BYTE|BIT]+7.0.0]]")
        .history(&[
            ("7.0.0", "BYTE and BIT units."),
        ]),
    doc("decr", "O(1)", "key:key"),
    doc("decrby", "O(1)", "key:key decrement:int"),
    doc("get", "O(1)", "key:key"),
    doc("getbit", "O(1)", "key:key offset:int"),
    doc("getdel", "O(1)", "key:key"),
    doc("getex", "O(1)", "key:key expiration=[EX seconds:int|PX milliseconds:int|EXAT unix-time-seconds:time|PXAT unix-time-milliseconds:time|PERSIST]"),
    doc("getrange", "O(N) for a result of length N", "key:key start:int end:int"),
    doc("getset", "O(1)", "key:key value")
        .deprecated("6.2.0", "SET ... GET"),
    doc("incr", "O(1)", "key:key"),
    doc("incrby", "O(1)", "key:key increment:int"),
    doc("incrbyfloat", "O(1)", "key:key increment:double"),
    doc("lcs", "O(N*M) for strings of lengths N and M", "key1:key key2:key@0 [LEN] [IDX] [MINMATCHLEN min-match-len:int] [WITHMATCHLEN]"),
    doc("mget", "O(N) for N keys given", "key:key..."),
    doc("mset", "O(N) for N keys given", "data=(key:key value)..."),
    doc("msetnx", "O(N) for N keys given", "data=(key:key value)..."),
    doc("pfadd", "O(1) per element", "key:key [element...]"),
    doc("pfcount", "O(1) for one key, O(N) for N keys (with larger constants)", "key:key..."),
    doc("pfdebug", "N/A", "subcommand key:key")
        .syscmd(),
    doc("pfmerge", "O(N) for N HyperLogLogs (large constants)", "destkey:key [sourcekey:key...]"),
    doc("pfselftest", "N/A", "")
        .syscmd(),
    doc("psetex", "O(1)", "key:key milliseconds:int value")
        .deprecated("2.6.12", "SET ... PX"),
    doc("set", "O(1)", "key:key value condition=[NX|XX]+2.6.12 [GET+6.2.0] expiration=[EX seconds:int+2.6.12|PX milliseconds:int+2.6.12|EXAT unix-time-seconds:time+6.2.0|PXAT unix-time-milliseconds:time+6.2.0|KEEPTTL+6.0.0]")
        .history(&[
            ("2.6.12", "EX, PX, NX and XX options."),
            ("6.0.0", "KEEPTTL option."),
            ("6.2.0", "GET, EXAT and PXAT options."),
            ("7.0.0", "NX and GET may be combined."),
        ]),
    doc("setbit", "O(1)", "key:key offset:int value:int"),
    doc("setex", "O(1)", "key:key seconds:int value")
        .deprecated("2.6.12", "SET ... EX"),
    doc("setnx", "O(1)", "key:key value")
        .deprecated("2.6.12", "SET ... NX"),
    doc("setrange", "O(1) plus copying the value: O(M) for a value of length M", "key:key offset:int value"),
    doc("strlen", "O(1)", "key:key"),
    doc("substr", "O(N) for a result of length N", "key:key start:int end:int")
        .deprecated("2.0.0", "GETRANGE"),
];
