//! Documentation rows: server administration and introspection.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("acl", "See each subcommand.", ""),
    doc("acl|cat", "O(1)", "[category]"),
    doc("acl|deluser", "O(1) amortized", "username..."),
    doc("acl|dryrun", "O(1)", "username command [arg...]"),
    doc("acl|genpass", "O(1)", "[bits:int]"),
    doc("acl|getuser", "O(N) for N rules of the user", "username")
        .history(&[
            ("6.2.0", "Channel patterns for Pub/Sub."),
            ("7.0.0", "Selectors; key and channel patterns shown as rules instead of lists."),
        ]),
    doc("acl|help", "O(1)", ""),
    doc("acl|list", "O(N) for N users", ""),
    doc("acl|load", "O(N) for N users", ""),
    doc("acl|log", "O(N) for N entries shown", "operation=[count:int|RESET]")
        .history(&[
            ("7.2.0", "Entry id and creation and last-update timestamps."),
        ]),
    doc("acl|save", "O(N) for N users", ""),
    doc("acl|setuser", "O(N) for N rules given", "username [rule...]")
        .history(&[
            ("6.2.0", "Channel patterns for Pub/Sub."),
            ("7.0.0", "Selectors and per-key permissions."),
        ]),
    doc("acl|users", "O(N) for N users", ""),
    doc("acl|whoami", "O(1)", ""),
    doc("bgrewriteaof", "O(1)", ""),
    doc("bgsave", "O(1)", "[SCHEDULE+3.2.2]")
        .history(&[
            ("3.2.2", "SCHEDULE option."),
        ]),
    doc("command", "O(N) for N commands", ""),
    doc("command|count", "O(1)", ""),
    doc("command|docs", "O(N) for N commands asked for", "[command-name...]"),
    doc("command|getkeys", "O(N) for N arguments", "command [arg...]"),
    doc("command|getkeysandflags", "O(N) for N arguments", "command [arg...]"),
    doc("command|help", "O(1)", ""),
    doc("command|info", "O(N) for N commands asked for", "[command-name...]")
        .history(&[
            ("7.0.0", "No arguments means every command."),
        ]),
    doc("command|list", "O(N) for N commands", "[FILTERBY (MODULE module-name|ACLCAT category|PATTERN pattern:pattern)]"),
    doc("config", "See each subcommand.", ""),
    doc("config|get", "O(N) for N parameters given", "parameter...")
        .history(&[
            ("7.0.0", "Takes several patterns."),
        ]),
    doc("config|help", "O(1)", ""),
    doc("config|resetstat", "O(1)", ""),
    doc("config|rewrite", "O(1)", ""),
    doc("config|set", "O(N) for N parameters given", "data=(parameter value)...")
        .history(&[
            ("7.0.0", "Takes several parameter-value pairs."),
        ]),
    doc("dbsize", "O(1)", ""),
    doc("debug", "See each subcommand.", "")
        .syscmd(),
    doc("failover", "O(1)", "target=[TO host port:int [FORCE]] [ABORT] [TIMEOUT milliseconds:int]"),
    doc("flushall", "O(N) for N keys in all databases", "flush-type=[ASYNC+4.0.0|SYNC+6.2.0]")
        .history(&[
            ("4.0.0", "ASYNC mode."),
            ("6.2.0", "SYNC mode."),
        ]),
    doc("flushdb", "O(N) for N keys in the database", "flush-type=[ASYNC+4.0.0|SYNC+6.2.0]")
        .history(&[
            ("4.0.0", "ASYNC mode."),
            ("6.2.0", "SYNC mode."),
        ]),
    doc("info", "O(1)", "[section...]")
        .history(&[
            ("7.0.0", "Takes several sections."),
        ]),
    doc("lastsave", "O(1)", ""),
    doc("latency", "See each subcommand.", ""),
    doc("latency|doctor", "O(1)", ""),
    doc("latency|graph", "O(1)", "event"),
    doc("latency|help", "O(1)", ""),
    doc("latency|histogram", "O(N) for N commands reported", "[command...]"),
    doc("latency|history", "O(1)", "event"),
    doc("latency|latest", "O(1)", ""),
    doc("latency|reset", "O(1)", "[event...]"),
    doc("lolwut", "", "[VERSION version:int]"),
    doc("memory", "See each subcommand.", ""),
    doc("memory|doctor", "O(1)", ""),
    doc("memory|help", "O(1)", ""),
    doc("memory|malloc-stats", "Grows with the memory in use; may be slow.", ""),
    doc("memory|purge", "Grows with the memory in use; may be slow.", ""),
    doc("memory|stats", "O(1)", ""),
    doc("memory|usage", "O(N) for N samples", "key:key [SAMPLES count:int]"),
    doc("module", "See each subcommand.", ""),
    doc("module|help", "O(1)", ""),
    doc("module|list", "O(N) for N modules", ""),
    doc("module|load", "O(1)", "path [arg...]"),
    doc("module|loadex", "O(1)", "path configs=[CONFIG... name value] [ARGS args...]"),
    doc("module|unload", "O(1)", "name"),
    doc("monitor", "", ""),
    doc("psync", "", "replicationid offset:int"),
    doc("replconf", "O(1)", "")
        .syscmd(),
    doc("replicaof", "O(1)", "args=(host-port=(host port:int)|no-one=((NO) ONE))"),
    doc("restore-asking", "O(1) plus O(N*M) to rebuild N objects of average size M; O(N*M*log(N)) for sorted sets", "key:key ttl:int serialized-value [REPLACE+3.0.0] [ABSTTL+5.0.0] [IDLETIME seconds:int+5.0.0] [FREQ frequency:int+5.0.0]")
        .history(&[
            ("3.0.0", "REPLACE option."),
            ("5.0.0", "ABSTTL option."),
            ("5.0.0", "IDLETIME and FREQ options."),
        ])
        .syscmd(),
    doc("role", "O(1)", ""),
    doc("save", "O(N) for N keys in all databases", ""),
    doc("shutdown", "O(N) for N keys when saving, else O(1)", "save-selector=[NOSAVE|SAVE] [NOW+7.0.0] [FORCE+7.0.0] [ABORT+7.0.0]")
        .history(&[
            ("7.0.0", "NOW, FORCE and ABORT options."),
        ]),
    doc("slaveof", "O(1)", "args=(host-port=(host port:int)|no-one=((NO) ONE))")
        .deprecated("5.0.0", "REPLICAOF"),
    doc("slowlog", "See each subcommand.", ""),
    doc("slowlog|get", "O(N) for N entries returned", "[count:int]")
        .history(&[
            ("4.0.0", "Entries carry the client address and name."),
        ]),
    doc("slowlog|help", "O(1)", ""),
    doc("slowlog|len", "O(1)", ""),
    doc("slowlog|reset", "O(N) for N entries", ""),
    doc("swapdb", "O(N) for N clients watching or blocked on keys of the two databases", "index1:int index2:int"),
    doc("sync", "", ""),
    doc("time", "O(1)", ""),
];
