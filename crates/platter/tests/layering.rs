//! The shape of the workspace: crates depend only on lower layers, and no
//! two modules of a crate import each other, directly or around a circle.
//!
//! Reads the source tree; builds nothing and starts nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The layers, lowest first. A crate may depend only on crates of strictly
/// lower layers: shared types and the storage contract at the bottom; the
/// metrics registry beside them; the metadata store, the block engine, the
/// NBD server and the backup repository on them; the service
/// over those; the HTTP API over the service; the binary over everything.
const LAYERS: &[&[&str]] = &[
    &["platter-model", "platter-backend", "platter-metrics"],
    &[
        "platter-store",
        "platter-engine",
        "platter-nbd",
        "platter-backup",
        "platter-compute",
        "platter-rbd",
    ],
    &["platter-service"],
    &["platter-api"],
    &["platter"],
];

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&name))
}

/// The workspace dependencies of each crate (normal, build and dev), by
/// package name.
fn crate_deps() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let crates = workspace().join("crates");
    let mut dirs: Vec<_> = fs::read_dir(&crates)
        .expect("crates/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let text = fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml is readable");
        let manifest: toml::Table = toml::from_str(&text).expect("Cargo.toml parses");
        let name = manifest["package"]["name"]
            .as_str()
            .expect("package.name")
            .to_string();
        let mut deps = BTreeSet::new();
        for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
            if let Some(table) = manifest.get(section).and_then(|t| t.as_table()) {
                for dep in table.keys() {
                    if dep.starts_with("platter") {
                        deps.insert(dep.clone());
                    }
                }
            }
        }
        out.insert(name, deps);
    }
    out
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let deps = crate_deps();
    assert!(
        deps.len() >= 8,
        "expected the workspace's crates, found {:?}",
        deps.keys()
    );
    let mut wrong = Vec::new();
    for (name, ds) in &deps {
        let Some(own) = layer_of(name) else {
            wrong.push(format!("{name} is in no layer: place it in LAYERS"));
            continue;
        };
        for d in ds {
            match layer_of(d) {
                None => wrong.push(format!("{name} -> {d}: {d} is in no layer")),
                Some(l) if l >= own => wrong.push(format!(
                    "{name} (layer {own}) -> {d} (layer {l}): a crate may only depend on lower layers"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "layering violations:\n{}",
        wrong.join("\n")
    );
    // What the lower layers stand on today, spelled out.
    let expect = |name: &str, want: &[&str]| {
        let got: Vec<&str> = deps[name].iter().map(String::as_str).collect();
        assert_eq!(got, want, "workspace dependencies of {name}");
    };
    expect("platter-model", &[]);
    expect("platter-backend", &[]);
    expect("platter-metrics", &[]);
    expect("platter-engine", &["platter-backend", "platter-metrics"]);
    expect(
        "platter-nbd",
        &["platter-backend", "platter-metrics", "platter-model"],
    );
    expect("platter-store", &["platter-model"]);
    expect("platter-backup", &["platter-backend"]);
    expect("platter-rbd", &["platter-backend"]);
}

// ---------------------------------------------------------------------------
// Module references.

/// Drops comments and the contents of string and char literals (so a path
/// in a message is not taken for a reference), keeping line structure.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r'
            && matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
            && !ident_before(b, i)
        {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&b'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            // Copy one UTF-8 character.
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'$')
}

/// Removes inline `mod tests { ... }` blocks: unit tests may reach anywhere
/// in their crate, and `super` in them means their own file.
fn drop_test_modules(src: &str) -> String {
    let mut out = src.to_string();
    while let Some(at) = out.find("mod tests {") {
        let open = at + "mod tests ".len();
        let mut depth = 0;
        let mut end = out.len();
        for (k, ch) in out[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(at..end, "");
    }
    out
}

/// Parses the paths that start at `s` (just after `crate::`, `super::` or
/// `self::`): `a::b::C`, `a::{b, c::{d, e}}`, `*`. Returns each as its
/// segments.
fn parse_paths(s: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    let mut out = Vec::new();
    parse_tree(&chars, &mut pos, Vec::new(), &mut out);
    out
}

fn skip_ws(c: &[char], pos: &mut usize) {
    while *pos < c.len() && c[*pos].is_whitespace() {
        *pos += 1;
    }
}

fn parse_tree(c: &[char], pos: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        skip_ws(c, pos);
        if *pos < c.len() && c[*pos] == '{' {
            *pos += 1;
            loop {
                skip_ws(c, pos);
                if *pos >= c.len() {
                    return;
                }
                if c[*pos] == '}' {
                    *pos += 1;
                    return;
                }
                if c[*pos] == ',' {
                    *pos += 1;
                    continue;
                }
                let before = *pos;
                parse_tree(c, pos, path.clone(), out);
                if *pos == before {
                    // Something unexpected: give up on this group.
                    return;
                }
            }
        }
        let start = *pos;
        while *pos < c.len() && (c[*pos].is_alphanumeric() || c[*pos] == '_') {
            *pos += 1;
        }
        if *pos == start {
            if *pos < c.len() && c[*pos] == '*' {
                *pos += 1;
            }
            out.push(path);
            return;
        }
        path.push(c[start..*pos].iter().collect());
        skip_ws(c, pos);
        if *pos + 1 < c.len() && c[*pos] == ':' && c[*pos + 1] == ':' {
            *pos += 2;
            continue;
        }
        // `as name`, a call, a generic, the end of a use: the path is done.
        out.push(path);
        if c[*pos..].starts_with(&['a', 's']) && c.get(*pos + 2).is_some_and(|x| x.is_whitespace())
        {
            *pos += 2;
            skip_ws(c, pos);
            while *pos < c.len() && (c[*pos].is_alphanumeric() || c[*pos] == '_') {
                *pos += 1;
            }
        }
        return;
    }
}

/// Every absolute module path one file refers to through `crate::`,
/// `super::` or `self::`, given the file's own module path.
fn references(src: &str, module: &[String]) -> Vec<Vec<String>> {
    let text = drop_test_modules(&strip(src));
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let keyword = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|k| rest.starts_with(k));
        let Some(keyword) = keyword.filter(|_| !ident_before(b, i)) else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let mut base: Vec<String> = match keyword {
            "crate::" => Vec::new(),
            "self::" => module.to_vec(),
            _ => module[..module.len().saturating_sub(1)].to_vec(),
        };
        let mut j = i + keyword.len();
        // super::super::...
        while keyword == "super::" && text[j..].starts_with("super::") {
            base.pop();
            j += "super::".len();
        }
        for p in parse_paths(&text[j..]) {
            let mut full = base.clone();
            full.extend(p);
            out.push(full);
        }
        i = j;
    }
    out
}

/// The modules of one crate's `src/`: each `.rs` file with its module path
/// (`lib.rs`/`main.rs` are the root, `x/mod.rs` is `x`). `src/bin` holds
/// other crates' roots and is left out.
fn module_files(src: &Path) -> Vec<(Vec<String>, PathBuf)> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("source dir is readable")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                if prefix.is_empty() && name == "bin" {
                    continue;
                }
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let module = match stem {
                    "lib" | "main" if prefix.is_empty() => Vec::new(),
                    "mod" => prefix.to_vec(),
                    _ => {
                        let mut p = prefix.to_vec();
                        p.push(stem.to_string());
                        p
                    }
                };
                out.push((module, path));
            }
        }
    }
    let mut out = Vec::new();
    walk(src, &[], &mut out);
    out
}

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module graphs of one crate: the top-level modules, and the children
/// of each module folder (`cinder`, `evs`, `identity`, ...). A parent's own
/// file (`mod.rs`, like `lib.rs` for the top level) declares and re-exports
/// its children, so it is no node of its children's graph.
fn module_graphs(src: &Path) -> BTreeMap<String, Graph> {
    let files = module_files(src);
    let top: BTreeSet<String> = files
        .iter()
        .filter_map(|(m, _)| m.first().cloned())
        .collect();
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, _) in &files {
        if m.len() >= 2 {
            children
                .entry(m[0].clone())
                .or_default()
                .insert(m[1].clone());
        }
    }
    let mut graphs: BTreeMap<String, Graph> = BTreeMap::new();
    let top_graph = graphs.entry("crate".into()).or_default();
    for t in &top {
        top_graph.entry(t.clone()).or_default();
    }
    for (family, kids) in &children {
        let g = graphs.entry(format!("crate::{family}")).or_default();
        for k in kids {
            g.entry(k.clone()).or_default();
        }
    }
    for (module, path) in &files {
        if module.is_empty() {
            continue;
        }
        let src = fs::read_to_string(path).expect("source is readable");
        for target in references(&src, module) {
            let Some(first) = target.first() else {
                continue;
            };
            if first != &module[0] && top.contains(first) {
                graphs
                    .get_mut("crate")
                    .expect("top graph")
                    .entry(module[0].clone())
                    .or_default()
                    .insert(first.clone());
            }
            if module.len() >= 2 && target.len() >= 2 && target[0] == module[0] {
                let kids = &children[&module[0]];
                if target[1] != module[1] && kids.contains(&target[1]) {
                    graphs
                        .get_mut(&format!("crate::{}", module[0]))
                        .expect("family graph")
                        .entry(module[1].clone())
                        .or_default()
                        .insert(target[1].clone());
                }
            }
        }
    }
    graphs
}

/// The strongly connected components with more than one node (Tarjan):
/// each one's members, and one circle through them spelled out.
fn cycles(g: &Graph) -> Vec<(Vec<String>, Vec<String>)> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        sccs: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let g = s.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                s.sccs.push(scc);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    // One circle per component: walk from its smallest node back to itself
    // (breadth first, inside the component).
    s.sccs
        .iter()
        .map(|scc| {
            let members: BTreeSet<&str> = scc.iter().copied().collect();
            let start = *members.iter().next().expect("non-empty");
            let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut last = start;
            'bfs: while let Some(v) = queue.pop_front() {
                for w in g.get(v).into_iter().flatten() {
                    let w = w.as_str();
                    if !members.contains(w) {
                        continue;
                    }
                    if w == start {
                        last = v;
                        break 'bfs;
                    }
                    if !prev.contains_key(w) {
                        prev.insert(w, v);
                        queue.push_back(w);
                    }
                }
            }
            let mut circle = vec![start.to_string()];
            let mut v = last;
            while v != start {
                circle.push(v.to_string());
                v = prev[v];
            }
            circle.push(start.to_string());
            let n = circle.len();
            circle[1..n - 1].reverse();
            (members.iter().map(|m| m.to_string()).collect(), circle)
        })
        .collect()
}

#[test]
fn no_module_imports_itself_around_a_circle() {
    let crates = workspace().join("crates");
    let mut dirs: Vec<_> = fs::read_dir(&crates)
        .expect("crates/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    let mut found = Vec::new();
    let mut edges = 0;
    for dir in &dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        for (scope, graph) in module_graphs(&dir.join("src")) {
            edges += graph.values().map(BTreeSet::len).sum::<usize>();
            for (members, circle) in cycles(&graph) {
                found.push(format!(
                    "crates/{name}: {scope}: {} (modules that reach one another: {})",
                    circle.join(" -> "),
                    members.join(", ")
                ));
            }
        }
    }
    // The scanner must see the imports at all.
    assert!(edges > 50, "only {edges} module references found");
    assert!(
        found.is_empty(),
        "module circles:\n{}\nmove what both sides need into a module both import",
        found.join("\n")
    );
}

#[test]
fn the_scanner_reads_paths_and_finds_circles() {
    let module = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let refs = references(
        "use crate::{db_err, jobs, page::Page};\n\
         use super::volumes::{a, b as c};\n\
         // crate::comment::Ignored\n\
         let s = \"crate::string::Ignored\";\n\
         fn f() { super::super::top::g(); self::inner::h(); }\n\
         #[cfg(test)]\nmod tests { use super::*; use crate::tested::X; }\n",
        &module("cinder::attachments"),
    );
    let firsts: BTreeSet<String> = refs.iter().map(|r| r.join("::")).collect();
    let want: BTreeSet<String> = [
        "db_err",
        "jobs",
        "page::Page",
        "cinder::volumes::a",
        "cinder::volumes::b",
        "top::g",
        "cinder::attachments::inner::h",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(firsts, want);

    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    let found = cycles(&g);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, vec!["a", "b", "c"]);
    assert_eq!(found[0].1, vec!["a", "b", "c", "a"]);
}
