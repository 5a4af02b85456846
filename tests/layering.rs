//! The layering of the crate (DESIGN.md, and the crate docs in src/lib.rs), checked on the source.
//!
//! Every `src/**/*.rs` is read as text: comments, strings and character literals are blanked out,
//! then every path that reaches another top-level module is collected — `crate::X…` (with
//! `crate::{X…, Y…}` groups), `super::…` climbing out of the file's module (inline `mod` blocks
//! counted), `crate::Item` for the items src/lib.rs re-exports, and, in the binary (src/main.rs and
//! the modules it declares), `glassbox::X…` into the library. Each edge must point down the layer
//! table below; a module missing from the table fails the test until it is given a place.
//!
//! Paths written inside attribute strings (`#[serde(with = "crate::…")]`) are not seen: the
//! strings are blanked with the others.
//!
//! Arrows that run the wrong way today are listed in [`KNOWN_VIOLATIONS`], each with the work that
//! removes it. The test fails both on a violation that is not listed and on a listed one that no
//! longer exists, so the list can only shrink, and must be empty once the refactor of issue 9 has
//! landed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import modules of a lower layer only: peers in one layer
/// do not import each other (stats and arch, format and decode, render and tui).
const LAYERS: &[&[&str]] = &[
    // Leaves: every layer may use them, they use nothing of the crate.
    &["dtype", "finding", "text"],
    // Bytes in, tables or values out; no I/O.
    &["format", "decode"],
    // Model references resolved to files, or to header bytes fetched over HTTP.
    &["source"],
    // The library's error: wraps each reader's error with the path of its file.
    &["error"],
    // The model: files, tensor table, side documents; opening reads headers only.
    &["model"],
    // What is computed from the model: statistics, and the architecture read from the names.
    &["stats", "arch"],
    // Comparisons and verdicts built from those (issues to come).
    &["diff", "transparency"],
    // The report types every face reads.
    &["report"],
    // Faces.
    &["render", "tui"],
    // The binary.
    &["cli", "main"],
];

/// The faces read the model through `model` and the report types: they never reach down to the
/// readers or the decoders, even though those are lower (a face that did would be computing, or
/// branching on the file format).
const FACES: &[&str] = &["render", "tui", "cli", "main"];
const BELOW_THE_FACES: &[&str] = &["format", "decode"];

/// The wrong-way imports that exist today, as (file, imported top-level module). Each is being
/// removed by the issue 9 refactor; delete its line in the same change.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

// ---- the checker -------------------------------------------------------------------------------

/// One path from a file to another top-level module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    line: usize,
    /// The top-level module reached.
    target: String,
    /// The path as written, up to the module (for messages).
    text: String,
}

/// What the crate declares at its roots: the library's modules and the items src/lib.rs
/// re-exports (item → module), and the binary's modules.
#[derive(Debug, Default)]
struct Roots {
    lib_modules: BTreeSet<String>,
    lib_items: BTreeMap<String, String>,
    bin_modules: BTreeSet<String>,
}

/// The source with comments, strings and character literals replaced by spaces (line breaks
/// kept, so line numbers stay true).
fn blank_non_code(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if !prev_ident && raw_string_start(&c, i).is_some() {
            let (hashes, body) = raw_string_start(&c, i).expect("checked");
            for &ch in &c[i..body] {
                out.push(blank(ch));
            }
            i = body;
            // Ends at `"` followed by the same number of `#`.
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(c[i]));
                i += 1;
            }
        } else if c[i] == '"' || (!prev_ident && c[i] == 'b' && c.get(i + 1) == Some(&'"')) {
            if c[i] == 'b' {
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' {
            // A character literal ('a', '\n', '\u{1F600}', '\'') or a lifetime/label ('a, 'static).
            let end = if c.get(i + 1) == Some(&'\\') {
                (i + 3..c.len()).find(|&k| c[k] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for _ in i..=end {
                        out.push(' ');
                    }
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// At a raw string (`r"`, `r#"`, `br##"` …): the number of `#` and the index after the opening `"`.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut k = i;
    if c.get(k) == Some(&'b') {
        k += 1;
    }
    if c.get(k) != Some(&'r') {
        return None;
    }
    k += 1;
    let hashes = c[k..].iter().take_while(|&&ch| ch == '#').count();
    (c.get(k + hashes) == Some(&'"')).then_some((hashes, k + hashes + 1))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

fn tokens(code: &str) -> Vec<(usize, Tok)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((line, Tok::Ident(c[start..i].iter().collect())));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((line, Tok::Path));
            i += 2;
        } else {
            out.push((line, Tok::Punct(ch)));
            i += 1;
        }
    }
    out
}

/// Every path in `src` (the text of `file`, relative to the package root) that reaches a
/// top-level module other than the file's own, resolved with `roots`. Errors name what cannot be
/// resolved (an unknown root item, `super` above the crate root), so nothing is skipped silently.
fn edges(file: &str, src: &str, roots: &Roots) -> Result<Vec<Edge>, String> {
    let module = module_path(file);
    let binary = is_binary(&module, roots);
    let code = blank_non_code(src);
    let toks = tokens(&code);
    let ident = |k: usize| match toks.get(k) {
        Some((_, Tok::Ident(s))) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, t: Tok| toks.get(k).map(|(_, x)| x) == Some(&t);
    let mut out = Vec::new();
    // Inline `mod name {` blocks: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut k = 0;
    while k < toks.len() {
        let line = toks[k].0;
        match &toks[k].1 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(w) if w == "mod" && is(k + 2, Tok::Punct('{')) => {
                if let Some(name) = ident(k + 1) {
                    inline.push((name.to_owned(), depth + 1));
                }
            }
            _ => {}
        }
        let after_path = k > 0 && is(k - 1, Tok::Path);
        let word = ident(k).unwrap_or_default();
        let (base, mut next, written): (Vec<String>, usize, String) = match word {
            "crate" if !after_path && is(k + 1, Tok::Path) => (Vec::new(), k + 2, "crate::".into()),
            "glassbox" if binary && is(k + 1, Tok::Path) => {
                (Vec::new(), k + 2, "glassbox::".into())
            }
            "super" if !after_path && is(k + 1, Tok::Path) => {
                let mut here: Vec<String> = module.clone();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                let mut j = k;
                let mut written = String::new();
                while ident(j) == Some("super") && is(j + 1, Tok::Path) {
                    if here.pop().is_none() {
                        return Err(format!("{file}:{line}: `super` above the crate root"));
                    }
                    written.push_str("super::");
                    j += 2;
                }
                (here, j, written)
            }
            _ => {
                k += 1;
                continue;
            }
        };
        let in_binary = binary && word != "glassbox";
        // The first segments after the prefix: one name, or the names opening each item of a
        // `{…}` group.
        let mut firsts: Vec<(String, usize)> = Vec::new();
        if is(next, Tok::Punct('{')) {
            let mut d = 0;
            let mut item_start = true;
            while next < toks.len() {
                match &toks[next].1 {
                    Tok::Punct('{') => {
                        d += 1;
                        item_start = d == 1;
                    }
                    Tok::Punct('}') => {
                        d -= 1;
                        if d == 0 {
                            break;
                        }
                    }
                    Tok::Punct(',') if d == 1 => item_start = true,
                    Tok::Ident(s) if item_start && d == 1 => {
                        firsts.push((s.clone(), toks[next].0));
                        item_start = false;
                    }
                    _ => item_start = false,
                }
                next += 1;
            }
        } else if let Some(s) = ident(next) {
            firsts.push((s.to_owned(), toks[next].0));
        }
        for (first, line) in firsts {
            if !base.is_empty() {
                // `super` stopped inside a module: the path stays in that top-level module.
                push_edge(&mut out, &module, line, &base[0], &written);
                continue;
            }
            if first == "self" || first == "Self" {
                continue;
            }
            let target = if in_binary {
                roots.bin_modules.get(&first).cloned()
            } else {
                roots
                    .lib_modules
                    .get(&first)
                    .cloned()
                    .or_else(|| roots.lib_items.get(&first).cloned())
            };
            let Some(target) = target else {
                return Err(format!(
                    "{file}:{line}: `{written}{first}` names nothing the crate root declares"
                ));
            };
            push_edge(
                &mut out,
                &module,
                line,
                &target,
                &format!("{written}{first}"),
            );
        }
        k += 1;
    }
    Ok(out)
}

fn push_edge(out: &mut Vec<Edge>, module: &[String], line: usize, target: &str, text: &str) {
    if module.first().map(String::as_str) != Some(target) {
        out.push(Edge {
            line,
            target: target.to_owned(),
            text: text.to_owned(),
        });
    }
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`; `src/main.rs` is
/// `[main]`; `src/lib.rs` is the root `[]`.
fn module_path(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

fn is_binary(module: &[String], roots: &Roots) -> bool {
    module
        .first()
        .is_some_and(|m| m == "main" || m == "bin" || roots.bin_modules.contains(m))
}

/// The modules and re-exports declared by the library root and the binary root.
fn roots(lib_rs: &str, main_rs: &str) -> Roots {
    let mut roots = Roots::default();
    let lib = tokens(&blank_non_code(lib_rs));
    let word = |k: usize, t: &[(usize, Tok)]| match t.get(k) {
        Some((_, Tok::Ident(s))) => Some(s.clone()),
        _ => None,
    };
    for k in 0..lib.len() {
        if word(k, &lib).as_deref() == Some("mod")
            && let Some(m) = word(k + 1, &lib)
        {
            roots.lib_modules.insert(m);
        }
        // `pub use module::Item;`, `pub use module::{A, B};` or `pub use crate::module::Item;`:
        // every name after the module maps to it.
        if word(k, &lib).as_deref() == Some("use") {
            let mut j = k + 1;
            if matches!(word(j, &lib).as_deref(), Some("crate" | "self")) {
                j += 2;
            }
            let Some(module) = word(j, &lib) else {
                continue;
            };
            j += 1;
            while j < lib.len() && lib[j].1 != Tok::Punct(';') {
                if let Tok::Ident(item) = &lib[j].1
                    && item != "self"
                {
                    roots.lib_items.insert(item.clone(), module.clone());
                }
                j += 1;
            }
        }
    }
    let main = tokens(&blank_non_code(main_rs));
    for k in 0..main.len() {
        if word(k, &main).as_deref() == Some("mod")
            && let Some(m) = word(k + 1, &main)
        {
            roots.bin_modules.insert(m);
        }
    }
    roots.bin_modules.insert("main".into());
    roots
}

/// The layer of a top-level module, or `None` when the table does not place it.
fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Why the edge from `from` to `to` breaks the layering, if it does.
fn broken_rule(from: &str, to: &str) -> Option<String> {
    let (Some(a), Some(b)) = (layer(from), layer(to)) else {
        return Some(format!(
            "`{}` is not in the layer table (tests/layering.rs `LAYERS`): give it a place",
            if layer(from).is_none() { from } else { to }
        ));
    };
    if a == b {
        return Some(format!(
            "`{from}` and `{to}` are peers: neither imports the other"
        ));
    }
    if b > a {
        return Some(format!(
            "`{from}` is below `{to}`: a lower layer never imports a higher one"
        ));
    }
    if FACES.contains(&from) && BELOW_THE_FACES.contains(&to) {
        return Some(format!(
            "`{from}` is a face: it reads `{to}` only through `model` and the report types"
        ));
    }
    None
}

/// The violations in one file: (edge, rule broken).
fn violations(file: &str, src: &str, roots: &Roots) -> Result<Vec<(Edge, String)>, String> {
    let from = module_path(file)
        .first()
        .cloned()
        .unwrap_or_else(|| "lib".into());
    Ok(edges(file, src, roots)?
        .into_iter()
        .filter_map(|e| broken_rule(&from, &e.target).map(|why| (e, why)))
        .collect())
}

// ---- the crate ----------------------------------------------------------------------------------

fn package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_import_points_down_the_layers() {
    let root = package();
    let roots = roots(
        &read(&root.join("src/lib.rs")),
        &read(&root.join("src/main.rs")),
    );
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();

    let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut edge_count = 0;
    for path in &files {
        let file = path
            .strip_prefix(&root)
            .expect("under the package")
            .to_string_lossy()
            .replace('\\', "/");
        if file == "src/lib.rs" {
            continue;
        }
        let src = read(path);
        edge_count += edges(&file, &src, &roots).map_or(0, |e| e.len());
        match violations(&file, &src, &roots) {
            Ok(v) => {
                for (edge, why) in v {
                    found
                        .entry((file.clone(), edge.target.clone()))
                        .or_default()
                        .push(format!("{file}:{}: `{}`: {why}", edge.line, edge.text));
                }
            }
            Err(e) => problems.push(e),
        }
    }
    // A walker that read nothing would pass: the crate has dozens of files and cross-module paths.
    assert!(files.len() > 40, "only {} source files found", files.len());
    assert!(
        edge_count > 60,
        "only {edge_count} cross-module paths found"
    );

    for ((file, target), lines) in &found {
        if !KNOWN_VIOLATIONS.contains(&(file.as_str(), target.as_str())) {
            problems.extend(lines.iter().cloned());
        }
    }
    for (file, target) in KNOWN_VIOLATIONS {
        if !found.contains_key(&(file.to_string(), target.to_string())) {
            problems.push(format!(
                "{file} no longer imports `{target}`: remove it from KNOWN_VIOLATIONS"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layering (see src/lib.rs):\n{}",
        problems.join("\n")
    );
}

// ---- the checker, on synthetic source ----------------------------------------------------------

fn synthetic_roots() -> Roots {
    roots(
        "pub mod arch;\npub mod dtype;\npub mod error;\npub mod format;\npub mod model;\n\
         pub mod render;\npub mod stats;\npub use error::{Error, Result};\npub use dtype::DType;\n\
         pub use crate::model::Model;\n",
        "mod cli;\nfn main() {}\n",
    )
}

fn check(file: &str, src: &str) -> Vec<(String, usize)> {
    violations(file, src, &synthetic_roots())
        .expect("resolvable")
        .into_iter()
        .map(|(e, _)| (e.target, e.line))
        .collect()
}

#[test]
fn an_upward_import_is_caught_and_a_downward_one_passes() {
    assert_eq!(
        check("src/model/measure.rs", "use crate::stats::compute_stats;\n"),
        [("stats".to_owned(), 1)]
    );
    assert_eq!(
        check("src/model/open.rs", "use crate::format::gguf::parse_gguf;"),
        []
    );
    // Leaves import nothing above them; everything may import a leaf.
    assert_eq!(
        check("src/dtype/mod.rs", "fn f(_: crate::model::Model) {}").len(),
        1
    );
    assert_eq!(check("src/render/x.rs", "use crate::dtype::DType;"), []);
}

#[test]
fn peers_and_faces_have_their_own_rules() {
    assert_eq!(
        check("src/arch/infer.rs", "use crate::stats::TensorStats;"),
        [("stats".to_owned(), 1)]
    );
    assert_eq!(
        check("src/render/summary.rs", "use crate::format::gguf::Source;"),
        [("format".to_owned(), 1)]
    );
    assert_eq!(
        check("src/render/summary.rs", "use crate::arch::Architecture;"),
        []
    );
}

#[test]
fn groups_root_items_and_super_paths_are_resolved() {
    assert_eq!(
        check(
            "src/arch/blocks.rs",
            "use crate::{\n    dtype::DType,\n    render::table::{shape, thousands},\n};"
        ),
        [("render".to_owned(), 3)]
    );
    // `crate::DType` is the re-export of `dtype`; `crate::Error` of `error`; `crate::Model` of
    // `model`.
    assert_eq!(check("src/format/x.rs", "fn f(_: crate::DType) {}"), []);
    assert_eq!(
        check("src/format/x.rs", "fn f(_: &crate::Model) {}"),
        [("model".to_owned(), 1)]
    );
    assert_eq!(
        check("src/format/x.rs", "fn f() -> crate::Result<()> {}").len(),
        1
    );
    // Two `super`s from src/model/measure.rs reach the root, then `stats`.
    assert_eq!(
        check("src/model/measure.rs", "use super::super::stats::Stats;"),
        [("stats".to_owned(), 1)]
    );
    // Inside an inline test module, two `super`s only reach `stats` itself.
    assert_eq!(
        check(
            "src/stats/findings.rs",
            "mod tests {\n    use super::super::{StatsOptions, compute_stats};\n}"
        ),
        []
    );
}

#[test]
fn comments_strings_and_characters_are_not_imports() {
    let src = r####"
        // use crate::render::table;
        /* crate::render /* nested */ crate::stats */
        /// [`crate::render::table`]
        const A: &str = "crate::render::x";
        const B: &str = r#"crate::render "quoted" "#;
        const C: &[u8] = b"crate::render";
        const D: char = '"';
        fn e<'a>(x: &'a str) -> &'a str { x }
        use crate::format::gguf::Gguf;
    "####;
    assert_eq!(check("src/model/x.rs", src), []);
    // The same text with a real upward path after the tricky literals is still caught.
    let caught = format!("{src}\nuse crate::render::table;\n");
    assert_eq!(
        check("src/model/x.rs", &caught),
        [("render".to_owned(), 12)]
    );
}

#[test]
fn the_binary_reaches_the_library_through_its_name() {
    assert_eq!(
        check(
            "src/cli/mod.rs",
            "use glassbox::render::OutputFormat;\nuse crate::cli::run;"
        ),
        []
    );
    assert_eq!(
        check(
            "src/cli/mod.rs",
            "let g = glassbox::format::gguf::parse_gguf(b);"
        ),
        [("format".to_owned(), 1)]
    );
    // In the library, `glassbox::` is not a path into the crate (it would not compile).
    assert_eq!(
        check("src/model/x.rs", "fn f() { glassbox::render::x() }"),
        []
    );
}

#[test]
fn what_cannot_be_resolved_is_an_error_not_a_pass() {
    let roots = synthetic_roots();
    assert!(edges("src/model/x.rs", "use crate::nowhere::X;", &roots).is_err());
    assert!(edges("src/model.rs", "use super::super::X;", &roots).is_err());
    // A module the table does not place fails the rule check.
    assert!(broken_rule("model", "newmodule").is_some());
    assert!(broken_rule("newmodule", "dtype").is_some());
}
