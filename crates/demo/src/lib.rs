//! Realistic, deterministic demo data: people of every region with documents of every
//! kind and status, produced as the registry's own CSV import files so the demo and the
//! benchmarks go through the same validation as a real migration.

use chrono::{Datelike, Days, NaiveDate};
use exitentry_domain::document::{DocumentStatus, expiry_for_issue};
use exitentry_domain::ids::{
    make_hkid, make_prc_resident_id, make_residence_permit_number, make_taiwan_id,
};
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::person::{Region, Sex};
use exitentry_domain::policy::Policy;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::HashSet;
use std::fmt::Write;

mod centres;
mod showcase;

pub use centres::*;
pub use showcase::*;

/// Fixed people every demo has, so guides and browser tests can name them.
pub const SHOWCASE: &[(&str, &str)] = &[
    ("CA1234567", "EEP card of 李华 LI HUA (mainland)"),
    (
        "H12345678",
        "home return permit of 陳大文 CHAN TAI MAN (Hong Kong)",
    ),
    (
        "12345678",
        "Taiwan residents' permit of 林志豪 LIN CHIH-HAO",
    ),
    (
        "HA1234567",
        "non-Chinese HRP of SMITH JOHN (Hong Kong, British)",
    ),
];

const SURNAMES_MAINLAND: &[(&str, &str)] = &[
    ("李", "LI"),
    ("王", "WANG"),
    ("张", "ZHANG"),
    ("刘", "LIU"),
    ("陈", "CHEN"),
    ("杨", "YANG"),
    ("黄", "HUANG"),
    ("赵", "ZHAO"),
    ("吴", "WU"),
    ("周", "ZHOU"),
    ("徐", "XU"),
    ("孙", "SUN"),
    ("马", "MA"),
    ("朱", "ZHU"),
    ("胡", "HU"),
    ("郭", "GUO"),
    ("何", "HE"),
    ("林", "LIN"),
    ("罗", "LUO"),
    ("梁", "LIANG"),
    ("郑", "ZHENG"),
    ("谢", "XIE"),
    ("冯", "FENG"),
    ("邓", "DENG"),
];
const GIVEN_MAINLAND: &[(&str, &str)] = &[
    ("伟", "WEI"),
    ("芳", "FANG"),
    ("娜", "NA"),
    ("敏", "MIN"),
    ("静", "JING"),
    ("丽", "LI"),
    ("强", "QIANG"),
    ("磊", "LEI"),
    ("军", "JUN"),
    ("洋", "YANG"),
    ("勇", "YONG"),
    ("艳", "YAN"),
    ("杰", "JIE"),
    ("涛", "TAO"),
    ("明", "MING"),
    ("超", "CHAO"),
    ("秀英", "XIUYING"),
    ("华", "HUA"),
    ("嘉怡", "JIAYI"),
    ("子轩", "ZIXUAN"),
    ("浩然", "HAORAN"),
    ("欣怡", "XINYI"),
    ("梓涵", "ZIHAN"),
    ("建国", "JIANGUO"),
    ("志强", "ZHIQIANG"),
    ("晓燕", "XIAOYAN"),
    ("宇航", "YUHANG"),
    ("思远", "SIYUAN"),
];
const SURNAMES_HK: &[(&str, &str)] = &[
    ("陳", "CHAN"),
    ("黃", "WONG"),
    ("李", "LEE"),
    ("張", "CHEUNG"),
    ("劉", "LAU"),
    ("何", "HO"),
    ("林", "LAM"),
    ("梁", "LEUNG"),
    ("吳", "NG"),
    ("鄭", "CHENG"),
    ("周", "CHOW"),
    ("麥", "MAK"),
];
const GIVEN_HK: &[(&str, &str)] = &[
    ("志明", "CHI MING"),
    ("嘉欣", "KA YAN"),
    ("家豪", "KA HO"),
    ("詠詩", "WING SZE"),
    ("俊傑", "CHUN KIT"),
    ("美玲", "MEI LING"),
    ("偉文", "WAI MAN"),
    ("淑儀", "SUK YEE"),
    ("大文", "TAI MAN"),
    ("小雯", "SIU MAN"),
    ("國強", "KWOK KEUNG"),
    ("綺琪", "YEE KI"),
];
const SURNAMES_TW: &[(&str, &str)] = &[
    ("陳", "CHEN"),
    ("林", "LIN"),
    ("黃", "HUANG"),
    ("張", "CHANG"),
    ("李", "LI"),
    ("王", "WANG"),
    ("吳", "WU"),
    ("劉", "LIU"),
    ("蔡", "TSAI"),
    ("楊", "YANG"),
    ("許", "HSU"),
    ("鄭", "CHENG"),
];
const GIVEN_TW: &[(&str, &str)] = &[
    ("志豪", "CHIH-HAO"),
    ("怡君", "YI-CHUN"),
    ("家豪", "CHIA-HAO"),
    ("雅婷", "YA-TING"),
    ("冠宇", "KUAN-YU"),
    ("淑芬", "SHU-FEN"),
    ("建宏", "CHIEN-HUNG"),
    ("佳穎", "CHIA-YING"),
];
const FOREIGN: &[(&str, &str)] = &[
    ("SMITH", "GBR"),
    ("JONES", "GBR"),
    ("BROWN", "AUS"),
    ("WILSON", "CAN"),
    ("MILLER", "USA"),
    ("SANTOS", "PHL"),
    ("SINGH", "IND"),
    ("FERREIRA", "PRT"),
    ("KHAN", "PAK"),
    ("TANAKA", "JPN"),
];
const FOREIGN_GIVEN: &[&str] = &[
    "JOHN", "MARY", "DAVID", "SARAH", "PETER", "ANNA", "RAJ", "MARIA", "JAMES", "EMMA",
];
const AREAS: &[&str] = &[
    "440104", "440106", "440105", "440111", "440113", "440103", "440112", "440114", "440115",
    "440117", "440118", "440304", "441900", "440604", "110105", "310115", "330106", "510107",
    "420103", "350582", "330782", "320583",
];
const HK_PREFIXES: &[&str] = &["A", "C", "D", "E", "G", "K", "P", "R", "V", "Y", "Z", "XA"];
const TW_LETTERS: &[char] = &['A', 'B', 'E', 'F', 'H', 'K', 'N', 'R', 'S', 'T'];
const EEP_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Demo registry files in the import formats.
pub struct DemoFiles {
    pub people_csv: String,
    pub documents_csv: String,
    pub people: usize,
    pub documents: usize,
}

struct Gen<'a> {
    rng: StdRng,
    policy: &'a Policy,
    today: NaiveDate,
    offices: &'a [String],
    used: HashSet<String>,
    counter: u64,
    people: String,
    docs: String,
    n_people: usize,
    n_docs: usize,
}

fn pick<'b, T>(rng: &mut StdRng, xs: &'b [T]) -> &'b T {
    &xs[rng.random_range(0..xs.len())]
}

impl Gen<'_> {
    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        from + Days::new(self.rng.random_range(0..=span))
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The office that issued a document: a CTS centre in Hong Kong for Hong Kong
    /// residents' home return permits (codes `HK-…`), a mainland office for the rest.
    fn office(&mut self, in_hong_kong: bool) -> String {
        let here: Vec<&String> = self
            .offices
            .iter()
            .filter(|c| c.starts_with("HK-") == in_hong_kong)
            .collect();
        let list = if here.is_empty() {
            self.offices.iter().collect()
        } else {
            here
        };
        if list.is_empty() {
            String::new()
        } else {
            (*pick(&mut self.rng, &list)).clone()
        }
    }

    fn status(&mut self) -> DocumentStatus {
        match self.rng.random_range(0..100) {
            0..=79 => DocumentStatus::Valid,
            80..=85 => DocumentStatus::ReportedLost,
            86..=89 => DocumentStatus::Damaged,
            90..=95 => DocumentStatus::Surrendered,
            _ => DocumentStatus::Cancelled,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn person(
        &mut self,
        ext: &str,
        zh: &str,
        latin: &str,
        sex: Sex,
        dob: NaiveDate,
        region: Region,
        nat: &str,
        kind: &str,
        id: &str,
    ) {
        // Generated mainland residents still live where they were first registered: the
        // hukou area is the identity number's first six digits.
        let hukou: String = if kind == "prc_resident_id" {
            id.chars().take(6).collect()
        } else {
            String::new()
        };
        let (sex, region) = (sex.code(), region.code());
        let _ = writeln!(
            self.people,
            "{ext},{zh},{latin},{sex},{dob},{region},{nat},{kind},{id},{hukou}"
        );
        self.n_people += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn document(
        &mut self,
        ext: &str,
        kind: DocumentKind,
        number: &str,
        count: Option<u8>,
        issued: NaiveDate,
        expires: NaiveDate,
        status: DocumentStatus,
    ) {
        let hong_kong_permit = matches!(kind, DocumentKind::Hrp | DocumentKind::HrpNonChinese)
            && number.starts_with('H');
        let office = self.office(hong_kong_permit);
        let count = count.map(|c| format!("{c:02}")).unwrap_or_default();
        // A stored "valid" past its date reads as expired; write what a migration would hold.
        let status = if status == DocumentStatus::Valid && expires < self.today {
            DocumentStatus::Expired
        } else {
            status
        };
        let (kind, status) = (kind.code(), status.code());
        let _ = writeln!(
            self.docs,
            "{ext},{kind},{number},{count},{issued},{expires},{status},{office}"
        );
        self.n_docs += 1;
    }

    /// Issue date and expiry for a document of `kind` issued between `from` and today.
    fn issue(
        &mut self,
        kind: DocumentKind,
        dob: NaiveDate,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Option<(NaiveDate, NaiveDate)> {
        let from = from.max(dob + Days::new(30));
        let until = until.min(self.today);
        if from > until {
            return None;
        }
        let issued = self.date_between(from, until);
        let applied = issued
            .checked_sub_days(Days::new(10))
            .unwrap_or(issued)
            .max(dob);
        expiry_for_issue(self.policy, kind, dob, applied, issued)
            .ok()
            .map(|e| (issued, e))
    }

    fn unique(&mut self, mut make: impl FnMut(&mut StdRng) -> String) -> String {
        loop {
            let v = make(&mut self.rng);
            if self.used.insert(v.clone()) {
                return v;
            }
        }
    }

    /// A Chinese name from the lists of a place: (characters, romanised).
    fn chinese_name(
        &mut self,
        surnames: &[(&str, &str)],
        given: &[(&str, &str)],
    ) -> (String, String) {
        let (s, sp) = *pick(&mut self.rng, surnames);
        let (g, gp) = *pick(&mut self.rng, given);
        (format!("{s}{g}"), format!("{sp} {gp}"))
    }

    fn random_person(&mut self, i: usize) {
        use DocumentKind::{EepBooklet, EepCard, Hrp, HrpNonChinese, Twp};
        let ext = format!("P{:07}", i + 1);
        let sex = if self.rng.random_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let dob = self.date_between(
            NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default(),
            self.today - Days::new(365),
        );
        let parity = u16::from(sex == Sex::Male);
        let roll = self.rng.random_range(0..100);
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        if roll < 55 {
            let (zh, latin) = self.chinese_name(SURNAMES_MAINLAND, GIVEN_MAINLAND);
            let area = *pick(&mut self.rng, AREAS);
            let id = self.unique(|r| {
                make_prc_resident_id(area, dob, r.random_range(0..500u16) * 2 + parity)
            });
            let (region, id_kind) = (Region::Mainland, "prc_resident_id");
            self.person(&ext, &zh, &latin, sex, dob, region, "CHN", id_kind, &id);
            if self.rng.random_bool(0.25)
                && let Some((iss, exp)) =
                    self.issue(DocumentKind::EepBooklet, dob, d(2003, 1, 1), d(2014, 9, 14))
            {
                let n = self.next();
                let st = if self.rng.random_bool(0.5) {
                    DocumentStatus::Surrendered
                } else {
                    DocumentStatus::Valid
                };
                let number = format!("C{:08}", 10_000_000 + n);
                self.document(&ext, EepBooklet, &number, None, iss, exp, st);
            }
            if let Some((iss, exp)) =
                self.issue(DocumentKind::EepCard, dob, d(2014, 9, 15), self.today)
            {
                let n = self.next();
                let letter = EEP_LETTERS[(n % 24) as usize] as char;
                let st = self.status();
                let number = format!("C{letter}{:07}", (n / 24) % 10_000_000);
                self.document(&ext, EepCard, &number, None, iss, exp, st);
            }
        } else if roll < 85 {
            let region = if roll < 75 {
                Region::HongKong
            } else {
                Region::Macao
            };
            let foreign = self.rng.random_bool(0.06);
            let id = match region {
                Region::HongKong => self.unique(|r| {
                    make_hkid(
                        pick::<&str>(r, HK_PREFIXES),
                        r.random_range(100_000..1_000_000),
                    )
                }),
                _ => self.unique(|r| {
                    format!(
                        "{}{:06}{}",
                        pick(r, &['1', '5', '7']),
                        r.random_range(0..1_000_000),
                        r.random_range(0..10)
                    )
                }),
            };
            let kind = if region == Region::HongKong {
                "hkid"
            } else {
                "macao_id"
            };
            if foreign {
                let (surname, nat) = *pick(&mut self.rng, FOREIGN);
                let given = *pick(&mut self.rng, FOREIGN_GIVEN);
                let latin = format!("{surname} {given}");
                self.person(&ext, "", &latin, sex, dob, region, nat, kind, &id);
                if let Some((iss, exp)) =
                    self.issue(DocumentKind::HrpNonChinese, dob, d(2024, 7, 10), self.today)
                {
                    let n = self.next();
                    let p = if region == Region::HongKong {
                        "HA"
                    } else {
                        "MA"
                    };
                    let st = self.status();
                    let number = format!("{p}{:07}", 2_000_000 + n);
                    self.document(&ext, HrpNonChinese, &number, Some(1), iss, exp, st);
                }
            } else {
                let (zh, latin) = self.chinese_name(SURNAMES_HK, GIVEN_HK);
                self.person(&ext, &zh, &latin, sex, dob, region, "CHN", kind, &id);
                let number = format!(
                    "{}{:08}",
                    if region == Region::HongKong { 'H' } else { 'M' },
                    20_000_000 + self.next()
                );
                let cards = self.rng.random_range(1..=3u8);
                let mut from = d(2004, 1, 1);
                for c in 1..=cards {
                    let Some((iss, exp)) = self.issue(DocumentKind::Hrp, dob, from, self.today)
                    else {
                        break;
                    };
                    let st = if c < cards {
                        DocumentStatus::Surrendered
                    } else {
                        self.status()
                    };
                    self.document(&ext, Hrp, &number, Some(c), iss, exp, st);
                    from = iss + Days::new(400);
                }
                self.residence_permit(&ext, region, dob, parity);
            }
        } else {
            let (zh, latin) = self.chinese_name(SURNAMES_TW, GIVEN_TW);
            let id = self.unique(|r| {
                make_taiwan_id(*pick(r, TW_LETTERS), sex, r.random_range(0..10_000_000))
            });
            let (region, id_kind) = (Region::Taiwan, "taiwan_id");
            self.person(&ext, &zh, &latin, sex, dob, region, "CHN", id_kind, &id);
            if let Some((iss, exp)) = self.issue(DocumentKind::Twp, dob, d(2015, 7, 1), self.today)
            {
                let n = self.next();
                let st = self.status();
                let number = format!("{:08}", 30_000_000 + n);
                self.document(&ext, Twp, &number, None, iss, exp, st);
            }
            self.residence_permit(&ext, region, dob, parity);
        }
    }

    fn residence_permit(&mut self, ext: &str, region: Region, dob: NaiveDate, parity: u16) {
        if !self.rng.random_bool(0.3) {
            return;
        }
        let from = NaiveDate::from_ymd_opt(2018, 9, 1).unwrap_or_default();
        if let Some((iss, exp)) = self.issue(DocumentKind::ResidencePermit, dob, from, self.today) {
            let number = self.unique(|r| {
                make_residence_permit_number(region, dob, r.random_range(0..500u16) * 2 + parity)
            });
            let st = self.status();
            self.document(
                ext,
                DocumentKind::ResidencePermit,
                &number,
                None,
                iss,
                exp,
                st,
            );
        }
    }

    fn showcase(&mut self) {
        use DocumentKind::{EepBooklet, EepCard, Hrp, HrpNonChinese, ResidencePermit, Twp};
        use DocumentStatus::Surrendered;
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        let recent = d(self.today.year() - 2, 3, 10);
        let hkid = make_hkid("C", 668_668);
        let (li, chan) = (d(1949, 12, 31), d(1985, 3, 15));
        let (lin, smith) = (d(1990, 8, 8), d(1978, 11, 2));
        let rp = make_residence_permit_number(Region::HongKong, chan, 1);
        // 李华: the DOMAIN.md example resident ID; 陳大文 of Hong Kong, 林志豪 of Taiwan and
        // SMITH JOHN, a non-Chinese permanent resident of Hong Kong.
        #[rustfmt::skip] // a table: one person a line
        let people = [
            ("S0000001", "李华", "LI HUA", Sex::Female, li, Region::Mainland, "CHN", "prc_resident_id", "11010519491231002X"),
            ("S0000002", "陳大文", "CHAN TAI MAN", Sex::Male, chan, Region::HongKong, "CHN", "hkid", "A1234563"),
            ("S0000003", "林志豪", "LIN CHIH-HAO", Sex::Male, lin, Region::Taiwan, "CHN", "taiwan_id", "A123456789"),
            ("S0000004", "", "SMITH JOHN", Sex::Male, smith, Region::HongKong, "GBR", "hkid", hkid.as_str()),
        ];
        for (ext, zh, latin, sex, dob, region, nationality, id_kind, id) in people {
            self.used.insert(id.to_string());
            self.person(ext, zh, latin, sex, dob, region, nationality, id_kind, id);
        }
        self.used.insert(rp.clone());
        // Each person's documents: current ones valid for the policy's term from `issued`
        // (`None`), past ones with their dates, surrendered when the next was issued.
        let since_2024 = d(2024, 9, 2).min(self.today);
        #[rustfmt::skip] // a table: one document a line
        let documents = [
            ("S0000001", li, EepCard, "CA1234567", None, recent, None),
            ("S0000001", li, EepBooklet, "C12345678", None, d(2012, 5, 4), Some(d(2017, 5, 3))),
            ("S0000002", chan, Hrp, "H12345678", Some(2), d(2013, 6, 1), Some(d(2023, 5, 31))),
            ("S0000002", chan, Hrp, "H12345678", Some(3), recent, None),
            ("S0000002", chan, ResidencePermit, rp.as_str(), None, recent, None),
            ("S0000003", lin, Twp, "12345678", None, recent, None),
            ("S0000004", smith, HrpNonChinese, "HA1234567", Some(1), since_2024, None),
        ];
        for (ext, dob, kind, number, count, issued, past) in documents {
            if let Some(expired) = past {
                self.document(ext, kind, number, count, issued, expired, Surrendered);
            } else if let Ok(exp) = expiry_for_issue(self.policy, kind, dob, issued, issued) {
                self.document(ext, kind, number, count, issued, exp, DocumentStatus::Valid);
            }
        }
    }
}

/// The office codes of an offices CSV (the registry's import format: the code first, after
/// one header line), for [`generate`] to issue documents at.
pub fn office_codes(offices_csv: &str) -> Vec<String> {
    offices_csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(str::to_string)
        .collect()
}

/// Generates `n` random people (plus the showcase people) with their documents.
pub fn generate(
    seed: u64,
    n: usize,
    today: NaiveDate,
    policy: &Policy,
    offices: &[String],
) -> DemoFiles {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        policy,
        today,
        offices,
        used: HashSet::new(),
        counter: 0,
        people: String::with_capacity(n * 90),
        docs: String::with_capacity(n * 110),
        n_people: 0,
        n_docs: 0,
    };
    g.people.push_str(
        "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number,hukou_area\n",
    );
    g.docs.push_str(
        "person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code\n",
    );
    g.showcase();
    for i in 0..n {
        g.random_person(i);
    }
    DemoFiles {
        people_csv: g.people,
        documents_csv: g.docs,
        people: g.n_people,
        documents: g.n_docs,
    }
}
