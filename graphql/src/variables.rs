//! Variables as the GraphQL spec reads them, where async-graphql 7 does not:
//!
//! - A nullable variable the request does not send (and that has no default) leaves the
//!   argument or input field it stands for *absent*. async-graphql reads it as `null`,
//!   so `updateRule(input: {halfLifeDays: $h})` without `$h` cleared the half-life and
//!   `assignOwner(ownerId: $o)` without `$o` unassigned. Such uses are removed from the
//!   parsed document before it runs (an item of a list keeps its `null`, as the spec says).
//! - A non-null variable without a default that is not sent is a request error
//!   (`bad_request`, no data) before anything runs, rather than a field error or
//!   nothing at all.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError, ServerResult, Variables};
use async_graphql_value::Value;

/// The extension; one instance per operation.
pub struct UnsentVariables;

impl ExtensionFactory for UnsentVariables {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(UnsentVariables)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for UnsentVariables {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let mut doc = next.run(ctx, query, variables).await?;
        let operations: Vec<&Positioned<OperationDefinition>> = match &doc.operations {
            DocumentOperations::Single(op) => vec![op],
            DocumentOperations::Multiple(ops) => ops.values().collect(),
        };
        let mut absent: HashSet<Name> = HashSet::new();
        let mut nullable_everywhere: HashSet<Name> = HashSet::new();
        let mut required_somewhere: HashSet<Name> = HashSet::new();
        for op in &operations {
            for def in &op.node.variable_definitions {
                let name = &def.node.name.node;
                if variables.contains_key(name) || def.node.default_value.is_some() {
                    continue;
                }
                if def.node.var_type.node.nullable {
                    nullable_everywhere.insert(name.clone());
                } else {
                    required_somewhere.insert(name.clone());
                }
            }
        }
        // a single operation (the usual case) is checked exactly; with several, a
        // required variable is reported only when every operation needs it sent
        if let [op] = operations.as_slice() {
            if let Some(def) = op
                .node
                .variable_definitions
                .iter()
                .find(|d| required_somewhere.contains(&d.node.name.node))
            {
                return Err(ServerError::new(
                    format!(
                        "Variable ${} of required type {} was not provided.",
                        def.node.name.node, def.node.var_type.node
                    ),
                    Some(def.pos),
                ));
            }
        }
        for name in nullable_everywhere {
            if !required_somewhere.contains(&name) {
                absent.insert(name);
            }
        }
        if absent.is_empty() {
            return Ok(doc);
        }
        // the uses go, and with them the definitions (an unused variable is invalid)
        let forget = |op: &mut Positioned<OperationDefinition>| {
            drop_unsent(&mut op.node.selection_set.node, &absent);
            op.node
                .variable_definitions
                .retain(|d| !absent.contains(&d.node.name.node));
        };
        match &mut doc.operations {
            DocumentOperations::Single(op) => forget(op),
            DocumentOperations::Multiple(ops) => ops.values_mut().for_each(forget),
        }
        for fragment in doc.fragments.values_mut() {
            drop_unsent(&mut fragment.node.selection_set.node, &absent);
        }
        Ok(doc)
    }
}

/// Removes the arguments and input-object fields that are just an unsent variable.
fn drop_unsent(set: &mut SelectionSet, absent: &HashSet<Name>) {
    for selection in &mut set.items {
        match &mut selection.node {
            Selection::Field(field) => {
                let field = &mut field.node;
                drop_arguments(&mut field.arguments, absent);
                for d in &mut field.directives {
                    drop_arguments(&mut d.node.arguments, absent);
                }
                drop_unsent(&mut field.selection_set.node, absent);
            }
            Selection::InlineFragment(inline) => {
                drop_unsent(&mut inline.node.selection_set.node, absent);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn drop_arguments(
    arguments: &mut Vec<(Positioned<Name>, Positioned<Value>)>,
    absent: &HashSet<Name>,
) {
    arguments.retain(|(_, v)| !is_unsent(&v.node, absent));
    for (_, v) in arguments.iter_mut() {
        drop_fields(&mut v.node, absent);
    }
}

fn is_unsent(value: &Value, absent: &HashSet<Name>) -> bool {
    matches!(value, Value::Variable(name) if absent.contains(name))
}

/// Within input objects (at any depth, also inside lists) the fields that are an unsent
/// variable go; a list item that is one becomes `null`, as the spec reads it.
fn drop_fields(value: &mut Value, absent: &HashSet<Name>) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, v| !is_unsent(v, absent));
            for v in fields.values_mut() {
                drop_fields(v, absent);
            }
        }
        Value::List(items) => {
            for v in items {
                if is_unsent(v, absent) {
                    *v = Value::Null;
                } else {
                    drop_fields(v, absent);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> HashSet<Name> {
        list.iter().map(|n| Name::new(*n)).collect()
    }

    #[test]
    fn an_unsent_variable_leaves_its_argument_and_field_out() {
        let mut doc = async_graphql::parser::parse_query(
            "mutation($h: Int, $w: Int, $o: String) {
                updateRule(id: \"r\", input: {halfLifeDays: $h, weight: $w, icon: \"x\"}) { weight }
                assignOwner(leadId: \"l\", ownerId: $o) { id }
            }",
        )
        .unwrap();
        let DocumentOperations::Single(op) = &mut doc.operations else {
            panic!("one operation");
        };
        drop_unsent(&mut op.node.selection_set.node, &names(&["h", "o"]));
        let fields: Vec<String> = op
            .node
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|s| match &s.node {
                Selection::Field(f) => Some(
                    f.node
                        .arguments
                        .iter()
                        .map(|(n, v)| format!("{}={}", n.node, v.node))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                "id=\"r\" input={weight: $w, icon: \"x\"}".to_string(),
                "leadId=\"l\"".to_string()
            ]
        );
    }
}
