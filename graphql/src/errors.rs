//! Errors as the GraphQL spec and REST promise them, where async-graphql alone does not:
//!
//! - **Codes.** Every error carries REST's code in `extensions.code`. Errors of the
//!   resolvers have it already ([`crate::session::gql_error`]); those async-graphql makes
//!   itself get one here: a document that does not parse or validate, or exceeds the
//!   depth or complexity limit, is `bad_request`; an argument that fails to coerce while a
//!   field resolves is `validation_failed`.
//! - **Null propagation.** async-graphql leaves a failed field out of `data`. The spec
//!   says it is `null`, and when its type is non-null the null moves up to the nearest
//!   nullable parent (a list item, a field, or `data` itself). The types of the fields on
//!   the way are recorded as they resolve, keyed by the path without list indices.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest, NextResolve,
    NextSubscribe, ResolveInfo,
};
use async_graphql::{
    ErrorExtensionValues, PathSegment, QueryPathNode, QueryPathSegment, Response, ServerError,
    ServerResult, Value,
};
use futures::stream::{BoxStream, StreamExt};
use leadwire_models::ErrorCode;

/// The extension that codes errors and propagates nulls; one instance per operation.
pub struct ErrorShape;

impl ExtensionFactory for ErrorShape {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Shaper::default())
    }
}

/// Field path (response keys joined by `.`, list indices left out) → the field's type as
/// the schema writes it (`[Lead!]!`).
type FieldTypes = Arc<Mutex<HashMap<String, String>>>;

#[derive(Default)]
struct Shaper {
    types: FieldTypes,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Shaper {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        code(&mut response.errors);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let types = self.types.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                shape(&mut response, &types);
                response
            })
            .boxed()
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        shape(&mut response, &self.types);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // The hook also runs for each item of a list (its path ends in an index, its
        // type is the item's): the list field's own type says all that is needed.
        if matches!(info.path_node.segment, QueryPathSegment::Index(_)) {
            return next.run(ctx, info).await;
        }
        // Only a field with a selection can be a failed field's parent; a leaf's type is
        // needed only when it fails.
        let leaf = info.field.selection_set.node.items.is_empty();
        let key = (!leaf).then(|| shape_key(info.path_node));
        let ty = info.return_type;
        let path_node = *info.path_node;
        let result = next.run(ctx, info).await;
        let key = match key {
            Some(key) => Some(key),
            None if result.is_err() => Some(shape_key(&path_node)),
            None => None,
        };
        if let Some(key) = key {
            if let Ok(mut types) = self.types.lock() {
                types.entry(key).or_insert_with(|| ty.to_string());
            }
        }
        result
    }
}

/// Nulls where fields failed, then codes.
fn shape(response: &mut Response, types: &FieldTypes) {
    if let Ok(types) = types.lock() {
        propagate_nulls(&mut response.data, &response.errors, &types);
    }
    code(&mut response.errors);
}

/// `extensions.code` on every error that has none.
fn code(errors: &mut [ServerError]) {
    for e in errors {
        let coded = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if coded {
            continue;
        }
        let code = if e.path.is_empty() {
            ErrorCode::BadRequest
        } else {
            ErrorCode::ValidationFailed
        };
        e.extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code.as_str());
    }
}

fn shape_key(node: &QueryPathNode<'_>) -> String {
    let mut names: Vec<&str> = std::iter::once(node)
        .chain(node.parents())
        .filter_map(|n| match n.segment {
            QueryPathSegment::Name(name) => Some(name),
            QueryPathSegment::Index(_) => None,
        })
        .collect();
    names.reverse();
    names.join(".")
}

/// For every failed field missing from `data`: null where the spec puts it.
///
/// An object none of whose fields resolved reads `null` in async-graphql's answer (and so
/// does `data` when no root field did). Every object above a failed field was being
/// resolved, so such a `null` is an object that lost its fields, not a null value: it
/// becomes `{}` to hold them, unless a null this pass propagated put it there.
fn propagate_nulls(data: &mut Value, errors: &[ServerError], types: &HashMap<String, String>) {
    let mut nulled: Vec<Vec<PathSegment>> = Vec::new();
    for e in errors {
        if e.path.is_empty() || present(data, &e.path) {
            continue;
        }
        let mut path = e.path.clone();
        loop {
            if path.is_empty() {
                *data = Value::Null;
                nulled.push(Vec::new());
                break;
            }
            match nullable_at(&path, types) {
                // A field this extension did not see resolve (introspection): left as is.
                None => break,
                Some(true) => {
                    set_null(data, &path, &nulled);
                    nulled.push(path);
                    break;
                }
                Some(false) => {
                    path.pop();
                }
            }
        }
    }
}

/// Whether the position `path` names (a field, or an item of a list field) may be null.
fn nullable_at(path: &[PathSegment], types: &HashMap<String, String>) -> Option<bool> {
    let depth = path
        .iter()
        .rev()
        .take_while(|s| matches!(s, PathSegment::Index(_)))
        .count();
    let key = path
        .iter()
        .filter_map(|s| match s {
            PathSegment::Field(name) => Some(name.as_str()),
            PathSegment::Index(_) => None,
        })
        .collect::<Vec<_>>()
        .join(".");
    let mut ty = types.get(&key)?.as_str();
    for _ in 0..depth {
        ty = ty.strip_suffix('!').unwrap_or(ty);
        ty = ty.strip_prefix('[')?.strip_suffix(']')?;
    }
    Some(!ty.ends_with('!'))
}

fn child<'v>(value: &'v mut Value, segment: &PathSegment) -> Option<&'v mut Value> {
    match (value, segment) {
        (Value::Object(map), PathSegment::Field(name)) => map.get_mut(name.as_str()),
        (Value::List(items), PathSegment::Index(i)) => items.get_mut(*i),
        _ => None,
    }
}

fn present(data: &Value, path: &[PathSegment]) -> bool {
    let mut value = data;
    for segment in path {
        let next = match (value, segment) {
            (Value::Object(map), PathSegment::Field(name)) => map.get(name.as_str()),
            (Value::List(items), PathSegment::Index(i)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(v) => value = v,
            None => return false,
        }
    }
    true
}

/// Sets the position to null. On the way, a `null` object becomes `{}` (it lost its
/// fields), unless an earlier propagated null is there or above it; a field missing on the
/// way failed itself, and its own error places its null.
fn set_null(data: &mut Value, path: &[PathSegment], nulled: &[Vec<PathSegment>]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    let propagated = |depth: usize| nulled.iter().any(|n| path[..depth].starts_with(n));
    let mut value = data;
    for (depth, segment) in parents.iter().enumerate() {
        if matches!(value, Value::Null) {
            if propagated(depth) {
                return;
            }
            *value = Value::Object(Default::default());
        }
        match child(value, segment) {
            Some(v) => value = v,
            None => return,
        }
    }
    if matches!(value, Value::Null) {
        if propagated(parents.len()) {
            return;
        }
        *value = Value::Object(Default::default());
    }
    match (value, last) {
        (Value::Object(map), PathSegment::Field(name)) => {
            map.insert(async_graphql::Name::new(name), Value::Null);
        }
        (Value::List(items), PathSegment::Index(i)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error_at(path: &[PathSegment]) -> ServerError {
        let mut e = ServerError::new("limit: must be 1-100", None);
        e.path = path.to_vec();
        e
    }

    fn f(name: &str) -> PathSegment {
        PathSegment::Field(name.to_string())
    }

    fn json(v: Value) -> serde_json::Value {
        v.into_json().unwrap()
    }

    #[test]
    fn a_failed_nullable_field_is_null() {
        let mut data = Value::from_json(serde_json::json!({"lead": {"id": "ld_a"}})).unwrap();
        let t = types(&[("lead", "Lead"), ("lead.account", "Account")]);
        propagate_nulls(&mut data, &[error_at(&[f("lead"), f("account")])], &t);
        assert_eq!(
            json(data),
            serde_json::json!({"lead": {"id": "ld_a", "account": null}})
        );
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_nearest_nullable_parent() {
        let mut data =
            Value::from_json(serde_json::json!({"lead": {"id": "ld_a"}, "me": {"id": 1}})).unwrap();
        let t = types(&[("lead", "Lead"), ("lead.events", "[Event!]!")]);
        propagate_nulls(&mut data, &[error_at(&[f("lead"), f("events")])], &t);
        assert_eq!(
            json(data),
            serde_json::json!({"lead": null, "me": {"id": 1}})
        );
    }

    #[test]
    fn a_null_moves_through_non_null_list_items_up_to_data() {
        let mut data =
            Value::from_json(serde_json::json!({"leads": {"leads": [{"id": "a"}, {"id": "b"}]}}))
                .unwrap();
        let t = types(&[
            ("leads", "LeadPage!"),
            ("leads.leads", "[Lead!]!"),
            ("leads.leads.events", "[Event!]!"),
        ]);
        let path = [f("leads"), f("leads"), PathSegment::Index(1), f("events")];
        propagate_nulls(&mut data, &[error_at(&path)], &t);
        assert_eq!(data, Value::Null);
    }

    #[test]
    fn a_nullable_list_item_takes_the_null() {
        let mut data =
            Value::from_json(serde_json::json!({"leads": {"leads": [{"id": "a"}, {"id": "b"}]}}))
                .unwrap();
        let t = types(&[
            ("leads", "LeadPage!"),
            ("leads.leads", "[Lead]!"),
            ("leads.leads.events", "[Event!]!"),
        ]);
        let path = [f("leads"), f("leads"), PathSegment::Index(1), f("events")];
        propagate_nulls(&mut data, &[error_at(&path)], &t);
        assert_eq!(
            json(data),
            serde_json::json!({"leads": {"leads": [{"id": "a"}, null]}})
        );
    }

    #[test]
    fn an_object_that_lost_every_field_holds_its_nulls() {
        // `{ lead(id: "nope") { id } }`: no root field resolved, so `data` read null
        let mut data = Value::Null;
        let t = types(&[("lead", "Lead")]);
        propagate_nulls(&mut data, &[error_at(&[f("lead")])], &t);
        assert_eq!(json(data), serde_json::json!({"lead": null}));
        // two failures, the second below the first's propagated null: stays null
        let mut data = Value::Null;
        let t = types(&[
            ("leads", "LeadPage!"),
            ("leads.leads", "[Lead!]!"),
            ("me", "Me"),
        ]);
        propagate_nulls(
            &mut data,
            &[error_at(&[f("leads"), f("leads")]), error_at(&[f("me")])],
            &t,
        );
        assert_eq!(data, Value::Null);
    }

    #[test]
    fn a_present_value_and_an_unknown_type_are_left_alone() {
        let original = serde_json::json!({"lead": {"id": "ld_a", "events": []}});
        let mut data = Value::from_json(original.clone()).unwrap();
        let t = types(&[("lead", "Lead"), ("lead.events", "[Event!]!")]);
        propagate_nulls(
            &mut data,
            &[
                error_at(&[f("lead"), f("events")]),
                error_at(&[f("__schema"), f("types")]),
            ],
            &t,
        );
        assert_eq!(json(data), original);
    }

    #[test]
    fn errors_without_a_code_get_one_by_where_they_arose() {
        let mut errors = vec![
            ServerError::new("Unknown field \"nope\" on type \"Query\".", None),
            error_at(&[f("lead"), f("events")]),
            ServerError::new("coded", None),
        ];
        errors[2]
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", "not_found");
        code(&mut errors);
        let codes: Vec<_> = errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect();
        assert_eq!(
            codes,
            vec![
                Some(Value::from("bad_request")),
                Some(Value::from("validation_failed")),
                Some(Value::from("not_found")),
            ]
        );
    }
}
