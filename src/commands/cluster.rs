//! CLUSTER and its subcommands, READONLY, READWRITE, ASKING, and the
//! routing check `command::call` runs before every command with keys in
//! cluster mode (`redirect`, Redis's `getNodeByQuery`).
//!
//! This node knows no other node (no cluster bus yet): CLUSTER MEET
//! validates its arguments and answers OK without connecting, and
//! commands naming another node answer `Unknown node`.

use crate::client::Client;
use crate::cluster::{Cluster, Endpoint, SLOTS, key_hash_slot};
use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::resp::{Args, ReplyBuf};
use crate::server::State;

pub static COMMANDS: &[CommandSpec] = &[
    container(
        "cluster",
        "cluster",
        "3.0.0",
        "A container for Redis Cluster commands.",
        CLUSTER,
    ),
    cmd(
        "readonly",
        1,
        FAST | LOADING | STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        readonly,
    ),
    cmd(
        "readwrite",
        1,
        FAST | LOADING | STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Enables read-write queries for a connection to a Reids Cluster replica node.",
        readwrite,
    ),
    cmd(
        "asking",
        1,
        FAST,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Signals that a cluster client is following an -ASK redirect.",
        asking,
    ),
];

const SLOT_ADMIN: u32 = NO_ASYNC_LOADING | ADMIN | STALE;

static CLUSTER: &[CommandSpec] = &[
    cmd(
        "addslots",
        -3,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Assigns new hash slots to a node.",
        addslots,
    ),
    cmd(
        "addslotsrange",
        -4,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "7.0.0",
        "Assigns new hash slot ranges to a node.",
        addslotsrange,
    ),
    cmd(
        "bumpepoch",
        2,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Advances the cluster config epoch.",
        bumpepoch,
    ),
    cmd(
        "count-failure-reports",
        3,
        ADMIN | STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the number of active failure reports active for a node.",
        count_failure_reports,
    ),
    cmd(
        "countkeysinslot",
        3,
        STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the number of keys in a hash slot.",
        countkeysinslot,
    ),
    cmd(
        "delslots",
        -3,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Sets hash slots as unbound for a node.",
        delslots,
    ),
    cmd(
        "delslotsrange",
        -4,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "7.0.0",
        "Sets hash slot ranges as unbound for a node.",
        delslotsrange,
    ),
    cmd(
        "failover",
        -2,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Forces a replica to perform a manual failover of its master.",
        failover,
    ),
    cmd(
        "flushslots",
        2,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Deletes all slots information from a node.",
        flushslots,
    ),
    cmd(
        "forget",
        3,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Removes a node from the nodes table.",
        forget,
    ),
    cmd(
        "getkeysinslot",
        4,
        STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the key names in a hash slot.",
        getkeysinslot,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "cluster",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        help,
    ),
    cmd(
        "info",
        2,
        STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns information about the state of a node.",
        info,
    ),
    cmd(
        "keyslot",
        3,
        STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the hash slot for a key.",
        keyslot,
    ),
    cmd(
        "links",
        2,
        STALE,
        NO_KEYS,
        "cluster",
        "7.0.0",
        "Returns a list of all TCP links to and from peer nodes.",
        links,
    ),
    cmd(
        "meet",
        -4,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Forces a node to handshake with another node.",
        meet,
    ),
    cmd(
        "myid",
        2,
        STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the ID of a node.",
        myid,
    ),
    cmd(
        "myshardid",
        2,
        STALE,
        NO_KEYS,
        "cluster",
        "7.2.0",
        "Returns the shard ID of a node.",
        myshardid,
    ),
    cmd(
        "nodes",
        2,
        STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the cluster configuration for a node.",
        nodes,
    ),
    cmd(
        "replicas",
        3,
        ADMIN | STALE,
        NO_KEYS,
        "cluster",
        "5.0.0",
        "Lists the replica nodes of a master node.",
        replicas,
    ),
    cmd(
        "replicate",
        3,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Configure a node as replica of a master node.",
        replicate,
    ),
    cmd(
        "reset",
        -2,
        ADMIN | STALE | NOSCRIPT,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Resets a node.",
        reset,
    ),
    cmd(
        "saveconfig",
        2,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Forces a node to save the cluster configuration to disk.",
        saveconfig,
    ),
    cmd(
        "set-config-epoch",
        3,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Sets the configuration epoch for a new node.",
        set_config_epoch,
    ),
    cmd(
        "setslot",
        -4,
        SLOT_ADMIN,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Binds a hash slot to a node.",
        setslot,
    ),
    cmd(
        "shards",
        2,
        LOADING | STALE,
        NO_KEYS,
        "cluster",
        "7.0.0",
        "Returns the mapping of cluster slots to shards.",
        shards,
    ),
    cmd(
        "slaves",
        3,
        ADMIN | STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Lists the replica nodes of a master node.",
        replicas,
    ),
    cmd(
        "slots",
        2,
        LOADING | STALE,
        NO_KEYS,
        "cluster",
        "3.0.0",
        "Returns the mapping of cluster slots to nodes.",
        slots,
    ),
];

const DISABLED: &str = "ERR This instance has cluster support disabled";

/// The cluster state, or the error every cluster command gives outside
/// cluster mode.
fn node(st: &mut State) -> Result<&mut Cluster, CmdError> {
    st.cluster
        .as_deref_mut()
        .ok_or_else(|| CmdError::msg(DISABLED))
}

/* ---------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------- */

/// Key positions of one command (`spec` as resolved for `args`).
fn command_keys(spec: &CommandSpec, args: &Args) -> Vec<usize> {
    spec.key_positions(args)
}

/// Resolves a queued command's spec (with its subcommand).
fn resolve(st: &State, args: &Args) -> Option<&'static CommandSpec> {
    let spec = st.commands.get(&args[0])?;
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        return crate::command::table::subcommand(spec, &args[1]).or(Some(spec));
    }
    Some(spec)
}

/// Whether this node may run `args` (Redis's `getNodeByQuery`): all keys
/// must hash to one slot, served here, while the cluster is up. EXEC
/// checks every queued command together. Returns the error to reply.
/// Calls `f(spec, slot)` for every key of the command (of every queued
/// command, for EXEC), stopping at the first error.
fn for_each_key_slot<E>(
    st: &State,
    c: &Client,
    spec: &CommandSpec,
    args: &Args,
    mut f: impl FnMut(&CommandSpec, usize) -> Result<(), E>,
) -> Result<(), E> {
    let mut visit = |spec: &CommandSpec, args: &Args| -> Result<(), E> {
        for p in command_keys(spec, args) {
            f(spec, key_hash_slot(&args[p]))?;
        }
        Ok(())
    };
    if spec.name == "exec" && spec.subcommands.is_empty() {
        let Some(queue) = c.multi.as_ref() else {
            return Ok(());
        };
        queue.iter().try_for_each(|q| match resolve(st, q) {
            Some(s) => visit(s, q),
            None => Ok(()),
        })
    } else {
        visit(spec, args)
    }
}

/// Which slots the keys of a request hash to (Redis's
/// `areCommandKeysInSameSlot`): a cluster refuses `Several`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlots {
    NoKeys,
    One(usize),
    Several,
}

pub fn keys_slot(st: &State, c: &Client, spec: &CommandSpec, args: &Args) -> KeySlots {
    let mut first = None;
    let r = for_each_key_slot(st, c, spec, args, |_, s| match first {
        None => {
            first = Some(s);
            Ok(())
        }
        Some(f) if f != s => Err(()),
        _ => Ok(()),
    });
    match (r, first) {
        (Err(()), _) => KeySlots::Several,
        (Ok(()), Some(s)) => KeySlots::One(s),
        (Ok(()), None) => KeySlots::NoKeys,
    }
}

/// Where the sampled command stands (Redis's
/// `cluster_compatibility_check_slot`): its keys' slot, so that a script's
/// commands can be held against it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompatCheck {
    /// Not sampled, or already counted: the script's commands are not
    /// checked.
    pub done: bool,
    pub slot: Option<usize>,
    /// The running script has the allow-cross-slot-keys flag: its
    /// commands may each use another slot (but not several at once).
    pub cross_slot_allowed: bool,
}

/// Counts `cluster_incompatible_ops` for one command outside cluster mode
/// (with `sampled` from cluster-compatibility-sample-ratio). A script's
/// commands are counted at most once per script, and only when the
/// script itself was sampled.
pub fn count_incompatible(
    st: &mut State,
    c: &Client,
    spec: &CommandSpec,
    args: &Args,
    sampled: bool,
) {
    if crate::script::is_script_client(c) {
        if st.compat.done {
            return;
        }
        match keys_slot(st, c, spec, args) {
            KeySlots::Several => {}
            KeySlots::NoKeys => return,
            KeySlots::One(s) => match st.compat.slot {
                None => {
                    st.compat.slot = Some(s);
                    return;
                }
                Some(first) if first == s || st.compat.cross_slot_allowed => return,
                Some(_) => {}
            },
        }
        st.stats.cluster_incompatible_ops += 1;
        st.compat.done = true;
        return;
    }
    st.compat = CompatCheck {
        done: !sampled,
        ..Default::default()
    };
    if sampled {
        match keys_slot(st, c, spec, args) {
            KeySlots::One(s) => st.compat.slot = Some(s),
            KeySlots::NoKeys => {}
            KeySlots::Several => {
                st.stats.cluster_incompatible_ops += 1;
                st.compat.done = true;
            }
        }
    }
}

pub fn redirect(st: &State, c: &Client, spec: &CommandSpec, args: &Args) -> Option<&'static str> {
    let cluster = st.cluster.as_deref()?;
    let mut slot: Option<usize> = None;
    let mut write = false;
    let r = for_each_key_slot(st, c, spec, args, |spec, s| {
        write |= spec.has(WRITE);
        match slot {
            None => {
                if !cluster.owns(s) {
                    return Err("CLUSTERDOWN Hash slot not served");
                }
                slot = Some(s);
            }
            Some(first) if first != s => {
                return Err("CROSSSLOT Keys in request don't hash to the same slot");
            }
            _ => {}
        }
        Ok(())
    });
    if let Err(e) = r {
        return Some(e);
    }
    slot?;
    if !cluster.healthy() {
        if !st.cfg.bool("cluster-allow-reads-when-down") {
            return Some("CLUSTERDOWN The cluster is down");
        }
        if write {
            return Some("CLUSTERDOWN The cluster is down and only accepts read commands");
        }
    }
    None
}

/* ---------------------------------------------------------------------
 * Reading the cluster
 * ------------------------------------------------------------------- */

/// CLUSTER INFO
fn info(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let text = node(ctx.st)?.info();
    ctx.c.reply.verbatim(text.as_bytes(), "txt");
    Ok(())
}

fn endpoint(st: &State) -> Endpoint {
    Endpoint::from_config(&st.cfg, st.port)
}

/// CLUSTER NODES
fn nodes(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let ep = endpoint(ctx.st);
    let mut text = node(ctx.st)?.node_line(&ep, false);
    text.push('\n');
    ctx.c.reply.verbatim(text.as_bytes(), "txt");
    Ok(())
}

/// CLUSTER MYID
fn myid(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = node(ctx.st)?.myid.clone();
    ctx.c.reply.bulk(id.as_bytes());
    Ok(())
}

/// CLUSTER MYSHARDID
fn myshardid(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = node(ctx.st)?.shard_id.clone();
    ctx.c.reply.bulk(id.as_bytes());
    Ok(())
}

/// The node's preferred endpoint (`cluster-preferred-endpoint-type`):
/// Some(text), or None for `unknown-endpoint` (a null reply).
fn preferred_endpoint(st: &State, ep: &Endpoint) -> Option<String> {
    match st.cfg.get("cluster-preferred-endpoint-type") {
        "hostname" if ep.hostname.is_empty() => Some("?".to_string()),
        "hostname" => Some(ep.hostname.clone()),
        "unknown-endpoint" => None,
        _ => Some(ep.ip.clone()),
    }
}

/// CLUSTER SLOTS: one entry per range of owned slots, each with this
/// node as its master (Redis's `addNodeToNodeReply`).
fn slots(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let ep = endpoint(ctx.st);
    let pref = preferred_endpoint(ctx.st, &ep);
    let etype = ctx
        .st
        .cfg
        .get("cluster-preferred-endpoint-type")
        .to_string();
    let c = node(ctx.st)?;
    let ranges = c.ranges();
    let id = c.myid.clone();
    let r = &mut ctx.c.reply;
    r.array(ranges.len());
    for (a, b) in ranges {
        r.array(3);
        r.int(a as i64);
        r.int(b as i64);
        r.array(4);
        match &pref {
            Some(p) => r.bulk(p.as_bytes()),
            None => r.null(),
        }
        r.int(ep.port as i64);
        r.bulk(id.as_bytes());
        let mut extra: Vec<(&str, &str)> = Vec::new();
        if etype != "ip" {
            extra.push(("ip", &ep.ip));
        }
        if etype != "hostname" && !ep.hostname.is_empty() {
            extra.push(("hostname", &ep.hostname));
        }
        r.map(extra.len());
        for (k, v) in extra {
            r.bulk(k.as_bytes());
            r.bulk(v.as_bytes());
        }
    }
    Ok(())
}

/// CLUSTER SHARDS: this node's shard, with its slot ranges and itself.
fn shards(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let ep = endpoint(ctx.st);
    let pref = preferred_endpoint(ctx.st, &ep).unwrap_or_default();
    let offset = ctx.st.repl.offset;
    let c = node(ctx.st)?;
    let ranges = c.ranges();
    let id = c.myid.clone();
    let r = &mut ctx.c.reply;
    r.array(1);
    r.map(2);
    r.bulk(b"slots");
    r.array(ranges.len() * 2);
    for (a, b) in ranges {
        r.int(a as i64);
        r.int(b as i64);
    }
    r.bulk(b"nodes");
    r.array(1);
    let with_host = !ep.hostname.is_empty();
    r.map(if with_host { 8 } else { 7 });
    r.bulk(b"id");
    r.bulk(id.as_bytes());
    r.bulk(b"port");
    r.int(ep.port as i64);
    r.bulk(b"ip");
    r.bulk(ep.ip.as_bytes());
    r.bulk(b"endpoint");
    r.bulk(pref.as_bytes());
    if with_host {
        r.bulk(b"hostname");
        r.bulk(ep.hostname.as_bytes());
    }
    r.bulk(b"role");
    r.bulk(b"master");
    r.bulk(b"replication-offset");
    r.int(offset);
    r.bulk(b"health");
    r.bulk(b"online");
    Ok(())
}

/// CLUSTER LINKS: no peers, no links.
fn links(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    ctx.c.reply.array(0);
    Ok(())
}

/// CLUSTER KEYSLOT key
fn keyslot(ctx: &mut Ctx, args: &Args) -> CmdResult {
    node(ctx.st)?;
    ctx.c.reply.int(key_hash_slot(&args[2]) as i64);
    Ok(())
}

fn keys_in_slot(st: &State, slot: usize) -> usize {
    st.dbs[0].slots.as_ref().map_or(0, |ix| ix.count(slot))
}

/// CLUSTER COUNTKEYSINSLOT slot
fn countkeysinslot(ctx: &mut Ctx, args: &Args) -> CmdResult {
    node(ctx.st)?;
    let slot = args.i64_at(2)?;
    if !(0..SLOTS as i64).contains(&slot) {
        return Err(CmdError::msg("ERR Invalid slot"));
    }
    let n = keys_in_slot(ctx.st, slot as usize);
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// CLUSTER GETKEYSINSLOT slot count
fn getkeysinslot(ctx: &mut Ctx, args: &Args) -> CmdResult {
    node(ctx.st)?;
    let slot = args.i64_at(2)?;
    let max = args.i64_at(3)?;
    if !(0..SLOTS as i64).contains(&slot) || max < 0 {
        return Err(CmdError::msg("ERR Invalid slot or number of keys"));
    }
    let slot = slot as usize;
    let n = keys_in_slot(ctx.st, slot).min(max as usize);
    let r = &mut ctx.c.reply;
    r.array(n);
    if let Some(ix) = &ctx.st.dbs[0].slots {
        for k in ix.keys(slot).take(n) {
            r.bulk(k);
        }
    }
    Ok(())
}

/// CLUSTER COUNT-FAILURE-REPORTS node-id
fn count_failure_reports(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lookup_node(node(ctx.st)?, &args[2])?;
    ctx.c.reply.int(0);
    Ok(())
}

/// CLUSTER REPLICAS|SLAVES node-id: we have no replicas.
fn replicas(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lookup_node(node(ctx.st)?, &args[2])?;
    ctx.c.reply.array(0);
    Ok(())
}

/// The only node we know is ourselves.
fn lookup_node(c: &Cluster, id: &[u8]) -> Result<(), CmdError> {
    if id == c.myid.as_bytes() {
        Ok(())
    } else {
        Err(CmdError::msg(format!(
            "ERR Unknown node {}",
            String::from_utf8_lossy(id)
        )))
    }
}

fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    const HELP: &[&str] = &[
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MYID",
        "    Return the node id.",
        "MYSHARDID",
        "    Return the node's shard id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
    ];
    crate::commands::introspection::reply_help(&mut ctx.c.reply, "CLUSTER", HELP);
    Ok(())
}

/* ---------------------------------------------------------------------
 * Changing the cluster
 * ------------------------------------------------------------------- */

/// After a configuration change: refresh the state and persist
/// `nodes.conf`, as Redis does before its next sleep.
fn changed(st: &mut State) {
    crate::cluster::cron(st);
    if let Err(e) = crate::cluster::save_config(st) {
        log::warn!(
            "Could not save the cluster config: {}",
            crate::util::os_error_text(&e)
        );
    }
}

/// A slot number argument (`getSlotOrReply`).
fn slot_arg(a: &[u8]) -> Result<usize, CmdError> {
    crate::util::parse_i64(a)
        .filter(|s| (0..SLOTS as i64).contains(s))
        .map(|s| s as usize)
        .ok_or_else(|| CmdError::msg("ERR Invalid or out of range slot"))
}

/// Applies ADDSLOTS/DELSLOTS-style `ranges` after checking every slot is
/// free (or, with `del`, assigned) and named once.
fn update_slots(ctx: &mut Ctx, ranges: &[(usize, usize)], del: bool) -> CmdResult {
    let c = node(ctx.st)?;
    let mut seen = vec![false; SLOTS];
    for &(a, b) in ranges {
        for (s, seen) in seen.iter_mut().enumerate().take(b + 1).skip(a) {
            if del && !c.owns(s) {
                return Err(CmdError::msg(format!("ERR Slot {s} is already unassigned")));
            }
            if !del && c.owns(s) {
                return Err(CmdError::msg(format!("ERR Slot {s} is already busy")));
            }
            if std::mem::replace(seen, true) {
                return Err(CmdError::msg(format!(
                    "ERR Slot {s} specified multiple times"
                )));
            }
        }
    }
    for (s, _) in seen.iter().enumerate().filter(|(_, on)| **on) {
        if del {
            c.del_slot(s);
        } else {
            c.add_slot(s);
        }
    }
    changed(ctx.st);
    ctx.ok()
}

fn slots_generic(ctx: &mut Ctx, args: &Args, del: bool) -> CmdResult {
    node(ctx.st)?;
    let slots = args
        .iter()
        .skip(2)
        .map(slot_arg)
        .collect::<Result<Vec<_>, _>>()?;
    let ranges: Vec<(usize, usize)> = slots.into_iter().map(|s| (s, s)).collect();
    update_slots(ctx, &ranges, del)
}

fn slots_range_generic(ctx: &mut Ctx, args: &Args, del: bool) -> CmdResult {
    node(ctx.st)?;
    if args.len() % 2 == 1 {
        let name = if del {
            "delslotsrange"
        } else {
            "addslotsrange"
        };
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for 'cluster|{name}' command"
        )));
    }
    let mut ranges = Vec::new();
    for i in (2..args.len()).step_by(2) {
        let a = slot_arg(&args[i])?;
        let b = slot_arg(&args[i + 1])?;
        if a > b {
            return Err(CmdError::msg(format!(
                "ERR start slot number {a} is greater than end slot number {b}"
            )));
        }
        ranges.push((a, b));
    }
    update_slots(ctx, &ranges, del)
}

/// CLUSTER ADDSLOTS slot [slot ...]
fn addslots(ctx: &mut Ctx, args: &Args) -> CmdResult {
    slots_generic(ctx, args, false)
}

/// CLUSTER DELSLOTS slot [slot ...]
fn delslots(ctx: &mut Ctx, args: &Args) -> CmdResult {
    slots_generic(ctx, args, true)
}

/// CLUSTER ADDSLOTSRANGE start end [start end ...]
fn addslotsrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    slots_range_generic(ctx, args, false)
}

/// CLUSTER DELSLOTSRANGE start end [start end ...]
fn delslotsrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    slots_range_generic(ctx, args, true)
}

/// CLUSTER FLUSHSLOTS: unassigns every slot of an empty node.
fn flushslots(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    if !ctx.st.dbs[0].is_empty() {
        return Err(CmdError::msg(
            "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.",
        ));
    }
    node(ctx.st)?.reset(false);
    changed(ctx.st);
    ctx.ok()
}

/// CLUSTER RESET [HARD|SOFT]
fn reset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    node(ctx.st)?;
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let hard = match (args.len() > 2).then(|| &args[2]) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"hard") => true,
        Some(a) if a.eq_ignore_ascii_case(b"soft") => false,
        Some(_) => return Err(CmdError::Syntax),
    };
    if !ctx.st.dbs[0].is_empty() {
        return Err(CmdError::msg(
            "ERR CLUSTER RESET can't be called with master nodes containing keys",
        ));
    }
    node(ctx.st)?.reset(hard);
    changed(ctx.st);
    ctx.ok()
}

/// CLUSTER SAVECONFIG
fn saveconfig(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    crate::cluster::save_config(ctx.st).map_err(|e| {
        CmdError::msg(format!(
            "ERR error saving the cluster node config: {}",
            crate::util::os_error_text(&e)
        ))
    })?;
    ctx.ok()
}

/// CLUSTER MEET ip port [cluster-bus-port]: validated, then accepted
/// without effect (there is no cluster bus yet).
fn meet(ctx: &mut Ctx, args: &Args) -> CmdResult {
    node(ctx.st)?;
    if args.len() > 5 {
        return Err(subcommand_syntax(args));
    }
    let text = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
    let port = crate::util::parse_i64(&args[3]).ok_or_else(|| {
        CmdError::msg(format!(
            "ERR Invalid base port specified: {}",
            text(&args[3])
        ))
    })?;
    let cport = match (args.len() > 4).then(|| &args[4]) {
        Some(a) => crate::util::parse_i64(a)
            .ok_or_else(|| CmdError::msg(format!("ERR Invalid bus port specified: {}", text(a))))?,
        None => port.saturating_add(10000),
    };
    let ip_ok = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
        .is_some();
    if !ip_ok || !(1..=65535).contains(&port) || !(1..=65535).contains(&cport) {
        return Err(CmdError::msg(format!(
            "ERR Invalid node address specified: {}:{}",
            text(&args[2]),
            text(&args[3])
        )));
    }
    ctx.ok()
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax(args: &Args) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

/// CLUSTER FORGET node-id
fn forget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let c = node(ctx.st)?;
    lookup_node(c, &args[2])?;
    Err(CmdError::msg(
        "ERR I tried hard but I can't forget myself...",
    ))
}

/// CLUSTER REPLICATE node-id
fn replicate(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let c = node(ctx.st)?;
    lookup_node(c, &args[2])?;
    Err(CmdError::msg("ERR Can't replicate myself"))
}

/// CLUSTER FAILOVER [FORCE|TAKEOVER]: only replicas fail over.
fn failover(ctx: &mut Ctx, args: &Args) -> CmdResult {
    node(ctx.st)?;
    if args.len() > 3 {
        return Err(subcommand_syntax(args));
    }
    if let Some(a) = (args.len() > 2).then(|| &args[2])
        && !a.eq_ignore_ascii_case(b"force")
        && !a.eq_ignore_ascii_case(b"takeover")
    {
        return Err(CmdError::Syntax);
    }
    Err(CmdError::msg(
        "ERR You should send CLUSTER FAILOVER to a replica",
    ))
}

/// CLUSTER BUMPEPOCH (`clusterBumpConfigEpochWithoutConsensus`).
fn bumpepoch(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let c = node(ctx.st)?;
    let max = c.current_epoch.max(c.config_epoch);
    let bumped = c.config_epoch == 0 || c.config_epoch != max;
    if bumped {
        c.current_epoch += 1;
        c.config_epoch = c.current_epoch;
    }
    let text = format!(
        "{} {}",
        if bumped { "BUMPED" } else { "STILL" },
        c.config_epoch
    );
    if bumped {
        changed(ctx.st);
    }
    ctx.c.reply.simple(&text);
    Ok(())
}

/// CLUSTER SET-CONFIG-EPOCH epoch
fn set_config_epoch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let c = node(ctx.st)?;
    let epoch = args.i64_at(2)?;
    if epoch < 0 {
        return Err(CmdError::msg(format!(
            "ERR Invalid config epoch specified: {epoch}"
        )));
    }
    if c.config_epoch != 0 {
        return Err(CmdError::msg("ERR Node config epoch is already non-zero"));
    }
    c.config_epoch = epoch as u64;
    c.current_epoch = c.current_epoch.max(epoch as u64);
    changed(ctx.st);
    ctx.ok()
}

/// CLUSTER SETSLOT slot IMPORTING node-id | MIGRATING node-id | STABLE |
/// NODE node-id. The only node is ourselves: NODE assigns the slot here;
/// slot migration states need a second node, so they change nothing.
fn setslot(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let c = node(ctx.st)?;
    let slot = slot_arg(&args[2])?;
    let action = args[3].to_ascii_lowercase();
    match (action.as_slice(), args.len()) {
        (b"migrating", 5) => {
            if !c.owns(slot) {
                return Err(CmdError::msg(format!(
                    "ERR I'm not the owner of hash slot {slot}"
                )));
            }
            know_node(c, &args[4])?;
        }
        (b"importing", 5) => {
            if c.owns(slot) {
                return Err(CmdError::msg(format!(
                    "ERR I'm already the owner of hash slot {slot}"
                )));
            }
            know_node(c, &args[4])?;
        }
        (b"stable", 4) => {}
        (b"node", 5) => {
            lookup_node(c, &args[4])?;
            c.add_slot(slot);
        }
        _ => {
            return Err(CmdError::msg(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ));
        }
    }
    changed(ctx.st);
    ctx.ok()
}

fn know_node(c: &Cluster, id: &[u8]) -> Result<(), CmdError> {
    lookup_node(c, id).map_err(|_| {
        CmdError::msg(format!(
            "ERR I don't know about node {}",
            String::from_utf8_lossy(id)
        ))
    })
}

/* ---------------------------------------------------------------------
 * READONLY, READWRITE, ASKING
 * ------------------------------------------------------------------- */

/// READONLY: lets a replica serve reads; this node has no master, so
/// only the cluster-mode check remains.
fn readonly(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    ctx.ok()
}

/// READWRITE
fn readwrite(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    ctx.ok()
}

/// ASKING: follows an -ASK redirection, which needs slot migration.
fn asking(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    node(ctx.st)?;
    ctx.ok()
}

/// DEBUG INTERNAL_SECRET: the CRC16 of the cluster's internal secret.
pub fn debug_internal_secret(st: &State, r: &mut ReplyBuf) {
    match &st.cluster {
        Some(c) => r.int(crate::cluster::crc16(c.internal_secret.as_bytes()) as i64),
        None => r.error("ERR Internal secret is missing"),
    }
}

/// The `# Cluster` section of INFO.
pub fn info_section(st: &State) -> &'static str {
    if st.cluster.is_some() {
        "cluster_enabled:1\r\n"
    } else {
        "cluster_enabled:0\r\n"
    }
}
