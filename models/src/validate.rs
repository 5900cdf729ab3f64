//! Input validation shared by every interface. Each check names the offending field.

use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::error::{DomainError, Result};

/// Trims `value` and checks its length in characters is within `min..=max`.
pub fn name(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        return Err(DomainError::invalid(
            field,
            format!("must be {min}–{max} characters (got {len})"),
        ));
    }
    Ok(trimmed.to_string())
}

/// A plausible email address, returned lower-cased.
pub fn email(field: &str, value: &str) -> Result<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("static regex"));
    let v = value.trim().to_lowercase();
    if v.len() > 254 || !re.is_match(&v) {
        return Err(DomainError::invalid(field, "must be a valid email address"));
    }
    Ok(v)
}

/// A password of 8–256 characters.
pub fn password(field: &str, value: &str) -> Result<()> {
    let len = value.chars().count();
    if !(8..=256).contains(&len) {
        return Err(DomainError::invalid(field, "must be 8–256 characters"));
    }
    Ok(())
}

/// A Slack user id: `U` followed by uppercase letters and digits.
pub fn slack_user_id(field: &str, value: &str) -> Result<()> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^U[A-Z0-9]+$").expect("static regex"));
    if value.len() > 32 || !re.is_match(value) {
        return Err(DomainError::invalid(
            field,
            "must match ^U[A-Z0-9]+$ (e.g. U012AB3CD)",
        ));
    }
    Ok(())
}

/// A URL-friendly slug of a name: lowercase ascii letters and digits joined by `-`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.chars().flat_map(|c| c.to_lowercase()) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            out.push(c);
            dash = false;
        } else {
            dash = true;
        }
    }
    if out.is_empty() {
        "unit".to_string()
    } else {
        out
    }
}

/// Serde helper for PATCH-like fields: absent → `None`, `null` → `Some(None)`, a value →
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = ...)]`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The field a deserialisation error is about, as our own checks name fields
/// (`events[0].aliases[1].raw_value`): `path` is where serde stopped (`.` or "" for the
/// top), and for a missing or unknown field the field itself is added.
pub fn field_of_serde_error(path: &str, error: &str) -> Option<String> {
    let path = path.trim_start_matches('.');
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| error.strip_prefix(p))
        .and_then(|r| r.split('`').next());
    let field = match (path, named) {
        ("", Some(n)) => n.to_string(),
        // an unknown field's path already ends with its name
        (p, Some(n)) if p == n || p.ends_with(&format!(".{n}")) => p.to_string(),
        (p, Some(n)) => format!("{p}.{n}"),
        (p, None) => p.to_string(),
    };
    (!field.is_empty()).then_some(field)
}

/// A deserialisation failure as a validation error: `path` is where serde stopped, and
/// the field it names (see [`field_of_serde_error`]) goes in `details.field`.
pub fn serde_error(path: &str, message: &str) -> DomainError {
    match field_of_serde_error(path, message) {
        Some(field) => DomainError::invalid(&field, message),
        None => DomainError::new(crate::ErrorCode::ValidationFailed, message),
    }
}

/// Serde helper for a field that may be left out but has no "none": absent → `None`
/// (with `#[serde(default, deserialize_with = ...)]`), a value → `Some(v)`, and `null` an
/// error naming the field, rather than passing for "leave unchanged".
pub fn not_null<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(NOT_NULL)),
    }
}

/// Why an explicit `null` is refused for a field that cannot be cleared.
pub const NOT_NULL: &str = "must not be null (leave the field out instead)";

/// Serde helper for optional numbers of a query string, where `NaN` and `inf` parse as
/// numbers: those are refused (no filter can compare with them). Use with
/// `#[serde(default, deserialize_with = ...)]`.
pub fn finite<'de, D>(d: D) -> Result<Option<f64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Option::<f64>::deserialize(d)? {
        Some(v) if !v.is_finite() => Err(serde::de::Error::custom(format!(
            "{v} is not a finite number"
        ))),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  CI  ", 1, 50).unwrap(), "CI");
        assert!(name("name", "   ", 1, 50).is_err());
        assert!(name("name", &"x".repeat(51), 1, 50).is_err());
        assert!(name("name", &"é".repeat(50), 1, 50).is_ok());
    }

    #[test]
    fn emails_and_slack_ids() {
        assert_eq!(
            email("email", " Jane@Example.com ").unwrap(),
            "jane@example.com"
        );
        assert!(email("email", "jane@").is_err());
        assert!(slack_user_id("s", "U012AB3CD").is_ok());
        assert!(slack_user_id("s", "u012").is_err());
        assert!(slack_user_id("s", "U").is_err());
        assert!(slack_user_id("s", "W012").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("EMEA Sales / North"), "emea-sales-north");
        assert_eq!(slugify("!!!"), "unit");
    }
}

/// The deepest nesting of arrays and objects a JSON request body may have. Metadata nested
/// deeper is refused with 422 before anything reads it: the storage engine walks a value by
/// recursion, so depth costs stack.
pub const MAX_JSON_DEPTH: usize = 32;

/// Whether a JSON text nests arrays and objects deeper than `max` (brackets inside strings
/// do not count). Malformed text is left to the parser.
pub fn json_nests_deeper_than(text: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod depth_tests {
    use super::json_nests_deeper_than;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(!json_nests_deeper_than(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(json_nests_deeper_than(br#"{"a":[1,{"b":2}]}"#, 2));
        // brackets and escaped quotes inside strings are text
        assert!(!json_nests_deeper_than(br#"{"a":"[[[{{{\"[["}"#, 1));
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        assert!(json_nests_deeper_than(deep.as_bytes(), 32));
        assert!(!json_nests_deeper_than(deep.as_bytes(), 40));
        // siblings do not add up
        let wide = format!("[{}]", vec!["[[1]]"; 100].join(","));
        assert!(!json_nests_deeper_than(wide.as_bytes(), 3));
    }
}
