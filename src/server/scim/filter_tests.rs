//! The filter and PATCH-path grammar, case by case (RFC 7644 examples, Entra's filters, errors).
use super::*;

/// Renders a filter compactly: `(and a Eq 1 (not b pr))`, `emails[type Eq "work"]`, and a
/// URN path as `urn|attr.sub`.
fn show(filter: &Filter) -> String {
    let pair = |op, a: &Filter, b: &Filter| format!("({op} {} {})", show(a), show(b));
    match filter {
        Filter::Present(p) => format!("{} pr", show_path(p)),
        Filter::Compare(p, op, v) => format!("{} {op:?} {}", show_path(p), show_value(v)),
        Filter::Not(f) => format!("(not {})", show(f)),
        Filter::And(a, b) => pair("and", a, b),
        Filter::Or(a, b) => pair("or", a, b),
        Filter::ValuePath { attr, filter } => format!("{}[{}]", show_path(attr), show(filter)),
    }
}

fn show_path(path: &AttrPath) -> String {
    let urn = path.urn.as_ref().map_or(String::new(), |u| format!("{u}|"));
    let sub = path.sub.as_ref().map_or(String::new(), |s| format!(".{s}"));
    format!("{urn}{}{sub}", path.attr)
}

fn show_value(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("{s:?}"),
        Value::Num(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
    }
}

fn run_filter(input: &str) -> String {
    parse_filter(input).map_or_else(|e| format!("error: {e}"), |f| show(&f))
}

fn run_path(input: &str) -> String {
    match parse_path(input) {
        Err(e) => format!("error: {e}"),
        Ok(PatchPath { attr, filter, sub }) => {
            let filter = filter.map_or(String::new(), |f| format!("[{}]", show(&f)));
            let sub = sub.map_or(String::new(), |s| format!(".{s}"));
            format!("{}{filter}{sub}", show_path(&attr))
        }
    }
}

/// Checks a table of `input => expected` lines (surrounding spaces trimmed), where
/// `expected` is the rendered result or `error: <message> at <byte offset>`.
fn check(run: fn(&str) -> String, table: &str) {
    let (mut failures, mut rows) = (String::new(), 0);
    for line in table.lines().map(str::trim).filter(|line| !line.is_empty()) {
        rows += 1;
        let (input, expected) = line.split_once(" => ").expect("`input => expected`");
        let actual = run(input);
        if actual != expected {
            failures += &format!("\n{input}\n  got:      {actual}\n  expected: {expected}");
        }
    }
    assert!(rows > 0 && failures.is_empty(), "{rows} rows{failures}");
}

/// `table! { name, run, r#"input => expected ..."# }` defines a test that runs `check`.
macro_rules! table {
    ($name:ident, $run:expr, $table:expr) => {
        #[test]
        fn $name() {
            check($run, $table);
        }
    };
}

table! { operators_and_present_in_any_case, run_filter, r#"
    a eq "x" => a Eq "x"
    a NE "x" => a Ne "x"
    a co "x" => a Co "x"
    a Sw "x" => a Sw "x"
    a ew "x" => a Ew "x"
    a gt 1 => a Gt 1
    a GE 1 => a Ge 1
    a lt 1 => a Lt 1
    a le 1 => a Le 1
    title pr => title pr
    title PR => title pr
    userName EQ "x" => userName Eq "x"
    USERNAME eq "x" => USERNAME Eq "x"
"# }

table! { and_binds_tighter_than_or, run_filter, r#"
    a eq 1 or b eq 2 and c eq 3 => (or a Eq 1 (and b Eq 2 c Eq 3))
    a eq 1 and b eq 2 or c eq 3 => (or (and a Eq 1 b Eq 2) c Eq 3)
    a pr AND b pr Or c pr => (or (and a pr b pr) c pr)
    a pr or b pr or c pr => (or (or a pr b pr) c pr)
"# }

table! { parentheses_group, run_filter, r#"
    (a pr or b pr) and c pr => (and (or a pr b pr) c pr)
    ((a pr)) => a pr
"# }

table! { not_takes_a_parenthesised_filter, run_filter, r#"
    not (a eq "x") => (not a Eq "x")
    NOT(a eq "x") => (not a Eq "x")
    not (a pr) and b pr => (and (not a pr) b pr)
    not (a pr or not (b pr)) => (not (or a pr (not b pr)))
    notes pr => notes pr
    not.x pr => not.x pr
"# }

table! { json_literal_values, run_filter, r#"
    a eq true => a Eq true
    a eq FALSE => a Eq false
    a eq Null => a Eq null
    a gt -1.5e3 => a Gt -1500.0
    a le 0 => a Le 0
    a lt 0.25E+1 => a Lt 2.5
    a eq 9007199254740993 => a Eq 9007199254740993
    a eq "q\"b\\s\/\u00e9\ud83d\ude00\t" => a Eq "q\"b\\s/é😀\t"
    a eq "日本 ü" => a Eq "日本 ü"
"# }

table! { attribute_paths_split_the_urn_at_the_last_colon, run_filter, r#"
    urn:ietf:params:scim:schemas:core:2.0:User:name.givenName pr => urn:ietf:params:scim:schemas:core:2.0:User|name.givenName pr
    urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr => urn:ietf:params:scim:schemas:extension:enterprise:2.0:User|employeeNumber pr
    emails.value pr => emails.value pr
"# }

// `attr[...]` filters, including the trailing `.sub op value` form.
table! { value_paths, run_filter, r#"
    emails[type eq "work" and primary eq true or not (value pr)] => emails[(or (and type Eq "work" primary Eq true) (not value pr))]
    emails[type eq "work"].value eq "x" => emails[(and type Eq "work" value Eq "x")]
    emails[type eq "work"].value pr => emails[(and type Eq "work" value pr)]
    emails[type eq "work" or type eq "home"].value sw "a" => emails[(and (or type Eq "work" type Eq "home") value Sw "a")]
    emails [ type eq 1 ] => emails[type Eq 1]
"# }

// RFC 7644 §3.4.2.2 Figure 2, verbatim (wrapped lines joined).
table! { rfc7644_figure_2_examples, run_filter, r#"
    userName eq "bjensen" => userName Eq "bjensen"
    name.familyName co "O'Malley" => name.familyName Co "O'Malley"
    userName sw "J" => userName Sw "J"
    urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J" => urn:ietf:params:scim:schemas:core:2.0:User|userName Sw "J"
    title pr => title pr
    meta.lastModified gt "2011-05-13T04:42:34Z" => meta.lastModified Gt "2011-05-13T04:42:34Z"
    meta.lastModified ge "2011-05-13T04:42:34Z" => meta.lastModified Ge "2011-05-13T04:42:34Z"
    meta.lastModified lt "2011-05-13T04:42:34Z" => meta.lastModified Lt "2011-05-13T04:42:34Z"
    meta.lastModified le "2011-05-13T04:42:34Z" => meta.lastModified Le "2011-05-13T04:42:34Z"
    title pr and userType eq "Employee" => (and title pr userType Eq "Employee")
    title pr or userType eq "Intern" => (or title pr userType Eq "Intern")
    schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" => schemas Eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    userType eq "Employee" and (emails co "example.com" or emails.value co "example.org") => (and userType Eq "Employee" (or emails Co "example.com" emails.value Co "example.org"))
    userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org") => (and userType Ne "Employee" (not (or emails Co "example.com" emails.value Co "example.org")))
    userType eq "Employee" and (emails.type eq "work") => (and userType Eq "Employee" emails.type Eq "work")
    userType eq "Employee" and emails[type eq "work" and value co "@example.com"] => (and userType Eq "Employee" emails[(and type Eq "work" value Co "@example.com")])
    emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"] => (or emails[(and type Eq "work" value Co "@example.com")] ims[(and type Eq "xmpp" value Co "@foo.com")])
"# }

// Filters Microsoft Entra ID sends while provisioning.
table! { entra_id_filters, run_filter, r#"
    userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081" => userName Eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"
    externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" => externalId Eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    displayName eq "Group_1" => displayName Eq "Group_1"
"# }

table! { patch_paths, run_path, r#"
    members => members
    name.givenName => name.givenName
    members[value eq "2819c223-7f76-453a-919d-413861904646"] => members[value Eq "2819c223-7f76-453a-919d-413861904646"]
    members[value eq "abc"] => members[value Eq "abc"]
    emails[type eq "work"].value => emails[type Eq "work"].value
    urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager => urn:ietf:params:scim:schemas:extension:enterprise:2.0:User|manager
"# }

table! { patch_path_errors, run_path, r#"
    members[ => error: expected an attribute path, found the end at 8
    m[value eq 1 => error: expected ']' to close the '[' at byte 1, found the end at 12
    e[t eq 1]. => error: expected a sub-attribute name after "." at 10
    a b => error: unexpected "b" at 2
    a.b.c => error: expected an attribute path, found "a.b.c" at 0
    urn:x: => error: expected an attribute path, found "urn:x:" at 0
"# }

// The error cases the brief lists (plus neighbours), with their exact messages.
table! { errors, run_filter, r#"
    userName eq => error: expected a value after "eq", found the end at 11
    userName zz "x" => error: expected a comparison operator after "userName" at 9
    not userName eq "x" => error: expected "(" after "not" at 4
    userName eq "abc => error: unterminated string at 12
    (userName eq "x" => error: expected ')' to close the '(' at byte 0, found the end at 16
    userName eq "x") => error: unmatched ")" at 15
    userName eq "x" garbage => error: unexpected "garbage" at 16
    title pr "x" => error: unexpected "\"x\"" at 9
    a eq 1 andb pr => error: unexpected "andb pr" at 7
    a eq 1 and => error: expected an attribute path, found the end at 10
    emails[type eq "work") => error: expected ']' to close the '[' at byte 6, found ")" at 21
    emails[x[type eq "work"]] => error: a "[...]" filter cannot contain another one at 8
"# }

table! { invalid_values, run_filter, r#"
    a eq bjensen => error: expected a value after "eq", found "bjensen" at 5
    a eq 01 => error: "01" is not a number at 5
    a eq 1. => error: "1." is not a number at 5
    a eq 1e999 => error: "1e999" is not a number at 5
    a eq "\x" => error: invalid escape in string at 7
    a eq "\ud800" => error: unexpected end of hex escape in string at 12
"# }

table! { invalid_attribute_paths, run_filter, r#"
    1abc eq 1 => error: expected an attribute path, found "1abc eq 1" at 0
    a.b.c pr => error: expected an attribute path, found "a.b.c pr" at 0
    a. pr => error: expected an attribute path, found "a. pr" at 0
    a:1b pr => error: expected an attribute path, found "a:1b pr" at 0
    :a pr => error: expected an attribute path, found ":a pr" at 0
"# }

#[test]
fn empty_input_and_raw_control_characters_are_errors() {
    assert_eq!(run_filter(""), "error: the filter is empty at 0");
    assert_eq!(
        run_path(" "),
        "error: expected an attribute path, found the end at 1"
    );
    let control = run_filter("a eq \"t\tb\"");
    assert!(control.starts_with("error: control character"), "{control}");
}

#[test]
fn nesting_is_capped_at_50() {
    let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(run_filter(&nested(50)), "a pr");
    let too_deep = "error: the filter nests deeper than 50 levels at";
    assert_eq!(run_filter(&nested(60)), format!("{too_deep} 50"));
    assert_eq!(
        run_filter(&"not (".repeat(10_000)),
        format!("{too_deep} 254")
    );
}

#[test]
fn conditions_are_capped_at_1000() {
    let terms = |n: usize| vec!["id eq 1"; n].join(" or ");
    assert!(parse_filter(&terms(MAX_TERMS)).is_ok());
    assert!(run_filter(&terms(MAX_TERMS + 1)).contains("over 1000 conditions"));
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "é",
        "\"",
        "\\",
        "[",
        "]",
        "(",
        ")",
        "not",
        "not (",
        "a[",
        "a eq \"é",
        "ü pr",
    ];
    for input in odd
        .into_iter()
        .chain(["a eq \"\\ud83d\\u", "a.é pr", "a eq \"\\é\""])
    {
        let _ = (parse_filter(input), parse_path(input));
    }
    // Every prefix of a complex filter, cut at each char boundary.
    let full = r#"emails[type eq "wörk" and value co "@x\u00e9"].value eq "y" or not (a pr)"#;
    for (i, _) in full.char_indices() {
        let _ = (parse_filter(&full[..i]), parse_path(&full[..i]));
    }
}
