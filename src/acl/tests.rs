use super::*;

fn user(rules: &str) -> User {
    let mut u = User::new("u", false);
    let ops: Vec<Vec<u8>> = rules.split(' ').map(|s| s.as_bytes().to_vec()).collect();
    u.apply_all(&ops, false).unwrap();
    u
}

fn commands(u: &User) -> String {
    u.root().describe_commands()
}

fn args(a: &[&str]) -> Args {
    let v: Vec<&[u8]> = a.iter().map(|s| s.as_bytes()).collect();
    Args::from_slices(&v)
}

fn spec(name: &str) -> &'static CommandSpec {
    let reg = registry::get();
    reg.entries[reg.lookup(name.as_bytes()).unwrap() as usize].spec
}

#[test]
fn rules_are_compacted_without_loss() {
    let cases = [
        ("+@all -@hash -@slow +hget", "+@all -@hash -@slow +hget"),
        (
            "+@all -@hash -@slow +hget -@hash",
            "+@all -@slow +hget -@hash",
        ),
        ("-@all +@HASH +@hash", "-@all +@hash"),
        ("-@all +hget -hset +hset -hget", "-@all +hset -hget"),
        (
            "-@all +client|list +client|list +config|get +config +acl|list -acl",
            "-@all +client|list +config -acl",
        ),
        (
            "-@all +select|0 +select|0 +debug|segfault +debug",
            "-@all +select|0 +debug",
        ),
        (
            "-@all +config +config|get -config|set +config",
            "-@all +config",
        ),
        ("-@string -@slow +@all", "+@all"),
    ];
    for (rules, want) in cases {
        assert_eq!(commands(&user(rules)), want, "{rules}");
    }
}

#[test]
fn new_user_and_default_user_describe_as_redis() {
    let u = User::new("x", false);
    assert_eq!(u.describe(), b"off sanitize-payload resetchannels -@all");
    assert_eq!(
        User::new_default().describe(),
        b"on nopass sanitize-payload ~* &* +@all"
    );
    let u = user("on nopass resetchannels &foo +@all %R~a %W~a %W~b (~k +get)");
    assert_eq!(
        u.describe(),
        b"on nopass sanitize-payload ~a %W~b resetchannels &foo +@all (~k resetchannels -@all +get)"
    );
}

#[test]
fn bad_rules_change_nothing() {
    let mut u = user("on >pw +get");
    let before = u.describe();
    let ops = vec![b"+set".to_vec(), b"+nosuchcommand".to_vec()];
    let err = u.apply_all(&ops, false).unwrap_err();
    assert_eq!(
        err,
        "Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL"
    );
    assert_eq!(u.describe(), before);
    let ops = vec![b"(+get".to_vec(), b"~x".to_vec()];
    assert!(
        u.apply_all(&ops, false)
            .unwrap_err()
            .starts_with("Unmatched parenthesis")
    );
    for bad in [
        "#abc",
        "+config|get|x",
        "%~",
        "%",
        "~a b",
        "&x",
        "(&* &x)",
        "(+get \"\")",
    ] {
        let mut v = user("on &*");
        assert!(
            v.apply_all(&[bad.as_bytes().to_vec()], false).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn passwords_are_hashed_and_checked() {
    let u = user("on >secret");
    assert!(u.check_password(b"secret"));
    assert!(!u.check_password(b"other"));
    assert_eq!(u.passwords[0], hash_password(b"secret"));
    assert_eq!(
        hash_password(b"passwd4"),
        "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
    );
    assert!(!user("off >secret").check_password(b"secret"));
    assert!(user("on nopass").check_password(b"anything"));
}

#[test]
fn commands_keys_and_channels_are_checked() {
    let u = user("on +get +lpush +publish ~foo:* %R~ro:* resetchannels &news.*");
    assert_eq!(u.check(spec("get"), &args(&["get", "foo:1"])), Ok(()));
    assert_eq!(u.check(spec("get"), &args(&["get", "ro:1"])), Ok(()));
    assert_eq!(
        u.check(spec("lpush"), &args(&["lpush", "ro:1", "v"])),
        Err(Denied::Key(1))
    );
    assert_eq!(
        u.check(spec("set"), &args(&["set", "foo:1", "v"])),
        Err(Denied::Command)
    );
    assert_eq!(
        u.check(spec("publish"), &args(&["publish", "news.a", "m"])),
        Ok(())
    );
    assert_eq!(
        u.check(spec("publish"), &args(&["publish", "other", "m"])),
        Err(Denied::Channel(1))
    );
    // A first argument allowed on its own.
    let u = user("on -@all +select|0");
    assert_eq!(u.check(spec("select"), &args(&["select", "0"])), Ok(()));
    assert_eq!(
        u.check(spec("select"), &args(&["select", "1"])),
        Err(Denied::Command)
    );
    // A command line shorter than its finder expects is no panic.
    let u = user("on +set ~k");
    assert_eq!(u.check(spec("set"), &args(&["set"])), Ok(()));
    // Selectors are tried one by one; the furthest denial is reported.
    let u = user("on +mget ~key (+mget ~key ~other)");
    assert_eq!(
        u.check(spec("mget"), &args(&["mget", "key", "other", "third"])),
        Err(Denied::Key(3))
    );
}
