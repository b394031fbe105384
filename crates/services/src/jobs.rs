//! Running the job queue: claim a due job, do it outside any transaction (providers may
//! be slow), then record the outcome. Failures are retried with back-off, then given up
//! and shown to staff.

use crate::ErrorCode;
use crate::auth::StaffSession;
use crate::providers::masked_address;
use crate::{App, Result, ServiceError};
use exitentry_domain::staff::Permission;
use exitentry_storage::jobs::{self, Job, OutboxMessage};
use serde_json::json;

/// A claimed job is someone else's to retry only after this lease runs out.
const LEASE_MICROS: i64 = 120_000_000;
/// Attempts before a job is given up.
pub const MAX_ATTEMPTS: i64 = 5;

/// Delay before attempt `n + 1`: 30 s, 1 min, 2 min, 4 min …
fn backoff_micros(attempts: i64) -> i64 {
    30_000_000 << (attempts.clamp(1, 10) - 1)
}

async fn dispatch(app: &App, job: &Job) -> Result<()> {
    let msg: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    match job.kind.as_str() {
        "sms" => match (msg["to"].as_str(), msg["text"].as_str()) {
            (Some(to), Some(text)) => app.providers.sms()?.send(to, text).await,
            _ => Err(crate::ServiceError::Internal("malformed sms job".into())),
        },
        "email" => match (
            msg["to"].as_str(),
            msg["subject"].as_str(),
            msg["body"].as_str(),
        ) {
            (Some(to), Some(subject), Some(body)) => {
                app.providers.email()?.send(to, subject, body).await?;
                // Bodies carry links with tokens: never logged, nor the full address.
                tracing::info!(job = job.id, to_domain = %masked_address(to), "email sent");
                Ok(())
            }
            _ => Err(crate::ServiceError::Internal("malformed email job".into())),
        },
        "appointment_reminder" => match msg["appointment_id"].as_str() {
            // Jobs queued before reminders had a language keep the old default.
            Some(id) => {
                let lang = msg["lang"].as_str().and_then(crate::email::Lang::from_code);
                let lang = lang.unwrap_or(crate::email::Lang::ZhHans);
                crate::appointments::send_reminder(app, id, lang).await
            }
            None => Err(crate::ServiceError::Internal(
                "malformed reminder job".into(),
            )),
        },
        other => Err(crate::ServiceError::Internal(format!(
            "unknown job kind {other}"
        ))),
    }
}

/// Runs every job that is due now; returns how many ran (done or failed).
pub async fn run_due(app: &App) -> Result<usize> {
    let mut ran = 0;
    loop {
        let now = app.now_micros();
        let mut tx = app.db.begin().await?;
        let job = jobs::claim(&mut tx, app.db.backend(), now, LEASE_MICROS).await?;
        tx.commit().await?;
        let Some(job) = job else { return Ok(ran) };
        let outcome = dispatch(app, &job).await;
        let done = app.now_micros();
        let mut conn = app.db.conn().await?;
        match outcome {
            Ok(()) => jobs::complete(&mut conn, job.id, done).await?,
            Err(e) => {
                let retry =
                    (job.attempts < MAX_ATTEMPTS).then(|| done + backoff_micros(job.attempts));
                let to = recipient(&job).map(|to| masked_address(&to));
                tracing::warn!(job = job.id, kind = %job.kind, to_domain = ?to, attempts = job.attempts, error = %e, "job failed");
                jobs::fail(&mut conn, job.id, &e.to_string(), retry, done).await?;
            }
        }
        ran += 1;
    }
}

/// The background worker: runs due jobs about once a second, and marks no-shows once a
/// minute, until the process ends.
pub async fn run_worker(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(e) = run_due(&app).await {
            tracing::warn!(error = %e, "job run failed");
        }
        if n.is_multiple_of(60) {
            if let Err(e) = crate::appointments::mark_no_shows(&app).await {
                tracing::warn!(error = %e, "marking no-shows failed");
            }
            // Once an hour: reminders and cancellations of documents not collected in time.
            if n.is_multiple_of(3600)
                && let Err(e) = crate::centre::sweep_uncollected(&app).await
            {
                tracing::warn!(error = %e, "sweeping uncollected documents failed");
            }
            if n.is_multiple_of(3600)
                && let Err(e) = crate::auth::sweep_guards(&app).await
            {
                tracing::warn!(error = %e, "sweeping sign-in guards failed");
            }
            // Callbacks get lost: ask the provider about payments still pending.
            if let Err(e) = crate::online_payments::query_pending(
                &app,
                crate::endorsement_applications::on_paid,
            )
            .await
            {
                tracing::warn!(error = %e, "querying pending payments failed");
            }
        }
        n += 1;
    }
}

/// Messages the development providers delivered, newest first.
pub async fn outbox(app: &App, limit: i64) -> Result<Vec<OutboxMessage>> {
    let mut conn = app.db.conn().await?;
    Ok(jobs::outbox(&mut conn, limit).await?)
}

/// Jobs given up on, newest first, with their last error.
pub async fn failed(app: &App, limit: i64) -> Result<Vec<(Job, String)>> {
    let mut conn = app.db.conn().await?;
    Ok(jobs::failed(&mut conn, limit).await?)
}

/// Who a message job was for (email and SMS jobs), from its payload.
fn recipient(job: &Job) -> Option<String> {
    if !matches!(job.kind.as_str(), "email" | "sms") {
        return None;
    }
    let msg: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
    msg["to"].as_str().map(str::to_string)
}

/// A job given up on, as the administrators' page shows it (no payload: bodies carry
/// links with tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    pub id: i64,
    pub kind: String,
    /// The address or mobile number of email and SMS jobs.
    pub recipient: Option<String>,
    pub attempts: i64,
    pub last_error: String,
    /// When it was given up (microseconds).
    pub failed_at: i64,
}

/// Jobs given up on, newest first, for administrators.
pub async fn failed_jobs(app: &App, staff: &StaffSession, limit: i64) -> Result<Vec<FailedJob>> {
    staff.require(Permission::ManageJobs)?;
    let mut conn = app.db.conn().await?;
    Ok(jobs::failed_jobs(&mut conn, limit)
        .await?
        .into_iter()
        .map(|f| FailedJob {
            recipient: recipient(&f.job),
            id: f.job.id,
            kind: f.job.kind,
            attempts: f.job.attempts,
            last_error: f.last_error,
            failed_at: f.failed_at,
        })
        .collect())
}

/// Queues a given-up job again with a fresh count of attempts (audited). A job that is not
/// given up (already retried, done, unknown) is a conflict, so a double submit runs it once.
pub async fn retry(app: &App, staff: &StaffSession, id: i64) -> Result<()> {
    staff.require(Permission::ManageJobs)?;
    let mut tx = app.db.begin().await?;
    let Some(job) = jobs::job(&mut tx, id).await? else {
        return Err(ServiceError::NotFound("job"));
    };
    if !jobs::retry(&mut tx, id, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::JobNotFailed,
            "this job is not given up (already queued again or done)",
        ));
    }
    crate::audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "job.retry",
        &format!("job:{id}"),
        json!({"kind": job.kind, "attempts": job.attempts}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(job = id, kind = %job.kind, "job queued again");
    Ok(())
}
