//! Administration of the job queue: jobs given up on (undelivered email and SMS, with
//! their last error) and queueing one again; and the development outbox as a page.

use super::common::{
    CsrfForm, Cx, StaffWith, back, csrf_field, form_fields, need, outcome, page_template, render,
    when_micros,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Staff;
use axum::Router;
use axum::routing::{get, post};
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::jobs::{self, FailedJob};

back!(JobsPage = PATH);

const PATH: &str = "/staff/admin/jobs";

csrf_field!(RetryForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(list))
        .route("/staff/admin/jobs/retry", post(retry))
        .route("/dev/outbox", get(outbox))
}

page_template! {
    Jobs = "staff/jobs.html" {
        jobs: Vec<FailedJob>,
    }
}

impl Jobs {
    fn when(&self, micros: &i64) -> String {
        when_micros(*micros)
    }
}

async fn page(cx: &Cx, staff: StaffSession) -> PageResult {
    let list = jobs::failed_jobs(cx.app(), &staff, 200)
        .await
        .map_err(cx.fail(PATH))?;
    let cx = cx.at(PATH);
    Ok(cx.render(&Jobs {
        page: cx.page(Some(staff), "jobs-title"),
        jobs: list,
    }))
}

async fn list(cx: Cx, Staff(staff): Staff) -> PageResult {
    page(&cx, staff).await
}

form_fields!(RetryForm { id: String });

async fn retry(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageJobs, JobsPage>,
    CsrfForm(f, _): CsrfForm<RetryForm, JobsPage>,
) -> PageResult {
    let Ok(id) = f.id.trim().parse::<i64>() else {
        return Err(cx.fail(PATH)(ServiceError::NotFound("job")));
    };
    let done = jobs::retry(cx.app(), &staff, id).await;
    let retried = |()| cx.lang.t_args("jobs-retried", &[("id", id.to_string())]);
    let shown =
        |e: &ServiceError| matches!(e, ServiceError::Conflict { .. } | ServiceError::NotFound(_));
    let outcome = outcome(&cx, done, retried, shown, PATH)?;
    page(&cx.at(PATH).after(outcome), staff).await
}

/// A piece of a message body: plain text, or a web link to make clickable.
pub struct Segment {
    pub text: String,
    pub link: bool,
}

/// Splits `body` into text and `http(s)://` links. Only those schemes become links, so a
/// message cannot smuggle a `javascript:` link; the template escapes every piece.
pub fn linkify(body: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut push = |text: &str, link: bool| {
        out.push(Segment {
            text: text.to_string(),
            link,
        })
    };
    let mut rest = body;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || "<>\"'，。、；）】".contains(c))
            .unwrap_or(tail.len());
        // Sentence punctuation right after a link is not part of it.
        while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', ')', '!', '?']) {
            end -= 1;
        }
        let scheme_len = if tail.starts_with("https://") { 8 } else { 7 };
        if end <= scheme_len {
            // A bare scheme: keep it as text and look further on.
            push(&rest[..start + scheme_len], false);
            rest = &rest[start + scheme_len..];
            continue;
        }
        if start > 0 {
            push(&rest[..start], false);
        }
        push(&tail[..end], true);
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        push(rest, false);
    }
    out
}

pub struct OutboxItem {
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: Vec<Segment>,
    pub at: String,
}

page_template! {
    Outbox = "dev/outbox.html" {
        messages: Vec<OutboxItem>,
    }
}

/// Development only (`server.dev_providers`): the SMS and emails the development providers
/// delivered, newest first, with clickable links. 404 otherwise, like the JSON outbox.
async fn outbox(cx: Cx) -> PageResult {
    let fail = cx.fail(cx.path());
    if !cx.app().config.server.dev_providers {
        return Err(fail(ServiceError::NotFound("page")));
    }
    let msgs = jobs::outbox(cx.app(), 100).await.map_err(&fail)?;
    let messages = msgs
        .into_iter()
        .map(|m| OutboxItem {
            body: linkify(&m.body),
            at: when_micros(m.created_at),
            channel: m.channel,
            recipient: m.recipient,
            subject: m.subject,
        })
        .collect();
    Ok(render(&Outbox {
        page: cx.page(None, "outbox-title"),
        messages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(body: &str) -> Vec<(String, bool)> {
        linkify(body)
            .into_iter()
            .map(|s| (s.text, s.link))
            .collect()
    }

    #[test]
    fn links_are_found_and_nothing_else_is() {
        // A body, and its pieces: (text, is a link).
        let cases: [(&str, &[(&str, bool)]); 5] = [
            (
                "打开 https://ee.example/v?t=a&b=1。谢谢",
                &[
                    ("打开 ", false),
                    ("https://ee.example/v?t=a&b=1", true),
                    ("。谢谢", false),
                ],
            ),
            (
                "See http://x.example/a.\nhttps://y.example",
                &[
                    ("See ", false),
                    ("http://x.example/a", true),
                    (".\n", false),
                    ("https://y.example", true),
                ],
            ),
            (
                "javascript:alert(1) https:// <b>",
                &[("javascript:alert(1) https://", false), (" <b>", false)],
            ),
            ("", &[]),
            (
                "a\"https://e.example/\"onmouseover=x",
                &[
                    ("a\"", false),
                    ("https://e.example/", true),
                    ("\"onmouseover=x", false),
                ],
            ),
        ];
        for (body, want) in cases {
            let want: Vec<(String, bool)> = want.iter().map(|(t, l)| (t.to_string(), *l)).collect();
            assert_eq!(pieces(body), want, "{body:?}");
        }
    }
}
