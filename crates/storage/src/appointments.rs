//! Appointments: weekly slot templates, the holiday calendar, slots with their capacity,
//! and bookings. Taking a place is one conditional UPDATE, so no slot is ever overbooked.

use crate::Result;
use crate::bulk::{Dialect, insert_batches};
use crate::codes::Code;
use crate::statement::{
    all, changed_one, execute, insert_unique, optional, scalar, scalars, select, transition,
};
use exitentry_domain::states::AppointmentState::{self, Booked, CheckedIn, NoShow};
use sqlx::{AnyConnection, AssertSqlSafe};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    let sql = "DELETE FROM slot_templates WHERE office_code = $1 AND service = $2";
    execute(conn, sql, (office, service)).await?;
    let sql = "INSERT INTO slot_templates (office_code, service, weekday, opens, closes, \
               slot_minutes, capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    for l in lines {
        let binds = (
            office,
            service,
            l.weekday,
            &l.opens,
            &l.closes,
            l.slot_minutes,
            l.capacity,
            now,
        );
        execute(conn, sql, binds).await?;
    }
    Ok(())
}

/// Template lines of an office, for one service or (with `None`) all.
pub async fn templates(
    conn: &mut AnyConnection,
    office: &str,
    service: Option<&str>,
) -> Result<Vec<TemplateRow>> {
    let sql = "SELECT office_code, service, weekday, opens, closes, slot_minutes, capacity \
               FROM slot_templates WHERE office_code = $1 AND ($2 = '' OR service = $2) \
               ORDER BY service, weekday, opens";
    all(conn, sql, (office, service.unwrap_or(""))).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    let sql = "INSERT INTO calendar_days (day, calendar, office_code, kind, name, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (day, calendar, office_code) DO UPDATE SET kind = $4, name = $5";
    let binds = (&d.day, &d.calendar, &d.office_code, &d.kind, &d.name, now);
    execute(conn, sql, binds).await?;
    Ok(())
}

/// Removes a calendar's day (`office` empty) or an office's own day (`calendar` empty).
pub async fn remove_day(
    conn: &mut AnyConnection,
    day: &str,
    calendar: &str,
    office: &str,
) -> Result<bool> {
    let sql = "DELETE FROM calendar_days WHERE day = $1 AND calendar = $2 AND office_code = $3";
    Ok(execute(conn, sql, (day, calendar, office)).await? > 0)
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
    let sql = "SELECT day, calendar, office_code, kind, name FROM calendar_days \
               WHERE day >= $1 AND day <= $2 \
               AND ((office_code = '' AND calendar = $3) \
               OR (office_code <> '' AND office_code = $4)) ORDER BY day, office_code";
    all(conn, sql, (from, to, calendar, office.unwrap_or(""))).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SlotRow {
    pub id: i64,
    pub office_code: String,
    pub service: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub booked: i64,
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
    let statement = |dialect: Dialect, rows| {
        format!(
            "INSERT INTO slots (office_code, service, starts_at, ends_at, capacity, booked) \
             VALUES {} ON CONFLICT (office_code, service, starts_at) DO NOTHING",
            dialect.rows(rows, 6)
        )
    };
    let values = |&(starts, ends, capacity): &(i64, i64, i64)| {
        (office, service, starts, ends, capacity, 0_i64)
    };
    insert_batches(conn, slots, 6, statement, values, ()).await
}

/// Slots of one service at one office starting in [from, to).
pub async fn slots(
    conn: &mut AnyConnection,
    office: &str,
    service: &str,
    from: i64,
    to: i64,
) -> Result<Vec<SlotRow>> {
    let rows = "slots WHERE office_code = $1 AND service = $2 AND starts_at >= $3 \
                AND starts_at < $4 ORDER BY starts_at";
    let sql = select(SLOT_COLUMNS, rows);
    all(conn, sql, (office, service, from, to)).await
}

/// An office's earliest slot with a place left.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EarliestFree {
    pub office_code: String,
    pub starts_at: i64,
}

/// Per office, the earliest slot of `service` with a place left starting in [from, to).
pub async fn earliest_free(
    conn: &mut AnyConnection,
    service: &str,
    from: i64,
    to: i64,
) -> Result<Vec<EarliestFree>> {
    let sql = "SELECT office_code, MIN(starts_at) AS starts_at FROM slots \
               WHERE service = $1 AND starts_at >= $2 AND starts_at < $3 AND booked < capacity \
               GROUP BY office_code";
    all(conn, sql, (service, from, to)).await
}

pub async fn slot_at(
    conn: &mut AnyConnection,
    office: &str,
    service: &str,
    starts_at: i64,
) -> Result<Option<SlotRow>> {
    let rows = "slots WHERE office_code = $1 AND service = $2 AND starts_at = $3";
    let sql = select(SLOT_COLUMNS, rows);
    optional(conn, sql, (office, service, starts_at)).await
}

/// Takes one place in the slot, or returns `false` when it is full. One statement: on
/// PostgreSQL the row lock makes a second writer re-check `booked < capacity`; SQLite
/// runs writers one at a time.
pub async fn take_place(conn: &mut AnyConnection, slot_id: i64) -> Result<bool> {
    let sql = "UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity";
    changed_one(conn, sql, (slot_id,)).await
}

pub async fn release_place(conn: &mut AnyConnection, slot_id: i64) -> Result<()> {
    let sql = "UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0";
    execute(conn, sql, (slot_id,)).await?;
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
    let sql = "DELETE FROM slots WHERE office_code = $1 AND starts_at >= $2 AND starts_at < $3 \
               AND booked = 0 \
               AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = slots.id)";
    let removed = execute(conn, sql, (office, from, to)).await?;
    let sql =
        "SELECT COUNT(*) FROM slots WHERE office_code = $1 AND starts_at >= $2 AND starts_at < $3";
    Ok((removed, scalar(conn, sql, (office, from, to)).await?))
}

/// Removes unbooked slots on a public holiday at every office that follows `calendar`;
/// returns how many were removed and how many booked slots remain.
pub async fn close_slots_in_calendar(
    conn: &mut AnyConnection,
    calendar: &str,
    from: i64,
    to: i64,
) -> Result<(u64, i64)> {
    let sql = "DELETE FROM slots WHERE starts_at >= $1 AND starts_at < $2 AND booked = 0 \
               AND office_code IN (SELECT code FROM offices WHERE calendar = $3) \
               AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = slots.id)";
    let removed = execute(conn, sql, (from, to, calendar)).await?;
    let sql = "SELECT COUNT(*) FROM slots WHERE starts_at >= $1 AND starts_at < $2 \
               AND office_code IN (SELECT code FROM offices WHERE calendar = $3)";
    Ok((removed, scalar(conn, sql, (from, to, calendar)).await?))
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    #[sqlx(try_from = "Code<AppointmentState>")]
    pub status: AppointmentState,
    pub created_at: i64,
    pub checked_in_at: Option<i64>,
}

const APPT_COLUMNS: &str = "id, reference, slot_id, office_code, service, starts_at, ends_at, id_kind, \
     id_number, name, person_id, mobile, channel, booked_by, status, created_at, checked_in_at";

/// Records a booking; a second active booking for the same person and service is a
/// `Conflict` (the partial unique index decides, whatever the timing).
pub async fn insert(conn: &mut AnyConnection, a: &AppointmentRow) -> Result<()> {
    let sql = "INSERT INTO appointments (id, reference, slot_id, office_code, service, starts_at, \
         ends_at, id_kind, id_number, name, person_id, mobile, channel, booked_by, status, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)";
    let binds = (
        &a.id,
        &a.reference,
        a.slot_id,
        &a.office_code,
        &a.service,
        a.starts_at,
        a.ends_at,
        &a.id_kind,
        &a.id_number,
        &a.name,
        a.person_id,
        &a.mobile,
        &a.channel,
        &a.booked_by,
        a.status.code(),
        a.created_at,
    );
    insert_unique(conn, sql, binds, "active appointment").await
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<AppointmentRow>> {
    let sql = select(APPT_COLUMNS, "appointments WHERE id = $1");
    optional(conn, sql, (id,)).await
}

pub async fn by_reference(
    conn: &mut AnyConnection,
    reference: &str,
) -> Result<Option<AppointmentRow>> {
    let sql = select(APPT_COLUMNS, "appointments WHERE reference = $1");
    optional(conn, sql, (reference,)).await
}

/// The person's active booking for a service, if any.
pub async fn active_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
    service: &str,
) -> Result<Option<AppointmentRow>> {
    let rows =
        "appointments WHERE id_kind = $1 AND id_number = $2 AND service = $3 AND status = $4";
    let sql = select(APPT_COLUMNS, rows);
    optional(conn, sql, (id_kind, id_number, service, Booked.code())).await
}

/// Bookings of one identity, newest slot first.
pub async fn for_identity(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Vec<AppointmentRow>> {
    let rows =
        "appointments WHERE id_kind = $1 AND id_number = $2 ORDER BY starts_at DESC LIMIT 100";
    all(conn, select(APPT_COLUMNS, rows), (id_kind, id_number)).await
}

/// Start times of the identity's no-shows since `since`.
pub async fn no_shows_since(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
    since: i64,
) -> Result<Vec<i64>> {
    let sql = "SELECT starts_at FROM appointments WHERE id_kind = $1 AND id_number = $2 \
               AND status = $4 AND starts_at >= $3";
    scalars(conn, sql, (id_kind, id_number, since, NoShow.code())).await
}

/// Moves a booking from `from` to `to` status; `false` when it was not in `from`.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: AppointmentState,
    to: AppointmentState,
    now: i64,
) -> Result<bool> {
    let checked_in = (to == CheckedIn).then_some(now);
    let sql = "UPDATE appointments SET status = $3, updated_at = $4, \
               checked_in_at = COALESCE($5, checked_in_at) WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (from, to), (now, checked_in)).await
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
    let sql = "UPDATE appointments SET slot_id = $2, office_code = $3, starts_at = $4, \
               ends_at = $5, updated_at = $6 WHERE id = $1 AND status = $8 AND slot_id = $7";
    let binds = (
        id,
        slot.id,
        &slot.office_code,
        slot.starts_at,
        slot.ends_at,
        now,
        from_slot,
        Booked.code(),
    );
    changed_one(conn, sql, binds).await
}

/// Dialect bookings whose slot ended before `now` without a check-in as no-shows; returns them.
pub async fn mark_no_shows(conn: &mut AnyConnection, now: i64) -> Result<Vec<AppointmentRow>> {
    let sql = format!(
        "UPDATE appointments SET status = $2, updated_at = $1 \
         WHERE status = $3 AND ends_at < $1 RETURNING {APPT_COLUMNS}"
    );
    let binds = (now, NoShow.code(), Booked.code());
    all(conn, AssertSqlSafe(sql), binds).await
}

/// Bookings at an office with slots in [from, to), for the day's measures and lists.
pub async fn at_office(
    conn: &mut AnyConnection,
    office: &str,
    from: i64,
    to: i64,
) -> Result<Vec<AppointmentRow>> {
    let rows = "appointments WHERE office_code = $1 AND starts_at >= $2 AND starts_at < $3 \
                ORDER BY starts_at";
    all(conn, select(APPT_COLUMNS, rows), (office, from, to)).await
}
