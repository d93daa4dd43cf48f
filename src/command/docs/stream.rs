//! Documentation rows: streams and consumer groups.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("xack", "O(1) per ID", "key:key group id..."),
    doc("xadd", "O(1) to add, O(N) to trim N entries", r#"key:key [NOMKSTREAM+6.2.0] trim=[strategy=(MAXLEN|MINID+6.2.0) operator=[equal="="|approximately="~"] threshold [LIMIT count:int+6.2.0]] id-selector=(auto-id="*"|id) data=(field value)..."#)
        .history(&[
            ("6.2.0", "NOMKSTREAM option, MINID strategy and LIMIT option."),
            ("7.0.0", "Explicit <ms>-* IDs."),
        ]),
    doc("xautoclaim", "O(1) for a small COUNT", "key:key group consumer min-idle-time start [COUNT count:int] [JUSTID]")
        .history(&[
            ("7.0.0", "Reply gained a third element: the IDs of deleted entries removed from the PEL."),
        ]),
    doc("xclaim", "O(log N) for a PEL of N", "key:key group consumer min-idle-time id... [IDLE ms:int] [TIME unix-time-milliseconds:time] [RETRYCOUNT count:int] [FORCE] [JUSTID] [LASTID lastid]"),
    doc("xdel", "O(1) per ID", "key:key id..."),
    doc("xgroup", "See each subcommand.", ""),
    doc("xgroup|create", "O(1)", r#"key:key group id-selector=(id|new-id="$") [MKSTREAM] [ENTRIESREAD entriesread=entries-read:int]"#)
        .history(&[
            ("7.0.0", "ENTRIESREAD argument."),
        ]),
    doc("xgroup|createconsumer", "O(1)", "key:key group consumer"),
    doc("xgroup|delconsumer", "O(1)", "key:key group consumer"),
    doc("xgroup|destroy", "O(N) for a PEL of N", "key:key group"),
    doc("xgroup|help", "O(1)", ""),
    doc("xgroup|setid", "O(1)", r#"key:key group id-selector=(id|new-id="$") [ENTRIESREAD entriesread=entries-read:int]"#)
        .history(&[
            ("7.0.0", "ENTRIESREAD argument."),
        ]),
    doc("xinfo", "See each subcommand.", ""),
    doc("xinfo|consumers", "O(1)", "key:key group")
        .history(&[
            ("7.2.0", "inactive field; idle changed meaning."),
        ]),
    doc("xinfo|groups", "O(1)", "key:key")
        .history(&[
            ("7.0.0", "entries-read and lag fields."),
        ]),
    doc("xinfo|help", "O(1)", ""),
    doc("xinfo|stream", "O(1)", "key:key full-block=[(FULL) [COUNT count:int]]")
        .history(&[
            ("6.0.0", "FULL option."),
            ("7.0.0", "max-deleted-entry-id, entries-added, recorded-first-entry-id, entries-read and lag fields."),
            ("7.2.0", "active-time field; seen-time changed meaning."),
        ]),
    doc("xlen", "O(1)", "key:key"),
    doc("xpending", "O(N) for N entries returned; O(M) for M entries scanned with IDLE", "key:key group filters=[[IDLE min-idle-time:int+6.2.0] start end count:int [consumer]]")
        .history(&[
            ("6.2.0", "IDLE option; exclusive ranges."),
        ]),
    doc("xrange", "O(N) for N entries returned", "key:key start end [COUNT count:int]")
        .history(&[
            ("6.2.0", "Exclusive ranges."),
        ]),
    doc("xread", "", "[COUNT count:int] [BLOCK milliseconds:int] (STREAMS key:key... id...)"),
    doc("xreadgroup", "O(M) per stream for M entries returned", "group-block=(GROUP group consumer) [COUNT count:int] [BLOCK milliseconds:int] [NOACK] (STREAMS key:key... id...)"),
    doc("xrevrange", "O(N) for N entries returned", "key:key end start [COUNT count:int]")
        .history(&[
            ("6.2.0", "Exclusive ranges."),
        ]),
    doc("xsetid", "O(1)", "key:key last-id [ENTRIESADDED entries-added:int+7.0.0] [MAXDELETEDID max-deleted-id+7.0.0]")
        .history(&[
            ("7.0.0", "ENTRIESADDED and MAXDELETEDID arguments."),
        ]),
    doc("xtrim", "O(N) for N entries removed", r#"key:key trim=(strategy=(MAXLEN|MINID+6.2.0) operator=[equal="="|approximately="~"] threshold [LIMIT count:int+6.2.0])"#)
        .history(&[
            ("6.2.0", "MINID strategy and LIMIT option."),
        ]),
];
