//! Documentation rows: sorted sets and the geo commands built on them.

use super::{DocRow, doc};

pub static ROWS: &[DocRow] = &[
    doc("bzmpop", "O(K)+O(M*log(N)): K keys, M popped of N", "timeout:double numkeys:int key:key... where=(MIN|MAX) [COUNT count:int]"),
    doc("bzpopmax", "O(log(N)) for a sorted set of N", "key:key... timeout:double")
        .history(&[
            ("6.0.0", "timeout may be fractional (a double)."),
        ]),
    doc("bzpopmin", "O(log(N)) for a sorted set of N", "key:key... timeout:double")
        .history(&[
            ("6.0.0", "timeout may be fractional (a double)."),
        ]),
    doc("geoadd", "O(log(N)) per member added, N the set size", "key:key condition=[NX|XX]+6.2.0 [change=CH+6.2.0] data=(longitude:double latitude:double member)...")
        .history(&[
            ("6.2.0", "CH, NX and XX options."),
        ]),
    doc("geodist", "O(1)", "key:key member1 member2 unit=[M|KM|FT|MI]"),
    doc("geohash", "O(1) per member", "key:key [member...]"),
    doc("geopos", "O(1) per member", "key:key [member...]"),
    doc("georadius", "O(N+log(M)): N elements in the area's bounding box, M in the index", "key:key longitude:double latitude:double radius:double unit=(M|KM|FT|MI) [WITHCOORD] [WITHDIST] [WITHHASH] count-block=[(COUNT count:int) [ANY+6.2.0]] order=[ASC|DESC] store=[STORE storekey=key:key|STOREDIST storedistkey=key:key]")
        .history(&[
            ("6.2.0", "ANY option for COUNT."),
            ("7.0.0", "Units may be upper case."),
        ])
        .deprecated("6.2.0", "GEOSEARCH or GEOSEARCHSTORE ... BYRADIUS"),
    doc("georadius_ro", "O(N+log(M)): N elements in the area's bounding box, M in the index", "key:key longitude:double latitude:double radius:double unit=(M|KM|FT|MI) [WITHCOORD] [WITHDIST] [WITHHASH] count-block=[(COUNT count:int) [ANY+6.2.0]] order=[ASC|DESC]")
        .history(&[
            ("6.2.0", "ANY option for COUNT."),
            ("7.0.0", "Units may be upper case."),
        ])
        .deprecated("6.2.0", "GEOSEARCH ... BYRADIUS"),
    doc("georadiusbymember", "O(N+log(M)): N elements in the area's bounding box, M in the index", "key:key member radius:double unit=(M|KM|FT|MI) [WITHCOORD] [WITHDIST] [WITHHASH] count-block=[(COUNT count:int) [ANY]] order=[ASC|DESC] store=[STORE storekey=key:key|STOREDIST storedistkey=key:key]")
        .history(&[
            ("6.2.0", "ANY option for COUNT."),
            ("7.0.0", "Units may be upper case."),
        ])
        .deprecated("6.2.0", "GEOSEARCH or GEOSEARCHSTORE ... FROMMEMBER BYRADIUS"),
    doc("georadiusbymember_ro", "O(N+log(M)): N elements in the area's bounding box, M in the index", "key:key member radius:double unit=(M|KM|FT|MI) [WITHCOORD] [WITHDIST] [WITHHASH] count-block=[(COUNT count:int) [ANY]] order=[ASC|DESC]")
        .history(&[
            ("6.2.0", "ANY option for COUNT."),
            ("7.0.0", "Units may be upper case."),
        ])
        .deprecated("6.2.0", "GEOSEARCH ... FROMMEMBER BYRADIUS"),
    doc("geosearch", "O(N+log(M)): N elements in the box around the shape, M in the index", "key:key from=(FROMMEMBER member|(FROMLONLAT longitude:double latitude:double)) by=(circle=((BYRADIUS radius:double) unit=(M|KM|FT|MI))|box=((BYBOX width:double) height:double unit=(M|KM|FT|MI))) order=[ASC|DESC] count-block=[(COUNT count:int) [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]")
        .history(&[
            ("7.0.0", "Units may be upper case."),
        ]),
    doc("geosearchstore", "O(N+log(M)): N elements in the box around the shape, M in the index", "destination:key source:key from=(FROMMEMBER member|(FROMLONLAT longitude:double latitude:double)) by=(circle=((BYRADIUS radius:double) unit=(M|KM|FT|MI))|box=((BYBOX width:double) height:double unit=(M|KM|FT|MI))) order=[ASC|DESC] count-block=[(COUNT count:int) [ANY]] [STOREDIST]")
        .history(&[
            ("7.0.0", "Units may be upper case."),
        ]),
    doc("zadd", "O(log(N)) per member added, N the set size", "key:key condition=[NX|XX]+3.0.2 comparison=[GT|LT]+6.2.0 [change=CH+3.0.2] [increment=INCR+3.0.2] data=(score:double member)...")
        .history(&[
            ("2.4.0", "Takes several score-member pairs."),
            ("3.0.2", "XX, NX, CH and INCR options."),
            ("6.2.0", "GT and LT options."),
        ]),
    doc("zcard", "O(1)", "key:key"),
    doc("zcount", "O(log(N)) for a sorted set of N", "key:key min:double max:double"),
    doc("zdiff", "O(L+(N-K)log(N)) worst case: L elements in all, first set of N, result of K", "numkeys:int key:key... [WITHSCORES]"),
    doc("zdiffstore", "O(L+(N-K)log(N)) worst case: L elements in all, first set of N, result of K", "destination:key numkeys:int key:key..."),
    doc("zincrby", "O(log(N)) for a sorted set of N", "key:key increment:int member"),
    doc("zinter", "O(N*K)+O(M*log(M)) worst case: smallest input N, K inputs, M results", "numkeys:int key:key... [WEIGHTS weight:int...] [AGGREGATE (SUM|MIN|MAX)] [WITHSCORES]"),
    doc("zintercard", "O(N*K) worst case: smallest input N, K inputs", "numkeys:int key:key... [LIMIT limit:int]"),
    doc("zinterstore", "O(N*K)+O(M*log(M)) worst case: smallest input N, K inputs, M results", "destination:key numkeys:int key:key... [WEIGHTS weight:int...] [AGGREGATE (SUM|MIN|MAX)]"),
    doc("zlexcount", "O(log(N)) for a sorted set of N", "key:key min max"),
    doc("zmpop", "O(K)+O(M*log(N)): K keys, M popped of N", "numkeys:int key:key... where=(MIN|MAX) [COUNT count:int]"),
    doc("zmscore", "O(N) for N members given", "key:key member..."),
    doc("zpopmax", "O(log(N)*M): N elements, M popped", "key:key [count:int]"),
    doc("zpopmin", "O(log(N)*M): N elements, M popped", "key:key [count:int]"),
    doc("zrandmember", "O(N) for N members returned", "key:key options=[count:int [WITHSCORES]]"),
    doc("zrange", "O(log(N)+M): N elements, M returned", "key:key start stop sortby=[BYSCORE|BYLEX]+6.2.0 [REV+6.2.0] [LIMIT offset:int count:int]+6.2.0 [WITHSCORES]")
        .history(&[
            ("6.2.0", "REV, BYSCORE, BYLEX and LIMIT options."),
        ]),
    doc("zrangebylex", "O(log(N)+M): N elements, M returned", "key:key min max [LIMIT offset:int count:int]")
        .deprecated("6.2.0", "ZRANGE ... BYLEX"),
    doc("zrangebyscore", "O(log(N)+M): N elements, M returned", "key:key min:double max:double [WITHSCORES+2.0.0] [LIMIT offset:int count:int]")
        .history(&[
            ("2.0.0", "WITHSCORES option."),
        ])
        .deprecated("6.2.0", "ZRANGE ... BYSCORE"),
    doc("zrangestore", "O(log(N)+M): N elements, M stored", "dst:key src:key min max sortby=[BYSCORE|BYLEX] [REV] [LIMIT offset:int count:int]"),
    doc("zrank", "O(log(N))", "key:key member [WITHSCORE]")
        .history(&[
            ("7.2.0", "WITHSCORE option."),
        ]),
    doc("zrem", "O(M*log(N)): N elements, M removed", "key:key member...")
        .history(&[
            ("2.4.0", "Takes several members."),
        ]),
    doc("zremrangebylex", "O(log(N)+M): N elements, M removed", "key:key min max"),
    doc("zremrangebyrank", "O(log(N)+M): N elements, M removed", "key:key start:int stop:int"),
    doc("zremrangebyscore", "O(log(N)+M): N elements, M removed", "key:key min:double max:double"),
    doc("zrevrange", "O(log(N)+M): N elements, M returned", "key:key start:int stop:int [WITHSCORES]")
        .deprecated("6.2.0", "ZRANGE ... REV"),
    doc("zrevrangebylex", "O(log(N)+M): N elements, M returned", "key:key max min [LIMIT offset:int count:int]")
        .deprecated("6.2.0", "ZRANGE ... BYLEX REV"),
    doc("zrevrangebyscore", "O(log(N)+M): N elements, M returned", "key:key max:double min:double [WITHSCORES] [LIMIT offset:int count:int]")
        .history(&[
            ("2.1.6", "Exclusive min and max."),
        ])
        .deprecated("6.2.0", "ZRANGE ... BYSCORE REV"),
    doc("zrevrank", "O(log(N))", "key:key member [WITHSCORE]")
        .history(&[
            ("7.2.0", "WITHSCORE option."),
        ]),
    doc("zscan", "O(1) per call, O(N) for a full iteration over N elements", "key:key cursor:int [MATCH pattern:pattern] [COUNT count:int]"),
    doc("zscore", "O(1)", "key:key member"),
    doc("zunion", "O(N)+O(M*log(M)): N input elements in all, M results", "numkeys:int key:key... [WEIGHTS weight:int...] [AGGREGATE (SUM|MIN|MAX)] [WITHSCORES]"),
    doc("zunionstore", "O(N)+O(M*log(M)): N input elements in all, M results", "destination:key numkeys:int key:key... [WEIGHTS weight:int...] [AGGREGATE (SUM|MIN|MAX)]"),
];
