//! In the building: check-in and walk-in tickets, the photo station, the queue and the
//! call display, counter acceptance, payment, the receipt, processing, and collection at
//! a kiosk. Every step is audited with the clerk or device that did it.

mod acceptance;
mod collection;
mod devices;
mod measures;
mod payment;
mod photos;
mod queue;

pub use acceptance::*;
pub use collection::*;
pub use devices::*;
pub use measures::*;
pub use payment::*;
pub use photos::*;
pub use queue::*;

use crate::ServiceError;
use chrono::{DateTime, FixedOffset};
use exitentry_domain::Invalid;
use exitentry_domain::time::cst;
use exitentry_storage::from_micros;

pub(super) fn bad(
    field: &'static str,
    code: &'static str,
    message: impl Into<String>,
) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

pub(super) fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Conflict {
        code,
        message: message.into(),
    }
}

pub(super) fn local(t: i64) -> DateTime<FixedOffset> {
    from_micros(t).with_timezone(&cst())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use exitentry_domain::document::DocumentStatus;
    use exitentry_storage::documents::DocumentRecord;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(quantile(&v, 0.5), Some(5));
        assert_eq!(quantile(&v, 0.9), Some(9));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7));
    }

    #[test]
    fn the_card_slot_must_hold_the_very_card() {
        use exitentry_domain::numbers::DocumentKind;
        let card = |kind, number: &str, issue_count| DocumentRecord {
            person_id: 1,
            kind,
            number: number.into(),
            issue_count,
            issued_on: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            expires_on: NaiveDate::from_ymd_opt(2029, 1, 1).unwrap(),
            status: DocumentStatus::Valid,
            office_code: None,
        };
        let eep = card(DocumentKind::EepCard, "CA1234567", None);
        assert!(slot_holds(" ca1234567 ", &eep));
        assert!(!slot_holds("CA1234567 01", &eep));
        assert!(!slot_holds("CB1234567", &eep));
        let third = card(DocumentKind::HrpNonChinese, "HA1234567", Some(3));
        for ok in ["HA1234567 03", "ha1234567-3", "HA1234567/03"] {
            assert!(slot_holds(ok, &third), "{ok}");
        }
        for wrong in ["HA1234567", "HA1234567 02", "HA1234567 x", "HA7654321 03"] {
            assert!(!slot_holds(wrong, &third), "{wrong}");
        }
        // A card stored without its count is the first.
        let imported = card(DocumentKind::HrpNonChinese, "HA1234567", None);
        assert!(slot_holds("HA1234567 01", &imported));
    }

    #[test]
    fn photo_formats_come_from_the_bytes() {
        assert_eq!(photo_format(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(photo_format(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(photo_format(b"GIF89a"), None);
        assert_eq!(photo_format(b"%PDF-1.7"), None);
    }
}
