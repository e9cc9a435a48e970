//! SCIM 2.0 filter and PATCH-path parser (RFC 7644 §3.4.2.2, §3.5.2): hand-written recursive
//! descent; only serde_json (decoding JSON literals). No library: `scim-filter` 0.2 lacks and/or
//! precedence and string escapes; `scim_v2` 1.0 rejects `emails[type eq "work"].value eq "x"`,
//! `True` and `not(`, and brings a generated lalrpop parser plus a regex stack to build and wrap.

use std::fmt;

/// Deeper `(`/`[` nesting is refused so that recursion stays bounded on hostile input.
pub const MAX_DEPTH: usize = 50;
/// More conditions are refused: long `or` chains build deep trees that callers walk recursively.
pub const MAX_TERMS: usize = 1000;

/// An attribute path: optional schema URN, attribute name, optional sub-attribute.
/// e.g. `userName`, `name.familyName`, `emails.value`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`,
/// `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`.
/// Names keep the input's spelling; callers compare them case-insensitively.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value. Numbers keep serde_json's integer/float distinction, so large ids stay exact.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Value),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `emails[type eq "work"]`: the inner filter's paths are relative to the multi-valued
    /// attribute, and one single element must satisfy all of it.
    /// `emails[type eq "work"].value eq "x"` (an extension: the RFC filter ABNF lacks it)
    /// becomes `ValuePath { attr: emails, filter: And(type eq "work", value eq "x") }`:
    /// one element of `emails` has type "work" *and* value "x".
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct FilterError {
    pub message: String,
    /// Byte offset in the input.
    pub position: usize,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.position)
    }
}

impl std::error::Error for FilterError {}

/// The PATCH `path` grammar (RFC 7644 §3.5.2): `attrPath` or `valuePath [ "." subAttr ]`,
/// e.g. `members`, `name.familyName`, `members[value eq "2819c223"]`,
/// `emails[type eq "work"].value`, `urn:...:enterprise:2.0:User:manager`.
/// `sub` is only the sub-attribute written after `[...]`; `name.familyName` keeps its
/// sub-attribute in `attr.sub`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Parses a `filter` query parameter. `not` is a reserved word and must be followed by `(`.
/// Lenient on spacing: any run of ASCII whitespace separates tokens, and none is required where
/// the boundary is unambiguous (`not(`, `emails [`).
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser::new(input);
    parser.skip_ws();
    if parser.peek().is_none() {
        return fail(parser.pos, "the filter is empty");
    }
    let filter = parser.or_expr(false)?;
    parser.expect_end()?;
    Ok(filter)
}

/// Parses a PATCH operation's `path`.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut parser = Parser::new(input);
    parser.skip_ws();
    let attr = parser.attr_path()?;
    let (mut filter, mut sub) = (None, None);
    parser.skip_ws();
    if parser.peek() == Some(b'[') {
        filter = Some(parser.enclosed(b']', true)?);
        if parser.eat(b'.') {
            sub = Some(parser.sub_attr_name()?.to_string());
        }
    }
    parser.expect_end()?;
    Ok(PatchPath { attr, filter, sub })
}

fn fail<T>(position: usize, message: impl Into<String>) -> Result<T, FilterError> {
    let message = message.into();
    Err(FilterError { message, position })
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// RFC 7644 `ATTRNAME = ALPHA *(nameChar)`.
fn is_attr_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic()) && bytes.all(is_name_char)
}

fn compare_op(word: &str) -> Option<CompareOp> {
    let op = match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(op)
}

/// Recursive descent over the input; `pos` only ever stops on char boundaries because it
/// advances over ASCII bytes or whole chars.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    terms: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            pos: 0,
            depth: 0,
            terms: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.pos += usize::from(found);
        found
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// A short quoted excerpt of the remaining input, for error messages.
    fn upcoming(&self) -> String {
        let excerpt: String = self.src[self.pos..].chars().take(20).collect();
        if excerpt.is_empty() {
            "the end".to_string()
        } else {
            format!("{excerpt:?}")
        }
    }

    /// Reads `[A-Za-z][A-Za-z0-9_-]*` at the cursor, or nothing.
    fn word(&mut self) -> Option<&'a str> {
        let rest = &self.src.as_bytes()[self.pos..];
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        let start = self.pos;
        self.pos += rest.iter().take_while(|&&b| is_name_char(b)).count();
        Some(&self.src[start..self.pos])
    }

    fn sub_attr_name(&mut self) -> Result<&'a str, FilterError> {
        match self.word() {
            Some(name) => Ok(name),
            None => fail(self.pos, "expected a sub-attribute name after \".\""),
        }
    }

    /// Consumes `keyword` (whole word, any case, after optional whitespace) if it comes next.
    fn keyword(&mut self, keyword: &str) -> bool {
        let saved = self.pos;
        self.skip_ws();
        let found = self.word().is_some_and(|w| w.eq_ignore_ascii_case(keyword));
        if !found {
            self.pos = saved;
        }
        found
    }

    fn expect_end(&mut self) -> Result<(), FilterError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(b')') => fail(self.pos, "unmatched \")\""),
            Some(b']') => fail(self.pos, "unmatched \"]\""),
            Some(_) => fail(self.pos, format!("unexpected {}", self.upcoming())),
        }
    }

    fn or_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(in_brackets)?;
        while self.keyword("or") {
            let right = self.and_expr(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.atom(in_brackets)?;
        while self.keyword("and") {
            let right = self.atom(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// A condition, a `( group )`, `not ( group )` or `attr[ filter ]`.
    fn atom(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        self.skip_ws();
        if self.peek() == Some(b'(') {
            return self.enclosed(b')', in_brackets);
        }
        let start = self.pos;
        // `not` is a keyword only as a whole token: `notes` and `not.x` are attribute paths.
        let word = self.word().unwrap_or_default();
        if word.eq_ignore_ascii_case("not") && !matches!(self.peek(), Some(b'.' | b':')) {
            self.skip_ws();
            if self.peek() != Some(b'(') {
                return fail(self.pos, "expected \"(\" after \"not\"");
            }
            return Ok(Filter::Not(Box::new(self.enclosed(b')', in_brackets)?)));
        }
        self.pos = start;
        let attr = self.attr_path()?;
        let path_end = self.pos;
        self.skip_ws();
        if self.peek() != Some(b'[') {
            self.pos = path_end;
            return self.condition(attr, start);
        }
        if in_brackets {
            return fail(self.pos, "a \"[...]\" filter cannot contain another one");
        }
        let mut filter = self.enclosed(b']', true)?;
        if self.eat(b'.') {
            // `emails[type eq "work"].value eq "x"`: the condition joins the bracketed filter.
            let sub_start = self.pos;
            let sub = self.sub_attr_name()?.to_string();
            let sub_path = AttrPath {
                urn: None,
                attr: sub,
                sub: None,
            };
            let condition = self.condition(sub_path, sub_start)?;
            filter = Filter::And(Box::new(filter), Box::new(condition));
        }
        let filter = Box::new(filter);
        Ok(Filter::ValuePath { attr, filter })
    }

    /// A filter between `(` and `)` or `[` and `]`; the cursor is on the opening bracket.
    fn enclosed(&mut self, close: u8, in_brackets: bool) -> Result<Filter, FilterError> {
        let open = self.pos;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(
                open,
                format!("the filter nests deeper than {MAX_DEPTH} levels"),
            );
        }
        self.pos += 1;
        let inner = self.or_expr(in_brackets)?;
        self.skip_ws();
        if !self.eat(close) {
            let (open_char, close) = (self.src.as_bytes()[open] as char, close as char);
            let found = self.upcoming();
            let why = format!("to close the {open_char:?} at byte {open}");
            return fail(self.pos, format!("expected {close:?} {why}, found {found}"));
        }
        self.depth -= 1;
        Ok(inner)
    }

    /// `[URN ":"] ATTRNAME ["." ATTRNAME]`; the URN is everything before the last `:`.
    fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let start = self.pos;
        let rest = &self.src.as_bytes()[start..];
        let is_path_char = |b: &&u8| is_name_char(**b) || **b == b'.' || **b == b':';
        self.pos += rest.iter().take_while(is_path_char).count();
        let token = &self.src[start..self.pos];
        let (urn, name) = match token.rsplit_once(':') {
            Some((urn, name)) => (Some(urn.to_string()), name),
            None => (None, token),
        };
        let (attr, sub) = match name.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (name, None),
        };
        let starts_with_letter = token.starts_with(|c: char| c.is_ascii_alphabetic());
        if !(starts_with_letter && is_attr_name(attr) && sub.is_none_or(is_attr_name)) {
            self.pos = start;
            let message = format!("expected an attribute path, found {}", self.upcoming());
            return fail(start, message);
        }
        let (attr, sub) = (attr.to_string(), sub.map(str::to_string));
        Ok(AttrPath { urn, attr, sub })
    }

    /// `SP "pr"` or `SP compareOp SP compValue`, after the path that started at `path_start`.
    fn condition(&mut self, attr: AttrPath, path_start: usize) -> Result<Filter, FilterError> {
        let path_text = &self.src[path_start..self.pos];
        self.terms += 1;
        if self.terms > MAX_TERMS {
            let message = format!("the filter has over {MAX_TERMS} conditions");
            return fail(path_start, message);
        }
        self.skip_ws();
        let op_start = self.pos;
        let op_word = self.word().unwrap_or_default();
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(attr));
        }
        let Some(op) = compare_op(op_word) else {
            let message = format!("expected a comparison operator after {path_text:?}");
            return fail(op_start, message);
        };
        self.skip_ws();
        let value = self.value(op_word)?;
        Ok(Filter::Compare(attr, op, value))
    }

    fn value(&mut self, op_word: &str) -> Result<Value, FilterError> {
        match self.peek() {
            Some(b'"') => return self.string().map(Value::Str),
            Some(b'-' | b'0'..=b'9') => return self.number().map(Value::Num),
            _ => {}
        }
        let start = self.pos;
        match self.word().map(str::to_ascii_lowercase).as_deref() {
            Some("true") => Ok(Value::Bool(true)),
            Some("false") => Ok(Value::Bool(false)),
            Some("null") => Ok(Value::Null),
            _ => {
                self.pos = start;
                let found = self.upcoming();
                fail(
                    start,
                    format!("expected a value after {op_word:?}, found {found}"),
                )
            }
        }
    }

    /// A JSON number (RFC 8259 §6); the cursor is on `-` or a digit. serde_json checks the form.
    fn number(&mut self) -> Result<serde_json::Number, FilterError> {
        let start = self.pos;
        let is_number_char = |b: &&u8| b.is_ascii_digit() || b"+-.eE".contains(*b);
        let rest = &self.src.as_bytes()[start..];
        self.pos += rest.iter().take_while(is_number_char).count();
        let text = &self.src[start..self.pos];
        serde_json::from_str(text).or_else(|_| fail(start, format!("{text:?} is not a number")))
    }

    /// A JSON string (RFC 8259 §7); the cursor is on the opening quote.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        let bytes = self.src.as_bytes();
        let mut close = open + 1;
        // Find the closing quote, stepping over escapes; serde_json then decodes the literal.
        loop {
            match bytes.get(close) {
                None => return fail(open, "unterminated string"),
                Some(b'"') => break,
                Some(b'\\') => close += 2,
                Some(_) => close += 1,
            }
        }
        self.pos = close + 1;
        serde_json::from_str(&self.src[open..=close]).or_else(|e| {
            // serde_json reports "<reason> at line 1 column <n>", counted within the literal.
            let reason = e.to_string();
            let reason = reason.split(" at line").next().unwrap_or_default();
            let position = open + e.column().saturating_sub(1);
            fail(position, format!("{reason} in string"))
        })
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
