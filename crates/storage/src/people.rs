//! People: batch inserts for imports and demo data, lookups for the registry search.

use crate::bulk::{BATCH, placeholders, values_with_timestamps};
use crate::error::corrupt;
use crate::{Result, StorageError};
use chrono::NaiveDate;
use exitentry_domain::ids::IdKind;
use exitentry_domain::person::{Names, Nationality, Region, Sex};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A person as the registry holds them. Identity numbers were validated on the way in;
/// reading trusts their canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub external_id: String,
    pub names: Names,
    pub sex: Sex,
    pub date_of_birth: NaiveDate,
    pub region: Region,
    pub nationality: Nationality,
    pub id_kind: IdKind,
    pub id_number: String,
    /// Mainland residents: the household registration's division code, when known.
    pub hukou_area: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPerson {
    pub id: i64,
    pub person: PersonRecord,
}

const COLUMNS: &str = "id, external_id, name_zh, name_latin, sex, date_of_birth, region, \
                       nationality, id_kind, id_number, hukou_area";

pub(crate) fn from_row(r: &AnyRow) -> Result<StoredPerson> {
    from_row_with_id(r, r.try_get("id")?)
}

/// Reads the person's columns of a joined row whose `id` column is another table's.
pub(crate) fn from_row_with_id(r: &AnyRow, id: i64) -> Result<StoredPerson> {
    let dob: String = r.try_get("date_of_birth")?;
    Ok(StoredPerson {
        id,
        person: PersonRecord {
            external_id: r.try_get("external_id")?,
            names: Names {
                zh: r.try_get("name_zh")?,
                latin: r.try_get("name_latin")?,
            },
            sex: Sex::parse(&r.try_get::<String, _>("sex")?).map_err(corrupt)?,
            date_of_birth: exitentry_domain::person::parse_date(&dob).map_err(corrupt)?,
            region: Region::parse(&r.try_get::<String, _>("region")?).map_err(corrupt)?,
            nationality: Nationality::parse(&r.try_get::<String, _>("nationality")?)
                .map_err(corrupt)?,
            id_kind: IdKind::parse(&r.try_get::<String, _>("id_kind")?).map_err(corrupt)?,
            id_number: r.try_get("id_number")?,
            hukou_area: r.try_get("hukou_area")?,
        },
    })
}

/// Inserts people not yet present (by `external_id`); returns how many were new. Callers
/// run it inside their transaction and check identity clashes beforehand
/// ([`find_identity_owners`]); a clash that slips through is a `Conflict`.
pub async fn insert_new(
    conn: &mut AnyConnection,
    people: &[PersonRecord],
    now: i64,
) -> Result<u64> {
    let mut inserted = 0;
    for chunk in people.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO people (external_id, name_zh, name_latin, sex, date_of_birth, region, \
             nationality, id_kind, id_number, hukou_area, created_at, updated_at) VALUES {} \
             ON CONFLICT (external_id) DO NOTHING",
            values_with_timestamps(chunk.len(), 10)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in chunk {
            q = q
                .bind(p.external_id.clone())
                .bind(p.names.zh.clone())
                .bind(p.names.latin.clone())
                .bind(p.sex.code())
                .bind(p.date_of_birth.to_string())
                .bind(p.region.code())
                .bind(p.nationality.code().to_string())
                .bind(p.id_kind.code())
                .bind(p.id_number.clone())
                .bind(p.hukou_area.clone());
        }
        let res = q
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| StorageError::from_write(e, "identity number already registered"))?;
        inserted += res.rows_affected();
    }
    Ok(inserted)
}

/// For each `(id_kind, id_number)` already in the registry, who holds it (external id).
pub async fn find_identity_owners(
    conn: &mut AnyConnection,
    numbers: &[(IdKind, String)],
) -> Result<Vec<(IdKind, String, String)>> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(BATCH) {
        let sql = format!(
            "SELECT id_kind, id_number, external_id FROM people WHERE id_number IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, n) in chunk {
            q = q.bind(n.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let kind = IdKind::parse(&r.try_get::<String, _>("id_kind")?).map_err(corrupt)?;
            let number: String = r.try_get("id_number")?;
            if chunk.iter().any(|(k, n)| *k == kind && *n == number) {
                out.push((kind, number, r.try_get("external_id")?));
            }
        }
    }
    Ok(out)
}

/// People by external id (for imports that reference them).
pub async fn by_external_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<Vec<StoredPerson>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let sql = format!(
            "SELECT {COLUMNS} FROM people WHERE external_id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(from_row(&r)?);
        }
    }
    Ok(out)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<StoredPerson>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM people WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// People whose identity number is exactly `number` (any kind).
pub async fn by_id_number(conn: &mut AnyConnection, number: &str) -> Result<Vec<StoredPerson>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM people WHERE id_number = $1 ORDER BY id"
    )))
    .bind(number.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(&mut *conn)
        .await?)
}

/// Records where a person's household registration is now (an officer saw the hukou
/// booklet); returns the previous value, or `None` when there is no such person.
pub async fn set_hukou_area(
    conn: &mut AnyConnection,
    id: i64,
    area: &str,
    now: i64,
) -> Result<Option<Option<String>>> {
    let before: Option<Option<String>> =
        sqlx::query_scalar("SELECT hukou_area FROM people WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(before) = before else {
        return Ok(None);
    };
    sqlx::query("UPDATE people SET hukou_area = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(area.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(Some(before))
}
