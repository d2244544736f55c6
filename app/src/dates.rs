//! The sidebar's date groups (issue 17): Today, Yesterday, Previous 7 days,
//! Previous 30 days, then one group per month ("October 2026"). Pure functions
//! of a conversation's `updated_at`, "now" and the reader's time-zone offset,
//! so they are tested on the host; the browser passes `Date.now()` and
//! `-Date.getTimezoneOffset()` (see [`Clock::browser`]).
//!
//! Days are calendar days in the reader's time zone, as ChatGPT groups them:
//! something from 23:59 yesterday is "Yesterday" even one minute later.

use protocol::objects::Conversation;

const MS_PER_MIN: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "Now" and the reader's offset from UTC (minutes east, e.g. `+60` for Paris in winter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Unix time in milliseconds.
    pub now_ms: i64,
    pub offset_min: i64,
}

impl Clock {
    /// The browser's clock and time zone; `None` outside the browser (the
    /// server renders the list ungrouped, the page groups it once hydrated,
    /// so the server's HTML and the first browser render agree).
    pub fn browser() -> Option<Clock> {
        #[cfg(feature = "hydrate")]
        {
            let d = js_sys::Date::new_0();
            Some(Clock {
                now_ms: d.get_time() as i64,
                offset_min: -(d.get_timezone_offset() as i64),
            })
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }
}

/// One group of the list, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DateGroup {
    Today,
    Yesterday,
    /// 2 to 7 days ago.
    Previous7,
    /// 8 to 30 days ago.
    Previous30,
    /// Older: a calendar month (`month` 1–12).
    Month {
        year: i64,
        month: u32,
    },
    /// A time that could not be read (never from a conforming server).
    Undated,
}

impl DateGroup {
    /// The heading shown above the group.
    pub fn label(&self) -> String {
        match self {
            DateGroup::Today => "Today".into(),
            DateGroup::Yesterday => "Yesterday".into(),
            DateGroup::Previous7 => "Previous 7 days".into(),
            DateGroup::Previous30 => "Previous 30 days".into(),
            DateGroup::Month { year, month } => {
                let name = MONTHS.get(month.saturating_sub(1) as usize).copied().unwrap_or("");
                format!("{name} {year}")
            }
            DateGroup::Undated => "Older".into(),
        }
    }

    /// A stable key for the markup (`data-group`), e.g. `today`, `2026-10`.
    pub fn key(&self) -> String {
        match self {
            DateGroup::Today => "today".into(),
            DateGroup::Yesterday => "yesterday".into(),
            DateGroup::Previous7 => "previous-7".into(),
            DateGroup::Previous30 => "previous-30".into(),
            DateGroup::Month { year, month } => format!("{year}-{month:02}"),
            DateGroup::Undated => "undated".into(),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`, <https://howardhinnant.github.io/date_algorithms.html>).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month 1–12) of a day number (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Unix milliseconds of an RFC 3339 time (`2026-11-30T09:15:00Z`, with
/// optional fraction and `±hh:mm` offset); `None` if it is not one.
pub fn parse_rfc3339_ms(t: &str) -> Option<i64> {
    let t = t.trim();
    if t.len() < 20 || !t.is_char_boundary(19) {
        return None;
    }
    let (date, time) = (t.get(0..10)?, t.get(11..19)?);
    if !matches!(t.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let mut c = time.split(':');
    let (h, mi, s) = (num(c.next()?)?, num(c.next()?)?, num(c.next()?)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3: String = frac[..digits].chars().chain("000".chars()).take(3).collect();
        ms = num(&first3)?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let v = num(&o[1..3])? * 60 + num(&o[4..6])?;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, da);
    Some(((days * 24 + h) * 60 + mi - offset_min) * MS_PER_MIN + s * 1000 + ms)
}

/// The local calendar day number of a Unix time for a reader at `offset_min`.
fn local_day(ms: i64, offset_min: i64) -> i64 {
    (ms + offset_min * MS_PER_MIN).div_euclid(MS_PER_DAY)
}

/// The group of something last active at `updated_at` (RFC 3339), seen at `clock`.
/// A time in the future (clocks disagree a little) counts as today.
pub fn group_of(updated_at: &str, clock: Clock) -> DateGroup {
    let Some(ms) = parse_rfc3339_ms(updated_at) else {
        return DateGroup::Undated;
    };
    let day = local_day(ms, clock.offset_min);
    let today = local_day(clock.now_ms, clock.offset_min);
    match today - day {
        i64::MIN..=0 => DateGroup::Today,
        1 => DateGroup::Yesterday,
        2..=7 => DateGroup::Previous7,
        8..=30 => DateGroup::Previous30,
        _ => {
            let (year, month) = civil_from_days(day);
            DateGroup::Month { year, month }
        }
    }
}

/// The list cut into consecutive groups, in its own order (newest activity
/// first). Without a clock (on the server, before hydration) it is one group
/// with no heading (`None`).
pub fn group_conversations(list: &[Conversation], clock: Option<Clock>) -> Vec<(Option<DateGroup>, Vec<Conversation>)> {
    let mut out: Vec<(Option<DateGroup>, Vec<Conversation>)> = Vec::new();
    for c in list {
        let g = clock.map(|k| group_of(&c.updated_at, k));
        match out.last_mut() {
            Some((last, items)) if *last == g => items.push(c.clone()),
            _ => out.push((g, vec![c.clone()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(now: &str, offset_min: i64) -> Clock {
        Clock {
            now_ms: parse_rfc3339_ms(now).expect("now"),
            offset_min,
        }
    }

    #[test]
    fn parses_rfc3339_in_utc_and_with_offsets() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_rfc3339_ms("2026-11-30T00:33:28.123456Z"), Some(1_795_998_808_123));
        assert_eq!(
            parse_rfc3339_ms("2026-11-30T01:33:28.123+01:00"),
            parse_rfc3339_ms("2026-11-30T00:33:28.123Z")
        );
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T12:00:00-05:30"),
            Some(951_825_600_000 + 19_800_000)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-30T00:33:28",
            "2026-11-30T00:33:28.Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn calendar_days_in_utc() {
        let k = clock("2026-11-30T09:00:00Z", 0);
        assert_eq!(group_of("2026-11-30T00:00:00Z", k), DateGroup::Today);
        assert_eq!(group_of("2026-11-30T08:59:59Z", k), DateGroup::Today);
        assert_eq!(group_of("2026-11-29T23:59:59Z", k), DateGroup::Yesterday);
        assert_eq!(group_of("2026-11-29T00:00:00Z", k), DateGroup::Yesterday);
        assert_eq!(group_of("2026-11-28T23:59:59Z", k), DateGroup::Previous7);
        assert_eq!(group_of("2026-11-23T00:00:00Z", k), DateGroup::Previous7);
        assert_eq!(group_of("2026-11-22T12:00:00Z", k), DateGroup::Previous30);
        assert_eq!(group_of("2026-10-31T12:00:00Z", k), DateGroup::Previous30);
        assert_eq!(
            group_of("2026-10-30T12:00:00Z", k),
            DateGroup::Month { year: 2026, month: 10 }
        );
        assert_eq!(
            group_of("2025-12-31T23:00:00Z", k),
            DateGroup::Month { year: 2025, month: 12 }
        );
        // A server clock a little ahead of the browser's.
        assert_eq!(group_of("2026-11-30T09:00:05Z", k), DateGroup::Today);
        assert_eq!(group_of("not a time", k), DateGroup::Undated);
    }

    #[test]
    fn the_readers_time_zone_decides_the_day() {
        // 23:30 UTC on the 29th is already the 30th in Tokyo (+9 h), still the 29th in New York (−5 h).
        let at = "2026-11-29T23:30:00Z";
        assert_eq!(group_of(at, clock("2026-11-30T01:00:00Z", 9 * 60)), DateGroup::Today);
        assert_eq!(group_of(at, clock("2026-11-30T01:00:00Z", 0)), DateGroup::Yesterday);
        // In New York it is 20:00 on the 29th: the same day.
        assert_eq!(group_of(at, clock("2026-11-30T01:00:00Z", -5 * 60)), DateGroup::Today);
        // Just after local midnight, an hour-old chat is yesterday's.
        assert_eq!(
            group_of("2026-11-29T22:50:00Z", clock("2026-11-29T23:05:00Z", 60)),
            DateGroup::Yesterday
        );
    }

    #[test]
    fn labels_and_keys() {
        assert_eq!(DateGroup::Today.label(), "Today");
        assert_eq!(DateGroup::Previous7.label(), "Previous 7 days");
        let m = DateGroup::Month { year: 2026, month: 3 };
        assert_eq!(m.label(), "March 2026");
        assert_eq!(m.key(), "2026-03");
    }

    fn conv(id: &str, updated_at: &str) -> Conversation {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": id, "bot_id": "b", "created_at": updated_at, "updated_at": updated_at,
            "last_message_preview": null, "unread_count": 0, "mode": "ai"
        }))
        .expect("conversation")
    }

    #[test]
    fn groups_keep_the_list_order_and_need_a_clock() {
        let list = vec![
            conv("a", "2026-11-30T08:00:00Z"),
            conv("b", "2026-11-30T07:00:00Z"),
            conv("c", "2026-11-29T07:00:00Z"),
            conv("d", "2026-11-01T07:00:00Z"),
            conv("e", "2026-09-01T07:00:00Z"),
        ];
        let groups = group_conversations(&list, Some(clock("2026-11-30T09:00:00Z", 0)));
        let shape: Vec<(String, Vec<String>)> = groups
            .iter()
            .map(|(g, v)| {
                (
                    g.as_ref().map(DateGroup::label).unwrap_or_default(),
                    v.iter().map(|c| c.id.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("Today".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("Yesterday".to_string(), vec!["c".to_string()]),
                ("Previous 30 days".to_string(), vec!["d".to_string()]),
                ("September 2026".to_string(), vec!["e".to_string()]),
            ]
        );
        let flat = group_conversations(&list, None);
        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].0, None);
        assert_eq!(flat[0].1.len(), 5);
        assert!(group_conversations(&[], Some(clock("2026-11-30T09:00:00Z", 0))).is_empty());
    }
}
