//! Appointments at service centres: opening slots from weekly templates and the calendar,
//! booking through the channels, cancelling and rescheduling before the cut-off, no-shows
//! and the booking block they lead to, and reminders the day before.

mod booking;
mod calendar;
mod slots;

pub use booking::*;
pub use calendar::*;
pub use slots::*;

use crate::{Result, ServiceError};
use exitentry_domain::Invalid;
use exitentry_domain::office::Service;
use exitentry_domain::time::{day_start_micros, local_instant};

pub(super) fn bad(
    field: &'static str,
    code: &'static str,
    message: impl Into<String>,
) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

pub(super) fn parse_service(s: &str) -> Result<Service> {
    let service = Service::parse(s).map_err(|e| ServiceError::invalid("service", e))?;
    if !service.bookable() {
        return Err(bad(
            "service",
            "not_bookable",
            "this service needs no appointment",
        ));
    }
    Ok(service)
}
