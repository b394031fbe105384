//! The configuration's own tests: defaults, layering, production refusals.

#[cfg(test)]
mod production_tests {
    use crate::*;

    #[test]
    fn the_demos_links_follow_where_it_listens() {
        let mut s = ServerConfig {
            listen: "127.0.0.1:39123".into(),
            ..ServerConfig::default()
        };
        s.public_url_from_listen();
        assert_eq!(s.public_url, "http://127.0.0.1:39123");
        s.listen = "0.0.0.0:8081".into();
        s.public_url = ServerConfig::default().public_url;
        s.public_url_from_listen();
        assert_eq!(s.public_url, "http://127.0.0.1:8081");
        // A configured public URL wins.
        s.public_url = "https://demo.example.org".into();
        s.public_url_from_listen();
        assert_eq!(s.public_url, "https://demo.example.org");
    }

    #[test]
    fn production_refuses_development_secrets_and_names_each_key() {
        let mut c = Config::default();
        c.providers.sms_gateway_url = "https://sms.example.gov".into();
        c.providers.face_service_url = "https://face.example.gov".into();
        c.server.public_url = "https://exitentry.example.gov".into();
        let problems = c.production_problems().join("\n");
        for key in [
            "security.log_hash_secret",
            "providers.sms_gateway_secret",
            "providers.face_service_secret",
            "server.secure_cookies",
            "server.metrics_token",
        ] {
            assert!(problems.contains(key), "{key} in {problems}");
        }
        c.security.log_hash_secret = Secret("a long random production key".into());
        c.providers.sms_gateway_secret = Secret("s".repeat(32));
        c.providers.face_service_secret = Secret("f".repeat(32));
        c.server.secure_cookies = true;
        c.server.metrics_token = Secret("a long metrics token".into());
        assert!(
            c.production_problems().is_empty(),
            "{:?}",
            c.production_problems()
        );
    }
}

#[cfg(test)]
// figment's Jail API returns its large error type; that is its design, not ours.
#[allow(clippy::result_large_err)]
mod loading {
    use crate::*;

    /// `toml` written to a file in the jail, then loaded (the jail's environment applies).
    /// A test whose body runs in a fresh figment jail: its own folder and environment.
    macro_rules! jail_test {
        (fn $name:ident($jail:ident) $body:block) => {
            #[test]
            fn $name() {
                figment::Jail::expect_with(|$jail| {
                    $body
                    Ok(())
                });
            }
        };
    }

    fn load_toml(jail: &mut figment::Jail, toml: &str) -> Result<Config, ConfigError> {
        jail.create_file("c.toml", toml)
            .expect("a file in the jail");
        load(Some(Path::new("c.toml")), Figment::new())
    }

    #[test]
    fn default_file_parses_back_to_the_defaults() {
        let parsed: Config = toml::from_str(&default_toml()).unwrap();
        assert_eq!(parsed, Config::default());
    }

    jail_test!(fn layers_apply_in_order_file_then_env_then_flags(jail) {
        jail.create_file(
            "c.toml",
            "[server]\nlisten = \"0.0.0.0:1\"\npublic_url = \"http://file\"\n[log]\nformat = \"json\"\n",
        )?;
        jail.set_env("EXITENTRY_SERVER__LISTEN", "0.0.0.0:2");
        jail.set_env("EXITENTRY_LOG__FILTER", "debug");
        jail.set_env("EXITENTRY_TEST_BACKENDS", "sqlite");
        let flags = Figment::new().merge(Serialized::default("log.filter", "trace"));
        let c = load(Some(Path::new("c.toml")), flags).unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:2", "env beats file");
        assert_eq!(c.server.public_url, "http://file", "file beats default");
        assert_eq!(c.log.format, "json");
        assert_eq!(c.log.filter, "trace", "flags beat env");
    });

    jail_test!(fn database_url_env_is_read_and_redacted_in_debug(jail) {
        jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/x");
        let c = load(None, Figment::new()).unwrap();
        assert_eq!(c.database.url.expose(), "postgres://app:hunter2@db/x");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://app:***@db/x"));
    });

    jail_test!(fn online_adapters_and_wechat_pay_from_file_and_env_with_the_key_hidden(jail) {
        jail.set_env(
            "EXITENTRY_ENDORSEMENTS__WECHAT_PAY__API_KEY",
            "k-very-secret",
        );
        let file = "[endorsements.online]\nwechat_pay = \"wechat_native\"\nalipay = \"none\"\n\
                    [endorsements.wechat_pay]\napp_id = \"wx1\"\nmch_id = \"100\"\n";
        let c = load_toml(jail, file).unwrap();
        let o = &c.endorsements.online;
        assert_eq!(o.get("wechat_pay"), OnlineAdapter::WechatNative);
        assert_eq!(o.get("alipay"), OnlineAdapter::None);
        assert_eq!(o.get("unionpay"), OnlineAdapter::Sandbox, "default kept");
        let w = &c.endorsements.wechat_pay;
        assert_eq!((w.app_id.as_str(), w.mch_id.as_str()), ("wx1", "100"));
        assert_eq!(w.api_key.expose(), "k-very-secret");
        assert_eq!(w.base_url, "https://api.mch.weixin.qq.com");
        assert!(!format!("{c:?}").contains("k-very-secret"));
        assert!(load_toml(jail, "[endorsements.online]\nwechat_pay = \"wechat\"\n").is_err());
    });

    jail_test!(fn uploads_limits_from_file_and_env(jail) {
        jail.set_env("EXITENTRY_UPLOADS__MAX_FILES_PER_OWNER", "4");
        let file = "[uploads]\ndir = \"/srv/uploads\"\nmax_pdf_ratio = 50\n";
        let c = load_toml(jail, file).unwrap();
        let u = &c.uploads;
        assert_eq!(u.dir, "/srv/uploads");
        assert_eq!((u.max_pdf_ratio, u.max_files_per_owner), (50, 4));
        assert_eq!(u.max_image_bytes, 5 * 1024 * 1024, "default kept");
        assert!(load_toml(jail, "[uploads]\nmax_bytes = 1\n").is_err());
    });

    jail_test!(fn email_settings_from_file_and_env_with_the_password_hidden(jail) {
        jail.set_env("EXITENTRY_EMAIL__PASSWORD", "mail-very-secret");
        let file = "[email]\nfrom = \"出入境 <a@example.org>\"\nsmtp_host = \"smtp.example.org\"\n\
                    tls = \"tls\"\nsmtp_port = 465\nusername = \"mailer\"\n";
        let c = load_toml(jail, file).unwrap();
        assert_eq!(c.email.tls, EmailTls::Tls);
        assert_eq!(c.email.smtp_port, 465);
        assert_eq!(c.email.username, "mailer");
        assert_eq!(c.email.password.expose(), "mail-very-secret");
        assert_eq!(c.email.timeout_seconds, 30, "default kept");
        assert!(!format!("{c:?}").contains("mail-very-secret"));
        assert!(load_toml(jail, "[email]\ntls = \"ssl\"\n").is_err());
    });

    jail_test!(fn plain_text_smtp_is_refused_except_on_this_machine(jail) {
        let far = "[email]\nsmtp_host = \"smtp.example.org\"\ntls = \"none\"\n";
        let e = load_toml(jail, far).unwrap_err();
        assert!(e.to_string().contains("email.tls"), "{e}");
        for host in ["localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.2"] {
            let mut c = Config::default();
            c.email.smtp_host = host.into();
            c.email.tls = EmailTls::None;
            assert!(c.check().is_ok(), "{host}");
        }
        for host in ["10.0.0.1", "localhost.example.org", "mail"] {
            let mut c = Config::default();
            c.email.smtp_host = host.into();
            c.email.tls = EmailTls::None;
            assert!(c.check().is_err(), "{host}");
            c.email.tls = EmailTls::Starttls;
            assert!(c.check().is_ok(), "{host}");
        }
        // No host: nothing is sent, so nothing to refuse.
        let mut c = Config::default();
        c.email.tls = EmailTls::None;
        assert!(c.check().is_ok());
    });

    jail_test!(fn unknown_keys_and_missing_files_are_errors(jail) {
        assert!(load_toml(jail, "[server]\nlisen = \"x\"\n").is_err());
        assert!(load(Some(Path::new("nope.toml")), Figment::new()).is_err());
    });
}
