//! Email to applicants: the messages we send, in the recipient's language, as plain text.
//! A message is rendered when it is queued (the job holds subject and body) and sent by the
//! job worker, so a business write and the email it promises commit together.

use crate::ErrorCode;
use crate::providers::masked_address;
use crate::{App, Result, ServiceError};
use chrono::{Datelike, NaiveDate};
use exitentry_storage::{AnyConnection, jobs};
use serde_json::json;

/// The languages messages are written in (Simplified Chinese unless said).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    En,
    #[default]
    ZhHans,
    ZhHant,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::ZhHans, Lang::ZhHant, Lang::En];

    /// `en`, `zh-Hans` or `zh-Hant` (the codes the pages use), case-insensitive.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
        }
    }
}

/// Every message we send, with what it needs. Links are absolute (see [`link`]); texts
/// such as `items`, `office` and `reason` are already in the recipient's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Email {
    /// Confirms that the applicant owns the address.
    VerifyAddress {
        link: String,
    },
    /// An application needs more documents or corrections before it can go on.
    SupplementRequested {
        reference: String,
        items: Vec<String>,
        note: Option<String>,
        link: String,
    },
    /// The applicant submitted (or resubmitted) an application: what happens next.
    Submitted {
        reference: String,
        link: String,
    },
    Approved {
        reference: String,
        booking_link: String,
    },
    Rejected {
        reference: String,
        reason: String,
    },
    /// The document is ready and must be collected by `deadline`.
    CollectionReminder {
        reference: String,
        office: String,
        deadline: NaiveDate,
    },
    PermitCancelled {
        reference: String,
    },
}

/// An absolute link to `path` on this site (`server.public_url`).
pub fn link(app: &App, path: &str) -> String {
    format!(
        "{}/{}",
        app.config.server.public_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn date(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::En => d.format("%-d %B %Y").to_string(),
        Lang::ZhHans | Lang::ZhHant => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
    }
}

/// Subject and body of `email` in `lang`. Plain text; every message ends with the same
/// note that replies are not read.
pub fn render(email: &Email, lang: Lang) -> (String, String) {
    use Lang::*;
    let t = |en: &str, hans: &str, hant: &str| -> String {
        match lang {
            En => en,
            ZhHans => hans,
            ZhHant => hant,
        }
        .to_string()
    };
    let (subject, body) = match email {
        Email::VerifyAddress { link } => (
            t(
                "Confirm your email address",
                "请确认您的电子邮箱地址",
                "請確認您的電子郵箱地址",
            ),
            match lang {
                En => format!(
                    "Please confirm that this address is yours by opening this link:\n\n{link}\n\n\
                     If you did not ask for this, ignore this message."
                ),
                ZhHans => format!(
                    "请打开以下链接，确认此电子邮箱地址属于您：\n\n{link}\n\n如非本人操作，请忽略本邮件。"
                ),
                ZhHant => format!(
                    "請打開以下連結，確認此電子郵箱地址屬於您：\n\n{link}\n\n如非本人操作，請忽略本郵件。"
                ),
            },
        ),
        Email::SupplementRequested {
            reference,
            items,
            note,
            link,
        } => {
            let list: String = items.iter().map(|i| format!("- {i}\n")).collect();
            let note = note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| match lang {
                    En => format!("\nNote from the officer: {n}\n"),
                    ZhHans => format!("\n经办人说明：{n}\n"),
                    ZhHant => format!("\n經辦人說明：{n}\n"),
                })
                .unwrap_or_default();
            (
                t(
                    &format!("Application {reference}: more documents needed"),
                    &format!("申请 {reference}：需要补充材料"),
                    &format!("申請 {reference}：需要補充材料"),
                ),
                match lang {
                    En => format!(
                        "Your application {reference} needs the following before it can go on:\n\n\
                         {list}{note}\nAdd them here:\n\n{link}"
                    ),
                    ZhHans => format!(
                        "您的申请 {reference} 需要补充以下材料后才能继续办理：\n\n{list}{note}\n请在此补充：\n\n{link}"
                    ),
                    ZhHant => format!(
                        "您的申請 {reference} 需要補充以下材料後才能繼續辦理：\n\n{list}{note}\n請在此補充：\n\n{link}"
                    ),
                },
            )
        }
        Email::Submitted { reference, link } => (
            t(
                &format!("Application {reference} received"),
                &format!("已收到申请 {reference}"),
                &format!("已收到申請 {reference}"),
            ),
            match lang {
                En => format!(
                    "We have received your application {reference}. An officer will check it, \
                     usually within 5 working days. We will email you if anything is missing, \
                     and when it is approved, so that you can book a visit to a service centre.\n\n\
                     Your application:\n\n{link}"
                ),
                ZhHans => format!(
                    "我们已收到您的申请 {reference}。工作人员通常会在 5 个工作日内审核。如需补充材料或审核通过，\
                     我们会发邮件通知您，届时请预约到服务中心办理。\n\n您的申请：\n\n{link}"
                ),
                ZhHant => format!(
                    "我們已收到您的申請 {reference}。工作人員通常會在 5 個工作日內審核。如需補充材料或審核通過，\
                     我們會發郵件通知您，屆時請預約到服務中心辦理。\n\n您的申請：\n\n{link}"
                ),
            },
        ),
        Email::Approved {
            reference,
            booking_link,
        } => (
            t(
                &format!("Application {reference} approved"),
                &format!("申请 {reference} 已通过审核"),
                &format!("申請 {reference} 已通過審核"),
            ),
            match lang {
                En => format!(
                    "Your application {reference} has been approved. Book an appointment at a \
                     service centre to complete it:\n\n{booking_link}"
                ),
                ZhHans => format!(
                    "您的申请 {reference} 已通过审核。请预约到出入境服务大厅办理：\n\n{booking_link}"
                ),
                ZhHant => format!(
                    "您的申請 {reference} 已通過審核。請預約到出入境服務大廳辦理：\n\n{booking_link}"
                ),
            },
        ),
        Email::Rejected { reference, reason } => (
            t(
                &format!("Application {reference} not approved"),
                &format!("申请 {reference} 未通过审核"),
                &format!("申請 {reference} 未通過審核"),
            ),
            match lang {
                En => format!("Your application {reference} was not approved.\n\nReason: {reason}"),
                ZhHans => format!("您的申请 {reference} 未通过审核。\n\n原因：{reason}"),
                ZhHant => format!("您的申請 {reference} 未通過審核。\n\n原因：{reason}"),
            },
        ),
        Email::CollectionReminder {
            reference,
            office,
            deadline,
        } => {
            let d = date(*deadline, lang);
            (
                t(
                    &format!("Application {reference}: your document is ready"),
                    &format!("申请 {reference}：证件已可领取"),
                    &format!("申請 {reference}：證件已可領取"),
                ),
                match lang {
                    En => format!(
                        "The document of your application {reference} is ready. Please collect \
                         it at {office} by {d}."
                    ),
                    ZhHans => format!(
                        "您的申请 {reference} 的证件已制作完成，请于 {d} 前到 {office} 领取。"
                    ),
                    ZhHant => format!(
                        "您的申請 {reference} 的證件已製作完成，請於 {d} 前到 {office} 領取。"
                    ),
                },
            )
        }
        Email::PermitCancelled { reference } => (
            t(
                &format!("Permit {reference} cancelled"),
                &format!("通行证 {reference} 已注销"),
                &format!("通行證 {reference} 已註銷"),
            ),
            match lang {
                En => format!(
                    "Your permit {reference} has been cancelled and can no longer be used. If you \
                     did not expect this, contact an exit-entry office."
                ),
                ZhHans => format!(
                    "您的通行证 {reference} 已注销，不能再使用。如有疑问，请联系出入境办证机构。"
                ),
                ZhHant => format!(
                    "您的通行證 {reference} 已註銷，不能再使用。如有疑問，請聯繫出入境辦證機構。"
                ),
            },
        ),
    };
    let footer = t(
        "This message was sent automatically; replies are not read.",
        "本邮件由系统自动发送，请勿回复。",
        "本郵件由系統自動發送，請勿回覆。",
    );
    // One line: a subject with a line break would be a malformed header.
    let subject = subject.replace(['\r', '\n'], " ");
    (subject, format!("{body}\n\n--\n{footer}\n"))
}

/// An address the relay can be given: what lettre parses, with a dotted domain (a bare
/// host name is almost always a typing mistake). The relay has the last word.
pub fn check_address(to: &str) -> Result<()> {
    let ok = to.parse::<lettre::Address>().is_ok_and(|a| {
        let d = a.domain();
        d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    });
    if ok {
        Ok(())
    } else {
        Err(ServiceError::bad_input(
            "email",
            ErrorCode::BadEmail,
            "an email address looks like name@example.org",
        ))
    }
}

/// Queues `email` to `to` in `lang` inside the caller's transaction: the job carries the
/// rendered subject and body. Returns the job's id.
pub async fn enqueue(
    app: &App,
    conn: &mut AnyConnection,
    to: &str,
    lang: Lang,
    email: &Email,
) -> Result<i64> {
    let to = to.trim();
    check_address(to)?;
    let (subject, body) = render(email, lang);
    let payload = json!({"to": to, "subject": subject, "body": body});
    let now = app.now_micros();
    let id = jobs::enqueue(conn, "email", &payload.to_string(), now, now).await?;
    tracing::info!(job = id, to_domain = %masked_address(to), "email queued");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<(Email, Vec<&'static str>)> {
        vec![
            (
                Email::VerifyAddress {
                    link: "https://ee.example/verify?t=abc123".into(),
                },
                vec!["https://ee.example/verify?t=abc123"],
            ),
            (
                Email::SupplementRequested {
                    reference: "PA-2026-000123".into(),
                    items: vec!["近期免冠照片".into(), "户口簿复印件".into()],
                    note: Some("照片背景须为白色".into()),
                    link: "https://ee.example/pre/PA-2026-000123".into(),
                },
                vec![
                    "PA-2026-000123",
                    "近期免冠照片",
                    "户口簿复印件",
                    "照片背景须为白色",
                    "https://ee.example/pre/PA-2026-000123",
                ],
            ),
            (
                Email::Submitted {
                    reference: "PA-0".into(),
                    link: "https://ee.example/apply/applications/x".into(),
                },
                vec!["PA-0", "https://ee.example/apply/applications/x"],
            ),
            (
                Email::Approved {
                    reference: "PA-1".into(),
                    booking_link: "https://ee.example/appointments".into(),
                },
                vec!["PA-1", "https://ee.example/appointments"],
            ),
            (
                Email::Rejected {
                    reference: "PA-2".into(),
                    reason: "documents do not match".into(),
                },
                vec!["PA-2", "documents do not match"],
            ),
            (
                Email::CollectionReminder {
                    reference: "PA-3".into(),
                    office: "Tianhe Exit-Entry Hall".into(),
                    deadline: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                },
                vec!["PA-3", "Tianhe Exit-Entry Hall"],
            ),
            (
                Email::PermitCancelled {
                    reference: "C12345678".into(),
                },
                vec!["C12345678"],
            ),
        ]
    }

    #[test]
    fn every_message_in_every_language_has_a_subject_and_its_arguments() {
        for (email, args) in all() {
            let mut bodies = Vec::new();
            for lang in Lang::ALL {
                let (subject, body) = render(&email, lang);
                assert!(!subject.trim().is_empty(), "{email:?} {lang:?}");
                assert!(!subject.contains('\n'));
                for a in &args {
                    assert!(body.contains(a), "{email:?} {lang:?} lacks {a}:\n{body}");
                }
                bodies.push(body);
            }
            // Three languages, three different texts (no language falls back to another).
            bodies.sort();
            bodies.dedup();
            assert_eq!(bodies.len(), 3, "{email:?}");
        }
    }

    #[test]
    fn subjects_and_dates_speak_the_language() {
        let e = Email::CollectionReminder {
            reference: "PA-3".into(),
            office: "x".into(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        };
        assert!(render(&e, Lang::En).1.contains("1 December 2026"));
        assert!(render(&e, Lang::ZhHans).1.contains("2026年12月1日"));
        assert!(render(&e, Lang::ZhHans).0.contains("证件"));
        assert!(render(&e, Lang::ZhHant).0.contains("證件"));
        assert!(render(&e, Lang::En).0.contains("ready"));
        let no_note = Email::SupplementRequested {
            reference: "R".into(),
            items: vec!["a".into()],
            note: Some("  ".into()),
            link: "l".into(),
        };
        assert!(!render(&no_note, Lang::En).1.contains("Note from"));
    }

    #[test]
    fn line_breaks_never_reach_a_subject() {
        let e = Email::PermitCancelled {
            reference: "C1\r\nBcc: x@evil.example".into(),
        };
        for lang in Lang::ALL {
            let (subject, _) = render(&e, lang);
            assert!(!subject.contains(['\r', '\n']), "{subject}");
        }
    }

    #[test]
    fn languages_by_code() {
        assert_eq!(Lang::from_code("zh-hans"), Some(Lang::ZhHans));
        assert_eq!(Lang::from_code("zh-Hant"), Some(Lang::ZhHant));
        assert_eq!(Lang::from_code(" en "), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
    }

    #[test]
    fn addresses_are_checked_before_queueing() {
        for ok in [
            "a@example.org",
            "张三@例子.中国",
            "first.last+tag@sub.example.cn",
        ] {
            assert!(check_address(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@example.org",
            "a@@example.org",
            "a b@example.org",
            "a@example.org\r\nBcc: x@y.z",
            "<a@example.org>",
            "a@.org",
        ] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
    }
}
