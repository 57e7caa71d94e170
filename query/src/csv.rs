//! CSV fields that a spreadsheet reads back as the text they hold, never as a formula.
//!
//! Pages, referrers, UTM values, event names and props are written by whoever sends events, and
//! the export is opened by an analyst in Excel, LibreOffice or Google Sheets. Two things keep a
//! cell from running there (CSV injection: `=HYPERLINK(…)`, `=cmd|' /C calc'!A0`, `@SUM(…)`):
//!
//! * a text cell whose first character, or first after leading whitespace, starts a formula gets
//!   a leading `'` ([`text_cell`]): `=`, `+`, `-`, `@`, tab, CR, LF and their full-width forms;
//! * a field holding any character a spreadsheet may split a line on is quoted ([`write_field`]):
//!   not only the comma but also the `;` that spreadsheets in locales with a decimal comma
//!   (German, French, …) use as the list separator, and tab. Unquoted, `a;=1+1` would be two
//!   cells there, the second a formula.
//!
//! Numbers (metric values, negative changes included) are written as numbers and never touched.

use std::borrow::Cow;

/// First characters that make a spreadsheet read a cell as a formula (or drop them and read the
/// next): the ASCII ones of every spreadsheet, and the full-width forms that East Asian input
/// methods produce and some spreadsheets read the same.
const FORMULA_STARTS: [char; 11] = ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'];
/// Characters after which a field must be quoted: RFC 4180's (comma, quote, CR, LF), and the other
/// list separators spreadsheets split on (`;` in decimal-comma locales, tab).
const QUOTE_WHEN_HOLDING: [char; 6] = [',', '"', '\r', '\n', ';', '\t'];
/// What neutralises a formula: spreadsheets show a cell starting with `'` as text.
const TEXT_MARK: char = '\'';

fn starts_a_formula(text: &str) -> bool {
    text.starts_with(FORMULA_STARTS) || text.trim_start().starts_with(FORMULA_STARTS)
}

/// A text cell as it may be written: with a leading `'` when a spreadsheet would read it as a
/// formula.
pub fn text_cell(text: &str) -> Cow<'_, str> {
    if starts_a_formula(text) {
        Cow::Owned(format!("{TEXT_MARK}{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Appends one field, quoted (quotes doubled) when it holds a separator, a quote or a line break.
pub fn write_field(out: &mut String, field: &str) {
    if field.contains(QUOTE_WHEN_HOLDING) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Appends one line of fields, comma-separated, CRLF-terminated.
pub fn write_line(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(out, field);
    }
    out.push_str("\r\n");
}
