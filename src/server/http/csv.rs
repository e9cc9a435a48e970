//! CSV cells for exports: RFC 4180 quoting, and spreadsheet-safe. A cell starting with `=`, `+`,
//! `-`, `@` or `'` gets a leading `'`, so a spreadsheet shows it as text instead of running it
//! as a formula; to get the original value back, remove one leading `'` (it is always ours).
pub fn push_field(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@', '\'']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::push_field;

    #[test]
    fn fields_are_quoted_and_formula_safe() {
        let mut s = String::new();
        for (i, v) in ["plain", "a,\"b\"", "=SUM(A1)", "'quoted", "line\nbreak"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                s.push('|');
            }
            push_field(&mut s, v);
        }
        assert_eq!(
            s,
            "plain|\"a,\"\"b\"\"\"|'=SUM(A1)|''quoted|\"line\nbreak\""
        );
    }
}
