//! SCIM PATCH (RFC 7644 §3.5.2): applies a PatchOp request's `Operations` to a resource held as
//! JSON. Lenient where real clients need it: Microsoft Entra ID sends capitalised ops, `"True"`
//! strings, dotted and URN keys in path-less values, and filtered adds that must create the
//! value; Okta deactivates with a path-less `{"active": false}`.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Number, Value as Json};

use super::filter::{parse_path, AttrPath, CompareOp, Filter, Value};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// More operations are refused so that one request cannot keep the server busy for long.
pub const MAX_OPERATIONS: usize = 1000;
/// Paths under these URNs address the resource's top level.
const CORE_SCHEMAS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
];
/// Stored as JSON booleans even when sent as `"True"`/`"False"`, as Entra does.
const BOOLEAN_ATTRIBUTES: [&str; 2] = ["active", "primary"];
const NULL: &Json = &Json::Null;

const INVALID_PATH: &str = "invalidPath";
const NO_TARGET: &str = "noTarget";
const INVALID_VALUE: &str = "invalidValue";
const INVALID_SYNTAX: &str = "invalidSyntax";
const MUTABILITY: &str = "mutability";

type Object = Map<String, Json>;
type Outcome = Result<(), PatchError>;

/// Why a PATCH is refused: maps to the SCIM error `scimType` (invalidPath, noTarget,
/// invalidValue, invalidSyntax, mutability).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

fn fail<T>(scim_type: &'static str, detail: impl Into<String>) -> Result<T, PatchError> {
    let detail = detail.into();
    Err(PatchError { scim_type, detail })
}

/// Applies the `Operations` of a PatchOp request body to `doc` in order; on error `doc` may be
/// partly changed (the caller works on a copy and discards it).
/// `read_only`: top-level attribute names (lowercase) that a client may not change, e.g.
/// ["id", "meta", "groups"]; an op on them answers `mutability`.
pub fn apply_patch(doc: &mut Json, body: &Json, read_only: &[&str]) -> Result<(), PatchError> {
    let Some(body) = body.as_object() else {
        return fail(INVALID_SYNTAX, "the request body is not a JSON object");
    };
    let schemas = get_ci(body, "schemas").and_then(Json::as_array);
    if !schemas.is_some_and(|list| list.iter().any(|s| same_text(s, PATCH_OP_SCHEMA))) {
        let detail = format!("\"schemas\" must hold {PATCH_OP_SCHEMA}");
        return fail(INVALID_SYNTAX, detail);
    }
    let operations = match get_ci(body, "Operations") {
        Some(Json::Array(list)) if !list.is_empty() => list,
        _ => return fail(INVALID_SYNTAX, "\"Operations\" must be a non-empty array"),
    };
    if operations.len() > MAX_OPERATIONS {
        let detail = format!("a request may hold at most {MAX_OPERATIONS} operations");
        return fail(INVALID_VALUE, detail);
    }
    let Some(doc) = doc.as_object_mut() else {
        return fail(INVALID_VALUE, "the resource is not a JSON object");
    };
    for (index, operation) in operations.iter().enumerate() {
        if let Err(mut error) = apply_operation(doc, operation, read_only) {
            error.detail = format!("Operations[{index}]: {}", error.detail);
            return Err(error);
        }
    }
    Ok(())
}

fn apply_operation(doc: &mut Object, raw: &Json, read_only: &[&str]) -> Outcome {
    let Some(raw) = raw.as_object() else {
        return fail(INVALID_SYNTAX, "an operation is not a JSON object");
    };
    let op_name = get_ci(raw, "op").and_then(Json::as_str);
    let op = match op_name.map(str::to_ascii_lowercase).as_deref() {
        Some("add") => Op::Add,
        Some("replace") => Op::Replace,
        Some("remove") => Op::Remove,
        _ => return fail(INVALID_SYNTAX, "\"op\" must be add, replace or remove"),
    };
    // A null value counts as missing: there is nothing to add or replace with.
    let value = get_ci(raw, "value").unwrap_or(NULL);
    if op != Op::Remove && value.is_null() {
        return fail(INVALID_VALUE, "add and replace need a \"value\"");
    }
    let operation = Operation {
        op,
        value,
        read_only,
    };
    match (get_ci(raw, "path").unwrap_or(NULL), value) {
        (Json::String(path), _) => operation.apply_at(doc, path),
        (Json::Null, _) if op == Op::Remove => fail(NO_TARGET, "remove needs a \"path\""),
        (Json::Null, Json::Object(fields)) => fields
            .iter()
            .try_for_each(|(name, field)| operation.with_value(field).apply_at(doc, name)),
        (Json::Null, _) => fail(INVALID_VALUE, "a path-less value must be an object"),
        _ => fail(INVALID_PATH, "\"path\" is not a string"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// One operation on its way to its target; `value` is null for a remove without one.
#[derive(Clone, Copy)]
struct Operation<'a> {
    op: Op,
    value: &'a Json,
    read_only: &'a [&'a str],
}

impl<'a> Operation<'a> {
    fn with_value(self, value: &'a Json) -> Self {
        Operation { value, ..self }
    }

    /// Refuses changes to read-only attributes, but lets an unchanged value through: Okta's group
    /// rename repeats the group's `id` in a path-less replace.
    fn check_writable(self, doc: &Object, name: &str, whole: bool) -> Outcome {
        let unchanged = whole && self.op != Op::Remove && get_ci(doc, name) == Some(self.value);
        if is_one_of(name, self.read_only) && !unchanged {
            return fail(MUTABILITY, format!("{name} is read-only"));
        }
        Ok(())
    }

    /// Applies the operation at `path`: the operation's `path`, or a key of its path-less value.
    fn apply_at(self, doc: &mut Object, path: &str) -> Outcome {
        if is_schema_urn(doc, path) {
            self.check_writable(doc, path, true)?;
            return self.apply_to_schema(doc, path);
        }
        let parsed = parse_path(path);
        let parsed = parsed.or_else(|e| fail(INVALID_PATH, format!("{path:?}: {e}")))?;
        let (urn, name) = (&parsed.attr.urn, &parsed.attr.attr);
        let container = match urn.as_deref().filter(|urn| !is_one_of(urn, &CORE_SCHEMAS)) {
            None => {
                let whole = parsed.filter.is_none() && parsed.attr.sub.is_none();
                self.check_writable(doc, name, whole)?;
                doc
            }
            Some(urn) => {
                if self.op != Op::Remove && find_key(doc, urn).is_none() {
                    add_extension(doc, urn);
                }
                match find_key(doc, urn).and_then(|key| doc.get_mut(&key)) {
                    Some(Json::Object(extension)) => extension,
                    None => return Ok(()),
                    Some(_) => return fail(INVALID_PATH, format!("{urn} is not an object")),
                }
            }
        };
        let sub = parsed.sub.as_deref();
        match (&parsed.filter, &parsed.attr.sub) {
            (Some(_), Some(_)) => fail(INVALID_PATH, format!("{path:?}: misplaced filter")),
            (Some(filter), None) => self.apply_filtered(container, name, Some(filter), sub),
            (None, Some(attr_sub)) => self.apply_sub(container, name, attr_sub),
            (None, None) => self.apply_attr(container, name),
        }
    }

    /// `urn` names a whole schema: each field of the value applies as `urn:field`, so
    /// `{"urn:...:enterprise:2.0:User": {"department": "X"}}` merges into the extension.
    fn apply_to_schema(self, doc: &mut Object, urn: &str) -> Outcome {
        let core = is_one_of(urn, &CORE_SCHEMAS);
        match (self.op, self.value) {
            (Op::Remove, _) if core => fail(INVALID_PATH, "a core schema cannot be removed"),
            (Op::Remove, _) => {
                remove_key(doc, urn);
                Ok(())
            }
            (_, Json::Object(fields)) => fields.iter().try_for_each(|(name, field)| {
                let path = format!("{urn}:{name}");
                self.with_value(field).apply_at(doc, &path)
            }),
            _ => fail(INVALID_VALUE, "a schema URN needs an object value"),
        }
    }

    /// The operation on attribute `name` of the resource, an extension or a complex value.
    fn apply_attr(self, container: &mut Object, name: &str) -> Outcome {
        let key = find_key(container, name).unwrap_or_else(|| name.to_string());
        if self.op == Op::Remove {
            remove_values(container, &key, self.value);
            return Ok(());
        }
        let value = normalized(name, self.value)?;
        let slot = container.entry(key).or_insert(Json::Null);
        if self.op == Op::Add && value.is_array() && slot.is_null() {
            *slot = Json::Array(Vec::new());
        }
        match (self.op, slot, value) {
            (Op::Add, Json::Array(items), value) => append_unique(items, value),
            (Op::Replace, Json::Array(items), value) => *items = into_vec(value),
            // A complex attribute keeps the sub-attributes the value leaves out (RFC 7644 §3.5.2.3).
            (_, Json::Object(current), Json::Object(fields)) => merge(current, fields),
            (_, slot, value) => *slot = value,
        }
        Ok(())
    }

    /// `name.sub`: a sub-attribute of a complex attribute, or of each value of a multi-valued one.
    fn apply_sub(self, container: &mut Object, name: &str, sub: &str) -> Outcome {
        let key = find_key(container, name).unwrap_or_else(|| name.to_string());
        if container.get(&key).is_some_and(Json::is_array) {
            return self.apply_filtered(container, name, None, Some(sub));
        }
        match container.get_mut(&key) {
            Some(Json::Object(parent)) => self.apply_attr(parent, sub),
            Some(Json::Null) | None if self.op == Op::Remove => Ok(()),
            Some(Json::Null) | None => {
                let mut parent = Map::new();
                self.apply_attr(&mut parent, sub)?;
                container.insert(key, Json::Object(parent));
                Ok(())
            }
            Some(_) => fail(INVALID_PATH, format!("{name} is not a complex attribute")),
        }
    }

    /// `name[filter]` or `name[filter].sub`; without a filter every value is selected.
    fn apply_filtered(
        self,
        container: &mut Object,
        name: &str,
        filter: Option<&Filter>,
        sub: Option<&str>,
    ) -> Outcome {
        let selected = |value: &Json| filter.is_none_or(|filter| matches(filter, value));
        let key = find_key(container, name).unwrap_or_else(|| name.to_string());
        let items = match container.get_mut(&key) {
            Some(Json::Array(items)) => items,
            Some(Json::Null) | None if self.op == Op::Remove => return Ok(()),
            Some(Json::Null) | None => {
                let created = vec![self.new_value(filter, sub)?];
                container.insert(key, Json::Array(created));
                return Ok(());
            }
            Some(_) => return fail(INVALID_PATH, format!("{name} is not multi-valued")),
        };
        if self.op == Op::Remove && sub.is_none() {
            items.retain(|value| !selected(value));
        } else {
            let mut matched = false;
            for value in items.iter_mut().filter(|value| selected(value)) {
                matched = true;
                self.update_value(value, sub)?;
            }
            // Entra adds a phone number as `phoneNumbers[type eq "mobile"].value`, new or not.
            if !matched && self.op != Op::Remove {
                items.push(self.new_value(filter, sub)?);
            }
        }
        if items.is_empty() {
            container.remove(&key);
        }
        Ok(())
    }

    /// The operation on one selected value of a multi-valued attribute (a remove has a `sub`).
    fn update_value(self, target: &mut Json, sub: Option<&str>) -> Outcome {
        match (sub, target) {
            (Some(sub), Json::Object(fields)) => self.apply_attr(fields, sub),
            (Some(sub), _) => fail(INVALID_PATH, format!("the selected values have no {sub}")),
            // RFC 7644 §3.5.2.3: replace swaps the whole matched value; add merges into it.
            (None, target) => {
                match (self.op, target, normalized("", self.value)?) {
                    (Op::Add, Json::Object(fields), Json::Object(new)) => merge(fields, new),
                    (_, target, value) => *target = value,
                }
                Ok(())
            }
        }
    }

    /// What a filtered add or replace appends when nothing matches: the filter's `eq` conditions
    /// plus the value, e.g. `{"type": "work", "value": "x"}` for `emails[type eq "work"].value`.
    fn new_value(self, filter: Option<&Filter>, sub: Option<&str>) -> Result<Json, PatchError> {
        let mut fields = Map::new();
        // Only `eq` conditions joined by `and` describe a value that the filter then selects.
        if filter.is_some_and(|filter| !collect_equalities(filter, &mut fields)) {
            return fail(NO_TARGET, "no value matches the filter");
        }
        let mut created = Json::Object(fields);
        let add = Operation {
            op: Op::Add,
            ..self
        };
        add.update_value(&mut created, sub)?;
        Ok(created)
    }
}

fn collect_equalities(filter: &Filter, fields: &mut Object) -> bool {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if path.sub.is_none() => {
            set_key(fields, &path.attr, to_json(value));
            true
        }
        Filter::And(left, right) => {
            collect_equalities(left, fields) && collect_equalities(right, fields)
        }
        _ => false,
    }
}

/// Whether one value of a multi-valued attribute satisfies a `[...]` filter.
fn matches(filter: &Filter, value: &Json) -> bool {
    match filter {
        Filter::Present(path) => lookup(value, path).is_some_and(is_present),
        // An absent attribute compares as null: `ne "x"` holds, `eq "x"` does not.
        Filter::Compare(path, op, expected) => {
            compare(lookup(value, path).unwrap_or(NULL), *op, expected)
        }
        Filter::Not(inner) => !matches(inner, value),
        Filter::And(left, right) => matches(left, value) && matches(right, value),
        Filter::Or(left, right) => matches(left, value) || matches(right, value),
        // The parser refuses a `[...]` inside another.
        Filter::ValuePath { .. } => false,
    }
}

/// A filter's attribute, relative to one value; names are case-insensitive.
fn lookup<'a>(value: &'a Json, path: &AttrPath) -> Option<&'a Json> {
    let found = match value {
        Json::Object(fields) => get_ci(fields, &path.attr)?,
        // In a multi-valued attribute of simple values (`schemas`), `value` is the value itself.
        simple if path.attr.eq_ignore_ascii_case("value") => return Some(simple),
        _ => return None,
    };
    match &path.sub {
        None => Some(found),
        Some(sub) => found.as_object().and_then(|fields| get_ci(fields, sub)),
    }
}

fn is_present(value: &Json) -> bool {
    let empty_array = value.as_array().is_some_and(Vec::is_empty);
    let empty_object = value.as_object().is_some_and(Map::is_empty);
    !(value.is_null() || value == "" || empty_array || empty_object)
}

/// Strings compare case-insensitively (caseExact defaults to false, RFC 7643 §2.2), numbers
/// numerically; values of different types never compare equal.
fn compare(actual: &Json, op: CompareOp, expected: &Value) -> bool {
    use CompareOp::{Co, Eq, Ew, Ge, Gt, Le, Lt, Ne, Sw};
    let ordering = match (actual, expected) {
        _ if op == Ne => return !compare(actual, Eq, expected),
        (Json::Array(items), _) => return items.iter().any(|item| compare(item, op, expected)),
        (Json::String(actual), Value::Str(expected)) => {
            let (actual, expected) = (actual.to_lowercase(), expected.to_lowercase());
            match op {
                Co => return actual.contains(&expected),
                Sw => return actual.starts_with(&expected),
                Ew => return actual.ends_with(&expected),
                _ => Some(actual.cmp(&expected)),
            }
        }
        (Json::Number(actual), Value::Num(expected)) => compare_numbers(actual, expected),
        (Json::Bool(actual), Value::Bool(expected)) => return op == Eq && actual == expected,
        (Json::Null, Value::Null) => return op == Eq,
        _ => None,
    };
    ordering.is_some_and(|ordering| match op {
        Eq => ordering.is_eq(),
        Gt => ordering.is_gt(),
        Ge => ordering.is_ge(),
        Lt => ordering.is_lt(),
        Le => ordering.is_le(),
        Ne | Co | Sw | Ew => false,
    })
}

/// Exact for integers (ids beyond 2^53 stay distinct), else as floats.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let integer = |n: &Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// A copy of `value` (of attribute `name`) with `active`/`primary` at any depth turned into
/// JSON booleans.
fn normalized(name: &str, value: &Json) -> Result<Json, PatchError> {
    let mut value = value.clone();
    normalize(name, &mut value).map(|()| value)
}

fn normalize(name: &str, value: &mut Json) -> Outcome {
    if !is_one_of(name, &BOOLEAN_ATTRIBUTES) {
        return match value {
            Json::Object(fields) => fields.iter_mut().try_for_each(|(k, v)| normalize(k, v)),
            Json::Array(items) => items.iter_mut().try_for_each(|item| normalize(name, item)),
            _ => Ok(()),
        };
    }
    match value {
        Json::Bool(_) => {}
        Json::String(s) if s.eq_ignore_ascii_case("true") => *value = Json::Bool(true),
        Json::String(s) if s.eq_ignore_ascii_case("false") => *value = Json::Bool(false),
        _ => return fail(INVALID_VALUE, format!("{name} must be true or false")),
    }
    Ok(())
}

/// What makes two values of a multi-valued attribute the same: their `value` sub-attribute
/// compared as text, else the whole value.
fn identity(item: &Json) -> String {
    match item.as_object().and_then(|fields| get_ci(fields, "value")) {
        Some(Json::String(value)) => format!("v{value}"),
        Some(value) => format!("v{value}"),
        None => format!("j{item}"),
    }
}

fn append_unique(items: &mut Vec<Json>, value: Json) {
    let mut seen: HashSet<String> = items.iter().map(identity).collect();
    for item in into_vec(value) {
        if seen.insert(identity(&item)) {
            items.push(item);
        }
    }
}

/// Removes `key`, or with `unwanted` values only those of its values: Entra removes group
/// members as `"path": "members", "value": [{"value": "id"}]`.
fn remove_values(container: &mut Object, key: &str, unwanted: &Json) {
    if let (Some(Json::Array(items)), false) = (container.get_mut(key), unwanted.is_null()) {
        let unwanted: HashSet<String> = into_vec(unwanted.clone()).iter().map(identity).collect();
        items.retain(|item| !unwanted.contains(&identity(item)));
        if !items.is_empty() {
            return;
        }
    }
    // An emptied multi-valued attribute is unassigned (RFC 7644 §3.5.2.2).
    container.remove(key);
}

/// Creates the object holding an extension's attributes and lists the URN in `schemas`, as
/// RFC 7643 §3 asks of a resource that uses an extension.
fn add_extension(doc: &mut Object, urn: &str) {
    let schemas = find_key(doc, "schemas").and_then(|key| doc.get_mut(&key));
    if let Some(Json::Array(schemas)) = schemas {
        if !schemas.iter().any(|s| same_text(s, urn)) {
            schemas.push(Json::String(urn.to_string()));
        }
    }
    doc.insert(urn.to_string(), Json::Object(Map::new()));
}

/// Whether `key` names a whole schema rather than an attribute: it is already a key, is listed
/// in `schemas`, or ends like `...:2.0:User` (an attribute path ends like `...:User:name`).
fn is_schema_urn(doc: &Object, key: &str) -> bool {
    let scheme = key.get(..4).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("urn:") {
        return false;
    }
    let version = key.rsplit(':').nth(1).unwrap_or_default();
    let versioned = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let schemas = get_ci(doc, "schemas").and_then(Json::as_array);
    let listed = schemas.is_some_and(|list| list.iter().any(|s| same_text(s, key)));
    versioned || listed || find_key(doc, key).is_some()
}

fn is_one_of(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn same_text(value: &Json, text: &str) -> bool {
    value.as_str().is_some_and(|s| s.eq_ignore_ascii_case(text))
}

fn into_vec(value: Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items,
        single => vec![single],
    }
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Str(s) => Json::String(s.clone()),
        Value::Num(n) => Json::Number(n.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null => Json::Null,
    }
}

/// The existing key matching `name` case-insensitively (RFC 7643 §2.1), an exact match first.
fn find_key(fields: &Object, name: &str) -> Option<String> {
    if fields.contains_key(name) {
        return Some(name.to_string());
    }
    let found = fields.keys().find(|key| key.eq_ignore_ascii_case(name));
    found.cloned()
}

fn get_ci<'a>(fields: &'a Object, name: &str) -> Option<&'a Json> {
    find_key(fields, name).and_then(|key| fields.get(&key))
}

fn remove_key(fields: &mut Object, name: &str) {
    if let Some(key) = find_key(fields, name) {
        fields.remove(&key);
    }
}

/// Sets `name`, keeping an existing key's spelling.
fn set_key(fields: &mut Object, name: &str, value: Json) {
    let key = find_key(fields, name).unwrap_or_else(|| name.to_string());
    fields.insert(key, value);
}

fn merge(current: &mut Object, fields: Object) {
    for (name, field) in fields {
        set_key(current, &name, field);
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
