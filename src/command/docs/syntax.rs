//! The argument syntax of our documentation rows, parsed into the tree that
//! COMMAND DOCS reports (and redis-cli turns into its typing hints).
//!
//! A row reads like a command synopsis, with a few marks for what a
//! synopsis leaves unsaid:
//!
//! - `word` is an argument whose display text is `word`; `word:type` gives
//!   its type (`key`, `int`, `double`, `pattern`, `time` for unix-time;
//!   plain string otherwise).
//! - An upper-case word (or any quoted `"text"`) is a token. Directly before
//!   an argument or a group it is that argument's token (`EX seconds:int`);
//!   elsewhere it stands alone as a pure token (`NX`), named after itself in
//!   lower case.
//! - `[...]` is optional, `(...)` required. Inside, `a|b|c` is a one-of; a
//!   sequence of several items is a block. A block whose first item is a
//!   token followed by two or more items takes that token itself
//!   (`[LIMIT offset count]`); to start a token-less block with a token,
//!   put it in parentheses (`[(COUNT count) [ANY]]`). A group holding a
//!   single item is that item.
//! - `name=` before an item names it when its name is not its display text
//!   (or, for a token, its lower-cased token); blocks and one-ofs without
//!   a token always need one.
//! - Suffixes, in this order: `@N` key-spec index (keys otherwise count
//!   0, 1, 2... in order), `+V` since version V, `-V` deprecated since V,
//!   `...` repeatable. `...` on a token (`GET... pattern`) repeats the
//!   token with each value (multiple_token).

/// What kind of value an argument takes, named as in COMMAND DOCS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    Key,
    String,
    Integer,
    Double,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Key => "key",
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }

    fn is_group(self) -> bool {
        matches!(self, ArgType::OneOf | ArgType::Block)
    }
}

/// One node of a command's argument tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: String,
    pub kind: ArgType,
    /// For values and pure tokens; groups have none.
    pub display: Option<String>,
    pub key_spec: Option<u32>,
    pub token: Option<String>,
    pub since: Option<String>,
    pub deprecated_since: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub multiple_token: bool,
    pub args: Vec<Arg>,
}

impl Arg {
    fn new(kind: ArgType) -> Arg {
        Arg {
            name: String::new(),
            kind,
            display: None,
            key_spec: None,
            token: None,
            since: None,
            deprecated_since: None,
            optional: false,
            multiple: false,
            multiple_token: false,
            args: Vec::new(),
        }
    }
}

/// Suffix marks shared by words and closing brackets.
#[derive(Default)]
struct Marks {
    key_spec: Option<u32>,
    since: Option<String>,
    deprecated: Option<String>,
    repeat: bool,
}

impl Marks {
    fn apply(self, a: &mut Arg) {
        if self.key_spec.is_some() {
            a.key_spec = self.key_spec;
        }
        if self.since.is_some() {
            a.since = self.since;
        }
        if self.deprecated.is_some() {
            a.deprecated_since = self.deprecated;
        }
        a.multiple |= self.repeat;
    }
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Splits `core` from its suffix marks (`@N`, `+V`, `-V`, `...`).
fn split_marks(mut s: &str) -> (&str, Marks) {
    let mut m = Marks::default();
    if let Some(rest) = s.strip_suffix("...") {
        m.repeat = true;
        s = rest;
    }
    if let Some(i) = s.rfind('-')
        && is_version(&s[i + 1..])
    {
        m.deprecated = Some(s[i + 1..].to_string());
        s = &s[..i];
    }
    if let Some(i) = s.rfind('+')
        && is_version(&s[i + 1..])
    {
        m.since = Some(s[i + 1..].to_string());
        s = &s[..i];
    }
    if let Some(i) = s.rfind('@')
        && let Ok(n) = s[i + 1..].parse()
    {
        m.key_spec = Some(n);
        s = &s[..i];
    }
    (s, m)
}

fn is_token_word(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

#[derive(Debug, PartialEq)]
enum Lex<'a> {
    Open(u8),
    /// The closing bracket and the suffix marks written right after it.
    Close(u8, &'a str),
    Bar,
    Word(&'a str),
}

fn is_break(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'[' | b']' | b'(' | b')' | b'|')
}

fn lex(s: &str) -> Result<Vec<Lex<'_>>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'[' || c == b'(' {
            out.push(Lex::Open(c));
            i += 1;
        } else if c == b']' || c == b')' {
            let start = i + 1;
            i = start;
            while i < b.len() && !is_break(b[i]) {
                i += 1;
            }
            out.push(Lex::Close(c, &s[start..i]));
        } else if c == b'|' {
            out.push(Lex::Bar);
            i += 1;
        } else {
            let start = i;
            let mut quoted = false;
            while i < b.len() && (quoted || !is_break(b[i])) {
                if b[i] == b'"' {
                    quoted = !quoted;
                }
                i += 1;
            }
            if quoted {
                return Err(format!("unterminated quote in {:?}", &s[start..]));
            }
            out.push(Lex::Word(&s[start..i]));
        }
    }
    Ok(out)
}

/// An item of a sequence before tokens are bound to what follows them.
enum Raw {
    Token {
        token: String,
        name: Option<String>,
        marks: Marks,
    },
    Item(Arg),
}

struct Parser<'a> {
    lex: Vec<Lex<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Sequences separated by `|`, up to the closing bracket or the end.
    fn alts(&mut self) -> Result<Vec<Vec<Raw>>, String> {
        let mut alts = vec![Vec::new()];
        let mut name: Option<String> = None;
        while let Some(l) = self.lex.get(self.pos) {
            match *l {
                Lex::Close(..) => break,
                Lex::Bar => {
                    self.pos += 1;
                    alts.push(Vec::new());
                }
                Lex::Open(open) => {
                    self.pos += 1;
                    let inner = self.alts()?;
                    let Some(&Lex::Close(close, sfx)) = self.lex.get(self.pos) else {
                        return Err("unclosed bracket".into());
                    };
                    if (open == b'[') != (close == b']') {
                        return Err("mismatched brackets".into());
                    }
                    self.pos += 1;
                    let (rest, marks) = split_marks(sfx);
                    if !rest.is_empty() {
                        return Err(format!("bad suffix {sfx:?}"));
                    }
                    let mut a = group(inner)?;
                    a.optional |= open == b'[';
                    marks.apply(&mut a);
                    if let Some(n) = name.take() {
                        a.name = n;
                    }
                    alts.last_mut().unwrap().push(Raw::Item(a));
                }
                Lex::Word(w) => {
                    self.pos += 1;
                    let (prefix, body) = split_name(w);
                    if body.is_empty() {
                        name = prefix;
                        continue;
                    }
                    let raw = word(body, prefix.or(name.take()))?;
                    alts.last_mut().unwrap().push(raw);
                }
            }
        }
        if name.is_some() {
            return Err("a name with nothing after it".into());
        }
        Ok(alts)
    }
}

/// `name=rest` (not inside a quoted token) into its parts.
fn split_name(w: &str) -> (Option<String>, &str) {
    if w.starts_with('"') {
        return (None, w);
    }
    match w.find('=') {
        Some(i) => (Some(w[..i].to_string()), &w[i + 1..]),
        None => (None, w),
    }
}

/// A word: a token or a value argument.
fn word(body: &str, name: Option<String>) -> Result<Raw, String> {
    if let Some(q) = body.strip_prefix('"') {
        let end = q.find('"').ok_or("unterminated quote")?;
        let (rest, marks) = split_marks(&q[end + 1..]);
        if !rest.is_empty() {
            return Err(format!("bad suffix after {body:?}"));
        }
        return Ok(Raw::Token {
            token: q[..end].to_string(),
            name,
            marks,
        });
    }
    let (core, marks) = split_marks(body);
    if is_token_word(core) {
        return Ok(Raw::Token {
            token: core.to_string(),
            name,
            marks,
        });
    }
    let (display, kind) = match core.rsplit_once(':') {
        Some((d, "key")) => (d, ArgType::Key),
        Some((d, "int")) => (d, ArgType::Integer),
        Some((d, "double")) => (d, ArgType::Double),
        Some((d, "pattern")) => (d, ArgType::Pattern),
        Some((d, "time")) => (d, ArgType::UnixTime),
        _ => (core, ArgType::String),
    };
    if display.is_empty() {
        return Err(format!("empty argument in {body:?}"));
    }
    let mut a = Arg::new(kind);
    a.display = Some(display.to_string());
    a.name = name.unwrap_or_else(|| display.to_string());
    marks.apply(&mut a);
    Ok(Raw::Item(a))
}

/// A pure token standing alone.
fn pure_token(token: String, name: Option<String>, marks: Marks) -> Arg {
    let mut a = Arg::new(ArgType::PureToken);
    a.name = name.unwrap_or_else(|| token.to_ascii_lowercase());
    a.display = Some(a.name.clone());
    a.multiple_token = marks.repeat;
    let mut marks = marks;
    marks.repeat = false;
    marks.apply(&mut a);
    a.token = Some(token);
    a
}

/// Binds each token directly followed by an item to that item.
fn bind(seq: Vec<Raw>) -> Result<Vec<Arg>, String> {
    let mut out = Vec::new();
    let mut it = seq.into_iter().peekable();
    while let Some(raw) = it.next() {
        match raw {
            Raw::Item(a) => out.push(a),
            Raw::Token { token, name, marks } => {
                if let Some(Raw::Item(mut a)) = it.next_if(|r| matches!(r, Raw::Item(_))) {
                    if name.is_some() || marks.since.is_some() || marks.key_spec.is_some() {
                        return Err(format!("marks on bound token {token}"));
                    }
                    if marks.repeat {
                        a.multiple = true;
                        a.multiple_token = true;
                    }
                    a.token = Some(token);
                    out.push(a);
                } else {
                    out.push(pure_token(token, name, marks));
                }
            }
        }
    }
    Ok(out)
}

/// A block of `seq`, taking a leading token when two or more items follow.
fn block(mut seq: Vec<Raw>) -> Result<Arg, String> {
    let mut a = Arg::new(ArgType::Block);
    if seq.len() >= 3
        && let Raw::Token { .. } = seq[0]
    {
        let Raw::Token { token, name, marks } = seq.remove(0) else {
            unreachable!()
        };
        if let Some(n) = name {
            a.name = n;
        }
        a.multiple_token = marks.repeat;
        a.multiple = marks.repeat;
        a.token = Some(token);
    }
    a.args = bind(seq)?;
    if a.args.len() < 2 {
        return Err("a block needs two or more items".into());
    }
    Ok(a)
}

/// The argument a bracketed group stands for.
fn group(alts: Vec<Vec<Raw>>) -> Result<Arg, String> {
    if alts.len() == 1 {
        let seq = alts.into_iter().next().unwrap();
        let leading_token = matches!(seq.first(), Some(Raw::Token { .. }));
        if leading_token && seq.len() >= 3 {
            return block(seq);
        }
        let mut items = bind(seq)?;
        return match items.len() {
            0 => Err("empty group".into()),
            1 => Ok(items.pop().unwrap()),
            _ => {
                let mut a = Arg::new(ArgType::Block);
                a.args = items;
                Ok(a)
            }
        };
    }
    let mut a = Arg::new(ArgType::OneOf);
    for alt in alts {
        let mut items = bind_alt(alt)?;
        a.args.append(&mut items);
    }
    Ok(a)
}

/// One alternative of a one-of: a single item, or a block of several.
fn bind_alt(alt: Vec<Raw>) -> Result<Vec<Arg>, String> {
    let leading_token = matches!(alt.first(), Some(Raw::Token { .. }));
    if leading_token && alt.len() >= 3 {
        return Ok(vec![block(alt)?]);
    }
    let items = bind(alt)?;
    match items.len() {
        0 => Err("empty alternative".into()),
        1 => Ok(items),
        _ => {
            let mut a = Arg::new(ArgType::Block);
            a.args = items;
            Ok(vec![a])
        }
    }
}

/// Gives tokened groups their default names, numbers key specs in order
/// and checks that every group is named.
fn finish(args: &mut [Arg], next_key: &mut u32) -> Result<(), String> {
    for a in args {
        if a.name.is_empty() {
            match (&a.token, a.kind.is_group()) {
                (Some(t), true) => a.name = t.to_ascii_lowercase(),
                _ => return Err(format!("unnamed {}", a.kind.name())),
            }
        }
        match a.key_spec {
            Some(k) => *next_key = k + 1,
            None if a.kind == ArgType::Key => {
                a.key_spec = Some(*next_key);
                *next_key += 1;
            }
            None => {}
        }
        finish(&mut a.args, next_key)?;
    }
    Ok(())
}

/// Parses a row's argument syntax into its tree.
pub fn parse(s: &str) -> Result<Vec<Arg>, String> {
    let mut p = Parser {
        lex: lex(s)?,
        pos: 0,
    };
    let alts = p.alts()?;
    if p.pos != p.lex.len() {
        return Err("unbalanced closing bracket".into());
    }
    if alts.len() != 1 {
        return Err("a top-level | needs brackets".into());
    }
    let mut args = bind(alts.into_iter().next().unwrap())?;
    finish(&mut args, &mut 0)?;
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Arg {
        let mut v = parse(s).unwrap();
        assert_eq!(v.len(), 1, "{s}");
        v.pop().unwrap()
    }

    #[test]
    fn values_and_types() {
        let v = parse("key:key value n:int d:double p:pattern t:time").unwrap();
        let kinds: Vec<_> = v.iter().map(|a| a.kind).collect();
        use ArgType::*;
        assert_eq!(kinds, [Key, String, Integer, Double, Pattern, UnixTime]);
        assert_eq!(v[0].key_spec, Some(0));
        assert_eq!(v[1].key_spec, None);
        assert_eq!(v[1].display.as_deref(), Some("value"));
        // A colon not followed by a type name is part of the display text.
        assert_eq!(one("addr=ip:port").display.as_deref(), Some("ip:port"));
        assert_eq!(one("addr=ip:port").name, "addr");
    }

    #[test]
    fn key_spec_numbering() {
        let v = parse("a:key b:key@0 c:pattern@1 d:key").unwrap();
        let ks: Vec<_> = v.iter().map(|a| a.key_spec).collect();
        assert_eq!(ks, [Some(0), Some(0), Some(1), Some(2)]);
    }

    #[test]
    fn tokens_bind_to_what_follows() {
        let v = parse("[GET+6.2.0] [EX seconds:int+2.6.12] NX").unwrap();
        assert_eq!(v[0].kind, ArgType::PureToken);
        assert_eq!(v[0].name, "get");
        assert_eq!(v[0].display.as_deref(), Some("get"));
        assert_eq!(v[0].since.as_deref(), Some("6.2.0"));
        assert!(v[0].optional);
        assert_eq!(v[1].kind, ArgType::Integer);
        assert_eq!(v[1].token.as_deref(), Some("EX"));
        assert_eq!(v[1].name, "seconds");
        assert_eq!(v[1].since.as_deref(), Some("2.6.12"));
        assert!(!v[2].optional);
    }

    #[test]
    fn oneof_and_blocks() {
        let a = one("condition=[NX|XX]+2.6.12");
        assert_eq!(a.kind, ArgType::OneOf);
        assert_eq!(a.name, "condition");
        assert!(a.optional);
        assert_eq!(a.args.len(), 2);
        assert_eq!(a.args[1].token.as_deref(), Some("XX"));

        let l = one("[LIMIT offset:int count:int]");
        assert_eq!((l.kind, l.name.as_str()), (ArgType::Block, "limit"));
        assert_eq!(l.token.as_deref(), Some("LIMIT"));
        assert_eq!(l.args.len(), 2);

        let c = one("count-block=[(COUNT count:int) [ANY+6.2.0]]");
        assert_eq!(c.kind, ArgType::Block);
        assert_eq!(c.token, None);
        assert_eq!(c.args[0].token.as_deref(), Some("COUNT"));

        let agg = one("[AGGREGATE (SUM|MIN|MAX)]");
        assert_eq!((agg.kind, agg.name.as_str()), (ArgType::OneOf, "aggregate"));
        assert_eq!(agg.token.as_deref(), Some("AGGREGATE"));
        assert!(agg.optional);
    }

    #[test]
    fn repeats_and_quoted_tokens() {
        let v =
            parse("data=(field value)... [GET... p=pattern:pattern@1] id=(a=\"*\"|id)").unwrap();
        assert!(v[0].multiple && !v[0].multiple_token);
        assert!(v[1].multiple && v[1].multiple_token);
        assert_eq!(v[1].key_spec, Some(1));
        assert_eq!(v[2].args[0].token.as_deref(), Some("*"));
        assert_eq!(v[2].args[0].name, "a");
        let e = one("empty=\"\"");
        assert_eq!(e.token.as_deref(), Some(""));
        let tb = one("[CONFIG... name value]");
        assert!(tb.multiple && tb.multiple_token && tb.kind == ArgType::Block);
    }

    #[test]
    fn deprecated_marks() {
        let a = one("old=ip:port-2.8.12");
        assert_eq!(a.deprecated_since.as_deref(), Some("2.8.12"));
        assert_eq!(a.display.as_deref(), Some("ip:port"));
    }

    #[test]
    fn errors() {
        assert!(parse("[a b]").is_err(), "unnamed block");
        assert!(parse("(a|b)").is_err(), "unnamed one-of");
        assert!(parse("[a").is_err());
        assert!(parse("a]").is_err());
        assert!(parse("[a)").is_err());
        assert!(parse("a|b").is_err());
        assert!(parse("\"x").is_err());
    }
}
