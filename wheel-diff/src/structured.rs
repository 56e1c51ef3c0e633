//! `METADATA`, `WHEEL` and `RECORD` compared field by field and row by row.

use std::collections::HashMap;

use crate::difference::{Difference, RecordRow};

/// Members compared field by field.
pub(crate) enum Structured {
    /// `METADATA` and `WHEEL`: RFC 822-style headers.
    Headers,
    /// `RECORD`: CSV rows of path, hash, size.
    Record,
}

/// Whether `name` is a `.dist-info` file compared field by field.
pub(crate) fn structured_kind(name: &str) -> Option<Structured> {
    let (dir, file) = name.split_once('/')?;
    if !dir.ends_with(".dist-info") {
        return None;
    }
    match file {
        "METADATA" | "WHEEL" => Some(Structured::Headers),
        "RECORD" => Some(Structured::Record),
        _ => None,
    }
}

/// Header fields of `METADATA`/`WHEEL`: each name with its values in
/// order, and the body (after the first empty line) as `Description`.
/// `None` if it is not UTF-8 or a line is neither a header nor a
/// continuation.
pub(crate) fn parse_headers(bytes: &[u8]) -> Option<Vec<(String, Vec<String>)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut fields: Vec<(String, Vec<String>)> = Vec::new();
    let mut last: Option<(String, String)> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = last.as_mut()?;
            value.push('\n');
            value.push_str(line.trim_start());
            continue;
        }
        let (name, value) = line.split_once(':')?;
        if let Some((name, value)) = last.take() {
            push_value(&mut fields, &name, value);
        }
        last = Some((name.trim().to_owned(), value.trim().to_owned()));
    }
    if let Some((name, value)) = last {
        push_value(&mut fields, &name, value);
    }
    if !rest.is_empty() {
        push_value(&mut fields, "Description", rest.to_owned());
    }
    Some(fields)
}

/// Adds `value` to the field `name`.
pub(crate) fn push_value(fields: &mut Vec<(String, Vec<String>)>, name: &str, value: String) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some((_, values)) => values.push(value),
        None => fields.push((name.to_owned(), vec![value])),
    }
}

/// Field differences of two header files; `None` if either does not parse.
pub(crate) fn diff_headers(member: &str, a: &[u8], b: &[u8]) -> Option<Vec<Difference>> {
    let (a, b) = (parse_headers(a)?, parse_headers(b)?);
    let mut names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    names.extend(b.iter().map(|(n, _)| n.as_str()).filter(|n| !a.iter().any(|(m, _)| m == n)));
    let values = |fields: &[(String, Vec<String>)], name: &str| {
        fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    Some(
        names
            .into_iter()
            .filter_map(|name| {
                let (va, vb) = (values(&a, name), values(&b, name));
                (va != vb).then(|| Difference::Field {
                    member: member.to_owned(),
                    field: name.to_owned(),
                    a: va,
                    b: vb,
                })
            })
            .collect(),
    )
}

/// `RECORD` rows (path, hash, size) in order; `None` if it is not UTF-8 CSV
/// of three fields a row.
pub(crate) fn parse_record(bytes: &[u8]) -> Option<Vec<(String, RecordRow)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut rows = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut row_started = false;
    while let Some(c) = chars.next() {
        row_started = true;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                rows.push(record_row(std::mem::take(&mut fields))?);
                row_started = false;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    if row_started {
        fields.push(field);
        rows.push(record_row(fields)?);
    }
    Some(rows)
}

pub(crate) fn record_row(fields: Vec<String>) -> Option<(String, RecordRow)> {
    let [path, hash, size]: [String; 3] = fields.try_into().ok()?;
    Some((path, RecordRow { hash, size }))
}

/// Row differences of two `RECORD` files; `None` if either does not parse.
pub(crate) fn diff_record(member: &str, a: &[u8], b: &[u8]) -> Option<Vec<Difference>> {
    let (a, b) = (parse_record(a)?, parse_record(b)?);
    let index_b: HashMap<&str, &RecordRow> = b.iter().map(|(p, r)| (p.as_str(), r)).collect();
    let index_a: HashMap<&str, &RecordRow> = a.iter().map(|(p, r)| (p.as_str(), r)).collect();
    let row = |path: &str, x: Option<&&RecordRow>, y: Option<&&RecordRow>| Difference::Record {
        member: member.to_owned(),
        path: path.to_owned(),
        a: x.map(|r| (*r).clone()),
        b: y.map(|r| (*r).clone()),
    };
    let mut differences: Vec<Difference> = a
        .iter()
        .filter(|(path, r)| index_b.get(path.as_str()) != Some(&r))
        .map(|(path, _)| row(path, index_a.get(path.as_str()), index_b.get(path.as_str())))
        .collect();
    differences.extend(
        b.iter()
            .filter(|(path, _)| !index_a.contains_key(path.as_str()))
            .map(|(path, r)| row(path, None, Some(&r))),
    );
    Some(differences)
}
