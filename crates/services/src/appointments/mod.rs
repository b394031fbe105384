//! Appointments at service centres: opening slots from weekly templates and the calendar,
//! booking through the channels, cancelling and rescheduling before the cut-off, no-shows
//! and the booking block they lead to, and reminders the day before.

mod applicant;
mod booking;
mod calendar;
mod picker;
mod slots;

pub use applicant::applicant_booking;
pub use booking::*;
pub use calendar::*;
pub use picker::{Picker, PickerOffice, picker};
pub use slots::*;

use crate::{AtField, ErrorCode};
use crate::{Result, ServiceError};
use exitentry_domain::office::Service;
use exitentry_domain::time::{day_start_micros, local_instant};

pub(super) fn parse_service(s: &str) -> Result<Service> {
    let service = Service::parse(s).at_field("service")?;
    if !service.bookable() {
        return Err(ServiceError::bad_input(
            "service",
            ErrorCode::NotBookable,
            "this service needs no appointment",
        ));
    }
    Ok(service)
}
