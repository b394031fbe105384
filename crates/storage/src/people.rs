//! People: batch inserts for imports and demo data, lookups for the registry search.

use crate::Result;
use crate::bulk::{self, Dialect, LOOKUP_BATCH, insert_batches};
use crate::codes::Code;
use crate::statement::{Binds, all, execute, optional, scalar, scalar_optional, select};
use chrono::NaiveDate;
use exitentry_domain::ids::IdKind;
use exitentry_domain::person::{Names, Nationality, Region, Sex};
use sqlx::{AnyConnection, AssertSqlSafe};

/// A person as the registry holds them. Identity numbers were validated on the way in;
/// reading trusts their canonical form.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRecord {
    pub external_id: String,
    #[sqlx(flatten, try_from = "NameColumns")]
    pub names: Names,
    #[sqlx(try_from = "Code<Sex>")]
    pub sex: Sex,
    #[sqlx(try_from = "Code<NaiveDate>")]
    pub date_of_birth: NaiveDate,
    #[sqlx(try_from = "Code<Region>")]
    pub region: Region,
    #[sqlx(try_from = "Code<Nationality>")]
    pub nationality: Nationality,
    #[sqlx(try_from = "Code<IdKind>")]
    pub id_kind: IdKind,
    pub id_number: String,
    /// Mainland residents: the household registration's division code, when known.
    pub hukou_area: Option<String>,
}

/// The two name columns, read as one `Names`.
#[derive(sqlx::FromRow)]
pub(crate) struct NameColumns {
    name_zh: Option<String>,
    name_latin: String,
}

impl From<NameColumns> for Names {
    fn from(n: NameColumns) -> Names {
        Names {
            zh: n.name_zh,
            latin: n.name_latin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPerson {
    pub id: i64,
    #[sqlx(flatten)]
    pub person: PersonRecord,
}

const COLUMNS: &str = "id, external_id, name_zh, name_latin, sex, date_of_birth, region, \
     nationality, id_kind, id_number, hukou_area";

/// Inserts people not yet present (by `external_id`); returns how many were new. Callers
/// run it inside their transaction and check identity clashes beforehand
/// ([`find_identity_owners`]); a clash that slips through is a `Conflict`.
pub async fn insert_new(
    conn: &mut AnyConnection,
    people: &[PersonRecord],
    now: i64,
) -> Result<u64> {
    let statement = |dialect: Dialect, rows| {
        format!(
            "INSERT INTO people (external_id, name_zh, name_latin, sex, date_of_birth, region, \
             nationality, id_kind, id_number, hukou_area, created_at, updated_at) VALUES {} \
             ON CONFLICT (external_id) DO NOTHING",
            dialect.rows(rows, 12)
        )
    };
    insert_batches(conn, people, 12, statement, person_values, (now, now))
        .await
        .map_err(|e| e.or_conflict("identity number already registered"))
}

/// Inserts people an import has checked are not registered yet; a clash is a `Conflict`.
pub async fn insert_all_new(
    conn: &mut AnyConnection,
    people: &[PersonRecord],
    now: i64,
) -> Result<u64> {
    let into = "people (external_id, name_zh, name_latin, sex, date_of_birth, region, \
                nationality, id_kind, id_number, hukou_area, created_at, updated_at)";
    let what = "a person of the file was registered while it was imported";
    bulk::insert_all_new(conn, people, (into, 12), person_values, (now, now), what).await
}

fn person_values(p: &PersonRecord) -> impl Binds + '_ {
    (
        p.external_id.as_str(),
        p.names.zh.as_deref(),
        p.names.latin.as_str(),
        p.sex.code(),
        p.date_of_birth.to_string(),
        p.region.code(),
        p.nationality.code(),
        p.id_kind.code(),
        p.id_number.as_str(),
        p.hukou_area.as_deref(),
    )
}

/// Who holds an identity number.
#[derive(sqlx::FromRow)]
struct Owner {
    #[sqlx(try_from = "Code<IdKind>")]
    id_kind: IdKind,
    id_number: String,
    external_id: String,
}

/// For each `(id_kind, id_number)` already in the registry, who holds it (external id).
pub async fn find_identity_owners(
    conn: &mut AnyConnection,
    numbers: &[(IdKind, String)],
) -> Result<Vec<(IdKind, String, String)>> {
    let mut out = Vec::new();
    let dialect = Dialect::of(conn);
    for chunk in numbers.chunks(LOOKUP_BATCH) {
        let sql = format!(
            "SELECT id_kind, id_number, external_id FROM people WHERE id_number IN ({})",
            dialect.list(1, chunk.len())
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for (_, n) in chunk {
            q = q.bind(n);
        }
        let owners: Vec<Owner> = q.fetch_all(&mut *conn).await?;
        for o in owners {
            if chunk
                .iter()
                .any(|(k, n)| *k == o.id_kind && *n == o.id_number)
            {
                out.push((o.id_kind, o.id_number, o.external_id));
            }
        }
    }
    Ok(out)
}

/// What a document import checks of its holder.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holder {
    pub id: i64,
    pub external_id: String,
    #[sqlx(try_from = "Code<Sex>")]
    pub sex: Sex,
    #[sqlx(try_from = "Code<NaiveDate>")]
    pub date_of_birth: NaiveDate,
    #[sqlx(try_from = "Code<Region>")]
    pub region: Region,
    #[sqlx(try_from = "Code<Nationality>")]
    pub nationality: Nationality,
}

/// Holders by external id, with only what a document import checks.
pub async fn holders(conn: &mut AnyConnection, ids: &[&str]) -> Result<Vec<Holder>> {
    let mut out = Vec::with_capacity(ids.len());
    let dialect = Dialect::of(conn);
    for chunk in ids.chunks(LOOKUP_BATCH) {
        let sql = select(
            "id, external_id, sex, date_of_birth, region, nationality",
            &format!(
                "people WHERE external_id IN ({})",
                dialect.list(1, chunk.len())
            ),
        );
        let mut q = sqlx::query_as(sql);
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// People by external id (for imports that reference them).
pub async fn by_external_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<Vec<StoredPerson>> {
    let mut out = Vec::with_capacity(ids.len());
    let dialect = Dialect::of(conn);
    for chunk in ids.chunks(LOOKUP_BATCH) {
        let sql = select(
            COLUMNS,
            &format!(
                "people WHERE external_id IN ({})",
                dialect.list(1, chunk.len())
            ),
        );
        let mut q = sqlx::query_as(sql);
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<StoredPerson>> {
    optional(conn, select(COLUMNS, "people WHERE id = $1"), (id,)).await
}

/// People whose identity number is exactly `number` (any kind).
pub async fn by_id_number(conn: &mut AnyConnection, number: &str) -> Result<Vec<StoredPerson>> {
    let sql = select(COLUMNS, "people WHERE id_number = $1 ORDER BY id");
    all(conn, sql, (number,)).await
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    scalar(conn, "SELECT COUNT(*) FROM people", ()).await
}

/// Whether there are no people at all (without counting them).
pub async fn none(conn: &mut AnyConnection) -> Result<bool> {
    let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM people LIMIT 1) AS one";
    Ok(scalar::<i64>(conn, sql, ()).await? == 0)
}

/// Records where a person's household registration is now (an officer saw the hukou
/// booklet); returns the previous value, or `None` when there is no such person.
pub async fn set_hukou_area(
    conn: &mut AnyConnection,
    id: i64,
    area: &str,
    now: i64,
) -> Result<Option<Option<String>>> {
    let sql = "SELECT hukou_area FROM people WHERE id = $1";
    let Some(before) = scalar_optional(conn, sql, (id,)).await? else {
        return Ok(None);
    };
    let sql = "UPDATE people SET hukou_area = $2, updated_at = $3 WHERE id = $1";
    execute(conn, sql, (id, area, now)).await?;
    Ok(Some(before))
}
