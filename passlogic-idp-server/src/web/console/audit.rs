//! The console's audit log: newest first, filtered by event prefix, actor, subject, outcome and
//! date range (UTC days), keyset paging on the event id (`store/audit_search.rs`), each event's
//! JSON details in a `<details>` element (no script), and a CSV export of the filtered events.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::layout::{texts, ConsoleChrome, Section};
use super::users::enc;
use super::Admin;
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::store::{AuditQuery, AuditRow};
use crate::web::pages::render;
use crate::web::AppState;

/// Events per page.
const PAGE: i64 = 50;
/// Most events one CSV export holds (the newest matching ones).
pub const EXPORT_MAX: i64 = 100_000;

/// The filter form (query string of the page and of the export).
#[derive(Deserialize, Default, Clone)]
pub struct AuditFilter {
    #[serde(default)]
    event: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    outcome: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    to: String,
    /// Keyset paging: events older than this id.
    #[serde(default)]
    before: String,
}

fn day(s: &str) -> Result<Option<i64>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
        .map_err(|_| ())
}

impl AuditFilter {
    /// The store query; `Err` names the field that is not a date.
    fn query(&self) -> Result<AuditQuery, &'static str> {
        let from = day(&self.from).map_err(|_| "from")?;
        let to = day(&self.to).map_err(|_| "to")?.map(|t| t + 86_400);
        Ok(AuditQuery {
            event_prefix: self.event.trim().to_owned(),
            actor: self.actor.trim().to_owned(),
            subject: self.subject.trim().to_owned(),
            outcome: self.outcome.trim().to_owned(),
            from,
            until: to,
            before_id: self.before.trim().parse().ok(),
        })
    }

    /// The filter as a query string (without the paging position).
    fn query_string(&self) -> String {
        format!(
            "event={}&actor={}&subject={}&outcome={}&from={}&to={}",
            enc(self.event.trim()),
            enc(self.actor.trim()),
            enc(self.subject.trim()),
            enc(self.outcome.trim()),
            enc(self.from.trim()),
            enc(self.to.trim())
        )
    }
}

fn utc(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

struct Line {
    id: i64,
    when: String,
    actor: String,
    event: String,
    subject: String,
    outcome: String,
    source_ip: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    f: AuditFilter,
    outcomes: Vec<(&'static str, &'static str)>,
    rows: Vec<Line>,
    paged: bool,
    first_href: String,
    next_href: Option<String>,
    export_href: String,
    error: Option<&'static str>,
}

fn pretty(detail: &str) -> String {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| detail.to_owned())
}

/// `GET /console/audit?event=&actor=&subject=&outcome=&from=&to=&before=`
pub async fn list(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(f): Query<AuditFilter>,
) -> Response {
    let (t, c) = texts(&admin);
    let base = format!("/console/audit?{}", f.query_string());
    let export_href = format!("/console/audit.csv?{}", f.query_string());
    let (rows, next_href, error) = match f.query() {
        Err(_) => (Vec::new(), None, Some(c.aud_err_date)),
        Ok(q) => {
            let mut rows = match state
                .signin
                .store
                .search_audit(state.signin.tenant_id, &q, PAGE + 1)
                .await
            {
                Ok(r) => r,
                Err(e) => return admin.internal(&e),
            };
            let more = rows.len() as i64 > PAGE;
            rows.truncate(PAGE as usize);
            let next = match (more, rows.last()) {
                (true, Some(last)) => Some(format!("{base}&before={}", last.id)),
                _ => None,
            };
            (rows, next, None)
        }
    };
    let page = AuditPage {
        chrome: ConsoleChrome::new(&admin, Section::Audit, c.aud_title),
        t,
        c,
        outcomes: vec![
            ("success", c.aud_success),
            ("failure", c.aud_failure),
            ("info", c.aud_info),
        ],
        rows: rows
            .into_iter()
            .map(|r| Line {
                id: r.id,
                when: utc(r.at),
                detail: pretty(&r.detail),
                source_ip: r.source_ip.unwrap_or_default(),
                actor: r.actor,
                event: r.event,
                subject: r.subject,
                outcome: r.outcome,
            })
            .collect(),
        paged: !f.before.trim().is_empty(),
        first_href: base,
        next_href,
        export_href,
        error,
        f,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(status, admin.jar, &page)
}

/// The CSV of `rows` (header `id,time_utc,unix,actor,event,subject,outcome,source_ip,detail`).
/// Cells that a spreadsheet would run as a formula get a leading `'` (CSV injection).
pub fn to_csv(rows: &[AuditRow]) -> anyhow::Result<Vec<u8>> {
    fn cell(s: &str) -> String {
        if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_owned()
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "time_utc",
        "unix",
        "actor",
        "event",
        "subject",
        "outcome",
        "source_ip",
        "detail",
    ])?;
    for r in rows {
        w.write_record([
            r.id.to_string(),
            utc(r.at),
            r.at.to_string(),
            cell(&r.actor),
            cell(&r.event),
            cell(&r.subject),
            cell(&r.outcome),
            cell(r.source_ip.as_deref().unwrap_or("")),
            cell(&r.detail),
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

/// `GET /console/audit.csv?...`: the filtered events (newest first, at most [`EXPORT_MAX`]).
pub async fn export(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(mut f): Query<AuditFilter>,
) -> Response {
    f.before.clear();
    let Ok(q) = f.query() else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            admin.lang.console().aud_err_date,
        )
            .into_response();
    };
    let rows = match state
        .signin
        .store
        .search_audit(state.signin.tenant_id, &q, EXPORT_MAX)
        .await
    {
        Ok(r) => r,
        Err(e) => return admin.internal(&e),
    };
    match to_csv(&rows) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.csv\"",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => admin.internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let row = AuditRow {
            id: 7,
            at: 0,
            actor: "console:admin".into(),
            event: "user.created".into(),
            subject: "=HYPERLINK(\"x\")".into(),
            outcome: "success".into(),
            detail: "{\"a\":\"b,c\"}".into(),
            source_ip: None,
        };
        let text = String::from_utf8(to_csv(&[row]).unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,time_utc,unix,actor,event,subject,outcome,source_ip,detail"
        );
        assert_eq!(
            lines.next().unwrap(),
            "7,1970-01-01 00:00:00,0,console:admin,user.created,\"'=HYPERLINK(\"\"x\"\")\",success,,\"{\"\"a\"\":\"\"b,c\"\"}\""
        );
    }

    #[test]
    fn days_are_utc_and_inclusive() {
        let f = AuditFilter {
            from: "2026-01-02".into(),
            to: "2026-01-02".into(),
            ..AuditFilter::default()
        };
        let q = f.query().unwrap();
        assert_eq!(q.from, Some(1_767_312_000));
        assert_eq!(q.until, Some(1_767_312_000 + 86_400));
        let bad = AuditFilter {
            to: "02/01/2026".into(),
            ..AuditFilter::default()
        };
        assert_eq!(bad.query().unwrap_err(), "to");
    }
}
