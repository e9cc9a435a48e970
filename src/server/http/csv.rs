//! CSV cells for exports: RFC 4180 quoting, and spreadsheet-safe. A cell starting with `=`, `+`,
//! `-`, `@`, `'`, TAB or CR gets a leading `'`, so a spreadsheet shows it as text instead of running it
//! as a formula; to get the original value back, remove one leading `'` (it is always ours).
pub fn push_field(out: &mut String, value: &str) {
    // TAB and CR too: spreadsheets skip them before looking for a formula.
    let guard = value.starts_with(['=', '+', '-', '@', '\'', '\t', '\r']);
    let quote = value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        // Written piece by piece: exports quote every `details` cell, millions of them.
        let mut pieces = value.split('"');
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            out.push_str("\"\"");
            out.push_str(piece);
        }
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

    #[test]
    fn tab_and_carriage_return_cannot_hide_a_formula() {
        let mut s = String::new();
        push_field(&mut s, "\t=HYPERLINK(\"x\")");
        assert!(s.starts_with("\"'\t="), "{s}");
        let mut s = String::new();
        push_field(&mut s, "\r=1+1");
        assert!(s.starts_with("\"'\r="), "{s}");
    }
}
