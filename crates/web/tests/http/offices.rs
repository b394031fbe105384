//! A CTS service centre in Hong Kong through the real server, on both backends: its level and
//! holiday calendar in the API and on its page in the three languages, and Hong Kong's public
//! holidays kept apart from the mainland's on the administrators' centre page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_services::import::ImportKind;
use exitentry_test_support::{
    Backend, TestApp, backend_tests, csrf_field, get_json, hidden_field, import,
};
use reqwest::StatusCode;

const KOWLOON: &str = "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices,services,opening_hours
HK-KLN-001,中国旅行社入境证件服务香港有限公司九龙服务中心,中國旅行社入境證件服務香港有限公司九龍服務中心,China Travel Service Entry Permit Service Hong Kong Ltd - Kowloon Service Centre,HongKong,YauTsimMong,香港九龍旺角彌敦道688號旺角中心一期二樓,cts_centre,0,6,hrp;hrp_non_chinese;collection,Mon-Fri 09:00-17:00; Sat 09:00-13:00
";

async fn hong_kong_centres_show_their_level_and_keep_their_own_holidays(backend: Backend) {
    let t = TestApp::seeded(backend, 0).await;
    let s = import(&t.app, ImportKind::Offices, KOWLOON, false).await;
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let c = t.client();

    let json = get_json(&c, t.url("/api/v1/offices/HK-KLN-001")).await;
    assert_eq!(json["level"], "cts_centre");
    assert_eq!(json["calendar"], "hong_kong");
    let gz = get_json(&c, t.url("/api/v1/offices/GZ-TH-002")).await;
    assert_eq!(
        (&gz["level"], &gz["calendar"]),
        (&"point".into(), &"mainland".into())
    );

    for (lang, level, calendar, place) in [
        (
            "en",
            "CTS service centre (Hong Kong)",
            "Hong Kong public holidays",
            "Yau Tsim Mong",
        ),
        (
            "zh-Hans",
            "中旅社服务中心（香港）",
            "香港公众假期",
            "油尖旺",
        ),
        (
            "zh-Hant",
            "中旅社服務中心（香港）",
            "香港公眾假期",
            "油尖旺",
        ),
    ] {
        let page = t.text_in(&c, "/offices/HK-KLN-001", lang).await;
        for want in [level, calendar, place] {
            assert!(page.contains(want), "{lang}: {want}");
        }
    }

    // The administrators' page: a day ticked for the whole calendar of the Kowloon centre
    // is a Hong Kong holiday, absent from a Guangzhou hall's calendar.
    let admin = t.staff("admin").await;
    let page = t
        .text(&admin, "/staff/admin/centre?office=HK-KLN-001")
        .await;
    assert_eq!(
        hidden_field(&page, "calendar").as_deref(),
        Some("hong_kong")
    );
    let csrf = csrf_field(&page);
    let r = t
        .post_form(
            &admin,
            "/staff/admin/centre",
            &[
                ("csrf", csrf.as_str()),
                ("office", "HK-KLN-001"),
                ("what", "day"),
                ("day", "2026-12-26"),
                ("kind", "holiday"),
                ("nationwide", "1"),
                ("calendar", "hong_kong"),
                ("name", "The first weekday after Christmas Day"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("2026-12-26") && page.contains("The first weekday after Christmas Day"));
    let gz = t.text(&admin, "/staff/admin/centre?office=GZ-TH-001").await;
    assert_eq!(hidden_field(&gz, "calendar").as_deref(), Some("mainland"));
    assert!(!gz.contains("2026-12-26"), "not a mainland holiday");
    t.stop().await;
}

/// An office's address follows the page's language on its page, in the directory and in
/// the API; where the registry holds it only in Simplified Chinese, that address is shown
/// rather than nothing.
async fn addresses_follow_the_page_language(backend: Backend) {
    let t = TestApp::seeded(backend, 0).await;
    let c = t.client();
    let en = "No. 1 Tianhe North Road, Tianhe District, Guangzhou";
    let (hans, hant) = ("广州市天河区天河北路1号", "廣州市天河區天河北路1號");
    for (lang, address, not) in [
        ("en", en, "天河北路"),
        ("zh-Hant", hant, hans),
        ("zh-Hans", hans, hant),
    ] {
        for path in ["/offices/GZ-TH-001", "/offices?district=Tianhe"] {
            let page = t.text_in(&c, path, lang).await;
            assert!(page.contains(address), "{lang} {path}: {page}");
            assert!(!page.contains(not), "{lang} {path}: {page}");
        }
        // Only the Simplified address is held: it stands in for the others.
        let page = t.text_in(&c, "/offices/GZ-YX-001", lang).await;
        assert!(page.contains("广州市越秀区解放南路3号"), "{lang}");
    }
    let json = get_json(&c, t.url("/api/v1/offices/GZ-TH-001")).await;
    assert_eq!(json["address"], "广州市天河区天河北路1号");
    assert_eq!(json["address_zh_hant"], "廣州市天河區天河北路1號");
    assert_eq!(json["address_en"], en);
    let json = get_json(&c, t.url("/api/v1/offices/GZ-YX-001")).await;
    assert_eq!(json["address_en"], "广州市越秀区解放南路3号");
}

backend_tests!(
    hong_kong_centres_show_their_level_and_keep_their_own_holidays,
    addresses_follow_the_page_language
);
