//! Mustache as Particle's webhooks use it (particle-api-devices.md D7.4): `{{x}}`
//! HTML-escapes `& < > " '`, `{{{x}}}` and `{{& x}}` do not, `{{a.b}}` and `{{c.0.ca}}`
//! walk objects and arrays, `{{#x}}…{{/x}}` and `{{^x}}…{{/x}}` are sections and
//! inverted sections, `{{! …}}` a comment. Values render as JavaScript's `String()`
//! would (numbers as written, `null` and missing as nothing), since production renders
//! with mustache.js. Written here rather than taken from a crate: `mustache` 0.9 (2019,
//! unmaintained) cannot index arrays (`c.0.ca`) and escapes with `log` 0.3 in tow;
//! `handlebars` makes sections helpers and escapes `` ` `` and `=` too; `ramhorns` needs
//! compile-time types, not JSON known at run time (docs/dependencies.md).
//!
//! Bounded: output past [`MAX_OUTPUT`] bytes is cut there, sections nest at most
//! [`MAX_DEPTH`] deep (deeper ones render nothing), so no template can grow memory or
//! the stack without bound.

use serde_json::Value;

/// Longest rendered text, bytes.
pub(crate) const MAX_OUTPUT: usize = 256 * 1024;

/// Deepest section nesting rendered.
pub(crate) const MAX_DEPTH: usize = 32;

/// One piece of a parsed template.
#[derive(Debug)]
enum Node<'t> {
    Text(&'t str),
    Var {
        name: &'t str,
        escape: bool,
    },
    Section {
        name: &'t str,
        inverted: bool,
        children: Vec<Node<'t>>,
    },
}

/// Renders `template` against `context` (an object whose keys are the variables).
pub(crate) fn render(template: &str, context: &Value) -> String {
    let (nodes, _) = parse(template, None, 0);
    let mut out = String::new();
    let mut stack = vec![context];
    emit(&nodes, &mut stack, &mut out);
    out
}

/// Parses until `{{/closing}}` (or the end); returns the nodes and the rest.
fn parse<'t>(mut rest: &'t str, closing: Option<&str>, depth: usize) -> (Vec<Node<'t>>, &'t str) {
    let mut nodes = Vec::new();
    while let Some(open) = rest.find("{{") {
        let before = &rest[..open];
        let after = &rest[open + 2..];
        // `{{{name}}}`: raw; its end is `}}}`.
        let (tag, raw_triple, next) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find("}}}") {
                Some(end) => (&inner[..end], true, &inner[end + 3..]),
                None => break,
            }
        } else {
            match after.find("}}") {
                Some(end) => (&after[..end], false, &after[end + 2..]),
                None => break,
            }
        };
        if !before.is_empty() {
            nodes.push(Node::Text(before));
        }
        rest = next;
        if raw_triple {
            nodes.push(Node::Var {
                name: tag.trim(),
                escape: false,
            });
            continue;
        }
        let tag = tag.trim();
        match tag.chars().next() {
            Some('!') => {}
            Some('&') => nodes.push(Node::Var {
                name: tag[1..].trim(),
                escape: false,
            }),
            Some(c @ ('#' | '^')) => {
                let name = tag[1..].trim();
                let (children, after) = if depth < MAX_DEPTH {
                    parse(rest, Some(name), depth + 1)
                } else {
                    (Vec::new(), skip_section(rest, name))
                };
                rest = after;
                nodes.push(Node::Section {
                    name,
                    inverted: c == '^',
                    children,
                });
            }
            Some('/') => {
                if closing == Some(tag[1..].trim()) {
                    return (nodes, rest);
                }
                // A stray closing tag renders nothing.
            }
            // Partials and delimiter changes are not part of what webhooks use.
            Some('>' | '=') => {}
            _ => nodes.push(Node::Var {
                name: tag,
                escape: true,
            }),
        }
    }
    if !rest.is_empty() {
        nodes.push(Node::Text(rest));
    }
    (nodes, "")
}

/// The rest after `{{/name}}` (or nothing), for a section nested too deep.
fn skip_section<'t>(rest: &'t str, name: &str) -> &'t str {
    let close = format!("{{{{/{name}}}}}");
    rest.find(&close).map_or("", |at| &rest[at + close.len()..])
}

fn emit(nodes: &[Node<'_>], stack: &mut Vec<&Value>, out: &mut String) {
    for node in nodes {
        if out.len() >= MAX_OUTPUT {
            return;
        }
        match node {
            Node::Text(text) => push(out, text),
            Node::Var { name, escape } => {
                let text = lookup(stack, name).map(as_text).unwrap_or_default();
                if *escape {
                    push(out, &escape_html(&text));
                } else {
                    push(out, &text);
                }
            }
            Node::Section {
                name,
                inverted,
                children,
            } => {
                let value = lookup(stack, name);
                let truthy = value.is_some_and(truthy);
                if *inverted {
                    if !truthy {
                        emit(children, stack, out);
                    }
                    continue;
                }
                let Some(value) = value.filter(|_| truthy) else {
                    continue;
                };
                match value {
                    Value::Array(items) => {
                        for item in items {
                            stack.push(item);
                            emit(children, stack, out);
                            stack.pop();
                        }
                    }
                    other => {
                        stack.push(other);
                        emit(children, stack, out);
                        stack.pop();
                    }
                }
            }
        }
    }
}

fn push(out: &mut String, text: &str) {
    let room = MAX_OUTPUT.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
    } else {
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&text[..cut]);
    }
}

/// mustache.js' lookup: `.` is the current value; the first part of a dotted name is
/// looked up from the innermost context out, the rest walk objects and array indices.
fn lookup<'v>(stack: &[&'v Value], name: &str) -> Option<&'v Value> {
    if name == "." {
        return stack.last().copied();
    }
    let mut parts = name.split('.');
    let first = parts.next()?;
    let mut value = stack.iter().rev().find_map(|v| child(v, first))?;
    for part in parts {
        value = child(value, part)?;
    }
    Some(value)
}

fn child<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// JavaScript's truthiness, as mustache.js sections use it.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

/// JavaScript's `String(value)`.
fn as_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// D7.4: `{{x}}` escapes `& < > " '`.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn double_braces_escape_and_triple_braces_do_not() {
        let context = json!({ "v": "<a href=\"x\">&'</a>" });
        assert_eq!(
            render("{{v}}", &context),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(render("{{{v}}}", &context), "<a href=\"x\">&'</a>");
        assert_eq!(render("{{& v}}", &context), "<a href=\"x\">&'</a>");
    }

    #[test]
    fn dotted_names_walk_objects_and_arrays() {
        let context = json!({ "a": { "b": 5 }, "c": [{ "ca": "x" }, { "ca": 2.5 }], "t": true });
        assert_eq!(
            render("{{{a.b}}}/{{{c.0.ca}}}/{{c.1.ca}}/{{t}}", &context),
            "5/x/2.5/true"
        );
        assert_eq!(render("[{{missing}}{{a.zz}}{{c.9.ca}}]", &context), "[]");
        assert_eq!(render("{{a}}", &context), "[object Object]");
    }

    #[test]
    fn sections_iterate_lists_and_inverted_sections_render_when_falsy() {
        let context = json!({ "list": [{ "n": 1 }, { "n": 2 }], "empty": [], "name": "x" });
        assert_eq!(
            render("{{#list}}<{{n}}{{name}}>{{/list}}", &context),
            "<1x><2x>"
        );
        assert_eq!(render("{{^empty}}none{{/empty}}", &context), "none");
        assert_eq!(render("{{#empty}}some{{/empty}}", &context), "");
        assert_eq!(render("a{{! a comment }}b", &context), "ab");
    }

    #[test]
    fn unterminated_tags_are_text_and_output_is_bounded() {
        assert_eq!(render("a {{ b", &json!({})), "a {{ b");
        let context = json!({ "big": "x".repeat(1000), "l": vec![0; 1000] });
        let out = render("{{#l}}{{big}}{{/l}}", &context);
        assert_eq!(out.len(), MAX_OUTPUT);
        let deep = "{{#t}}".repeat(100) + "x" + &"{{/t}}".repeat(100);
        assert!(render(&deep, &json!({ "t": true })).len() <= 1);
    }
}
