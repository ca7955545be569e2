//! The XML tokenizer under the envelope decoder.
//!
//! SOAP envelopes use a small part of XML: elements, attributes, text, CDATA sections, comments
//! and processing instructions (SOAP 1.1 forbids document type declarations). This tokenizer
//! reads exactly that part and borrows every token from the input.
//!
//! It checks what the decoder relies on for a well-formed document: every tag, comment, CDATA
//! section and processing instruction is terminated, no `<` appears inside a tag, quoted
//! attribute values are closed, element names are not empty, and every end tag closes the
//! innermost open element by the same name. Entity references in text are left to the decoder.

use memchr::memmem;

/// One token of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A start tag, `<name attributes>`.
    Start(Tag<'a>),
    /// An empty-element tag, `<name attributes/>`.
    Empty(Tag<'a>),
    /// An end tag that closes the innermost open element; holds its name.
    End(&'a [u8]),
    /// Character data between tags, raw (entity references unresolved).
    Text(&'a [u8]),
    /// The content of a CDATA section.
    CData(&'a [u8]),
}

/// A start or empty-element tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    name: &'a [u8],
    attributes: &'a [u8],
}

impl<'a> Tag<'a> {
    /// The element name without its prefix.
    pub(crate) fn local_name(&self) -> &'a [u8] {
        split_prefix(self.name).1
    }

    /// The namespace prefix of the element name, empty when it has none.
    pub(crate) fn prefix(&self) -> &'a [u8] {
        split_prefix(self.name).0
    }

    /// The attributes in document order (namespace declarations included), as raw
    /// `(qualified name, value)` pairs. Iteration stops at the first pair that is not
    /// `name="value"` or `name='value'`.
    pub(crate) fn attributes(&self) -> Attributes<'a> {
        Attributes {
            rest: self.attributes,
        }
    }

    /// The raw value of the first attribute named `local` with any prefix, never a namespace
    /// declaration.
    pub(crate) fn attribute(&self, local: &[u8]) -> Option<&'a [u8]> {
        self.attributes()
            .find(|(name, _)| {
                split_prefix(name).1 == local && *name != b"xmlns" && !name.starts_with(b"xmlns:")
            })
            .map(|(_, value)| value)
    }
}

/// The first position of `byte` in `haystack`: a plain loop for the short spans of an envelope
/// (names, attribute values, most text), where it beats a vectorised search's setup.
#[inline(always)]
pub(crate) fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    if haystack.len() < 64 {
        haystack.iter().position(|&b| b == byte)
    } else {
        memchr::memchr(byte, haystack)
    }
}

/// `(prefix, local)` of a qualified name; the prefix is empty when there is none.
fn split_prefix(name: &[u8]) -> (&[u8], &[u8]) {
    match find_byte(b':', name) {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => (&[], name),
    }
}

/// Iterator over the attributes of a tag: see [`Tag::attributes`].
pub(crate) struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.trim_ascii_start();
        let eq = find_byte(b'=', rest)?;
        let name = rest[..eq].trim_ascii_end();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'"' && quote != b'\'' {
            self.rest = &[];
            return None;
        }
        let len = find_byte(quote, &after[1..])?;
        self.rest = &after[2 + len..];
        Some((name, &after[1..1 + len]))
    }
}

/// Why the document is not well-formed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// What is wrong.
    pub(crate) message: &'static str,
    /// Byte offset of the construct at fault.
    pub(crate) position: usize,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.message, self.position)
    }
}

/// Pull tokenizer over one document.
pub(crate) struct Tokenizer<'a> {
    input: &'a [u8],
    /// Where the next token starts.
    pos: usize,
    /// Names of the open elements, outermost first.
    open: Vec<&'a [u8]>,
    /// The deepest nesting accepted.
    max_depth: usize,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer at the start of `input` that rejects elements nested deeper than
    /// `max_depth`.
    pub(crate) fn new(input: &'a [u8], max_depth: usize) -> Tokenizer<'a> {
        Tokenizer {
            input,
            pos: 0,
            open: Vec::with_capacity(16),
            max_depth,
        }
    }

    #[cold]
    fn error(&self, message: &'static str, position: usize) -> SyntaxError {
        SyntaxError { message, position }
    }

    /// The next token; `None` at the end of the input (an error for the caller while elements
    /// are open).
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Result<Option<Token<'a>>, SyntaxError> {
        loop {
            let rest = &self.input[self.pos..];
            match rest.first() {
                None => return Ok(None),
                Some(b'<') => {
                    if let Some(token) = self.markup()? {
                        return Ok(Some(token));
                    }
                }
                Some(_) => {
                    let len = find_byte(b'<', rest).unwrap_or(rest.len());
                    self.pos += len;
                    return Ok(Some(Token::Text(&rest[..len])));
                }
            }
        }
    }

    /// The next token other than text, skipping any text before it.
    #[inline(always)]
    pub(crate) fn next_markup(&mut self) -> Result<Option<Token<'a>>, SyntaxError> {
        loop {
            let input = self.input;
            // Most text skipped here is indentation: step over it before searching.
            while input.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
                self.pos += 1;
            }
            match input.get(self.pos) {
                None => return Ok(None),
                Some(b'<') => {}
                Some(_) => match find_byte(b'<', &input[self.pos..]) {
                    Some(len) => self.pos += len,
                    None => {
                        self.pos = input.len();
                        return Ok(None);
                    }
                },
            }
            if let Some(token) = self.markup()? {
                return Ok(Some(token));
            }
        }
    }

    /// The construct at `self.pos`, which is a `<`: a tag or CDATA section, or `None` for a
    /// comment or processing instruction, which are skipped.
    #[inline(always)]
    fn markup(&mut self) -> Result<Option<Token<'a>>, SyntaxError> {
        let start = self.pos;
        let input = self.input;
        match input.get(start + 1) {
            Some(b'/') => self.end_tag(start).map(Some),
            Some(b'?') => {
                self.skip_past(start, 2, b"?>", "unterminated processing instruction")?;
                Ok(None)
            }
            Some(b'!') => {
                let rest = &input[start..];
                if rest.starts_with(b"<!--") {
                    self.skip_past(start, 4, b"-->", "unterminated comment")?;
                    Ok(None)
                } else if rest.starts_with(b"<![CDATA[") {
                    self.skip_past(start, 9, b"]]>", "unterminated CDATA section")?;
                    Ok(Some(Token::CData(&input[start + 9..self.pos - 3])))
                } else if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<!DOCTYPE") {
                    Err(self.error("document type declarations are not allowed", start))
                } else {
                    Err(self.error("unknown markup declaration", start))
                }
            }
            _ => self.start_tag(start).map(Some),
        }
    }

    /// Moves past the first `terminator` found `skip` bytes after `start`.
    fn skip_past(
        &mut self,
        start: usize,
        skip: usize,
        terminator: &[u8],
        message: &'static str,
    ) -> Result<(), SyntaxError> {
        let from = (start + skip).min(self.input.len());
        match memmem::find(&self.input[from..], terminator) {
            Some(i) => {
                self.pos = from + i + terminator.len();
                Ok(())
            }
            None => Err(self.error(message, start)),
        }
    }

    /// The end tag at `start`, which must close the innermost open element.
    #[inline(always)]
    fn end_tag(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let input = self.input;
        let Some(open) = self.open.pop() else {
            return Err(self.error("end tag without a start tag", start));
        };
        let name_start = start + 2;
        let name_end = name_start + open.len();
        // Fast path: `</name>` exactly.
        if input.get(name_end) == Some(&b'>') && &input[name_start..name_end] == open {
            self.pos = name_end + 1;
            return Ok(Token::End(open));
        }
        let Some(len) = find_byte(b'>', &input[name_start..]) else {
            return Err(self.error("unterminated tag", start));
        };
        if input[name_start..name_start + len].trim_ascii_end() != open {
            return Err(self.error("end tag does not match its start tag", start));
        }
        self.pos = name_start + len + 1;
        Ok(Token::End(open))
    }

    /// The start or empty-element tag at `start`.
    #[inline(always)]
    fn start_tag(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let input = self.input;
        let mut i = start + 1;
        while let Some(&b) = input.get(i) {
            if b.is_ascii_whitespace() || b == b'/' || b == b'>' {
                break;
            }
            if b == b'<' {
                return Err(self.error("'<' inside a tag", start));
            }
            i += 1;
        }
        let name = &input[start + 1..i];
        if name.is_empty() || matches!(name[0], b'=' | b'"' | b'\'') {
            return Err(self.error("tag without an element name", start));
        }
        let attributes_start = i;
        // The `>` closing the tag, outside quoted attribute values (which may hold `>`).
        let mut quote = None;
        let end = loop {
            let Some(&b) = input.get(i) else {
                return Err(self.error("unterminated tag", start));
            };
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'>' => break i,
                    b'"' | b'\'' => quote = Some(b),
                    b'<' => return Err(self.error("'<' inside a tag", start)),
                    _ => {}
                },
            }
            i += 1;
        };
        self.pos = end + 1;
        let attributes = &input[attributes_start..end];
        match attributes.strip_suffix(b"/") {
            Some(attributes) => Ok(Token::Empty(Tag { name, attributes })),
            None => {
                if self.open.len() == self.max_depth {
                    return Err(self.error("elements nested deeper than the limit", start));
                }
                self.open.push(name);
                Ok(Token::Start(Tag { name, attributes }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token of `xml` in a compact notation, or the error.
    fn tokens(xml: &str) -> Result<Vec<String>, SyntaxError> {
        let mut t = Tokenizer::new(xml.as_bytes(), 8);
        let mut out = Vec::new();
        while let Some(token) = t.next_token()? {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push(match token {
                Token::Start(tag) => format!("<{}|{}>", s(tag.name), s(tag.attributes)),
                Token::Empty(tag) => format!("<{}|{}/>", s(tag.name), s(tag.attributes)),
                Token::End(name) => format!("</{}>", s(name)),
                Token::Text(text) => format!("T({})", s(text)),
                Token::CData(text) => format!("C({})", s(text)),
            });
        }
        Ok(out)
    }

    #[test]
    fn elements_text_and_attributes() {
        assert_eq!(
            tokens(r#"<?xml version="1.0"?><a:x p="1" q='>'>hi &amp; > there<b/><c /></a:x >"#)
                .unwrap(),
            [
                r#"<a:x| p="1" q='>'>"#,
                "T(hi &amp; > there)",
                "<b|/>",
                "<c| />",
                "</a:x>",
            ]
        );
    }

    #[test]
    fn comments_cdata_and_instructions_may_hold_markup() {
        assert_eq!(
            tokens("<a><!-- <b> --><![CDATA[<c>]]>x<?pi <d>?></a>").unwrap(),
            ["<a|>", "C(<c>)", "T(x)", "</a>"]
        );
    }

    #[test]
    fn malformed_documents_are_rejected() {
        for (xml, message) in [
            ("<a></b>", "end tag does not match its start tag"),
            ("</a>", "end tag without a start tag"),
            ("<a", "unterminated tag"),
            ("<a x='>", "unterminated tag"),
            ("<a <b>", "'<' inside a tag"),
            ("<>", "tag without an element name"),
            ("< a>", "tag without an element name"),
            ("<a><!-- x", "unterminated comment"),
            ("<a><![CDATA[x", "unterminated CDATA section"),
            ("<?xml", "unterminated processing instruction"),
            (
                "<!DOCTYPE a []><a/>",
                "document type declarations are not allowed",
            ),
            ("<!ENTITY x 'y'>", "unknown markup declaration"),
            (
                "<a><a><a><a><a><a><a><a><a>",
                "elements nested deeper than the limit",
            ),
        ] {
            assert_eq!(tokens(xml).unwrap_err().message, message, "{xml}");
        }
    }

    #[test]
    fn attributes_are_split_and_looked_up_by_local_name() {
        let mut t = Tokenizer::new(br#"<v xmlns:type="u" xsi:type = 'xsd:int' n="1">"#, 8);
        let Some(Token::Start(tag)) = t.next_token().unwrap() else {
            panic!("start tag expected")
        };
        assert_eq!(
            tag.attributes().collect::<Vec<_>>(),
            [
                (&b"xmlns:type"[..], &b"u"[..]),
                (b"xsi:type", b"xsd:int"),
                (b"n", b"1")
            ]
        );
        assert_eq!(tag.attribute(b"type"), Some(&b"xsd:int"[..]));
        assert_eq!(tag.attribute(b"missing"), None);
        assert_eq!((tag.prefix(), tag.local_name()), (&b""[..], &b"v"[..]));
    }
}
