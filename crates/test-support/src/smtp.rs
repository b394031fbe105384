//! A tiny SMTP server for tests: it speaks just enough SMTP for a real client (greeting,
//! EHLO with AUTH PLAIN LOGIN and optionally STARTTLS, AUTH, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT) and records every message for assertions.
//!
//! Written here rather than taken from a crate: the embeddable SMTP servers found use
//! blocking threads and bring rustls with aws-lc, which this build does not allow.

use base64::Engine;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// `MAIL FROM` and `RCPT TO` addresses, without angle brackets.
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section as sent, after dot-unstuffing (CRLF line ends).
    pub data: String,
    /// `(username, password)` of the session's successful AUTH, if any.
    pub auth: Option<(String, String)>,
    /// Whether the message came over TLS (after STARTTLS).
    pub tls: bool,
}

impl ReceivedMail {
    /// A header's value, unfolded and with RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim_start().to_string());
            }
        }
        value.map(|v| decode_words(&v))
    }

    /// The body decoded from its transfer encoding (base64, quoted-printable or as is),
    /// with LF line ends.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.trim() {
            "base64" => {
                let compact: String = body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

/// Decodes `=?charset?B|Q?text?=` words (UTF-8 only); whitespace between two encoded
/// words is dropped, as RFC 2047 says.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut last_was_word = false;
    let mut pending_space = String::new();
    for token in v.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        let space = &token[word.len()..];
        match decode_word(word) {
            Some(decoded) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&decoded);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(word);
                last_was_word = false;
            }
        }
        pending_space = space.to_string();
    }
    out
}

fn decode_word(w: &str) -> Option<String> {
    let inner = w.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let _charset = parts.next()?;
    let enc = parts.next()?;
    let text = parts.next()?;
    let bytes = match enc {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if let Some(h) = s.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(h, 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A running sink on 127.0.0.1; stops when dropped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    /// EHLO names of every session, STARTTLS or not (to see a client's second EHLO).
    sessions: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the sink behaves.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// Offer STARTTLS with this server configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Accept only these credentials; mail without a successful AUTH is refused (530).
    pub credentials: Option<(String, String)>,
    /// Refuse every recipient, echoing the address as real relays do (550).
    pub reject_recipients: bool,
}

/// A self-signed certificate for `localhost` and 127.0.0.1: the server configuration and
/// the certificate in PEM for the client to trust.
pub fn self_signed_tls() -> (Arc<rustls::ServerConfig>, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .expect("server config");
    (Arc::new(config), ck.cert.pem())
}

impl SmtpSink {
    /// Plain SMTP, AUTH accepted with any credentials.
    pub async fn start() -> SmtpSink {
        Self::start_with(SinkOptions::default()).await
    }

    pub async fn start_with(options: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let (m, s) = (messages.clone(), sessions.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (m, s, o) = (m.clone(), s.clone(), options.clone());
                tokio::spawn(async move {
                    let _ = session(Box::new(stream), o, m, s).await;
                });
            }
        });
        SmtpSink {
            addr,
            messages,
            sessions,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The EHLO/HELO names seen, in order (twice per STARTTLS session).
    pub fn greetings(&self) -> Vec<String> {
        self.sessions.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

fn angle(arg: &str) -> String {
    let a = arg.trim();
    let a = a.split_once(' ').map_or(a, |(addr, _params)| addr);
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

/// Sends an AUTH challenge (`334 …`) and reads the client's answer line.
async fn challenge(io: &mut BufReader<Box<dyn Io>>, prompt: &[u8]) -> std::io::Result<String> {
    io.write_all(prompt).await?;
    io.flush().await?;
    let mut answer = String::new();
    io.read_line(&mut answer).await?;
    Ok(answer)
}

async fn session(
    stream: Box<dyn Io>,
    options: SinkOptions,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    sessions: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut io = BufReader::new(stream);
    let mut tls = false;
    let mut auth: Option<(String, String)> = None;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    io.write_all(b"220 sink ESMTP ready\r\n").await?;
    io.flush().await?;
    let mut line = String::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end_matches(['\r', '\n']).to_string();
        let (verb, arg) = cmd.split_once(' ').unwrap_or((cmd.as_str(), ""));
        let verb = verb.to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" | "HELO" => {
                if let Ok(mut s) = sessions.lock() {
                    s.push(arg.to_string());
                }
                let starttls = if options.tls.is_some() && !tls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                format!(
                    "250-sink greets {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n{starttls}\
                     250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
                )
            }
            "STARTTLS" => match (&options.tls, tls) {
                (Some(config), false) => {
                    io.write_all(b"220 go ahead\r\n").await?;
                    io.flush().await?;
                    let inner = io.into_inner();
                    let stream = TlsAcceptor::from(config.clone()).accept(inner).await?;
                    io = BufReader::new(Box::new(stream) as Box<dyn Io>);
                    tls = true;
                    // RFC 3207: the client starts over, forgetting what it knew.
                    auth = None;
                    from.clear();
                    to.clear();
                    continue;
                }
                _ => "502 not offered\r\n".into(),
            },
            "AUTH" => {
                let (mech, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                let creds = match mech.to_ascii_uppercase().as_str() {
                    "PLAIN" => {
                        let resp = if initial.is_empty() {
                            challenge(&mut io, b"334 \r\n").await?
                        } else {
                            initial.to_string()
                        };
                        let decoded = b64(&resp);
                        let mut parts = decoded.split('\0');
                        let _authzid = parts.next();
                        match (parts.next(), parts.next()) {
                            (Some(u), Some(p)) => Some((u.to_string(), p.to_string())),
                            _ => None,
                        }
                    }
                    "LOGIN" => {
                        let user = if initial.is_empty() {
                            b64(&challenge(&mut io, b"334 VXNlcm5hbWU6\r\n").await?)
                        } else {
                            b64(initial)
                        };
                        let password = challenge(&mut io, b"334 UGFzc3dvcmQ6\r\n").await?;
                        Some((user, b64(&password)))
                    }
                    _ => None,
                };
                match creds {
                    Some(c) if options.credentials.as_ref().is_none_or(|want| *want == c) => {
                        auth = Some(c);
                        "235 authenticated\r\n".into()
                    }
                    _ => "535 authentication failed\r\n".into(),
                }
            }
            "MAIL" if options.credentials.is_some() && auth.is_none() => {
                "530 authentication required\r\n".into()
            }
            "MAIL" => {
                from = angle(arg.split_once(':').map_or("", |(_, a)| a));
                to.clear();
                "250 sender ok\r\n".into()
            }
            "RCPT" => {
                let rcpt = angle(arg.split_once(':').map_or("", |(_, a)| a));
                if options.reject_recipients {
                    format!("550 5.1.1 <{rcpt}>: Recipient address rejected\r\n")
                } else {
                    to.push(rcpt);
                    "250 recipient ok\r\n".into()
                }
            }
            "DATA" => {
                io.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                io.flush().await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if io.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    // Dot-unstuffing: a line the client began with ".." began with ".".
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    data.push_str(l);
                }
                if let Ok(mut m) = messages.lock() {
                    m.push(ReceivedMail {
                        from: from.clone(),
                        to: std::mem::take(&mut to),
                        data,
                        auth: auth.clone(),
                        tls,
                    });
                }
                "250 queued\r\n".into()
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 reset\r\n".into()
            }
            "NOOP" => "250 ok\r\n".into(),
            "QUIT" => {
                io.write_all(b"221 bye\r\n").await?;
                io.flush().await?;
                return Ok(());
            }
            _ => "502 unknown command\r\n".into(),
        };
        io.write_all(reply.as_bytes()).await?;
        io.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(data: &str) -> ReceivedMail {
        ReceivedMail {
            from: String::new(),
            to: vec![],
            data: data.into(),
            auth: None,
            tls: false,
        }
    }

    #[test]
    fn encoded_headers_and_bodies_are_decoded() {
        let m = mail(
            "Subject: =?utf-8?b?55Sz6K+3?=\r\n =?utf-8?q?_PA-1=EF=BC=9A?= plain\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc =E4=B8=AD\r\n",
        );
        assert_eq!(m.header("subject").unwrap(), "申请 PA-1： plain");
        assert_eq!(m.body(), "a=bc 中\n");
        let m = mail("Content-Transfer-Encoding: base64\r\n\r\n5Lit\r\n5paH\r\n");
        assert_eq!(m.body(), "中文");
        assert_eq!(m.header("X-Missing"), None);
    }

    #[tokio::test]
    async fn a_raw_session_is_recorded_with_dots_unstuffed() {
        let sink = SmtpSink::start().await;
        let s = tokio::net::TcpStream::connect(sink.addr).await.unwrap();
        let mut io = BufReader::new(s);
        let mut l = String::new();
        // Sends one command; the last line of the (possibly multi-line) reply.
        let send = async |cmd: &str, io: &mut BufReader<tokio::net::TcpStream>| {
            io.write_all(cmd.as_bytes()).await.unwrap();
            loop {
                let mut r = String::new();
                io.read_line(&mut r).await.unwrap();
                if r.as_bytes().get(3) != Some(&b'-') {
                    return r;
                }
            }
        };
        io.read_line(&mut l).await.unwrap();
        assert!(l.starts_with("220"));
        // Each command and the start of the reply it must get ("": any reply).
        for (cmd, reply) in [
            ("EHLO t\r\n", "250 "),
            ("AUTH PLAIN AHVzZXIAcGFzcw==\r\n", "235"),
            ("MAIL FROM:<a@x.org> BODY=8BITMIME\r\n", ""),
            ("RCPT TO:<b@y.org>\r\n", ""),
            ("DATA\r\n", "354"),
            ("Subject: s\r\n\r\n..leading dot\r\n.\r\n", "250"),
            ("QUIT\r\n", ""),
        ] {
            let got = send(cmd, &mut io).await;
            assert!(got.starts_with(reply), "{cmd:?} answered {got:?}");
        }
        let m = &sink.messages()[0];
        assert_eq!(
            (m.from.as_str(), m.to.clone()),
            ("a@x.org", vec!["b@y.org".to_string()])
        );
        assert_eq!(m.auth, Some(("user".into(), "pass".into())));
        assert_eq!(m.body(), ".leading dot\n");
    }
}
