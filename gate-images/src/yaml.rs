//! A small located YAML tree, built from `saphyr-parser` events.
//!
//! Every node keeps the 1-based line and column where it starts, so image
//! references found in CI files can be reported where they are written.
//! Aliases share their anchored node instead of copying it, and the size
//! the document would have once every alias is expanded is counted as it is
//! built: a document whose expansion exceeds [`MAX_EXPANDED_NODES`] (a
//! "billion laughs") is refused instead of exhausting memory or time.
//! Nesting deeper than [`MAX_DEPTH`] is refused too.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Largest number of nodes a document may have once its aliases are expanded.
pub const MAX_EXPANDED_NODES: u64 = 1_000_000;

/// Deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 256;

/// Why a YAML document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML.
    #[error("malformed YAML at {line}:{column}: {message}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What the parser reported.
        message: String,
    },
    /// The document is too large once its aliases are expanded, or nested too deeply.
    #[error("refused at {line}:{column}: {message}")]
    Limit {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Which limit was exceeded.
        message: String,
    },
}

/// A value in the tree.
#[derive(Debug, PartialEq)]
pub enum Value {
    /// A scalar, as text (YAML 1.2 core schema types are not resolved).
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

/// A located value; an alias shares the value of its anchor.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Rc<Value>,
    /// 1-based line of the value's first character.
    pub line: u32,
    /// 1-based column of the value's first character (inside the quotes of a quoted scalar).
    pub column: u32,
    /// Size once aliases are expanded, in nodes.
    cost: u64,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &*self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &*self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a mapping, merge keys (`<<`) resolved: direct entries
    /// first, then the entries of the merged mappings. Empty for other values.
    pub fn entries(&self) -> Vec<(&Node, &Node)> {
        let Value::Map(entries) = &*self.value else {
            return Vec::new();
        };
        let mut out: Vec<(&Node, &Node)> = Vec::new();
        let mut merged: Vec<&Node> = Vec::new();
        for (key, value) in entries {
            if key.as_str() == Some("<<") {
                match value.as_seq() {
                    Some(items) => merged.extend(items),
                    None => merged.push(value),
                }
            } else {
                out.push((key, value));
            }
        }
        for source in merged {
            if let Value::Map(more) = &*source.value {
                for (key, value) in more {
                    if !out.iter().any(|(k, _)| k.as_str().is_some() && k.as_str() == key.as_str()) {
                        out.push((key, value));
                    }
                }
            }
        }
        out
    }

    /// The value of `key` in a mapping (merge keys resolved).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries().into_iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }
}

/// One open collection while the tree is built.
enum Frame {
    Seq { anchor: usize, items: Vec<Node>, line: u32, column: u32, cost: u64 },
    Map { anchor: usize, items: Vec<Node>, line: u32, column: u32, cost: u64 },
}

fn position(span: &Span) -> (u32, u32) {
    let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
    let column = u32::try_from(span.start.col()).unwrap_or(u32::MAX).saturating_add(1);
    (line, column)
}

/// Parses the first document of `text`; `None` for an empty stream.
/// The whole stream is checked for syntax errors and limits.
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut first: Option<Node> = None;
    let mut expanded: u64 = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError::Syntax {
            line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.marker().col()).unwrap_or(u32::MAX).saturating_add(1),
            message: e.info().to_owned(),
        })?;
        let (line, column) = position(&span);
        let limit = |message: String| YamlError::Limit { line, column, message };
        let finished: Option<(Node, usize)> = match event {
            Event::Scalar(value, style, anchor, _) => {
                // A quoted scalar's span starts at its opening quote.
                let column = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => column.saturating_add(1),
                    _ => column,
                };
                Some((
                    Node { value: Rc::new(Value::Scalar(value.into_owned())), line, column, cost: 1 },
                    anchor,
                ))
            }
            Event::Alias(id) => {
                let Some(node) = anchors.get(&id) else {
                    return Err(limit(format!("alias to unknown anchor {id}")));
                };
                expanded = expanded.saturating_add(node.cost);
                if expanded > MAX_EXPANDED_NODES {
                    return Err(limit(format!(
                        "aliases expand to more than {MAX_EXPANDED_NODES} nodes (a \"billion laughs\" document?)"
                    )));
                }
                Some((node.clone(), 0))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(limit(format!("nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { anchor, items: Vec::new(), line, column, cost: 1 }
                } else {
                    Frame::Map { anchor, items: Vec::new(), line, column, cost: 1 }
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { anchor, items, line, column, cost }) => {
                    Some((Node { value: Rc::new(Value::Seq(items)), line, column, cost }, anchor))
                }
                Some(Frame::Map { anchor, items, line, column, cost }) => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut items = items.into_iter();
                    while let (Some(key), Some(value)) = (items.next(), items.next()) {
                        pairs.push((key, value));
                    }
                    Some((Node { value: Rc::new(Value::Map(pairs)), line, column, cost }, anchor))
                }
                None => return Err(limit("unbalanced collection end".to_owned())),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => None,
        };
        let Some((node, anchor)) = finished else { continue };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            Some(Frame::Seq { items, cost, .. } | Frame::Map { items, cost, .. }) => {
                *cost = cost.saturating_add(node.cost);
                items.push(node);
            }
            None => {
                if first.is_none() {
                    first = Some(node);
                }
            }
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_scalars_plain_and_quoted() {
        let root = parse("a:\n  b: plain\n  c: \"quoted\"\n  d: 'single'\n").unwrap().unwrap();
        let a = root.get("a").unwrap();
        let b = a.get("b").unwrap();
        assert_eq!((b.as_str(), b.line, b.column), (Some("plain"), 2, 6));
        let c = a.get("c").unwrap();
        assert_eq!((c.as_str(), c.line, c.column), (Some("quoted"), 3, 7));
        let d = a.get("d").unwrap();
        assert_eq!((d.as_str(), d.line, d.column), (Some("single"), 4, 7));
    }

    #[test]
    fn merge_keys_and_aliases_resolve() {
        let text = "base: &base\n  image: x\n  tag: 1\njob:\n  <<: *base\n  tag: 2\n";
        let root = parse(text).unwrap().unwrap();
        let job = root.get("job").unwrap();
        assert_eq!(job.get("image").and_then(Node::as_str), Some("x"));
        assert_eq!(job.get("image").map(|n| n.line), Some(2));
        assert_eq!(job.get("tag").and_then(Node::as_str), Some("2"));
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(matches!(err, YamlError::Syntax { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(MAX_DEPTH + 10), "]".repeat(MAX_DEPTH + 10));
        // The scanner itself refuses flow collections nested more than 255 deep.
        assert!(parse(&text).is_err());
        let block = (0..MAX_DEPTH + 1).map(|i| format!("{}k:\n", "  ".repeat(i))).collect::<String>();
        assert!(matches!(parse(&block), Err(YamlError::Limit { .. })));
    }

    #[test]
    fn empty_stream_is_none() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }
}
