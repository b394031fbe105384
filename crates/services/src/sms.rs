//! Text messages to people's phones, in the language they chose on the page or in the app.
//! Like email, a message is rendered when it is queued: the job holds the text, so the write
//! and the message it promises commit together.

use crate::Result;
use crate::email::Lang;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use exitentry_domain::office::Office;
use exitentry_storage::{AnyConnection, jobs};
use serde_json::json;

/// Every text message we send, with what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sms<'a> {
    /// The code that confirms a temporary e-permit application's mobile number.
    TemporaryPermitCode { code: &'a str, minutes: i64 },
    /// The code that confirms the mobile number of a new holder account.
    SignUpCode { code: &'a str, minutes: i64 },
    /// The day before an appointment.
    Reminder {
        reference: &'a str,
        office: &'a Office,
        date: NaiveDate,
        time: NaiveTime,
    },
}

/// The text of `sms` in `lang`.
pub fn render(sms: &Sms<'_>, lang: Lang) -> String {
    let (code, minutes, [hans, hant, en]) = match *sms {
        Sms::TemporaryPermitCode { code, minutes } => (
            code,
            minutes,
            [
                "临时电子通行证验证码",
                "臨時電子通行證驗證碼",
                "temporary e-permit code",
            ],
        ),
        Sms::SignUpCode { code, minutes } => {
            (code, minutes, ["账号验证码", "帳戶驗證碼", "account code"])
        }
        Sms::Reminder {
            reference,
            office,
            date,
            time,
        } => return reminder(reference, office, date, time, lang),
    };
    match lang {
        Lang::ZhHans => format!("【出入境】{hans} {code}，{minutes} 分钟内有效。请勿告诉他人。"),
        Lang::ZhHant => format!("【出入境】{hant} {code}，{minutes} 分鐘內有效。請勿告訴他人。"),
        Lang::En => format!(
            "[Exit-Entry] Your {en} is {code}. It is valid for {minutes} minutes. Do not share it."
        ),
    }
}

fn reminder(
    reference: &str,
    office: &Office,
    date: NaiveDate,
    time: NaiveTime,
    lang: Lang,
) -> String {
    let (date, time) = (date.format("%Y-%m-%d"), time.format("%H:%M"));
    match lang {
        Lang::ZhHans => format!(
            "【出入境】预约提醒：北京时间 {date} {time}，{}。预约号 {reference}，请带上证件准时到达。",
            office.name_zh_hans
        ),
        Lang::ZhHant => format!(
            "【出入境】預約提醒：北京時間 {date} {time}，{}。預約號 {reference}，請帶同證件準時到達。",
            office.name_zh_hant
        ),
        Lang::En => format!(
            "[Exit-Entry] Reminder: your appointment {reference} is on {date} at {time} Beijing time, at {}. Bring your documents.",
            office.name_en
        ),
    }
}

/// Queues `sms` to `to` in the caller's transaction; the job worker sends it.
pub async fn queue(
    conn: &mut AnyConnection,
    to: &str,
    sms: &Sms<'_>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    let job = json!({"to": to, "text": render(sms, lang)});
    let at = now.timestamp_micros();
    jobs::enqueue(conn, "sms", &job.to_string(), at, at).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message is written in the language asked for, and carries the code or reference.
    #[test]
    fn every_message_in_every_language() {
        use exitentry_domain::office::{HolidayCalendar, OfficeCode, OfficeLevel};
        let office = Office {
            code: OfficeCode::parse("SZ-FT-001").unwrap_or_else(|e| panic!("{e:?}")),
            name_zh_hans: "深圳市福田区出入境接待大厅".into(),
            name_zh_hant: "深圳市福田區出入境接待大廳".into(),
            name_en: "Futian Exit-Entry Hall".into(),
            city: "深圳市".into(),
            district: "福田区".into(),
            address: "福田区福民路".into(),
            address_zh_hant: String::new(),
            address_en: String::new(),
            level: OfficeLevel::County,
            calendar: HolidayCalendar::Mainland,
            open_24h: false,
            opening_hours: String::new(),
            self_service_devices: 0,
            services: Vec::new(),
        };
        let messages = [
            Sms::TemporaryPermitCode {
                code: "123456",
                minutes: 5,
            },
            Sms::SignUpCode {
                code: "123456",
                minutes: 5,
            },
            Sms::Reminder {
                reference: "A1B2C3",
                office: &office,
                date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap_or_default(),
                time: NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default(),
            },
        ];
        for sms in messages {
            let [hans, hant, en] = [Lang::ZhHans, Lang::ZhHant, Lang::En].map(|l| render(&sms, l));
            for text in [&hans, &hant, &en] {
                assert!(text.contains("123456") || text.contains("A1B2C3"), "{text}");
            }
            // Simplified and Traditional differ, and English has no Chinese at all.
            assert_ne!(hans, hant);
            assert!(
                !en.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{en}"
            );
            assert!(!hans.contains("Verification") && !hant.contains("Verification"));
        }
        let hant = render(&messages[0], Lang::ZhHant);
        assert!(hant.contains("驗證碼"), "{hant}");
        let reminder = render(&messages[2], Lang::ZhHant);
        assert!(
            reminder.contains("福田區") && reminder.contains("09:30"),
            "{reminder}"
        );
        let reminder = render(&messages[2], Lang::En);
        assert!(reminder.contains("Futian Exit-Entry Hall") && reminder.contains("Beijing time"));
    }
}
