//! Streaming envelope decoder on quick-xml.
//!
//! The decoder walks the tokens of a [`crate::xml::Tokenizer`] over the input slice: no DOM is
//! built and element names are matched on their local part, so any namespace prefix works
//! (`soap-env`, `soap_env`, `SOAP-ENV`, `s`, a default namespace...). It tolerates what real CPEs
//! send, in the spirit of GenieACS: child element names may be prefixed or differ in ASCII case,
//! `xsi:type` may be missing or odd, arrays need no `arrayType`, booleans may be `1`, `true` or
//! `True`, unknown child elements are skipped. Parameter names, numbers, booleans and event codes
//! are trimmed; values are kept exactly as sent.
//!
//! The CWMP version is that of the `urn:dslforum-org:cwmp-1-N` namespace the method element is in
//! (resolved through its prefix on the method, Body and Envelope elements), else of the first cwmp
//! namespace declared in the document, else 1.2.

use std::borrow::Cow;

use crate::event::EventCode;
use crate::fault::{CwmpFault, SetParameterValuesFault};
use crate::types::{
    AllQueuedTransfer, AutonomousDuOpResult, AutonomousDuStateChangeComplete,
    AutonomousTransferComplete, Body, CwmpVersion, DeviceIdStruct, Download, DuOpResult,
    DuOperation, DuStateChangeComplete, Envelope, Event, FaultStruct, FileTypeArg, Header, Inform,
    OptionInfo, ParameterAttribute, ParameterInfo, ParameterValue, QueuedTransfer,
    ScheduleDownload, SetParameterAttribute, SoapFault, TimeWindow, TransferComplete, Upload,
    XsdType,
};
use crate::xml::{SyntaxError, Tag, Token, Tokenizer};

/// `match` on an element name with byte-string arms: exact names first, then ignoring ASCII case.
macro_rules! match_name {
    ($local:expr, { $($name:literal => $arm:expr,)+ _ => $other:expr $(,)? }) => {{
        let local: &[u8] = $local;
        match local {
            $($name => $arm,)+
            _ => {
                const NAMES: &[&[u8]] = &[$($name),+];
                match case_insensitive(local, NAMES) {
                    $(Some($name) => $arm,)+
                    _ => $other,
                }
            }
        }
    }};
}

/// Loops over the child elements of `$parent`, dispatching on their names; unknown children are
/// skipped. Every arm must consume its child.
macro_rules! fields {
    ($cur:ident, $parent:expr, |$child:ident| { $($name:literal => $arm:expr,)+ }) => {
        while let Some($child) = $cur.next_child($parent)? {
            match_name!($child.local(), {
                $($name => { $arm; },)+
                _ => $cur.skip(&$child)?,
            })
        }
    };
}

/// The deepest element nesting accepted; deeper documents are rejected as malformed.
pub const MAX_DEPTH: usize = 64;

/// Why an envelope could not be decoded, with what is needed to answer with a fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Not well-formed XML, truncated, or not a SOAP envelope.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// A well-formed envelope whose body element is no CWMP method.
    #[error("unknown method {method}")]
    UnknownMethod {
        /// The element name in the body.
        method: String,
        /// `cwmp:ID` of the envelope, if it had one.
        id: Option<String>,
        /// The CWMP version of the envelope.
        version: CwmpVersion,
    },
    /// A known method with missing or invalid arguments.
    #[error("invalid arguments to {method}: {message}")]
    InvalidArguments {
        /// The method.
        method: String,
        /// What was wrong.
        message: String,
        /// `cwmp:ID` of the envelope, if it had one.
        id: Option<String>,
        /// The CWMP version of the envelope.
        version: CwmpVersion,
    },
}

impl DecodeError {
    /// The `cwmp:ID` to echo in the fault response, when the envelope got that far.
    pub fn id(&self) -> Option<&str> {
        match self {
            DecodeError::Malformed(_) => None,
            DecodeError::UnknownMethod { id, .. } | DecodeError::InvalidArguments { id, .. } => {
                id.as_deref()
            }
        }
    }

    /// The CWMP version to answer in.
    pub fn version(&self) -> CwmpVersion {
        match self {
            DecodeError::Malformed(_) => CwmpVersion::default(),
            DecodeError::UnknownMethod { version, .. }
            | DecodeError::InvalidArguments { version, .. } => *version,
        }
    }

    /// The ACS fault to answer with: 8000 for an unknown method, 8003 otherwise.
    pub fn acs_fault(&self) -> CwmpFault {
        match self {
            DecodeError::UnknownMethod { .. } => CwmpFault::new(8000),
            _ => CwmpFault::with_text(8003, self.to_string()),
        }
    }
}

impl From<XmlError> for DecodeError {
    fn from(e: XmlError) -> DecodeError {
        DecodeError::Malformed(e.0)
    }
}

/// Decodes one SOAP envelope.
///
/// Fails with [`DecodeError::Malformed`] on anything that is not a well-formed SOAP envelope with
/// a non-empty Body (including nesting deeper than [`MAX_DEPTH`]), with
/// [`DecodeError::UnknownMethod`] when the body element is no CWMP method, and with
/// [`DecodeError::InvalidArguments`] when a numeric or boolean argument holds garbage.
pub fn decode(xml: &[u8]) -> Result<Envelope, DecodeError> {
    let mut cur = Cursor::new(skip_bom_and_space(xml));
    let root = cur.root()?;
    if !names_match(root.local(), b"Envelope") {
        return Err(DecodeError::Malformed(format!(
            "root element is {}, not a SOAP Envelope",
            lossy(root.local())
        )));
    }
    cur.ns.scan(&root, true);
    let mut method: Option<Method> = None;
    while let Some(child) = cur.next_child(&root)? {
        match_name!(child.local(), {
            b"Header" => {
                cur.ns.scan(&child, false);
                header(&mut cur, &child)?;
            },
            b"Body" => {
                if method.is_none() {
                    cur.ns.scan(&child, true);
                    method = Some(body(&mut cur, &child)?);
                } else {
                    cur.skip(&child)?;
                }
            },
            _ => cur.skip(&child)?,
        })
    }
    let method = method.ok_or_else(|| DecodeError::Malformed("no SOAP Body".into()))?;
    let version = method.version.or(cur.ns.first).unwrap_or_default();
    match (method.body, cur.invalid) {
        (None, _) => Err(DecodeError::UnknownMethod {
            method: method.name,
            id: cur.header.id,
            version,
        }),
        (Some(_), Some(message)) => Err(DecodeError::InvalidArguments {
            method: method.name,
            message,
            id: cur.header.id,
            version,
        }),
        (Some(body), None) => Ok(Envelope {
            version,
            header: cur.header,
            body,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Cursor over the tokens
// ---------------------------------------------------------------------------------------------

/// Not well-formed XML, or no SOAP envelope: becomes [`DecodeError::Malformed`].
struct XmlError(String);

impl XmlError {
    #[cold]
    fn truncated() -> XmlError {
        XmlError("unexpected end of document".into())
    }

    #[cold]
    fn syntax(e: SyntaxError) -> XmlError {
        XmlError(e.to_string())
    }
}

type Res<T> = Result<T, XmlError>;

/// A start tag (`<a>`) or an empty element (`<a/>`) just read.
struct El<'a> {
    tag: Tag<'a>,
    empty: bool,
}

impl<'a> El<'a> {
    /// The element name without prefix.
    fn local(&self) -> &'a [u8] {
        self.tag.local_name()
    }

    /// The namespace prefix of the element name, empty when it has none.
    fn prefix(&self) -> &'a [u8] {
        self.tag.prefix()
    }

    /// The item count of a `soap-enc:arrayType="type[n]"` attribute, capped: only a capacity hint,
    /// since CPEs get it wrong.
    fn array_size_hint(&self) -> usize {
        const MAX_HINT: usize = 256;
        let Some(value) = self.tag.attribute(b"arrayType") else {
            return 0;
        };
        let (Some(open), Some(close)) = (
            value.iter().rposition(|&b| b == b'['),
            value.iter().rposition(|&b| b == b']'),
        ) else {
            return 0;
        };
        std::str::from_utf8(value.get(open + 1..close).unwrap_or_default())
            .ok()
            .and_then(|n| n.trim().parse::<usize>().ok())
            .map_or(0, |n| n.min(MAX_HINT))
    }
}

/// The cwmp namespaces declared in the document, to find the envelope's CWMP version.
#[derive(Default)]
struct Namespaces {
    /// cwmp namespaces bound on the Envelope, Body and method elements, outermost first.
    chain: Vec<(Vec<u8>, CwmpVersion)>,
    /// The first cwmp namespace declared on any element looked at.
    first: Option<CwmpVersion>,
}

impl Namespaces {
    /// Records the cwmp namespace declarations of an element; `on_chain` for the ancestors of the
    /// method element, whose declarations are in scope for its prefix.
    fn scan(&mut self, el: &El, on_chain: bool) {
        for (name, value) in el.tag.attributes() {
            let prefix: &[u8] = match name.strip_prefix(b"xmlns") {
                Some([]) => &[],
                Some([b':', prefix @ ..]) => prefix,
                _ => continue,
            };
            let Some(version) = std::str::from_utf8(value)
                .ok()
                .and_then(CwmpVersion::from_namespace)
            else {
                continue;
            };
            self.first.get_or_insert(version);
            if on_chain {
                self.chain.push((prefix.to_vec(), version));
            }
        }
    }

    /// The cwmp version bound to `prefix` (empty for the default namespace), innermost first.
    fn resolve(&self, prefix: &[u8]) -> Option<CwmpVersion> {
        self.chain
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, v)| *v)
    }
}

/// Pull cursor over the XML tokens of one envelope, with what was read along the way.
struct Cursor<'a> {
    tokens: Tokenizer<'a>,
    /// The input, and the same as text when it is valid UTF-8.
    input: &'a [u8],
    input_text: Option<&'a str>,
    /// Whether the input has any `&`, so that text can skip looking for references.
    input_has_refs: bool,
    /// Reused buffer for numbers and booleans.
    scratch: String,
    /// The first invalid argument met, reported once the document is known to be well-formed.
    invalid: Option<String>,
    header: Header,
    ns: Namespaces,
}

impl<'a> Cursor<'a> {
    fn new(xml: &'a [u8]) -> Cursor<'a> {
        Cursor {
            tokens: Tokenizer::new(xml, MAX_DEPTH),
            input: xml,
            input_text: std::str::from_utf8(xml).ok(),
            input_has_refs: memchr::memchr(b'&', xml).is_some(),
            scratch: String::new(),
            invalid: None,
            header: Header::default(),
            ns: Namespaces::default(),
        }
    }

    /// Text of the document (a slice of the input, or of anything else) as UTF-8, invalid
    /// sequences replaced, entity and character references resolved; text with an unknown or
    /// broken reference is kept as it is.
    #[inline]
    fn decode_text<'b>(&self, raw: &'b [u8]) -> Cow<'b, str>
    where
        'a: 'b,
    {
        let text = match self.input_slice(raw) {
            Some(text) => Cow::Borrowed(text),
            None => match std::str::from_utf8(raw) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(raw),
            },
        };
        if !self.input_has_refs || crate::xml::find_byte(b'&', raw).is_none() {
            return text;
        }
        match text {
            Cow::Borrowed(text) => quick_xml::escape::unescape(text).unwrap_or(Cow::Borrowed(text)),
            Cow::Owned(text) => match quick_xml::escape::unescape(&text) {
                Ok(Cow::Owned(unescaped)) => Cow::Owned(unescaped),
                _ => Cow::Owned(text),
            },
        }
    }

    /// `raw` as text when it lies within the input and the input is valid UTF-8, without
    /// validating it again.
    #[inline]
    fn input_slice(&self, raw: &[u8]) -> Option<&'a str> {
        let text = self.input_text?;
        let start = (raw.as_ptr() as usize).checked_sub(self.input.as_ptr() as usize)?;
        text.get(start..start.checked_add(raw.len())?)
    }

    /// The `xsi:type` attribute (any prefix) of an element, if present.
    fn xsi_type(&self, el: &El) -> Option<XsdType> {
        let value = el.tag.attribute(b"type")?;
        let local = match value.iter().rposition(|&b| b == b':') {
            Some(i) => &value[i + 1..],
            None => value,
        };
        Some(
            XsdType::from_exact_local_name(local)
                .unwrap_or_else(|| XsdType::from_name(&self.decode_text(value))),
        )
    }

    #[inline(always)]
    fn event(&mut self) -> Res<Token<'a>> {
        match self.tokens.next_token() {
            Ok(Some(token)) => Ok(token),
            Ok(None) => Err(XmlError::truncated()),
            Err(e) => Err(XmlError::syntax(e)),
        }
    }

    /// The root element, after the XML declaration, comments and white space.
    fn root(&mut self) -> Res<El<'a>> {
        loop {
            match self.tokens.next_token() {
                Ok(Some(Token::Start(tag))) => {
                    return Ok(El { tag, empty: false });
                }
                Ok(Some(Token::Empty(tag))) => return Ok(El { tag, empty: true }),
                Ok(Some(Token::Text(text))) if !text.iter().all(u8::is_ascii_whitespace) => {
                    return Err(XmlError("text before the root element".into()));
                }
                Ok(Some(Token::End(_) | Token::CData(_))) => {
                    return Err(XmlError("content before the root element".into()));
                }
                Ok(Some(Token::Text(_))) => {}
                Ok(None) => return Err(XmlError("no SOAP Envelope".into())),
                Err(e) => return Err(XmlError::syntax(e)),
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent` is closed.
    ///
    /// Text, comments and processing instructions between children are ignored. A returned child
    /// must be consumed entirely (`skip`, `text`, or its own `next_child` loop) before the next
    /// call.
    #[inline]
    fn next_child(&mut self, parent: &El<'a>) -> Res<Option<El<'a>>> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            let token = match self.tokens.next_markup() {
                Ok(Some(token)) => token,
                Ok(None) => return Err(XmlError::truncated()),
                Err(e) => return Err(XmlError::syntax(e)),
            };
            match token {
                Token::Start(tag) => {
                    return Ok(Some(El { tag, empty: false }));
                }
                Token::Empty(tag) => return Ok(Some(El { tag, empty: true })),
                Token::End(_) => {
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    /// Consumes an element and everything in it.
    fn skip(&mut self, el: &El<'a>) -> Res<()> {
        self.content(el, None)
    }

    /// Consumes an element, appending its text (entities resolved, CDATA verbatim) to `out`.
    /// Text inside nested elements is ignored.
    fn content(&mut self, el: &El<'a>, out: Option<&mut String>) -> Res<()> {
        if el.empty {
            return Ok(());
        }
        let first = self.event()?;
        self.rest_of_content(first, out)
    }

    /// [`Cursor::content`] from its first event on.
    fn rest_of_content(&mut self, mut event: Token<'a>, mut out: Option<&mut String>) -> Res<()> {
        let mut nested = 0usize;
        loop {
            match event {
                Token::Text(text) if nested == 0 => {
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(&self.decode_text(text));
                    }
                }
                Token::CData(data) if nested == 0 => {
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(&String::from_utf8_lossy(data));
                    }
                }
                Token::Start(_) => {
                    nested += 1;
                }
                Token::End(_) => {
                    if nested == 0 {
                        return Ok(());
                    }
                    nested -= 1;
                }
                _ => {}
            }
            event = self.event()?;
        }
    }

    /// The text of an element, exactly as sent.
    fn text(&mut self, el: &El<'a>) -> Res<String> {
        if el.empty {
            return Ok(String::new());
        }
        // Fast path for the usual `<a>text</a>` and `<a></a>`.
        let mut out = match self.event()? {
            Token::End(_) => {
                return Ok(String::new());
            }
            Token::Text(text) => self.decode_text(text).into_owned(),
            other => {
                let mut out = String::new();
                self.rest_of_content(other, Some(&mut out))?;
                return Ok(out);
            }
        };
        match self.event()? {
            Token::End(_) => {}
            other => self.rest_of_content(other, Some(&mut out))?,
        }
        Ok(out)
    }

    /// The text of an element with surrounding white space removed (names, codes).
    fn name(&mut self, el: &El<'a>) -> Res<String> {
        let text = self.text(el)?;
        let trimmed = text.trim();
        Ok(if trimmed.len() == text.len() {
            text
        } else {
            trimmed.to_string()
        })
    }

    /// Parses the trimmed text of an element; empty text gives the default. `None` when `parse`
    /// rejects the text, which is left in `self.scratch`.
    fn scalar<T: Default>(
        &mut self,
        el: &El<'a>,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Res<Option<T>> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let read = self.content(el, Some(&mut buf));
        self.scratch = buf;
        read?;
        let text = self.scratch.trim();
        Ok(if text.is_empty() {
            Some(T::default())
        } else {
            parse(text)
        })
    }

    /// Like [`Cursor::scalar`], recording garbage as an invalid argument (and giving the default).
    fn required<T: Default>(
        &mut self,
        el: &El<'a>,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Res<T> {
        match self.scalar(el, parse)? {
            Some(value) => Ok(value),
            None => {
                if self.invalid.is_none() {
                    let text: String = self.scratch.trim().chars().take(64).collect();
                    self.invalid = Some(format!("{}: invalid value {text:?}", lossy(el.local())));
                }
                Ok(T::default())
            }
        }
    }

    /// A decimal number.
    fn num<T: std::str::FromStr + Default>(&mut self, el: &El<'a>) -> Res<T> {
        self.required(el, |t| t.parse().ok())
    }

    /// A CWMP boolean: `1`, `0`, `true`, `false` in any case.
    fn boolean(&mut self, el: &El<'a>) -> Res<bool> {
        self.required(el, parse_bool)
    }

    /// Every child element of `el` as one array item, whatever its name.
    fn array<T>(
        &mut self,
        el: &El<'a>,
        mut item: impl FnMut(&mut Cursor<'a>, &El<'a>) -> Res<T>,
    ) -> Res<Vec<T>> {
        let mut items = Vec::with_capacity(el.array_size_hint());
        while let Some(child) = self.next_child(el)? {
            items.push(item(self, &child)?);
        }
        Ok(items)
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text == "1" || text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text == "0" || text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn lossy(name: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(name)
}

fn skip_bom_and_space(xml: &[u8]) -> &[u8] {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let start = xml
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(xml.len());
    &xml[start..]
}

/// Whether an element name is `expected`, exactly or ignoring ASCII case.
fn names_match(local: &[u8], expected: &[u8]) -> bool {
    local == expected || local.eq_ignore_ascii_case(expected)
}

/// The entry of `names` equal to an element name when ASCII case is ignored.
#[cold]
fn case_insensitive(local: &[u8], names: &[&'static [u8]]) -> Option<&'static [u8]> {
    names
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(local))
}

// ---------------------------------------------------------------------------------------------
// SOAP structure
// ---------------------------------------------------------------------------------------------

/// What the Body held.
struct Method {
    /// The body element's local name.
    name: String,
    /// `None` for an unknown method.
    body: Option<Body>,
    /// The version bound to the method element's prefix.
    version: Option<CwmpVersion>,
}

fn header<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<()> {
    fields!(cur, el, |c| {
        b"ID" => {
            cur.ns.scan(&c, false);
            cur.header.id = Some(cur.text(&c)?);
        },
        b"HoldRequests" => cur.header.hold_requests = cur.scalar(&c, parse_bool)?,
        b"NoMoreRequests" => cur.header.no_more_requests = cur.scalar(&c, parse_bool)?,
        b"SessionTimeout" => cur.header.session_timeout = cur.scalar(&c, |t| t.parse().ok())?,
        b"SupportedCWMPVersions" => cur.header.supported_cwmp_versions = Some(cur.name(&c)?),
        b"UseCWMPVersion" => cur.header.use_cwmp_version = Some(cur.name(&c)?),
    });
    Ok(())
}

fn body<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Method> {
    let mut found: Option<Method> = None;
    while let Some(child) = cur.next_child(el)? {
        if found.is_some() {
            cur.skip(&child)?;
            continue;
        }
        cur.ns.scan(&child, true);
        let version = cur.ns.resolve(child.prefix());
        let name = lossy(child.local()).into_owned();
        let body = method(cur, &child)?;
        if body.is_none() {
            cur.skip(&child)?;
        }
        found = Some(Method {
            name,
            body,
            version,
        });
    }
    found.ok_or_else(|| XmlError("empty SOAP Body".into()))
}

fn soap_fault<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<SoapFault> {
    let mut fault = SoapFault {
        faultcode: String::new(),
        faultstring: String::new(),
        detail: CwmpFault::with_text(0, ""),
    };
    fields!(cur, el, |c| {
        b"faultcode" => fault.faultcode = unprefixed(cur.name(&c)?),
        b"faultstring" => fault.faultstring = cur.text(&c)?,
        b"detail" => fields!(cur, &c, |d| {
            b"Fault" => {
                cur.ns.scan(&d, false);
                fault.detail = cwmp_fault(cur, &d)?;
            },
        }),
    });
    Ok(fault)
}

/// `soap:Client` → `Client`.
fn unprefixed(code: String) -> String {
    match code.rfind(':') {
        Some(i) => code[i + 1..].trim().to_string(),
        None => code,
    }
}

fn cwmp_fault<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<CwmpFault> {
    let mut fault = CwmpFault::with_text(0, "");
    fields!(cur, el, |c| {
        b"FaultCode" => fault.code = cur.num(&c)?,
        b"FaultString" => fault.string = cur.text(&c)?,
        b"SetParameterValuesFault" => {
            let item = spv_fault(cur, &c)?;
            fault.set_parameter_values_faults.push(item);
        },
    });
    Ok(fault)
}

fn spv_fault<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<SetParameterValuesFault> {
    let mut fault = SetParameterValuesFault {
        parameter_name: String::new(),
        code: 0,
        string: String::new(),
    };
    fields!(cur, el, |c| {
        b"ParameterName" => fault.parameter_name = cur.name(&c)?,
        b"FaultCode" => fault.code = cur.num(&c)?,
        b"FaultString" => fault.string = cur.text(&c)?,
    });
    Ok(fault)
}

// ---------------------------------------------------------------------------------------------
// RPCs
// ---------------------------------------------------------------------------------------------

/// Decodes the method element; `Ok(None)` (nothing consumed) for an unknown method.
fn method<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Option<Body>> {
    let body = match_name!(el.local(), {
        b"Fault" => Body::Fault(soap_fault(cur, el)?),
        b"GetRPCMethods" => no_args(cur, el, Body::GetRPCMethods)?,
        b"GetRPCMethodsResponse" => {
            Body::GetRPCMethodsResponse(array_arg(cur, el, b"MethodList", name_item)?)
        },
        b"SetParameterValues" => {
            let mut parameters = Vec::new();
            let mut parameter_key = String::new();
            fields!(cur, el, |c| {
                b"ParameterList" => parameters = cur.array(&c, parameter_value)?,
                b"ParameterKey" => parameter_key = cur.text(&c)?,
            });
            Body::SetParameterValues { parameters, parameter_key }
        },
        b"SetParameterValuesResponse" => Body::SetParameterValuesResponse {
            status: status(cur, el)?,
        },
        b"GetParameterValues" => Body::GetParameterValues {
            names: array_arg(cur, el, b"ParameterNames", name_item)?,
        },
        b"GetParameterValuesResponse" => {
            Body::GetParameterValuesResponse(array_arg(cur, el, b"ParameterList", parameter_value)?)
        },
        b"GetParameterNames" => {
            let mut path = String::new();
            let mut next_level = false;
            fields!(cur, el, |c| {
                b"ParameterPath" => path = cur.name(&c)?,
                b"NextLevel" => next_level = cur.boolean(&c)?,
            });
            Body::GetParameterNames { path, next_level }
        },
        b"GetParameterNamesResponse" => {
            Body::GetParameterNamesResponse(array_arg(cur, el, b"ParameterList", parameter_info)?)
        },
        b"SetParameterAttributes" => Body::SetParameterAttributes(array_arg(
            cur,
            el,
            b"ParameterList",
            set_parameter_attribute,
        )?),
        b"SetParameterAttributesResponse" => {
            no_args(cur, el, Body::SetParameterAttributesResponse)?
        },
        b"GetParameterAttributes" => Body::GetParameterAttributes {
            names: array_arg(cur, el, b"ParameterNames", name_item)?,
        },
        b"GetParameterAttributesResponse" => Body::GetParameterAttributesResponse(array_arg(
            cur,
            el,
            b"ParameterList",
            parameter_attribute,
        )?),
        b"AddObject" => {
            let (object_name, parameter_key) = object_args(cur, el)?;
            Body::AddObject { object_name, parameter_key }
        },
        b"AddObjectResponse" => {
            let mut instance_number = 0;
            let mut status = 0;
            fields!(cur, el, |c| {
                b"InstanceNumber" => instance_number = cur.num(&c)?,
                b"Status" => status = cur.num(&c)?,
            });
            Body::AddObjectResponse { instance_number, status }
        },
        b"DeleteObject" => {
            let (object_name, parameter_key) = object_args(cur, el)?;
            Body::DeleteObject { object_name, parameter_key }
        },
        b"DeleteObjectResponse" => Body::DeleteObjectResponse {
            status: status(cur, el)?,
        },
        b"Reboot" => Body::Reboot {
            command_key: command_key(cur, el)?,
        },
        b"RebootResponse" => no_args(cur, el, Body::RebootResponse)?,
        b"Download" => Body::Download(download(cur, el)?),
        b"DownloadResponse" => {
            let (status, start_time, complete_time) = transfer_response(cur, el)?;
            Body::DownloadResponse { status, start_time, complete_time }
        },
        b"Upload" => Body::Upload(upload(cur, el)?),
        b"UploadResponse" => {
            let (status, start_time, complete_time) = transfer_response(cur, el)?;
            Body::UploadResponse { status, start_time, complete_time }
        },
        b"FactoryReset" => no_args(cur, el, Body::FactoryReset)?,
        b"FactoryResetResponse" => no_args(cur, el, Body::FactoryResetResponse)?,
        b"GetQueuedTransfers" => no_args(cur, el, Body::GetQueuedTransfers)?,
        b"GetQueuedTransfersResponse" => Body::GetQueuedTransfersResponse(array_arg(
            cur,
            el,
            b"TransferList",
            queued_transfer,
        )?),
        b"GetAllQueuedTransfers" => no_args(cur, el, Body::GetAllQueuedTransfers)?,
        b"GetAllQueuedTransfersResponse" => Body::GetAllQueuedTransfersResponse(array_arg(
            cur,
            el,
            b"TransferList",
            all_queued_transfer,
        )?),
        b"ScheduleInform" => {
            let mut delay_seconds = 0;
            let mut command_key = String::new();
            fields!(cur, el, |c| {
                b"DelaySeconds" => delay_seconds = cur.num(&c)?,
                b"CommandKey" => command_key = cur.text(&c)?,
            });
            Body::ScheduleInform { delay_seconds, command_key }
        },
        b"ScheduleInformResponse" => no_args(cur, el, Body::ScheduleInformResponse)?,
        b"SetVouchers" => Body::SetVouchers {
            vouchers: array_arg(cur, el, b"VoucherList", text_item)?,
        },
        b"SetVouchersResponse" => no_args(cur, el, Body::SetVouchersResponse)?,
        b"GetOptions" => {
            let mut option_name = String::new();
            fields!(cur, el, |c| {
                b"OptionName" => option_name = cur.name(&c)?,
            });
            Body::GetOptions { option_name }
        },
        b"GetOptionsResponse" => {
            Body::GetOptionsResponse(array_arg(cur, el, b"OptionList", option_info)?)
        },
        b"ScheduleDownload" => Body::ScheduleDownload(schedule_download(cur, el)?),
        b"ScheduleDownloadResponse" => no_args(cur, el, Body::ScheduleDownloadResponse)?,
        b"CancelTransfer" => Body::CancelTransfer {
            command_key: command_key(cur, el)?,
        },
        b"CancelTransferResponse" => no_args(cur, el, Body::CancelTransferResponse)?,
        b"ChangeDUState" => {
            let mut operations = Vec::new();
            let mut command_key = String::new();
            fields!(cur, el, |c| {
                b"Operations" => {
                    while let Some(op) = cur.next_child(&c)? {
                        if let Some(op) = du_operation(cur, &op)? {
                            operations.push(op);
                        }
                    }
                },
                b"CommandKey" => command_key = cur.text(&c)?,
            });
            Body::ChangeDUState { operations, command_key }
        },
        b"ChangeDUStateResponse" => no_args(cur, el, Body::ChangeDUStateResponse)?,
        b"Inform" => Body::Inform(inform(cur, el)?),
        b"InformResponse" => {
            let mut max_envelopes = 0;
            fields!(cur, el, |c| {
                b"MaxEnvelopes" => max_envelopes = cur.num(&c)?,
            });
            Body::InformResponse { max_envelopes }
        },
        b"TransferComplete" => Body::TransferComplete(transfer_complete(cur, el)?),
        b"TransferCompleteResponse" => no_args(cur, el, Body::TransferCompleteResponse)?,
        b"AutonomousTransferComplete" => {
            Body::AutonomousTransferComplete(autonomous_transfer_complete(cur, el)?)
        },
        b"AutonomousTransferCompleteResponse" => {
            no_args(cur, el, Body::AutonomousTransferCompleteResponse)?
        },
        b"DUStateChangeComplete" => {
            let mut results = Vec::new();
            let mut command_key = String::new();
            fields!(cur, el, |c| {
                b"Results" => results = cur.array(&c, |cur, r| du_op_result(cur, r, None))?,
                b"CommandKey" => command_key = cur.text(&c)?,
            });
            Body::DUStateChangeComplete(DuStateChangeComplete { results, command_key })
        },
        b"DUStateChangeCompleteResponse" => {
            no_args(cur, el, Body::DUStateChangeCompleteResponse)?
        },
        b"AutonomousDUStateChangeComplete" => {
            let results = array_arg(cur, el, b"Results", |cur, r| {
                let mut operation_performed = String::new();
                let result = du_op_result(cur, r, Some(&mut operation_performed))?;
                Ok(AutonomousDuOpResult { result, operation_performed })
            })?;
            Body::AutonomousDUStateChangeComplete(AutonomousDuStateChangeComplete { results })
        },
        b"AutonomousDUStateChangeCompleteResponse" => {
            no_args(cur, el, Body::AutonomousDUStateChangeCompleteResponse)?
        },
        b"RequestDownload" => {
            let mut file_type = String::new();
            let mut file_type_args = Vec::new();
            fields!(cur, el, |c| {
                b"FileType" => file_type = cur.text(&c)?,
                b"FileTypeArg" => file_type_args = cur.array(&c, file_type_arg)?,
            });
            Body::RequestDownload { file_type, file_type_args }
        },
        b"RequestDownloadResponse" => no_args(cur, el, Body::RequestDownloadResponse)?,
        b"Kicked" => {
            let (mut command, mut referer, mut arg, mut next) = Default::default();
            fields!(cur, el, |c| {
                b"Command" => command = cur.text(&c)?,
                b"Referer" => referer = cur.text(&c)?,
                b"Arg" => arg = cur.text(&c)?,
                b"Next" => next = cur.text(&c)?,
            });
            Body::Kicked { command, referer, arg, next }
        },
        b"KickedResponse" => {
            let mut next_url = String::new();
            fields!(cur, el, |c| {
                b"NextURL" => next_url = cur.text(&c)?,
            });
            Body::KickedResponse { next_url }
        },
        _ => return Ok(None),
    });
    Ok(Some(body))
}

/// A method without arguments (anything inside is skipped).
fn no_args<'a>(cur: &mut Cursor<'a>, el: &El<'a>, body: Body) -> Res<Body> {
    cur.skip(el)?;
    Ok(body)
}

/// A method whose one argument is the array `field`.
fn array_arg<'a, T>(
    cur: &mut Cursor<'a>,
    el: &El<'a>,
    field: &[u8],
    mut item: impl FnMut(&mut Cursor<'a>, &El<'a>) -> Res<T>,
) -> Res<Vec<T>> {
    let mut items = Vec::new();
    while let Some(child) = cur.next_child(el)? {
        if names_match(child.local(), field) {
            items = cur.array(&child, &mut item)?;
        } else {
            cur.skip(&child)?;
        }
    }
    Ok(items)
}

/// A response whose one argument is `Status`.
fn status<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<u8> {
    let mut status = 0;
    fields!(cur, el, |c| {
        b"Status" => status = cur.num(&c)?,
    });
    Ok(status)
}

/// A request whose one argument is `CommandKey`.
fn command_key<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<String> {
    let mut command_key = String::new();
    fields!(cur, el, |c| {
        b"CommandKey" => command_key = cur.text(&c)?,
    });
    Ok(command_key)
}

/// `ObjectName` and `ParameterKey` of AddObject and DeleteObject.
fn object_args<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<(String, String)> {
    let (mut object_name, mut parameter_key) = (String::new(), String::new());
    fields!(cur, el, |c| {
        b"ObjectName" => object_name = cur.name(&c)?,
        b"ParameterKey" => parameter_key = cur.text(&c)?,
    });
    Ok((object_name, parameter_key))
}

/// `Status`, `StartTime` and `CompleteTime` of DownloadResponse and UploadResponse.
fn transfer_response<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<(u8, String, String)> {
    let (mut status, mut start_time, mut complete_time) = (0, String::new(), String::new());
    fields!(cur, el, |c| {
        b"Status" => status = cur.num(&c)?,
        b"StartTime" => start_time = cur.text(&c)?,
        b"CompleteTime" => complete_time = cur.text(&c)?,
    });
    Ok((status, start_time, complete_time))
}

fn name_item<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<String> {
    cur.name(el)
}

fn text_item<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<String> {
    cur.text(el)
}

fn parameter_value<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<ParameterValue> {
    let mut parameter = ParameterValue {
        name: String::new(),
        value: String::new(),
        xsd_type: XsdType::String,
    };
    fields!(cur, el, |c| {
        b"Name" => parameter.name = cur.name(&c)?,
        b"Value" => {
            parameter.xsd_type = cur.xsi_type(&c).unwrap_or_default();
            parameter.value = cur.text(&c)?;
        },
    });
    Ok(parameter)
}

fn parameter_info<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<ParameterInfo> {
    let mut info = ParameterInfo {
        name: String::new(),
        writable: false,
    };
    fields!(cur, el, |c| {
        b"Name" => info.name = cur.name(&c)?,
        b"Writable" => info.writable = cur.boolean(&c)?,
    });
    Ok(info)
}

fn parameter_attribute<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<ParameterAttribute> {
    let mut attribute = ParameterAttribute {
        name: String::new(),
        notification: 0,
        access_list: Vec::new(),
    };
    fields!(cur, el, |c| {
        b"Name" => attribute.name = cur.name(&c)?,
        b"Notification" => attribute.notification = cur.num(&c)?,
        b"AccessList" => attribute.access_list = cur.array(&c, name_item)?,
    });
    Ok(attribute)
}

fn set_parameter_attribute<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<SetParameterAttribute> {
    let mut attribute = SetParameterAttribute {
        name: String::new(),
        notification_change: false,
        notification: 0,
        access_list_change: false,
        access_list: Vec::new(),
    };
    fields!(cur, el, |c| {
        b"Name" => attribute.name = cur.name(&c)?,
        b"NotificationChange" => attribute.notification_change = cur.boolean(&c)?,
        b"Notification" => attribute.notification = cur.num(&c)?,
        b"AccessListChange" => attribute.access_list_change = cur.boolean(&c)?,
        b"AccessList" => attribute.access_list = cur.array(&c, name_item)?,
    });
    Ok(attribute)
}

fn queued_transfer<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<QueuedTransfer> {
    let mut transfer = QueuedTransfer::default();
    fields!(cur, el, |c| {
        b"CommandKey" => transfer.command_key = cur.text(&c)?,
        b"State" => transfer.state = cur.num(&c)?,
    });
    Ok(transfer)
}

fn all_queued_transfer<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<AllQueuedTransfer> {
    let mut transfer = AllQueuedTransfer::default();
    fields!(cur, el, |c| {
        b"CommandKey" => transfer.command_key = cur.text(&c)?,
        b"State" => transfer.state = cur.num(&c)?,
        b"IsDownload" => transfer.is_download = cur.boolean(&c)?,
        b"FileType" => transfer.file_type = cur.text(&c)?,
        b"FileSize" => transfer.file_size = cur.num(&c)?,
        b"TargetFileName" => transfer.target_file_name = cur.text(&c)?,
    });
    Ok(transfer)
}

fn option_info<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<OptionInfo> {
    let mut option = OptionInfo::default();
    fields!(cur, el, |c| {
        b"OptionName" => option.option_name = cur.name(&c)?,
        b"VoucherSN" => option.voucher_sn = cur.num(&c)?,
        b"State" => option.state = cur.num(&c)?,
        b"Mode" => option.mode = cur.num(&c)?,
        b"StartDate" => option.start_date = cur.text(&c)?,
        b"ExpirationDate" => option.expiration_date = cur.text(&c)?,
        b"IsTransferable" => option.is_transferable = cur.boolean(&c)?,
    });
    Ok(option)
}

fn download<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Download> {
    let mut d = Download::default();
    fields!(cur, el, |c| {
        b"CommandKey" => d.command_key = cur.text(&c)?,
        b"FileType" => d.file_type = cur.text(&c)?,
        b"URL" => d.url = cur.text(&c)?,
        b"Username" => d.username = cur.text(&c)?,
        b"Password" => d.password = cur.text(&c)?,
        b"FileSize" => d.file_size = cur.num(&c)?,
        b"TargetFileName" => d.target_file_name = cur.text(&c)?,
        b"DelaySeconds" => d.delay_seconds = cur.num(&c)?,
        b"SuccessURL" => d.success_url = cur.text(&c)?,
        b"FailureURL" => d.failure_url = cur.text(&c)?,
    });
    Ok(d)
}

fn upload<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Upload> {
    let mut u = Upload::default();
    fields!(cur, el, |c| {
        b"CommandKey" => u.command_key = cur.text(&c)?,
        b"FileType" => u.file_type = cur.text(&c)?,
        b"URL" => u.url = cur.text(&c)?,
        b"Username" => u.username = cur.text(&c)?,
        b"Password" => u.password = cur.text(&c)?,
        b"DelaySeconds" => u.delay_seconds = cur.num(&c)?,
    });
    Ok(u)
}

fn schedule_download<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<ScheduleDownload> {
    let mut d = ScheduleDownload::default();
    fields!(cur, el, |c| {
        b"CommandKey" => d.command_key = cur.text(&c)?,
        b"FileType" => d.file_type = cur.text(&c)?,
        b"URL" => d.url = cur.text(&c)?,
        b"Username" => d.username = cur.text(&c)?,
        b"Password" => d.password = cur.text(&c)?,
        b"FileSize" => d.file_size = cur.num(&c)?,
        b"TargetFileName" => d.target_file_name = cur.text(&c)?,
        b"TimeWindowList" => d.time_windows = cur.array(&c, time_window)?,
    });
    Ok(d)
}

fn time_window<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<TimeWindow> {
    let mut w = TimeWindow::default();
    fields!(cur, el, |c| {
        b"WindowStart" => w.window_start = cur.num(&c)?,
        b"WindowEnd" => w.window_end = cur.num(&c)?,
        b"WindowMode" => w.window_mode = cur.text(&c)?,
        b"UserMessage" => w.user_message = cur.text(&c)?,
        b"MaxRetries" => w.max_retries = cur.num(&c)?,
    });
    Ok(w)
}

/// The kinds of ChangeDUState operation.
enum OpKind {
    Install,
    Update,
    Uninstall,
}

fn op_kind(name: &[u8]) -> Option<OpKind> {
    match_name!(name, {
        b"InstallOpStruct" => Some(OpKind::Install),
        b"UpdateOpStruct" => Some(OpKind::Update),
        b"UninstallOpStruct" => Some(OpKind::Uninstall),
        _ => None,
    })
}

/// One ChangeDUState operation, known by its element name or else its `xsi:type`; `None` (the
/// element skipped) for an unknown kind.
fn du_operation<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Option<DuOperation>> {
    let kind = op_kind(el.local()).or_else(|| {
        cur.xsi_type(el)
            .and_then(|t| op_kind(t.local_name().as_bytes()))
    });
    let Some(kind) = kind else {
        cur.skip(el)?;
        return Ok(None);
    };
    let (mut url, mut uuid, mut username, mut password, mut execution_env_ref, mut version) =
        Default::default();
    fields!(cur, el, |c| {
        b"URL" => url = cur.text(&c)?,
        b"UUID" => uuid = cur.text(&c)?,
        b"Username" => username = cur.text(&c)?,
        b"Password" => password = cur.text(&c)?,
        b"ExecutionEnvRef" => execution_env_ref = cur.text(&c)?,
        b"Version" => version = cur.text(&c)?,
    });
    Ok(Some(match kind {
        OpKind::Install => DuOperation::Install {
            url,
            uuid,
            username,
            password,
            execution_env_ref,
        },
        OpKind::Update => DuOperation::Update {
            uuid,
            version,
            url,
            username,
            password,
        },
        OpKind::Uninstall => DuOperation::Uninstall {
            uuid,
            version,
            execution_env_ref,
        },
    }))
}

/// An `OpResultStruct`; with `operation_performed`, an `AutonOpResultStruct`.
fn du_op_result<'a>(
    cur: &mut Cursor<'a>,
    el: &El<'a>,
    mut operation_performed: Option<&mut String>,
) -> Res<DuOpResult> {
    let mut r = DuOpResult::default();
    fields!(cur, el, |c| {
        b"UUID" => r.uuid = cur.text(&c)?,
        b"DeploymentUnitRef" => r.deployment_unit_ref = cur.text(&c)?,
        b"Version" => r.version = cur.text(&c)?,
        b"CurrentState" => r.current_state = cur.text(&c)?,
        b"Resolved" => r.resolved = cur.boolean(&c)?,
        b"ExecutionUnitRefList" => r.execution_unit_ref_list = cur.text(&c)?,
        b"StartTime" => r.start_time = cur.text(&c)?,
        b"CompleteTime" => r.complete_time = cur.text(&c)?,
        b"Fault" => r.fault = fault_struct(cur, &c)?,
        b"OperationPerformed" => match operation_performed.as_deref_mut() {
            Some(op) => *op = cur.text(&c)?,
            None => cur.skip(&c)?,
        },
    });
    Ok(r)
}

fn fault_struct<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<FaultStruct> {
    let mut fault = FaultStruct::default();
    fields!(cur, el, |c| {
        b"FaultCode" => fault.code = cur.num(&c)?,
        b"FaultString" => fault.string = cur.text(&c)?,
    });
    Ok(fault)
}

fn inform<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Inform> {
    let mut inform = Inform {
        device_id: DeviceIdStruct::default(),
        events: Vec::new(),
        max_envelopes: 0,
        current_time: String::new(),
        retry_count: 0,
        parameters: Vec::new(),
    };
    fields!(cur, el, |c| {
        b"DeviceId" => inform.device_id = device_id(cur, &c)?,
        b"Event" => inform.events = cur.array(&c, event_struct)?,
        b"MaxEnvelopes" => inform.max_envelopes = cur.num(&c)?,
        b"CurrentTime" => inform.current_time = cur.text(&c)?,
        b"RetryCount" => inform.retry_count = cur.num(&c)?,
        b"ParameterList" => inform.parameters = cur.array(&c, parameter_value)?,
    });
    Ok(inform)
}

fn device_id<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<DeviceIdStruct> {
    let mut id = DeviceIdStruct::default();
    fields!(cur, el, |c| {
        b"Manufacturer" => id.manufacturer = cur.text(&c)?,
        b"OUI" => id.oui = cur.text(&c)?,
        b"ProductClass" => id.product_class = cur.text(&c)?,
        b"SerialNumber" => id.serial_number = cur.text(&c)?,
    });
    Ok(id)
}

fn event_struct<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<Event> {
    let mut event = Event {
        code: EventCode::Other(String::new()),
        command_key: String::new(),
    };
    fields!(cur, el, |c| {
        b"EventCode" => event.code = EventCode::parse(&cur.text(&c)?),
        b"CommandKey" => event.command_key = cur.text(&c)?,
    });
    Ok(event)
}

fn transfer_complete<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<TransferComplete> {
    let mut t = TransferComplete {
        command_key: String::new(),
        fault: FaultStruct::default(),
        start_time: String::new(),
        complete_time: String::new(),
    };
    fields!(cur, el, |c| {
        b"CommandKey" => t.command_key = cur.text(&c)?,
        b"FaultStruct" => t.fault = fault_struct(cur, &c)?,
        b"StartTime" => t.start_time = cur.text(&c)?,
        b"CompleteTime" => t.complete_time = cur.text(&c)?,
    });
    Ok(t)
}

fn autonomous_transfer_complete<'a>(
    cur: &mut Cursor<'a>,
    el: &El<'a>,
) -> Res<AutonomousTransferComplete> {
    let mut t = AutonomousTransferComplete {
        announce_url: String::new(),
        transfer_url: String::new(),
        is_download: false,
        file_type: String::new(),
        file_size: 0,
        target_file_name: String::new(),
        fault: FaultStruct::default(),
        start_time: String::new(),
        complete_time: String::new(),
    };
    fields!(cur, el, |c| {
        b"AnnounceURL" => t.announce_url = cur.text(&c)?,
        b"TransferURL" => t.transfer_url = cur.text(&c)?,
        b"IsDownload" => t.is_download = cur.boolean(&c)?,
        b"FileType" => t.file_type = cur.text(&c)?,
        b"FileSize" => t.file_size = cur.num(&c)?,
        b"TargetFileName" => t.target_file_name = cur.text(&c)?,
        b"FaultStruct" => t.fault = fault_struct(cur, &c)?,
        b"StartTime" => t.start_time = cur.text(&c)?,
        b"CompleteTime" => t.complete_time = cur.text(&c)?,
    });
    Ok(t)
}

fn file_type_arg<'a>(cur: &mut Cursor<'a>, el: &El<'a>) -> Res<FileTypeArg> {
    let mut arg = FileTypeArg::default();
    fields!(cur, el, |c| {
        b"Name" => arg.name = cur.name(&c)?,
        b"Value" => arg.value = cur.text(&c)?,
    });
    Ok(arg)
}
