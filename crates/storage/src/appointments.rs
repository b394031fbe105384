//! Appointments: weekly slot templates, the holiday calendar, slots with their capacity,
//! and bookings. Taking a place is one conditional UPDATE, so no slot is ever overbooked.

use crate::bulk::{BATCH, values_list};
use crate::error::decode;
use crate::{Result, StorageError};
use exitentry_domain::states::AppointmentState;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub office_code: String,
    pub service: String,
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// `HH:MM`, Beijing time.
    pub opens: String,
    pub closes: String,
    pub slot_minutes: i64,
    pub capacity: i64,
}

/// Replaces the weekly template of one service at one office.
pub async fn set_template(
    conn: &mut AnyConnection,
    office: &str,
    service: &str,
    lines: &[TemplateRow],
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM slot_templates WHERE office_code = $1 AND service = $2")
        .bind(office.to_string())
        .bind(service.to_string())
        .execute(&mut *conn)
        .await?;
    for l in lines {
        sqlx::query(
            "INSERT INTO slot_templates (office_code, service, weekday, opens, closes, slot_minutes, \
             capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(office.to_string())
        .bind(service.to_string())
        .bind(l.weekday)
        .bind(l.opens.clone())
        .bind(l.closes.clone())
        .bind(l.slot_minutes)
        .bind(l.capacity)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Template lines of an office, for one service or (with `None`) all.
pub async fn templates(
    conn: &mut AnyConnection,
    office: &str,
    service: Option<&str>,
) -> Result<Vec<TemplateRow>> {
    let rows = sqlx::query(
        "SELECT office_code, service, weekday, opens, closes, slot_minutes, capacity FROM slot_templates \
         WHERE office_code = $1 AND ($2 = '' OR service = $2) ORDER BY service, weekday, opens",
    )
    .bind(office.to_string())
    .bind(service.unwrap_or("").to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TemplateRow {
                office_code: r.try_get("office_code")?,
                service: r.try_get("service")?,
                weekday: r.try_get("weekday")?,
                opens: r.try_get("opens")?,
                closes: r.try_get("closes")?,
                slot_minutes: r.try_get("slot_minutes")?,
                capacity: r.try_get("capacity")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The holiday calendar (`mainland`, `hong_kong`) of a day without an office; empty for
    /// an office's own day.
    pub calendar: String,
    /// Empty for a calendar's days.
    pub office_code: String,
    /// `holiday`, `workday` (make-up working day) or `closure`.
    pub kind: String,
    pub name: String,
}

pub async fn put_day(conn: &mut AnyConnection, d: &CalendarDay, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO calendar_days (day, calendar, office_code, kind, name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (day, calendar, office_code) DO UPDATE SET kind = $4, name = $5",
    )
    .bind(d.day.clone())
    .bind(d.calendar.clone())
    .bind(d.office_code.clone())
    .bind(d.kind.clone())
    .bind(d.name.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes a calendar's day (`office` empty) or an office's own day (`calendar` empty).
pub async fn remove_day(
    conn: &mut AnyConnection,
    day: &str,
    calendar: &str,
    office: &str,
) -> Result<bool> {
    let r = sqlx::query(
        "DELETE FROM calendar_days WHERE day = $1 AND calendar = $2 AND office_code = $3",
    )
    .bind(day.to_string())
    .bind(calendar.to_string())
    .bind(office.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The days of one holiday calendar and (when `office` is given) that office's own days,
/// from..=to.
pub async fn calendar(
    conn: &mut AnyConnection,
    calendar: &str,
    office: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<CalendarDay>> {
    let rows = sqlx::query(
        "SELECT day, calendar, office_code, kind, name FROM calendar_days \
         WHERE day >= $1 AND day <= $2 \
         AND ((office_code = '' AND calendar = $3) OR (office_code <> '' AND office_code = $4)) \
         ORDER BY day, office_code",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(calendar.to_string())
    .bind(office.unwrap_or("").to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CalendarDay {
                day: r.try_get("day")?,
                calendar: r.try_get("calendar")?,
                office_code: r.try_get("office_code")?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub id: i64,
    pub office_code: String,
    pub service: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub booked: i64,
}

fn slot(r: &AnyRow) -> Result<SlotRow> {
    Ok(SlotRow {
        id: r.try_get("id")?,
        office_code: r.try_get("office_code")?,
        service: r.try_get("service")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        capacity: r.try_get("capacity")?,
        booked: r.try_get("booked")?,
    })
}

const SLOT_COLUMNS: &str = "id, office_code, service, starts_at, ends_at, capacity, booked";

/// Opens slots `(start, end, capacity)`; slots that already exist are left as they are.
/// Returns how many were new.
pub async fn open_slots(
    conn: &mut AnyConnection,
    office: &str,
    service: &str,
    slots: &[(i64, i64, i64)],
) -> Result<u64> {
    let mut n = 0;
    for chunk in slots.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO slots (office_code, service, starts_at, ends_at, capacity, booked) VALUES {} \
             ON CONFLICT (office_code, service, starts_at) DO NOTHING",
            values_list(chunk.len(), 6)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (s, e, c) in chunk {
            q = q
                .bind(office.to_string())
                .bind(service.to_string())
                .bind(*s)
                .bind(*e)
                .bind(*c)
                .bind(0_i64);
        }
        n += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(n)
}

/// Slots of one service at one office starting in [from, to).
pub async fn slots(
    conn: &mut AnyConnection,
    office: &str,
    service: &str,
    from: i64,
    to: i64,
) -> Result<Vec<SlotRow>> {
    let sql = format!(
        "SELECT {SLOT_COLUMNS} FROM slots WHERE office_code = $1 AND service = $2 \
         AND starts_at >= $3 AND starts_at < $4 ORDER BY starts_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office.to_string())
        .bind(service.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(slot).collect()
}

pub async fn slot_at(
    conn: &mut AnyConnection,
    office: &str,
    service: &str,
    starts_at: i64,
) -> Result<Option<SlotRow>> {
    let sql = format!(
        "SELECT {SLOT_COLUMNS} FROM slots WHERE office_code = $1 AND service = $2 AND starts_at = $3"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office.to_string())
        .bind(service.to_string())
        .bind(starts_at)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(slot).transpose()
}

/// Takes one place in the slot, or returns `false` when it is full. One statement: on
/// PostgreSQL the row lock makes a second writer re-check `booked < capacity`; SQLite
/// runs writers one at a time.
pub async fn take_place(conn: &mut AnyConnection, slot_id: i64) -> Result<bool> {
    let r = sqlx::query("UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity")
        .bind(slot_id)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn release_place(conn: &mut AnyConnection, slot_id: i64) -> Result<()> {
    sqlx::query("UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0")
        .bind(slot_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the slots of an office in [from, to) that nobody has booked (a closure);
/// returns how many were removed and how many booked slots remain.
pub async fn close_slots(
    conn: &mut AnyConnection,
    office: &str,
    from: i64,
    to: i64,
) -> Result<(u64, i64)> {
    let removed = sqlx::query(
        "DELETE FROM slots WHERE office_code = $1 AND starts_at >= $2 AND starts_at < $3 AND booked = 0 \
         AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = slots.id)",
    )
    .bind(office.to_string())
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM slots WHERE office_code = $1 AND starts_at >= $2 AND starts_at < $3",
    )
    .bind(office.to_string())
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    Ok((removed, left))
}

/// Removes unbooked slots on a public holiday at every office that follows `calendar`;
/// returns how many were removed and how many booked slots remain.
pub async fn close_slots_in_calendar(
    conn: &mut AnyConnection,
    calendar: &str,
    from: i64,
    to: i64,
) -> Result<(u64, i64)> {
    let removed = sqlx::query(
        "DELETE FROM slots WHERE starts_at >= $1 AND starts_at < $2 AND booked = 0 \
         AND office_code IN (SELECT code FROM offices WHERE calendar = $3) \
         AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = slots.id)",
    )
    .bind(from)
    .bind(to)
    .bind(calendar.to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM slots WHERE starts_at >= $1 AND starts_at < $2 \
         AND office_code IN (SELECT code FROM offices WHERE calendar = $3)",
    )
    .bind(from)
    .bind(to)
    .bind(calendar.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok((removed, left))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRow {
    pub id: String,
    pub reference: String,
    pub slot_id: i64,
    pub office_code: String,
    pub service: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub id_kind: String,
    pub id_number: String,
    pub name: String,
    pub person_id: Option<i64>,
    pub mobile: Option<String>,
    pub channel: String,
    pub booked_by: String,
    pub status: AppointmentState,
    pub created_at: i64,
    pub checked_in_at: Option<i64>,
}

const APPT_COLUMNS: &str = "id, reference, slot_id, office_code, service, starts_at, ends_at, id_kind, \
     id_number, name, person_id, mobile, channel, booked_by, status, created_at, checked_in_at";

fn appointment(r: &AnyRow) -> Result<AppointmentRow> {
    Ok(AppointmentRow {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        slot_id: r.try_get("slot_id")?,
        office_code: r.try_get("office_code")?,
        service: r.try_get("service")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        id_kind: r.try_get("id_kind")?,
        id_number: r.try_get("id_number")?,
        name: r.try_get("name")?,
        person_id: r.try_get("person_id")?,
        mobile: r.try_get("mobile")?,
        channel: r.try_get("channel")?,
        booked_by: r.try_get("booked_by")?,
        status: decode(r, "status")?,
        created_at: r.try_get("created_at")?,
        checked_in_at: r.try_get("checked_in_at")?,
    })
}

/// Records a booking; a second active booking for the same person and service is a
/// `Conflict` (the partial unique index decides, whatever the timing).
pub async fn insert(conn: &mut AnyConnection, a: &AppointmentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO appointments (id, reference, slot_id, office_code, service, starts_at, ends_at, \
         id_kind, id_number, name, person_id, mobile, channel, booked_by, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
    )
    .bind(a.id.clone())
    .bind(a.reference.clone())
    .bind(a.slot_id)
    .bind(a.office_code.clone())
    .bind(a.service.clone())
    .bind(a.starts_at)
    .bind(a.ends_at)
    .bind(a.id_kind.clone())
    .bind(a.id_number.clone())
    .bind(a.name.clone())
    .bind(a.person_id)
    .bind(a.mobile.clone())
    .bind(a.channel.clone())
    .bind(a.booked_by.clone())
    .bind(a.status.code())
    .bind(a.created_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "active appointment"))?;
    Ok(())
}

async fn one(
    conn: &mut AnyConnection,
    column: &str,
    value: &str,
) -> Result<Option<AppointmentRow>> {
    let sql = format!("SELECT {APPT_COLUMNS} FROM appointments WHERE {column} = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(appointment).transpose()
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<AppointmentRow>> {
    one(conn, "id", id).await
}

pub async fn by_reference(
    conn: &mut AnyConnection,
    reference: &str,
) -> Result<Option<AppointmentRow>> {
    one(conn, "reference", reference).await
}

/// The person's active booking for a service, if any.
pub async fn active_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
    service: &str,
) -> Result<Option<AppointmentRow>> {
    let sql = format!(
        "SELECT {APPT_COLUMNS} FROM appointments WHERE id_kind = $1 AND id_number = $2 \
         AND service = $3 AND status = $4"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id_kind.to_string())
        .bind(id_number.to_string())
        .bind(service.to_string())
        .bind(AppointmentState::Booked.code())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(appointment).transpose()
}

/// Bookings of one identity, newest slot first.
pub async fn for_identity(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Vec<AppointmentRow>> {
    let sql = format!(
        "SELECT {APPT_COLUMNS} FROM appointments WHERE id_kind = $1 AND id_number = $2 \
         ORDER BY starts_at DESC LIMIT 100"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id_kind.to_string())
        .bind(id_number.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(appointment).collect()
}

/// Start times of the identity's no-shows since `since`.
pub async fn no_shows_since(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
    since: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT starts_at FROM appointments WHERE id_kind = $1 AND id_number = $2 \
         AND status = $4 AND starts_at >= $3",
    )
    .bind(id_kind.to_string())
    .bind(id_number.to_string())
    .bind(since)
    .bind(AppointmentState::NoShow.code())
    .fetch_all(&mut *conn)
    .await?)
}

/// Moves a booking from `from` to `to` status; `false` when it was not in `from`.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: AppointmentState,
    to: AppointmentState,
    now: i64,
) -> Result<bool> {
    debug_assert!(from.can_become(to), "{from} -> {to}");
    let checked_in = (to == AppointmentState::CheckedIn).then_some(now);
    let r = sqlx::query(
        "UPDATE appointments SET status = $3, updated_at = $4, \
         checked_in_at = COALESCE($5, checked_in_at) WHERE id = $1 AND status = $2",
    )
    .bind(id.to_string())
    .bind(from.code())
    .bind(to.code())
    .bind(now)
    .bind(checked_in)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Moves an active booking from slot `from_slot` to another slot; `false` when it is no
/// longer active or was moved meanwhile (so a place is never released twice).
pub async fn move_to(
    conn: &mut AnyConnection,
    id: &str,
    from_slot: i64,
    slot: &SlotRow,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE appointments SET slot_id = $2, office_code = $3, starts_at = $4, ends_at = $5, \
         updated_at = $6 WHERE id = $1 AND status = $8 AND slot_id = $7",
    )
    .bind(id.to_string())
    .bind(slot.id)
    .bind(slot.office_code.clone())
    .bind(slot.starts_at)
    .bind(slot.ends_at)
    .bind(now)
    .bind(from_slot)
    .bind(AppointmentState::Booked.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks bookings whose slot ended before `now` without a check-in as no-shows; returns them.
pub async fn mark_no_shows(conn: &mut AnyConnection, now: i64) -> Result<Vec<AppointmentRow>> {
    let sql = format!(
        "UPDATE appointments SET status = $2, updated_at = $1 \
         WHERE status = $3 AND ends_at < $1 RETURNING {APPT_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(AppointmentState::NoShow.code())
        .bind(AppointmentState::Booked.code())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(appointment).collect()
}

/// Bookings at an office with slots in [from, to), for the day's measures and lists.
pub async fn at_office(
    conn: &mut AnyConnection,
    office: &str,
    from: i64,
    to: i64,
) -> Result<Vec<AppointmentRow>> {
    let sql = format!(
        "SELECT {APPT_COLUMNS} FROM appointments WHERE office_code = $1 AND starts_at >= $2 \
         AND starts_at < $3 ORDER BY starts_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(appointment).collect()
}
