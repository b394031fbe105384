//! Outside services behind traits: the SMS gateway, email, and the face-verification
//! service. Real HTTP adapters sign every request and email goes out over SMTP; the
//! development doubles write to the outbox (SMS, email) and follow a configured rule (face).

use crate::BoxFuture;
use crate::ErrorCode;
use crate::{Clock, Result, ServiceError};
use base64::Engine;
use exitentry_config::{Config, EmailConfig, EmailTls};
use exitentry_storage::{Db, jobs};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Sends one text message. Called from the job queue, never inside a request.
pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// Sends one plain-text email (UTF-8). Called from the job queue, never inside a request.
pub trait EmailSender: Send + Sync {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}

/// Whose photo on record a live capture is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceSubject {
    pub document_kind: String,
    pub document_number: String,
}

/// Compares a live capture with the photo on record; `true` is a match.
pub trait FaceVerifier: Send + Sync {
    fn verify<'a>(
        &'a self,
        subject: &'a FaceSubject,
        image: &'a [u8],
    ) -> BoxFuture<'a, Result<bool>>;
}

/// The providers an [`crate::App`] talks to; `None` where none is configured, so the
/// journeys that need one are refused with a clear error instead of failing later.
#[derive(Clone, Default)]
pub struct Providers {
    pub sms: Option<Arc<dyn SmsSender>>,
    pub email: Option<Arc<dyn EmailSender>>,
    pub face: Option<Arc<dyn FaceVerifier>>,
    /// The counter's card and wallet terminal (cash needs none).
    pub payments: Option<Arc<dyn crate::counter_terminal::CounterPayments>>,
}

impl Providers {
    /// Development doubles with `server.dev_providers`, else the configured HTTP adapters.
    pub fn from_config(config: &Config, db: &Db, clock: Arc<dyn Clock>) -> Self {
        let p = &config.providers;
        if config.server.dev_providers {
            return Providers {
                sms: Some(Arc::new(OutboxSms {
                    db: db.clone(),
                    clock: clock.clone(),
                })),
                email: Some(Arc::new(OutboxEmail {
                    db: db.clone(),
                    clock,
                })),
                face: Some(Arc::new(DevFaceVerifier {
                    accept: p.dev_face_accept,
                })),
                payments: Some(Arc::new(crate::counter_terminal::SandboxPayments)),
            };
        }
        let timeout = Duration::from_secs(p.timeout_seconds.max(1));
        let sms = (!p.sms_gateway_url.is_empty())
            .then(|| {
                HttpSmsGateway::new(&p.sms_gateway_url, p.sms_gateway_secret.expose(), timeout)
            })
            .and_then(log_failure)
            .map(|g| Arc::new(g) as Arc<dyn SmsSender>);
        let face = (!p.face_service_url.is_empty())
            .then(|| {
                HttpFaceVerifier::new(
                    &p.face_service_url,
                    p.face_service_secret.expose(),
                    p.face_match_threshold,
                    timeout,
                )
            })
            .and_then(log_failure)
            .map(|f| Arc::new(f) as Arc<dyn FaceVerifier>);
        let email = (!config.email.smtp_host.is_empty())
            .then(|| SmtpEmail::new(&config.email))
            .and_then(log_failure)
            .map(|e| Arc::new(e) as Arc<dyn EmailSender>);
        // Real terminals are configured per counter; until then only cash outside development.
        Providers {
            sms,
            email,
            face,
            payments: None,
        }
    }

    pub fn payments(&self) -> Result<&dyn crate::counter_terminal::CounterPayments> {
        self.payments
            .as_deref()
            .ok_or_else(crate::counter_terminal::unavailable)
    }

    pub fn sms(&self) -> Result<&dyn SmsSender> {
        self.sms.as_deref().ok_or(ServiceError::unavailable(
            ErrorCode::SmsGatewayNotConfigured,
            "no SMS gateway is configured",
        ))
    }

    pub fn email(&self) -> Result<&dyn EmailSender> {
        self.email.as_deref().ok_or(ServiceError::unavailable(
            ErrorCode::EmailNotConfigured,
            "no SMTP relay is configured (email.smtp_host)",
        ))
    }

    pub fn face(&self) -> Result<&dyn FaceVerifier> {
        self.face.as_deref().ok_or(ServiceError::unavailable(
            ErrorCode::FaceProviderNotConfigured,
            "no face-verification provider is configured",
        ))
    }
}

fn log_failure<T>(r: Result<T>) -> Option<T> {
    r.map_err(|e| tracing::error!(error = %e, "provider set-up failed"))
        .ok()
}

/// Development SMS: the message lands in the outbox (`/api/v1/dev/outbox`).
pub struct OutboxSms {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl SmsSender for OutboxSms {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut conn = self.db.conn().await?;
            let now = self.clock.now().timestamp_micros();
            jobs::deliver_to_outbox(&mut conn, "sms", to, None, text, now).await?;
            Ok(())
        })
    }
}

/// Development email: the message lands in the outbox (`/dev/outbox`).
pub struct OutboxEmail {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl EmailSender for OutboxEmail {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut conn = self.db.conn().await?;
            let now = self.clock.now().timestamp_micros();
            jobs::deliver_to_outbox(&mut conn, "email", to, Some(subject), body, now).await?;
            Ok(())
        })
    }
}

/// Email through an SMTP relay (lettre over tokio; rustls with ring for TLS). One
/// connection per message: mail is rare enough that a pool would only hold sockets open.
pub struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpEmail {
    /// Refuses settings the config check refuses too (tests build configs by hand).
    pub fn new(c: &EmailConfig) -> Result<Self> {
        let setup = |m: String| ServiceError::Internal(format!("email set-up: {m}"));
        c.check().map_err(|e| setup(e.to_string()))?;
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|e| setup(format!("email.from {:?}: {e}", c.from)))?;
        install_tls_provider();
        let tls = match c.tls {
            EmailTls::None => Tls::None,
            EmailTls::Starttls => Tls::Required(tls_parameters(c).map_err(setup)?),
            EmailTls::Tls => Tls::Wrapper(tls_parameters(c).map_err(setup)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.smtp_host)
            .port(c.smtp_port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(c.timeout_seconds.max(1))));
        if !c.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                c.username.clone(),
                c.password.expose().to_string(),
            ));
        }
        Ok(SmtpEmail {
            transport: builder.build(),
            from,
        })
    }
}

/// The public web roots, plus the roots in `email.ca_file` (a relay with an internal CA).
fn tls_parameters(c: &EmailConfig) -> std::result::Result<TlsParameters, String> {
    let mut b = TlsParameters::builder(c.smtp_host.clone())
        .certificate_store(CertificateStore::WebpkiRoots);
    if !c.ca_file.is_empty() {
        let pem = std::fs::read(&c.ca_file).map_err(|e| format!("email.ca_file: {e}"))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("email.ca_file: {e}"))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| format!("TLS: {e}"))
}

/// `***@domain`: what logs and errors may say about a recipient.
pub fn masked_address(to: &str) -> String {
    match to.rsplit_once('@') {
        Some((_, domain)) => format!("***@{domain}"),
        None => "***".into(),
    }
}

impl EmailSender for SmtpEmail {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // Relays echo the address in refusals; the error is logged and shown to staff.
            let fail = |m: String| {
                ServiceError::unavailable(
                    ErrorCode::EmailUnavailable,
                    m.replace(to, &masked_address(to)),
                )
            };
            let to_box: Mailbox = to
                .parse()
                .map_err(|e| fail(format!("recipient {to}: {e}")))?;
            // Header values are single lines; a stray line break must not start a header.
            let subject: String = subject
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let message = Message::builder()
                .from(self.from.clone())
                .to(to_box)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_string())
                .map_err(|e| fail(format!("message: {e}")))?;
            self.transport
                .send(message)
                .await
                .map_err(|e| fail(format!("SMTP: {e}")))?;
            Ok(())
        })
    }
}

/// Development face check: accepts every face, or none (`providers.dev_face_accept`).
/// The image itself is checked by the service before any provider sees it.
pub struct DevFaceVerifier {
    pub accept: bool,
}

impl FaceVerifier for DevFaceVerifier {
    fn verify<'a>(&'a self, _: &'a FaceSubject, _: &'a [u8]) -> BoxFuture<'a, Result<bool>> {
        let accept = self.accept;
        Box::pin(async move { Ok(accept) })
    }
}

/// A JSON POST signed with HMAC-SHA256 over `timestamp "\n" body`, the scheme both
/// providers share: headers `X-Exitentry-Timestamp` (Unix seconds) and
/// `X-Exitentry-Signature` (hex). The timestamp lets the receiver refuse replays.
struct SignedClient {
    http: reqwest::Client,
    url: String,
    key: ring::hmac::Key,
}

impl SignedClient {
    fn new(url: &str, secret: &str, timeout: Duration) -> Result<Self> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))?;
        Ok(SignedClient {
            http,
            url: url.to_string(),
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()),
        })
    }

    async fn post(&self, body: serde_json::Value, now: i64) -> Result<reqwest::Response> {
        let body = body.to_string();
        let signature = signature(&self.key, now, &body);
        let res = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-exitentry-timestamp", now.to_string())
            .header("x-exitentry-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(format!("{}", e.without_url())))?;
        if !res.status().is_success() {
            return Err(unavailable(format!("provider answered {}", res.status())));
        }
        Ok(res)
    }
}

/// Makes ring the process's TLS crypto provider. reqwest is built without one (the
/// default would pull aws-lc); every HTTP client needs it first. Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The signature a provider checks: hex HMAC-SHA256 of `timestamp "\n" body`.
pub fn signature(key: &ring::hmac::Key, timestamp: i64, body: &str) -> String {
    let tag = ring::hmac::sign(key, format!("{timestamp}\n{body}").as_bytes());
    hex::encode(tag.as_ref())
}

fn unavailable(message: String) -> ServiceError {
    ServiceError::Unavailable {
        code: ErrorCode::ProviderUnavailable,
        message,
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The SMS gateway: `POST {to, text}`; any 2xx is accepted for delivery.
pub struct HttpSmsGateway(SignedClient);

impl HttpSmsGateway {
    pub fn new(url: &str, secret: &str, timeout: Duration) -> Result<Self> {
        Ok(HttpSmsGateway(SignedClient::new(url, secret, timeout)?))
    }
}

impl SmsSender for HttpSmsGateway {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.0
                .post(json!({"to": to, "text": text}), unix_now())
                .await
                .map(|_| ())
        })
    }
}

/// The face-verification service: `POST {document_kind, document_number, image}` (image
/// base64) → `{score}` between 0 and 1; a match when the score reaches the threshold.
pub struct HttpFaceVerifier {
    client: SignedClient,
    threshold: f64,
}

impl HttpFaceVerifier {
    pub fn new(url: &str, secret: &str, threshold: f64, timeout: Duration) -> Result<Self> {
        Ok(HttpFaceVerifier {
            client: SignedClient::new(url, secret, timeout)?,
            threshold,
        })
    }
}

#[derive(Deserialize)]
struct FaceScore {
    score: f64,
}

impl FaceVerifier for HttpFaceVerifier {
    fn verify<'a>(
        &'a self,
        subject: &'a FaceSubject,
        image: &'a [u8],
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let body = json!({
                "document_kind": subject.document_kind,
                "document_number": subject.document_number,
                "image": base64::engine::general_purpose::STANDARD.encode(image),
            });
            let res = self.client.post(body, unix_now()).await?;
            let score: FaceScore = res
                .json()
                .await
                .map_err(|e| unavailable(format!("face service answer: {e}")))?;
            if !(0.0..=1.0).contains(&score.score) {
                return Err(unavailable(format!(
                    "face service score {} is outside 0-1",
                    score.score
                )));
            }
            Ok(score.score >= self.threshold)
        })
    }
}

/// Largest live capture accepted (a phone photo, downscaled by the page or the app).
pub const MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;

/// A face check that did not match the photo on record (the form's `image`).
pub(crate) fn face_mismatch() -> ServiceError {
    ServiceError::bad_input(
        "image",
        ErrorCode::FaceMismatch,
        "the face check did not match the photo on record",
    )
}

/// The face checks a step allows are used up.
pub(crate) fn too_many_face_checks() -> ServiceError {
    ServiceError::bad_input(
        "image",
        ErrorCode::TooManyFaceChecks,
        "too many face checks; start again",
    )
}

/// A well-formed JPEG (SOI … EOI) or PNG (signature, IHDR first, IEND last); the real type
/// is read from the bytes, never from a name or a header.
pub(crate) fn check_image(b: &[u8]) -> Result<()> {
    if b.len() > MAX_IMAGE_BYTES {
        return Err(ServiceError::bad_input(
            "image",
            ErrorCode::ImageTooLarge,
            format!(
                "the photo is larger than {} MB",
                MAX_IMAGE_BYTES / (1024 * 1024)
            ),
        ));
    }
    let jpeg = b.len() > 4 && b.starts_with(&[0xFF, 0xD8, 0xFF]) && b.ends_with(&[0xFF, 0xD9]);
    let png = b.len() > 20
        && b.starts_with(b"\x89PNG\r\n\x1a\n")
        && &b[12..16] == b"IHDR"
        && b[b.len().saturating_sub(8)..].starts_with(b"IEND");
    if jpeg || png {
        Ok(())
    } else {
        Err(ServiceError::bad_input(
            "image",
            ErrorCode::BadImage,
            "send a JPEG or PNG photo",
        ))
    }
}
