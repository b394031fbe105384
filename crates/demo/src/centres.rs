//! The service-centre walk-through: office settings, Hong Kong holidays, open slots, devices,
//! and a signed-in holder with an endorsement.

use chrono::{Datelike, NaiveDate};

/// What the demo prepared for the service-centre walk-through.
#[derive(Debug, Clone)]
pub struct CentreDemo {
    pub office: String,
    pub slots: u64,
    pub kiosk_token: String,
    pub printer_token: String,
    pub holder_mobile: &'static str,
    pub holder_password: &'static str,
    /// The CTS centre in Hong Kong where the non-Chinese permit is walked through.
    pub hk_office: String,
    /// Slots opened at the CTS centres in Hong Kong.
    pub hk_slots: u64,
    pub hk_kiosk_token: String,
    pub hk_printer_token: String,
    /// Hong Kong general holidays put in the calendar.
    pub hk_holidays: usize,
}

/// Hong Kong's general holidays as gazetted (the CTS centres close on them; working days
/// there skip them). Administrators add each year's at `/staff/admin/centre`.
pub const HONG_KONG_GENERAL_HOLIDAYS: &[(&str, &str)] = &[
    ("2025-01-01", "一月一日 The first day of January"),
    ("2025-01-29", "農曆年初一 Lunar New Year's Day"),
    ("2025-01-30", "農曆年初二 The second day of Lunar New Year"),
    ("2025-01-31", "農曆年初三 The third day of Lunar New Year"),
    ("2025-04-04", "清明節 Ching Ming Festival"),
    ("2025-04-18", "耶穌受難節 Good Friday"),
    ("2025-04-19", "耶穌受難節翌日 The day following Good Friday"),
    ("2025-04-21", "復活節星期一 Easter Monday"),
    ("2025-05-01", "勞動節 Labour Day"),
    ("2025-05-05", "佛誕 The Birthday of the Buddha"),
    ("2025-05-31", "端午節 Tuen Ng Festival"),
    (
        "2025-07-01",
        "香港特別行政區成立紀念日 HKSAR Establishment Day",
    ),
    ("2025-10-01", "國慶日 National Day"),
    (
        "2025-10-07",
        "中秋節翌日 The day following Mid-Autumn Festival",
    ),
    ("2025-10-29", "重陽節 Chung Yeung Festival"),
    ("2025-12-25", "聖誕節 Christmas Day"),
    (
        "2025-12-26",
        "聖誕節後第一個周日 The first weekday after Christmas Day",
    ),
    ("2026-01-01", "一月一日 The first day of January"),
    ("2026-02-17", "農曆年初一 Lunar New Year's Day"),
    ("2026-02-18", "農曆年初二 The second day of Lunar New Year"),
    ("2026-02-19", "農曆年初三 The third day of Lunar New Year"),
    ("2026-04-03", "耶穌受難節 Good Friday"),
    ("2026-04-04", "耶穌受難節翌日 The day following Good Friday"),
    (
        "2026-04-06",
        "清明節翌日 The day following Ching Ming Festival",
    ),
    (
        "2026-04-07",
        "復活節星期一翌日 The day following Easter Monday",
    ),
    ("2026-05-01", "勞動節 Labour Day"),
    (
        "2026-05-25",
        "佛誕翌日 The day following the Birthday of the Buddha",
    ),
    ("2026-06-19", "端午節 Tuen Ng Festival"),
    (
        "2026-07-01",
        "香港特別行政區成立紀念日 HKSAR Establishment Day",
    ),
    (
        "2026-09-26",
        "中秋節翌日 The day following Mid-Autumn Festival",
    ),
    ("2026-10-01", "國慶日 National Day"),
    (
        "2026-10-19",
        "重陽節翌日 The day following Chung Yeung Festival",
    ),
    ("2026-12-25", "聖誕節 Christmas Day"),
    (
        "2026-12-26",
        "聖誕節後第一個周日 The first weekday after Christmas Day",
    ),
    ("2027-01-01", "一月一日 The first day of January"),
    ("2027-02-06", "農曆年初一 Lunar New Year's Day"),
    ("2027-02-08", "農曆年初三 The third day of Lunar New Year"),
    ("2027-02-09", "農曆年初四 The fourth day of Lunar New Year"),
    ("2027-03-26", "耶穌受難節 Good Friday"),
    ("2027-03-27", "耶穌受難節翌日 The day following Good Friday"),
    ("2027-03-29", "復活節星期一 Easter Monday"),
    ("2027-04-05", "清明節 Ching Ming Festival"),
    ("2027-05-01", "勞動節 Labour Day"),
    ("2027-05-13", "佛誕 The Birthday of the Buddha"),
    ("2027-06-09", "端午節 Tuen Ng Festival"),
    (
        "2027-07-01",
        "香港特別行政區成立紀念日 HKSAR Establishment Day",
    ),
    (
        "2027-09-16",
        "中秋節翌日 The day following Mid-Autumn Festival",
    ),
    ("2027-10-01", "國慶日 National Day"),
    ("2027-10-08", "重陽節 Chung Yeung Festival"),
    ("2027-12-25", "聖誕節 Christmas Day"),
    (
        "2027-12-27",
        "聖誕節後第一個周日 The first weekday after Christmas Day",
    ),
];

/// Counters at the CTS centres in Hong Kong (they take appointments only).
const HONG_KONG_COUNTERS: &[(&str, i64)] =
    &[("HK-HKI-001", 6), ("HK-KLN-001", 8), ("HK-NT-001", 5)];

/// Opens two weeks of slots at every staffed Guangzhou hall and at the CTS centres in Hong
/// Kong, puts the mainland's next New Year's Day and Hong Kong's general holidays in their
/// calendars, sets up a kiosk and a ticket printer at `office` and at the Hong Kong centre
/// `hk_office`, and gives 李华 (EEP card CA1234567) a sign-in.
pub async fn seed_centres(
    app: &exitentry_services::App,
    office: &str,
    hk_office: &str,
) -> exitentry_services::Result<CentreDemo> {
    use exitentry_domain::office::{OfficeLevel, Service};
    let today = app.today();
    let mut conn = app.db.conn().await?;
    let all = exitentry_storage::offices::list(
        &mut conn,
        &exitentry_storage::offices::OfficeFilter {
            limit: 10_000,
            ..Default::default()
        },
    )
    .await?
    .0;
    for (code, counters) in HONG_KONG_COUNTERS {
        exitentry_storage::centre::set_office_settings(&mut conn, code, *counters, false).await?;
    }
    let new_year = NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap_or(today);
    exitentry_storage::appointments::put_day(
        &mut conn,
        &exitentry_storage::appointments::CalendarDay {
            day: new_year.to_string(),
            calendar: "mainland".into(),
            office_code: String::new(),
            kind: "holiday".into(),
            name: "元旦 New Year's Day".into(),
        },
        app.now_micros(),
    )
    .await?;
    let mut hk_holidays = 0;
    for (day, name) in HONG_KONG_GENERAL_HOLIDAYS {
        if day.parse::<NaiveDate>().is_ok_and(|d| d >= today) {
            exitentry_storage::appointments::put_day(
                &mut conn,
                &exitentry_storage::appointments::CalendarDay {
                    day: (*day).into(),
                    calendar: "hong_kong".into(),
                    office_code: String::new(),
                    kind: "holiday".into(),
                    name: (*name).into(),
                },
                app.now_micros(),
            )
            .await?;
            hk_holidays += 1;
        }
    }
    drop(conn);
    let (mut slots, mut hk_slots) = (0, 0);
    let staffed = all
        .iter()
        .filter(|o| !o.open_24h && (o.city == "Guangzhou" || o.level == OfficeLevel::CtsCentre));
    for o in staffed {
        for s in o
            .services
            .iter()
            .filter(|s| s.bookable() && **s != Service::Collection)
        {
            let opened = exitentry_services::appointments::open_slots(
                app,
                "demo:seed",
                o.code.as_str(),
                s.code(),
                today,
                14,
                None,
            )
            .await?
            .opened;
            if o.level == OfficeLevel::CtsCentre {
                hk_slots += opened;
            } else {
                slots += opened;
            }
        }
    }
    // A kiosk and a ticket printer at each hall; their pairing tokens.
    let device = async |office: &str, name: &str, kind: &str| {
        exitentry_services::centre::create_device(app, "demo:seed", office, name, kind)
            .await
            .map(|(_, token)| token)
    };
    let kiosk_token = device(office, "yx-kiosk-1", "kiosk").await?;
    let printer_token = device(office, "yx-tickets-1", "ticket_printer").await?;
    let hk_kiosk_token = device(hk_office, "kln-kiosk-1", "kiosk").await?;
    let hk_printer_token = device(hk_office, "kln-tickets-1", "ticket_printer").await?;
    // 李华 had a Hong Kong group-tour endorsement last year, so she may apply online now.
    let mut conn = app.db.conn().await?;
    if let Some((card, _)) = exitentry_storage::documents::by_number(&mut conn, "CA1234567")
        .await?
        .into_iter()
        .next()
    {
        let from = (today - chrono::Days::new(300)).max(card.doc.issued_on);
        let until = (from + chrono::Days::new(89)).min(today - chrono::Days::new(1));
        if until > from {
            exitentry_storage::endorsements::insert_new(
                &mut conn,
                &[exitentry_storage::endorsements::EndorsementRow {
                    id: 0,
                    document_id: card.id,
                    destination: "hong_kong".into(),
                    kind: "L".into(),
                    trips_allowed: Some(1),
                    trips_used: 1,
                    valid_from: from.to_string(),
                    valid_until: until.to_string(),
                    stay_days: 7,
                    status: exitentry_domain::states::EndorsementState::Valid,
                    source: "import".into(),
                }],
                app.now_micros(),
            )
            .await?;
        }
    }
    drop(conn);
    let (holder_mobile, holder_password) = ("13700137000", "demo-holder-pass");
    exitentry_services::holders::create_for_identity(
        app,
        "demo:seed",
        "11010519491231002X",
        holder_mobile,
        holder_password,
    )
    .await?;
    Ok(CentreDemo {
        office: office.to_string(),
        slots,
        kiosk_token,
        printer_token,
        holder_mobile,
        holder_password,
        hk_office: hk_office.to_string(),
        hk_slots,
        hk_kiosk_token,
        hk_printer_token,
        hk_holidays,
    })
}
