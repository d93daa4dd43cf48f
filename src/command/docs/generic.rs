//! Documentation rows: keyspace commands (the `generic` group).

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("copy", "O(1) for strings, O(N) for collections of N items", "source:key destination:key [DB destination-db:int] [REPLACE]"),
    doc("del", "O(1) per string key, O(M) per collection of M elements", "key:key..."),
    doc("dump", "O(1) plus O(N*M) to serialize N objects of average size M", "key:key"),
    doc("exists", "O(N) for N keys given", "key:key...")
        .history(&[
            ("3.0.3", "Takes several keys."),
        ]),
    doc("expire", "O(1)", "key:key seconds:int condition=[NX|XX|GT|LT]+7.0.0")
        .history(&[
            ("7.0.0", "NX, XX, GT and LT options."),
        ]),
    doc("expireat", "O(1)", "key:key unix-time-seconds:time condition=[NX|XX|GT|LT]+7.0.0")
        .history(&[
            ("7.0.0", "NX, XX, GT and LT options."),
        ]),
    doc("expiretime", "O(1)", "key:key"),
    doc("keys", "O(N) for N keys in the database", "pattern:pattern"),
    doc("migrate", "DUMP and DEL here plus RESTORE there", r#"host port:int key-selector=(key:key|empty-string="") destination-db:int timeout:int [COPY+3.0.0] [REPLACE+3.0.0] authentication=[AUTH auth=password+4.0.7|(AUTH2 username password)+6.0.0] [KEYS keys=key:key+3.0.6...]"#)
        .history(&[
            ("3.0.0", "COPY and REPLACE options."),
            ("3.0.6", "KEYS option."),
            ("4.0.7", "AUTH option."),
            ("6.0.0", "AUTH2 option."),
        ]),
    doc("move", "O(1)", "key:key db:int"),
    doc("object", "See each subcommand.", ""),
    doc("object|encoding", "O(1)", "key:key"),
    doc("object|freq", "O(1)", "key:key"),
    doc("object|help", "O(1)", ""),
    doc("object|idletime", "O(1)", "key:key"),
    doc("object|refcount", "O(1)", "key:key"),
    doc("persist", "O(1)", "key:key"),
    doc("pexpire", "O(1)", "key:key milliseconds:int condition=[NX|XX|GT|LT]+7.0.0")
        .history(&[
            ("7.0.0", "NX, XX, GT and LT options."),
        ]),
    doc("pexpireat", "O(1)", "key:key unix-time-milliseconds:time condition=[NX|XX|GT|LT]+7.0.0")
        .history(&[
            ("7.0.0", "NX, XX, GT and LT options."),
        ]),
    doc("pexpiretime", "O(1)", "key:key"),
    doc("pttl", "O(1)", "key:key")
        .history(&[
            ("2.8.0", "Replies -2 for a missing key."),
        ]),
    doc("randomkey", "O(1)", ""),
    doc("rename", "O(1)", "key:key newkey:key"),
    doc("renamenx", "O(1)", "key:key newkey:key")
        .history(&[
            ("3.2.0", "Same source and destination is no longer an error."),
        ]),
    doc("restore", "O(1) plus O(N*M) to rebuild N objects of average size M; O(N*M*log(N)) for sorted sets", "key:key ttl:int serialized-value [REPLACE+3.0.0] [ABSTTL+5.0.0] [IDLETIME seconds:int+5.0.0] [FREQ frequency:int+5.0.0]")
        .history(&[
            ("3.0.0", "REPLACE option."),
            ("5.0.0", "ABSTTL option."),
            ("5.0.0", "IDLETIME and FREQ options."),
        ]),
    doc("scan", "O(1) per call, O(N) for a full iteration over N elements", "cursor:int [MATCH pattern:pattern] [COUNT count:int] [TYPE type+6.0.0]")
        .history(&[
            ("6.0.0", "TYPE option."),
        ]),
    doc("sort", "O(N+M*log(M)) for N input and M returned elements; O(N) unsorted", "key:key [BY by-pattern=pattern:pattern@1] [LIMIT offset:int count:int] [GET... get-pattern=pattern:pattern@1] order=[ASC|DESC] [sorting=ALPHA] [STORE destination:key]"),
    doc("sort_ro", "O(N+M*log(M)) for N input and M returned elements; O(N) unsorted", "key:key [BY by-pattern=pattern:pattern@1] [LIMIT offset:int count:int] [GET... get-pattern=pattern:pattern@1] order=[ASC|DESC] [sorting=ALPHA]"),
    doc("touch", "O(N) for N keys given", "key:key..."),
    doc("ttl", "O(1)", "key:key")
        .history(&[
            ("2.8.0", "Replies -2 for a missing key."),
        ]),
    doc("type", "O(1)", "key:key"),
    doc("unlink", "O(1) per key; the memory is freed in another thread", "key:key..."),
    doc("wait", "O(1)", "numreplicas:int timeout:int"),
    doc("waitaof", "O(1)", "numlocal:int numreplicas:int timeout:int"),
];
