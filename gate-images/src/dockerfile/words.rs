//! How BuildKit cuts an instruction into its name, its `--flags` and its
//! arguments (`parser/split_command.go`), a `--mount` value into fields
//! (`go-csvvalue`), and a line into the words it looks for heredocs in.
//!
//! Every piece keeps the character offsets it came from in the instruction,
//! so that findings are located at the line and column they are written.

/// `[\t\v\f\r ]`, the white space BuildKit splits instructions on.
pub(crate) fn is_split_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// A `--name[=value]` flag, its quotes and escapes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flag {
    /// Without the leading `--`.
    pub name: String,
    /// After the first `=`, when there is one.
    pub value: Option<String>,
    /// Offset of the flag's first character (the first `-`).
    pub offset: usize,
    /// Offset, in the instruction, of each character of `value`; one more
    /// entry (where the value ends) so that an empty value has a place.
    pub value_offsets: Vec<usize>,
}

/// An instruction cut as BuildKit cuts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// As written (`FROM`, `from`).
    pub name: String,
    /// The flags before the arguments.
    pub flags: Vec<Flag>,
    /// Offset where the arguments start (after the flags and white space).
    pub args_offset: usize,
    /// The arguments, trimmed.
    pub args: String,
}

/// Splits `chars[start..]`, an instruction, into its name, flags and arguments.
pub(crate) fn split_command(chars: &[char], start: usize, escape: char) -> Command {
    let mut i = start;
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    let name_start = i;
    while i < chars.len() && !is_split_space(chars[i]) {
        i += 1;
    }
    let name: String = chars[name_start..i].iter().collect();
    while i < chars.len() && is_split_space(chars[i]) {
        i += 1;
    }
    let (flags, mut args_offset) = builder_flags(chars, i, escape);
    while args_offset < chars.len() && chars[args_offset].is_whitespace() {
        args_offset += 1;
    }
    let args: String = chars[args_offset.min(chars.len())..].iter().collect::<String>().trim_end().to_owned();
    Command { name, flags, args_offset, args }
}

/// BuildKit's `extractBuilderFlags`: the leading words that start with
/// `--`, up to a word that does not or to `--` alone; quotes are removed and
/// the escape character takes the next character literally.
fn builder_flags(chars: &[char], start: usize, escape: char) -> (Vec<Flag>, usize) {
    let mut flags = Vec::new();
    let mut pos = start;
    loop {
        while pos < chars.len() && chars[pos].is_whitespace() {
            pos += 1;
        }
        if pos >= chars.len() {
            return (flags, chars.len());
        }
        if chars[pos] != '-' || chars.get(pos + 1) != Some(&'-') {
            return (flags, pos);
        }
        let word_start = pos;
        let mut word: Vec<(char, usize)> = Vec::new();
        let mut quote: Option<char> = None;
        let mut blank_ok = false;
        while pos < chars.len() {
            let c = chars[pos];
            match quote {
                None if c.is_whitespace() => break,
                None if c == '\'' || c == '"' => {
                    quote = Some(c);
                    blank_ok = true;
                }
                Some(q) if c == q => quote = None,
                _ if c == escape => {
                    if pos + 1 == chars.len() {
                        pos += 1;
                        quote = None;
                        continue;
                    }
                    pos += 1;
                    word.push((chars[pos], pos));
                }
                _ => word.push((c, pos)),
            }
            pos += 1;
        }
        let text: String = word.iter().map(|(c, _)| c).collect();
        if text == "--" {
            return (flags, pos);
        }
        if blank_ok || !text.is_empty() {
            flags.push(flag(&word, word_start, pos));
        }
    }
}

fn flag(word: &[(char, usize)], offset: usize, end: usize) -> Flag {
    let text: String = word.iter().map(|(c, _)| c).collect();
    let body = text.strip_prefix("--").unwrap_or(&text);
    match body.split_once('=') {
        Some((name, value)) => {
            let skip = 2 + name.chars().count() + 1;
            let mut value_offsets: Vec<usize> = word.iter().skip(skip).map(|(_, o)| *o).collect();
            value_offsets.push(end);
            Flag { name: name.to_owned(), value: Some(value.to_owned()), offset, value_offsets }
        }
        None => Flag { name: body.to_owned(), value: None, offset, value_offsets: vec![end] },
    }
}

/// `text` split on `[\t\v\f\r ]+`, each word with its offset (from `start`).
pub(crate) fn split_words(chars: &[char], start: usize) -> Vec<(usize, String)> {
    let mut words = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, &c) in chars.iter().enumerate().skip(start) {
        if is_split_space(c) {
            words.extend(current.take());
        } else {
            current.get_or_insert_with(|| (i, String::new())).1.push(c);
        }
    }
    words.extend(current);
    words
}

/// One comma-separated field of a `--mount` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// The text, quotes removed.
    pub text: String,
    /// Index, in the value, of each character of `text`.
    pub offsets: Vec<usize>,
}

/// Why a `--mount` value is not CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvError {
    /// Character index in the value.
    pub at: usize,
    /// What is wrong, as Go's `encoding/csv` says it.
    pub message: &'static str,
}

/// go-csvvalue's `Fields`: a single CSV record, `""` inside quotes for a
/// quote, no quote inside an unquoted field.
pub(crate) fn csv_fields(value: &[char]) -> Result<Vec<Field>, CsvError> {
    if value.is_empty() {
        return Err(CsvError { at: 0, message: "EOF" });
    }
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        if value.get(i) != Some(&'"') {
            let end = value[i..].iter().position(|&c| c == ',').map_or(value.len(), |p| p + i);
            if let Some(q) = value[i..end].iter().position(|&c| c == '"') {
                return Err(CsvError { at: i + q, message: "bare \" in non-quoted-field" });
            }
            fields.push(Field { text: value[i..end].iter().collect(), offsets: (i..end).collect() });
            if end == value.len() {
                return Ok(fields);
            }
            i = end + 1;
            continue;
        }
        let mut field = Field { text: String::new(), offsets: Vec::new() };
        i += 1;
        loop {
            let Some(q) = value[i..].iter().position(|&c| c == '"').map(|p| p + i) else {
                return Err(CsvError {
                    at: value.len(),
                    message: "extraneous or missing \" in quoted-field",
                });
            };
            field.text.extend(&value[i..q]);
            field.offsets.extend(i..q);
            i = q + 1;
            match value.get(i) {
                Some('"') => {
                    field.text.push('"');
                    field.offsets.push(i);
                    i += 1;
                }
                Some(',') => {
                    fields.push(field);
                    i += 1;
                    break;
                }
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(_) => {
                    return Err(CsvError { at: q, message: "extraneous or missing \" in quoted-field" });
                }
            }
        }
    }
}

/// The terminators of the heredocs a line opens, as BuildKit's
/// `heredocsFromLine` finds them: each shell word matching
/// `^(\d*)<<(-?)\s*([^<]*)$` whose rest is one word; `true` with a name when
/// it is `<<-` (leading tabs are removed before comparing).
pub(crate) fn heredocs(line: &str) -> Vec<(String, bool)> {
    shell_words(line)
        .iter()
        .filter_map(|word| {
            let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
            let rest = rest.strip_prefix("<<")?;
            let (chomp, rest) = match rest.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
            if rest.is_empty() || rest.contains('<') {
                return None;
            }
            match unquoted_words(rest).as_slice() {
                [name] => Some((name.clone(), chomp)),
                _ => None,
            }
        })
        .collect()
}

/// Shell words with their quotes and escapes kept.
fn shell_words(line: &str) -> Vec<String> {
    split_shell(line, true)
}

/// Shell words with their quotes and escapes removed.
fn unquoted_words(text: &str) -> Vec<String> {
    split_shell(text, false)
}

fn split_shell(text: &str, raw: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                if raw {
                    w.push('\\');
                }
                w.extend(chars.next());
            }
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                if raw {
                    w.push(c);
                }
                while let Some(inner) = chars.next() {
                    if inner == c {
                        if raw {
                            w.push(c);
                        }
                        break;
                    }
                    if inner == '\\' && c == '"' {
                        if raw {
                            w.push('\\');
                        }
                        w.extend(chars.next());
                        continue;
                    }
                    w.push(inner);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn flags_are_cut_like_buildkit() {
        let line = chars("COPY --chown=1:1 --from=\"a b\" -- --x src dst");
        let c = split_command(&line, 0, '\\');
        assert_eq!(c.name, "COPY");
        let names: Vec<(&str, Option<&str>)> =
            c.flags.iter().map(|f| (f.name.as_str(), f.value.as_deref())).collect();
        assert_eq!(names, [("chown", Some("1:1")), ("from", Some("a b"))]);
        assert_eq!(c.args, "--x src dst");
        assert_eq!(c.flags[1].offset, 17);
        assert_eq!(c.flags[1].value_offsets[0], 25);
        let c = split_command(&chars("RUN --mount=type=cache\\,x --network=none echo"), 0, '\\');
        assert_eq!(c.flags[0].value.as_deref(), Some("type=cache,x"));
        assert_eq!(c.args, "echo");
        assert_eq!(split_command(&chars("FROM --platform"), 0, '\\').flags[0].value, None);
    }

    #[test]
    fn csv_like_go() {
        let texts =
            |v: &str| csv_fields(&chars(v)).map(|f| f.into_iter().map(|f| f.text).collect::<Vec<_>>());
        assert_eq!(texts("type=bind,from=a"), Ok(vec!["type=bind".into(), "from=a".into()]));
        assert_eq!(texts("\"from=a,b\",x"), Ok(vec!["from=a,b".into(), "x".into()]));
        assert_eq!(texts("\"a\"\"b\""), Ok(vec!["a\"b".into()]));
        assert_eq!(texts("a,"), Ok(vec!["a".into(), "".into()]));
        assert_eq!(texts("from=\"a\"").unwrap_err().message, "bare \" in non-quoted-field");
        assert!(texts("\"a\"b").is_err());
        assert!(texts("\"a").is_err());
        assert!(texts("").is_err());
        let fields = csv_fields(&chars("x,\"from=a\"")).unwrap();
        assert_eq!(fields[1].offsets[5], 8);
    }

    #[test]
    fn heredoc_words() {
        assert_eq!(heredocs("RUN <<EOF"), [("EOF".to_owned(), false)]);
        assert_eq!(heredocs("RUN 3<<-\"END X\" cat <<'B' >f"), [("END X".into(), true), ("B".into(), false)]);
        assert!(heredocs("RUN echo <<<here").is_empty());
        assert!(heredocs("RUN echo '<<EOF'").is_empty());
    }
}
