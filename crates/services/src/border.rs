//! Border control records exits and entries against endorsements: an exit needs a valid
//! permit and a valid endorsement with a trip left (taken atomically); an entry is always
//! recorded and flagged when the stay ran past the endorsement's limit.

use crate::partners::PartnerContext;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, NaiveDate, Utc};
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::endorsements::{self as rules, Destination, Issued, Trips};
use exitentry_domain::partners::Scope;
use exitentry_domain::states::EndorsementState;
use exitentry_domain::time::cst;
use exitentry_storage::documents;
use exitentry_storage::endorsements::{self as store, CrossingRow, EndorsementRow};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct CrossingRequest {
    pub document_number: String,
    /// `hong_kong` or `macao`.
    pub destination: String,
    /// `exit` or `entry`.
    pub direction: String,
    /// RFC 3339.
    pub at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CrossingAnswer {
    pub allowed: bool,
    /// `ok`, `unknown_permit`, `permit_expired`, `permit_invalid`, `no_endorsement`,
    /// `endorsement_expired`, `no_trips_left`; on entry `ok`, `overstay` or `no_exit_on_record`.
    pub reason: &'static str,
    /// Trips left on the endorsement used; `None` for multiple-trip endorsements or when none applies.
    pub trips_left: Option<i64>,
}

/// The answers a crossing can have (a stored one is mapped back to these).
const REASONS: [&str; 9] = [
    "ok",
    "unknown_permit",
    "permit_expired",
    "permit_invalid",
    "no_endorsement",
    "endorsement_expired",
    "no_trips_left",
    "overstay",
    "no_exit_on_record",
];

fn date(s: &str) -> Option<NaiveDate> {
    s.parse().ok()
}

fn issued(e: &EndorsementRow) -> Option<Issued> {
    Some(Issued {
        valid_from: date(&e.valid_from)?,
        valid_until: date(&e.valid_until)?,
        trips: match e.trips_allowed {
            Some(n) => Trips::Count(u32::try_from(n).ok()?),
            None => Trips::Multiple,
        },
        trips_used: u32::try_from(e.trips_used).ok()?,
        stay_days: u32::try_from(e.stay_days).ok()?,
    })
}

/// Records a crossing reported by border control (a partner with the `border` scope).
pub async fn crossing(
    app: &App,
    partner: &PartnerContext,
    req: &CrossingRequest,
) -> Result<CrossingAnswer> {
    partner.require(Scope::Border)?;
    let destination = Destination::parse(&req.destination).at_field("destination")?;
    let exit = match req.direction.trim() {
        "exit" => true,
        "entry" => false,
        _ => {
            return Err(ServiceError::bad_input(
                "direction",
                ErrorCode::BadDirection,
                "direction is exit or entry",
            ));
        }
    };
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(req.at.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ServiceError::bad_input(
                "at",
                ErrorCode::BadTime,
                "at is a time such as 2026-12-01T08:30:00+08:00",
            )
        })?;
    let on = at.with_timezone(&cst()).date_naive();
    let number = req.document_number.trim().to_ascii_uppercase();
    if number.is_empty() || number.len() > 20 {
        return Err(ServiceError::bad_input(
            "document_number",
            ErrorCode::BadDocumentNumber,
            "give the permit's number",
        ));
    }
    let actor = format!("partner:{}:{}", partner.name, partner.key_id);
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let permit = documents::current_eep(&mut tx, &number).await?;
    let Some(permit) = permit else {
        return Ok(CrossingAnswer {
            allowed: false,
            reason: "unknown_permit",
            trips_left: None,
        });
    };
    // A retry of a crossing already recorded gets the same answer and uses no second trip.
    if let Some((allowed, reason, endorsement_id)) = store::same_crossing(
        &mut tx,
        permit.id,
        destination.code(),
        if exit { "exit" } else { "entry" },
        at.timestamp_micros(),
    )
    .await?
    {
        let trips_left = match endorsement_id {
            Some(id) => store::get(&mut tx, id)
                .await?
                .and_then(|e| e.trips_allowed.map(|n| n - e.trips_used)),
            None => None,
        };
        let reason = REASONS
            .iter()
            .copied()
            .find(|r| *r == reason)
            .unwrap_or("ok");
        return Ok(CrossingAnswer {
            allowed,
            reason,
            trips_left,
        });
    }
    let answer = |allowed, reason, trips_left, endorsement_id| {
        (
            CrossingAnswer {
                allowed,
                reason,
                trips_left,
            },
            endorsement_id,
        )
    };
    let (result, endorsement_id): (CrossingAnswer, Option<i64>) = if exit {
        let status = app.document_status(&permit.doc, on);
        match status {
            DocumentStatus::Valid => {
                let all = store::for_document(&mut tx, permit.id, Some(destination.code())).await?;
                let live: Vec<(EndorsementRow, Issued)> = all
                    .into_iter()
                    .filter(|e| e.status == EndorsementState::Valid)
                    .filter_map(|e| issued(&e).map(|i| (e, i)))
                    .collect();
                if live.is_empty() {
                    answer(false, "no_endorsement", None, None)
                } else {
                    let mut refusal = "endorsement_expired";
                    let mut chosen = None;
                    // The endorsement ending soonest goes first, so longer ones are kept.
                    let mut usable: Vec<&(EndorsementRow, Issued)> = live.iter().collect();
                    usable.sort_by_key(|(_, i)| i.valid_until);
                    for (row, i) in usable {
                        match rules::exit_allowed(i, on) {
                            Ok(()) => {
                                if store::take_trip(&mut tx, row.id, now).await? {
                                    chosen = Some((row.clone(), *i));
                                    break;
                                }
                                refusal = "no_trips_left";
                            }
                            Err("no_trips_left") => refusal = "no_trips_left",
                            Err(_) => {}
                        }
                    }
                    match chosen {
                        Some((row, i)) => {
                            let left = i.trips_left().map(|n| i64::from(n) - 1);
                            answer(true, "ok", left, Some(row.id))
                        }
                        None => answer(false, refusal, None, None),
                    }
                }
            }
            DocumentStatus::Expired => answer(false, "permit_expired", None, None),
            _ => answer(false, "permit_invalid", None, None),
        }
    } else {
        match store::last_crossing(
            &mut tx,
            permit.id,
            destination.code(),
            at.timestamp_micros(),
        )
        .await?
        {
            Some(last) if last.direction == "exit" => {
                let e = match last.endorsement_id {
                    Some(id) => store::get(&mut tx, id).await?,
                    None => None,
                };
                let left = exitentry_storage::from_micros(last.at)
                    .with_timezone(&cst())
                    .date_naive();
                let over = e.as_ref().is_some_and(|e| {
                    rules::overstayed(u32::try_from(e.stay_days).unwrap_or(0), left, on)
                });
                let trips_left = e
                    .as_ref()
                    .and_then(|e| e.trips_allowed.map(|n| n - e.trips_used));
                answer(
                    true,
                    if over { "overstay" } else { "ok" },
                    trips_left,
                    last.endorsement_id,
                )
            }
            _ => answer(true, "no_exit_on_record", None, None),
        }
    };
    store::record_crossing(
        &mut tx,
        &CrossingRow {
            id: 0,
            document_id: permit.id,
            endorsement_id,
            destination: destination.code().to_string(),
            direction: if exit { "exit" } else { "entry" }.to_string(),
            at: at.timestamp_micros(),
            allowed: result.allowed,
            reason: result.reason.to_string(),
        },
        &actor,
        now,
    )
    .await?;
    if result.reason == "overstay" {
        audit::record(
            app,
            &mut tx,
            &actor,
            "border.overstay",
            &format!("document:{}", permit.doc.number),
            json!({"destination": destination.code(), "at": at.to_rfc3339()}),
        )
        .await?;
    }
    tx.commit().await?;
    metrics::counter!("exitentry_border_crossings_total", "direction" => if exit { "exit" } else { "entry" }, "reason" => result.reason)
        .increment(1);
    Ok(result)
}

/// A permit's endorsements, for pages and the kiosk.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EndorsementView {
    pub destination: String,
    pub kind: String,
    pub trips: String,
    pub trips_left: Option<i64>,
    pub valid_from: String,
    pub valid_until: String,
    pub stay_days: i64,
    pub status: String,
}

pub async fn endorsements_of(app: &App, document_id: i64) -> Result<Vec<EndorsementView>> {
    let mut conn = app.db.conn().await?;
    Ok(store::for_document(&mut conn, document_id, None)
        .await?
        .into_iter()
        .map(|e| EndorsementView {
            trips: e
                .trips_allowed
                .map(|n| n.to_string())
                .unwrap_or_else(|| "multiple".into()),
            trips_left: e.trips_allowed.map(|n| n - e.trips_used),
            destination: e.destination,
            kind: e.kind,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            stay_days: e.stay_days,
            status: e.status.code().to_string(),
        })
        .collect())
}
