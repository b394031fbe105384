//! Languages: negotiation (cookie, then Accept-Language) and message lookup.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fluent_templates::{Loader, static_loader};
use std::borrow::Cow;
use std::collections::HashMap;
use unic_langid::{LanguageIdentifier, langid};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Isolation marks would show up as stray characters in attributes and tests.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The three languages the platform speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhHans,
    ZhHant,
    En,
}

const ZH_HANS: LanguageIdentifier = langid!("zh-Hans");
const ZH_HANT: LanguageIdentifier = langid!("zh-Hant");
const EN: LanguageIdentifier = langid!("en");

pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::ZhHans, Lang::ZhHant, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
            Lang::En => "en",
        }
    }

    /// The same language for the messages services send (SMS, email).
    pub fn messages(self) -> exitentry_services::email::Lang {
        match self {
            Lang::ZhHans => exitentry_services::email::Lang::ZhHans,
            Lang::ZhHant => exitentry_services::email::Lang::ZhHant,
            Lang::En => exitentry_services::email::Lang::En,
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhHans => "简体中文",
            Lang::ZhHant => "繁體中文",
            Lang::En => "English",
        }
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::ZhHans => ZH_HANS,
            Lang::ZhHant => ZH_HANT,
            Lang::En => EN,
        }
    }

    /// Maps a language tag: zh-TW/zh-HK/zh-MO and any Hant script → Traditional; other
    /// Chinese tags → Simplified; English → English.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        if t == "zh-hant"
            || t.starts_with("zh-hant-")
            || ["zh-tw", "zh-hk", "zh-mo"].contains(&t.as_str())
        {
            return Some(Lang::ZhHant);
        }
        if t == "zh" || t.starts_with("zh-") {
            return Some(Lang::ZhHans);
        }
        if t == "en" || t.starts_with("en-") {
            return Some(Lang::En);
        }
        None
    }

    /// Picks the best language from an Accept-Language header, honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut prefs: Vec<(f32, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                Lang::from_tag(tag).filter(|_| q > 0.0).map(|l| (q, i, l))
            })
            .collect();
        prefs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        prefs.first().map(|p| p.2)
    }

    pub fn t(self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.id(), key)
            .unwrap_or_else(|| key.to_string())
    }

    /// Looks up `key`, or returns `None` when no language has it.
    pub fn try_t(self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.id(), key)
    }

    /// Looks up `key` in this language only (no other language stands in), with arguments.
    pub fn own_t_args(self, key: &str, args: &[(&'static str, String)]) -> Option<String> {
        let map: HashMap<Cow<'static, str>, fluent_templates::fluent_bundle::FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone().into()))
            .collect();
        LOCALES
            .lookup_single_language(&self.id(), key, Some(&map))
            .ok()
    }

    pub fn t_args(self, key: &str, args: &[(&'static str, String)]) -> String {
        let map: HashMap<Cow<'static, str>, fluent_templates::fluent_bundle::FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone().into()))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.id(), key, &map)
            .unwrap_or_else(|| key.to_string())
    }
}

/// Reads a cookie value from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_in(&parts.headers, name)
}

/// Reads a cookie value from request headers.
pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

impl Lang {
    /// The reader's language: the chosen one (cookie), else the browser's, else zh-Hans.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Lang {
        Lang::asked(headers).unwrap_or(Lang::ZhHans)
    }

    /// The caller's language on the JSON API: as for pages, but English when the caller
    /// names none (an integrator's client sends no `Accept-Language`).
    pub fn for_api(headers: &axum::http::HeaderMap) -> Lang {
        Lang::asked(headers).unwrap_or(Lang::En)
    }

    /// The language the request names: the chosen one (cookie), else the client's.
    fn asked(headers: &axum::http::HeaderMap) -> Option<Lang> {
        cookie_in(headers, LANG_COOKIE)
            .and_then(Lang::from_tag)
            .or_else(|| {
                let header = headers.get(axum::http::header::ACCEPT_LANGUAGE)?;
                Lang::from_accept_language(header.to_str().ok()?)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_maps_regions_to_scripts() {
        let cases = [
            ("zh-TW,zh;q=0.9", Lang::ZhHant),
            ("zh-HK", Lang::ZhHant),
            ("zh-MO", Lang::ZhHant),
            ("zh-Hant-TW", Lang::ZhHant),
            ("zh-CN,en;q=0.5", Lang::ZhHans),
            ("zh-SG", Lang::ZhHans),
            ("zh", Lang::ZhHans),
            ("en-GB,zh;q=0.8", Lang::En),
            ("fr;q=1,en;q=0.3,zh-TW;q=0.6", Lang::ZhHant),
            ("de, en-US;q=0.9", Lang::En),
        ];
        for (h, want) in cases {
            assert_eq!(Lang::from_accept_language(h), Some(want), "{h}");
        }
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("zh;q=0"), None);
    }

    #[test]
    fn every_language_has_every_key() {
        let keys = |file: &str| -> Vec<String> {
            std::fs::read_to_string(format!(
                "{}/locales/{file}/main.ftl",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" = "))
            .map(|l| l.split(" = ").next().unwrap_or("").to_string())
            .collect()
        };
        let en = keys("en");
        assert!(en.len() > 50);
        for other in ["zh-Hans", "zh-Hant"] {
            let k = keys(other);
            let missing: Vec<_> = en.iter().filter(|e| !k.contains(e)).collect();
            let extra: Vec<_> = k.iter().filter(|e| !en.contains(e)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{other}: missing {missing:?} extra {extra:?}"
            );
        }
    }

    #[test]
    fn lookups_differ_by_language() {
        assert_eq!(Lang::En.t("nav-offices"), "Offices");
        assert_ne!(Lang::ZhHans.t("nav-offices"), Lang::ZhHant.t("nav-offices"));
    }
}
