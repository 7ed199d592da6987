//! The report as one self-contained HTML page: the template (`page.html`, with its script and
//! style inline) and the data as JSON in a `<script type="application/json">` element. No
//! network: nothing is loaded from anywhere.
//!
//! Safety of input text: the JSON is made safe for a script element by writing `<`, `>`, `&`
//! and the two JavaScript line separators as `\u` escapes, so no input (an error holding
//! `</script>`, say) can end the element; the page's script puts every input string into the
//! document as text (`textContent`), never as markup.

use super::Report;

const TEMPLATE: &str = include_str!("page.html");
const MARK: &str = "/*JOBSPLIT_REPORT_DATA*/";

/// The page.
pub(crate) fn render(report: &Report) -> String {
    let json = serde_json::to_string(report).expect("serializing plain data");
    let (head, tail) = TEMPLATE
        .split_once(MARK)
        .expect("the template holds the mark");
    let mut out = String::with_capacity(TEMPLATE.len() + json.len() + json.len() / 16);
    out.push_str(head);
    push_script_safe(&mut out, &json);
    out.push_str(tail);
    out
}

/// `json` with the characters that could end a script element or a JavaScript string escaped.
fn push_script_safe(out: &mut String, json: &str) {
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_script_safe;

    #[test]
    fn no_input_can_close_the_script_element() {
        let json = serde_json::to_string("</script><img src=x onerror=alert(1)>&").unwrap();
        let mut out = String::new();
        push_script_safe(&mut out, &json);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "</script><img src=x onerror=alert(1)>&");
    }
}
