//! Countries (ISO 3166-1) with their names in the three languages the pages speak, for the
//! nationality picker and for showing a stored code as a name. The list is generated from
//! Debian's iso-codes by `scripts/countries-from-iso-codes` (`list.rs`).

mod country;
mod list;

pub use country::{Country, NameLang};
use list::{COUNTRIES, ORDER_EN, ORDER_ZH_HANS, ORDER_ZH_HANT};

/// The country with this alpha-3 code (any case, spaces around ignored).
pub fn by_alpha3(code: &str) -> Option<&'static Country> {
    let code = code.trim().to_ascii_uppercase();
    COUNTRIES
        .binary_search_by(|c| c.alpha3.cmp(code.as_str()))
        .ok()
        .map(|i| &COUNTRIES[i])
}

/// Every country, ordered by its name in `lang` (pinyin for Simplified Chinese, the Hong
/// Kong order for Traditional).
pub fn sorted(lang: NameLang) -> impl Iterator<Item = &'static Country> {
    let order: &'static [u16] = match lang {
        NameLang::En => &ORDER_EN,
        NameLang::ZhHans => &ORDER_ZH_HANS,
        NameLang::ZhHant => &ORDER_ZH_HANT,
    };
    order.iter().map(|&i| &COUNTRIES[usize::from(i)])
}

/// Places in the list that are parts of China, not nationalities: a nationality picker
/// leaves them out (their residents are Chinese nationals).
pub const PARTS_OF_CHINA: [&str; 3] = ["HKG", "MAC", "TWN"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_iso_list_with_three_names_each() {
        assert_eq!(COUNTRIES.len(), 249);
        // Sorted by code (looked up by binary search), each code once.
        assert!(COUNTRIES.windows(2).all(|w| w[0].alpha3 < w[1].alpha3));
        for c in COUNTRIES {
            assert!(c.alpha3.len() == 3 && c.alpha3.bytes().all(|b| b.is_ascii_uppercase()));
            for lang in [NameLang::En, NameLang::ZhHans, NameLang::ZhHant] {
                assert!(!c.name(lang).trim().is_empty(), "{c:?}");
            }
        }
        let gbr = by_alpha3(" gbr").unwrap();
        assert_eq!(
            (gbr.en, gbr.zh_hans, gbr.zh_hant),
            ("United Kingdom", "英国", "英國")
        );
        assert_eq!(by_alpha3("XXX"), None);
        assert_eq!(by_alpha3(""), None);
    }

    #[test]
    fn every_order_lists_every_country_once() {
        for lang in [NameLang::En, NameLang::ZhHans, NameLang::ZhHant] {
            let mut codes: Vec<&str> = sorted(lang).map(|c| c.alpha3).collect();
            assert_eq!(codes.len(), COUNTRIES.len());
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), COUNTRIES.len(), "{lang:?}");
        }
        // English alphabetically (accents aside); Simplified Chinese by pinyin.
        let en: Vec<&str> = sorted(NameLang::En).map(|c| c.en).take(3).collect();
        assert_eq!(en, ["Afghanistan", "Åland Islands", "Albania"]);
        let first = sorted(NameLang::ZhHans).next().unwrap();
        assert!(first.zh_hans.starts_with('阿'), "{first:?}");
    }
}
