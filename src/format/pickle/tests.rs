//! Opcode-level tests on hand-written pickles and on pickles Python's `pickle` module wrote
//! (bytes pasted from `pickle.dumps`, the expected graphs written by hand).

use super::*;

fn load(bytes: &[u8]) -> Pickle {
    parse(bytes, 0, Limits::default()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `pickle.dumps({'a': [1, -2, 3.5, None, True], 'b': (b'xy', 'é', 10**20, -300000)}, protocol=p)`
/// for p = 0..=5, from CPython 3.
const PROTOCOLS: [&str; 6] = [
    "286470300a56610a70310a286c70320a49310a61492d320a6146332e350a614e614930310a617356620a70330a28635f636f646563730a656e636f64650a70340a285678790a70350a566c6174696e310a70360a7470370a5270380a56e90a70390a4c3130303030303030303030303030303030303030304c0a492d3330303030300a747031300a732e",
    "7d71002858010000006171015d7102284b014afeffffff47400c0000000000004e4930310a65580100000062710328635f636f646563730a656e636f64650a71042858020000007879710558060000006c6174696e3171067471075271085802000000c3a971094c3130303030303030303030303030303030303030304c0a4a206cfbff74710a752e",
    "80027d71002858010000006171015d7102284b014afeffffff47400c0000000000004e8865580100000062710328635f636f646563730a656e636f64650a710458020000007879710558060000006c6174696e3171068671075271085802000000c3a971098a09000010632d5ec76b054a206cfbff74710a752e",
    "80037d71002858010000006171015d7102284b014afeffffff47400c0000000000004e88655801000000627103284302787971045802000000c3a971058a09000010632d5ec76b054a206cfbff747106752e",
    "80049540000000000000007d94288c0161945d94284b014afeffffff47400c0000000000004e88658c0162942843027879948c02c3a9948a09000010632d5ec76b054a206cfbff7494752e",
    "80059540000000000000007d94288c0161945d94284b014afeffffff47400c0000000000004e88658c0162942843027879948c02c3a9948a09000010632d5ec76b054a206cfbff7494752e",
];

#[test]
fn every_protocol_builds_the_same_values() {
    for (protocol, text) in PROTOCOLS.iter().enumerate() {
        let bytes = hex(text);
        let p = load(&bytes);
        assert_eq!(p.end, bytes.len(), "protocol {protocol}");
        assert_eq!(
            p.protocol as usize,
            protocol.max(1) * (protocol >= 2) as usize
        );
        let Node::Dict(items) = p.node(p.root) else {
            panic!("protocol {protocol}: root {:?}", p.node(p.root))
        };
        assert_eq!(items.len(), 2);
        assert_eq!(p.str(items[0].0), Some("a"));
        let a: Vec<&Node> = p
            .seq(items[0].1)
            .unwrap()
            .iter()
            .map(|&i| p.node(i))
            .collect();
        assert_eq!(
            a,
            [
                &Node::Int(1),
                &Node::Int(-2),
                &Node::Float(3.5),
                &Node::None,
                &Node::Bool(true)
            ],
            "protocol {protocol}"
        );
        assert_eq!(p.str(items[1].0), Some("b"));
        let b = p.seq(items[1].1).unwrap();
        assert_eq!(b.len(), 4);
        // Bytes: protocols 0-2 write `_codecs.encode('xy', 'latin1')` (named, not called).
        match p.node(b[0]) {
            Node::Bytes(v) => assert_eq!(v, b"xy"),
            Node::Call { func, args, .. } => {
                assert_eq!(p.global(*func), Some(("_codecs", "encode")));
                assert_eq!(p.str(p.seq(*args).unwrap()[0]), Some("xy"));
            }
            other => panic!("protocol {protocol}: {other:?}"),
        }
        assert_eq!(p.str(b[1]), Some("é"));
        // 10**20 does not fit i64: kept as text (LONG) or little-endian bytes (LONG1).
        match p.node(b[2]) {
            Node::BigInt(raw) if protocol < 2 => assert_eq!(raw, b"100000000000000000000"),
            Node::BigInt(raw) => assert_eq!(raw, &hex("000010632d5ec76b05")),
            other => panic!("{other:?}"),
        }
        assert_eq!(p.int(b[3]), Some(-300000));
        let globals: Vec<String> = p.globals.iter().map(|g| g.qualified()).collect();
        let expected: &[&str] = if protocol < 3 {
            &["_codecs.encode"]
        } else {
            &[]
        };
        assert_eq!(globals, expected);
    }
}

#[test]
fn globals_and_calls_are_named_never_run() {
    // cos\nsystem\n(S'echo hi'\ntR.  — what `__reduce__` returning (os.system, ('echo hi',)) writes.
    let p = load(b"cos\nsystem\n(S'echo hi'\ntR.");
    let Node::Call { func, args, .. } = p.node(p.root) else {
        panic!()
    };
    assert_eq!(p.global(*func), Some(("os", "system")));
    assert_eq!(p.str(p.seq(*args).unwrap()[0]), Some("echo hi"));
    assert_eq!(p.globals.len(), 1);
    assert_eq!(p.globals[0].first_offset, 0);
    // STACK_GLOBAL, NEWOBJ, BUILD, and INST (protocol 0).
    let p = load(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93)\x81}b.");
    let Node::Call { func, state, .. } = p.node(p.root) else {
        panic!()
    };
    assert_eq!(p.global(*func), Some(("builtins", "eval")));
    assert!(matches!(p.node(state.unwrap()), Node::Dict(_)));
    let p = load(b"(S'x'\nimod\nname\n.");
    assert!(matches!(p.node(p.root), Node::Call { .. }));
    assert_eq!(p.globals[0].qualified(), "mod.name");
}

#[test]
fn the_memo_shares_values_as_python_does() {
    // A list memoised empty, then filled: a later GET sees the elements (EMPTY_LIST BINPUT 0
    // MARK K1 K2 APPENDS POP BINGET 0 STOP).
    let p = load(b"]q\x00(K\x01K\x02e0h\x00.");
    assert_eq!(p.seq(p.root).unwrap().len(), 2);
    // MEMOIZE numbers entries in order; a missing key is an error.
    let p = load(b"\x80\x04K\x07\x94K\x08\x94h\x00.");
    assert_eq!(p.int(p.root), Some(7));
    let err = parse(b"h\x05.", 0, Limits::default()).unwrap_err();
    assert!(err.to_string().contains("memo key 5"), "{err}");
}

#[test]
fn hostile_pickles_are_errors_not_crashes() {
    let err = |b: &[u8], limits: Limits| parse(b, 0, limits).unwrap_err().to_string();
    let d = Limits::default();
    assert!(err(b"K\x01", d).contains("before its STOP"));
    assert!(err(b"\xff.", d).contains("unknown pickle opcode 0xff"));
    assert!(err(b"\x80\x06.", d).contains("protocol 6"));
    assert!(err(b"R.", d).contains("stack underflow"));
    assert!(err(b"e.", d).contains("no mark"));
    // 2^62 bytes declared in a 20-byte input: refused before any allocation.
    let mut huge = b"\x80\x04\x8e".to_vec();
    huge.extend_from_slice(&(1u64 << 62).to_le_bytes());
    huge.push(b'.');
    assert!(err(&huge, d).contains("declares 4611686018427387904 bytes"));
    let mut frame = b"\x80\x04\x95".to_vec();
    frame.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(err(&frame, d).contains("only 0 remain"));
    // Deep nesting: a million MARKs.
    let deep = vec![b'('; 1_000_000];
    assert!(err(&deep, d).contains("nested marks"));
    // An object bomb against a small limit; the default limit bounds memory the same way.
    let small = Limits {
        max_objects: 1000,
        ..d
    };
    let bomb: Vec<u8> = std::iter::repeat_n(*b"]", 2000).flatten().collect();
    assert!(err(&bomb, small).contains("1000 objects"));
    let memo = Limits { max_memo: 10, ..d };
    let mut puts = b"N".to_vec();
    for k in 0..20u8 {
        puts.extend_from_slice(&[b'q', k]);
    }
    assert!(err(&puts, memo).contains("10 memo entries"));
    // A memo bomb: one list fetched half a million times costs ids, not copies.
    let mut gets = b"]q\x00(".to_vec();
    for _ in 0..500_000 {
        gets.extend_from_slice(b"h\x00");
    }
    gets.extend_from_slice(b"l.");
    let p = load(&gets);
    assert_eq!(p.seq(p.root).unwrap().len(), 500_000);
    assert!(p.nodes.len() < 10);
}
