//! Office names in the reader's language for pages whose records hold only office codes
//! (applications, tickets, receipts, documents, devices, staff accounts): a page shows the
//! name, never the code alone.

use crate::extract::context::Cx;
use crate::render::office_name;
use std::collections::{BTreeMap, BTreeSet};

/// Office names by code, read once per page.
#[derive(Default, Clone)]
pub struct OfficeNames(BTreeMap<String, String>);

impl OfficeNames {
    /// The names of the offices `codes` name (each read once; "" skipped). The codes are
    /// taken before anything is awaited, so the future borrows nothing but `cx`.
    pub fn of<'a, 'c>(
        cx: &'c Cx,
        codes: impl IntoIterator<Item = &'a str>,
    ) -> impl Future<Output = OfficeNames> + Send + 'c {
        let codes: BTreeSet<String> = codes
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        async move {
            let mut names = BTreeMap::new();
            for code in codes {
                if let Ok(o) = exitentry_services::offices::get(cx.app(), &code).await {
                    names.insert(code, office_name(cx.lang, &o));
                }
            }
            OfficeNames(names)
        }
    }

    /// Adds an office already read (no second lookup).
    pub fn insert(&mut self, code: &str, name: String) {
        self.0.insert(code.to_string(), name);
    }

    /// The office's name in the reader's language; an office no longer in the directory
    /// by its code, the only name left for it.
    pub fn name(&self, code: &str) -> String {
        self.0
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }
}
