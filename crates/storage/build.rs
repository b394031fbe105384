//! Lists the migrations for `src/migrations.rs`: each `migrations/schema/NNNN_what.sql` (one
//! source for both backends), or a pair `migrations/{sqlite,postgres}/NNNN_what.sql` where the
//! backends differ throughout. A version written both ways, or half a pair, fails the build.
#![allow(clippy::expect_used)] // a build script reports a broken tree by stopping the build

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The `.sql` files of one folder by version: `(file name, path)`. A missing folder is empty.
fn folder(dir: &Path) -> BTreeMap<i64, (String, PathBuf)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("read the migrations folder").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a migration's file name is UTF-8")
            .to_string();
        let Some((version, rest)) = name.split_once('_') else {
            continue;
        };
        if !rest.ends_with(".sql") {
            continue;
        }
        let version: i64 = version
            .parse()
            .unwrap_or_else(|_| panic!("{name}: a migration's name starts with its number"));
        if let Some((other, _)) = out.insert(version, (name.clone(), path)) {
            panic!("{name} and {other} share the number {version}");
        }
    }
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let schema = folder(&root.join("schema"));
    let sqlite = folder(&root.join("sqlite"));
    let postgres = folder(&root.join("postgres"));

    let mut code = String::from("static SOURCES: &[Source] = &[\n");
    let versions: std::collections::BTreeSet<i64> = schema
        .keys()
        .chain(sqlite.keys())
        .chain(postgres.keys())
        .copied()
        .collect();
    for version in versions {
        let (name, text) = match (
            schema.get(&version),
            sqlite.get(&version),
            postgres.get(&version),
        ) {
            (Some((name, path)), None, None) => {
                (name, format!("Text::Shared(include_str!({path:?}))"))
            }
            (None, Some((name, lite)), Some((pg_name, pg))) if name == pg_name => (
                name,
                format!(
                    "Text::Split {{ sqlite: include_str!({lite:?}), postgres: include_str!({pg:?}) }}"
                ),
            ),
            _ => panic!(
                "migration {version:04}: write it once in migrations/schema, or as the same file \
                 name in both migrations/sqlite and migrations/postgres"
            ),
        };
        // sqlx's own naming: the description is the name without number and `.sql`, `_` as space.
        let description = name
            .split_once('_')
            .map(|(_, rest)| rest.trim_end_matches(".sql").replace('_', " "))
            .expect("checked by folder()");
        writeln!(
            code,
            "    Source {{ version: {version}, description: {description:?}, text: {text} }},"
        )
        .expect("write to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("migrations.rs"), code).expect("write the migrations list");
}
