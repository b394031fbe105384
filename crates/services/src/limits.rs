//! Limits on the messages we send on someone's request (SMS codes, emailed links), per
//! mobile number, address and person: counted in the database, so they hold across nodes and
//! whichever page or API asked. The per-client limit is the web layer's.

use crate::ErrorCode;
use crate::{App, Result, ServiceError};
use chrono::{DateTime, Duration, Utc};
use exitentry_storage::AnyConnection;
use exitentry_storage::guards;

/// One allowance: at most `max` messages per `window` for a key.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub max: i64,
    pub window: Duration,
}

/// SMS to one mobile number: two journeys with all their resends, not a flood.
pub const SMS_PER_MOBILE: Allowance = Allowance {
    max: 10,
    window: Duration::hours(1),
};
/// SMS sent on behalf of one person from the registry, whatever number they go to.
pub const SMS_PER_PERSON: Allowance = Allowance {
    max: 20,
    window: Duration::hours(24),
};
/// Emailed links to one address.
pub const EMAIL_PER_ADDRESS: Allowance = Allowance {
    max: 5,
    window: Duration::hours(1),
};

fn window_start(now: DateTime<Utc>, window: Duration) -> i64 {
    let w = window.num_microseconds().unwrap_or(i64::MAX).max(1);
    now.timestamp_micros().div_euclid(w) * w
}

/// Takes one message from every allowance (in the caller's transaction, so a message that
/// is not queued is not counted); refuses with `message_limit_reached` and the time the
/// fullest window ends.
pub async fn take(app: &App, conn: &mut AnyConnection, keys: &[(String, Allowance)]) -> Result<()> {
    let now = app.now();
    for (key, a) in keys {
        let start = window_start(now, a.window);
        if !guards::take_send(conn, key, start, a.max).await? {
            let retry_after = DateTime::from_timestamp_micros(start)
                .unwrap_or(now)
                .checked_add_signed(a.window)
                .unwrap_or(now);
            return Err(ServiceError::TooSoon {
                code: ErrorCode::MessageLimitReached,
                retry_after,
                wait_secs: (retry_after - now).num_seconds().max(1),
            });
        }
    }
    Ok(())
}

/// Takes an SMS to `mobile` on behalf of person `person_id` from its allowances. The person's
/// allowance does not apply to the number of their own sign-in: others who know their
/// details cannot use it up to keep the person from their own journeys.
pub async fn take_sms(
    app: &App,
    conn: &mut AnyConnection,
    mobile: &str,
    person_id: i64,
) -> Result<()> {
    let own = exitentry_storage::holders::by_person(conn, person_id)
        .await?
        .is_some_and(|a| a.mobile == mobile);
    let mut keys = vec![(format!("sms:{mobile}"), SMS_PER_MOBILE)];
    if !own {
        keys.push((format!("sms-person:{person_id}"), SMS_PER_PERSON));
    }
    take(app, conn, &keys).await
}
