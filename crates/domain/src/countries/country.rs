//! One country of the list and the languages its names are in.

/// One country: its alpha-3 code and its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    pub alpha3: &'static str,
    pub en: &'static str,
    pub zh_hans: &'static str,
    pub zh_hant: &'static str,
}

/// The language a name is wanted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameLang {
    En,
    ZhHans,
    ZhHant,
}

impl Country {
    pub fn name(&self, lang: NameLang) -> &'static str {
        match lang {
            NameLang::En => self.en,
            NameLang::ZhHans => self.zh_hans,
            NameLang::ZhHant => self.zh_hant,
        }
    }
}
