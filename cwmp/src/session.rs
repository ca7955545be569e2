//! The CWMP session as a pure state machine (TR-069 section 3.7): no I/O, no clock.
//!
//! A session starts with the CPE's Inform, answered with InformResponse. The CPE then sends its
//! own requests (TransferComplete and the like), each answered at once, until it posts an empty
//! body. From then on the ACS sends its queued requests one at a time, each answered by the CPE
//! with a response or a fault, and finally ends the session with an empty `204 No Content`.
//!
//! The caller drives it in two steps per HTTP exchange: [`Session::receive`] classifies what the
//! CPE sent (the caller stores what it learned and may [`Session::enqueue`] requests), then
//! [`Session::reply`] (or [`Session::reply_fault`]) says what to send back.

use std::collections::VecDeque;

use crate::fault::CwmpFault;
use crate::types::{Body, CwmpVersion, Envelope, Header, Inform, SoapFault};

/// Names the request an ACS-side caller enqueued, so the response can be matched to it.
pub type RequestToken = u64;

/// The most recent CWMP version this ACS speaks.
pub const ACS_MAX_VERSION: CwmpVersion = CwmpVersion::V1_4;

/// What the CPE posted in one HTTP request.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per HTTP exchange; boxing would only add an allocation
pub enum Received {
    /// A decoded SOAP envelope.
    Envelope(Envelope),
    /// An empty POST body.
    Empty,
}

/// What [`Session::receive`] found in the CPE's message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The Inform that opened the session.
    Inform {
        /// The Inform itself.
        inform: Box<Inform>,
        /// The session timeout the CPE asked for, in seconds (CWMP 1.2+).
        session_timeout: Option<u32>,
    },
    /// A request from the CPE other than Inform (TransferComplete, RequestDownload...).
    CpeRequest(Body),
    /// The CPE answered the request with this token.
    Response {
        /// The token given to [`Session::enqueue`].
        token: RequestToken,
        /// The response body.
        body: Body,
    },
    /// The CPE answered the request with this token with a fault.
    Fault {
        /// The token given to [`Session::enqueue`].
        token: RequestToken,
        /// The fault.
        fault: CwmpFault,
    },
    /// The CPE has no more requests of its own (empty POST).
    CpeDone,
    /// The CPE posted an empty body instead of answering this request: it was not done.
    Unanswered {
        /// The token of the request left unanswered.
        token: RequestToken,
    },
}

/// A message the CPE should not have sent at this point of the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The session must open with an Inform.
    #[error("expected Inform to open the session, got {0}")]
    ExpectedInform(String),
    /// A second Inform within one session.
    #[error("Inform within an open session")]
    RepeatedInform,
    /// A response arrived while no request was outstanding, or of the wrong kind.
    #[error("unexpected {got} (outstanding request: {expected})")]
    UnexpectedResponse {
        /// What arrived.
        got: String,
        /// What the ACS was waiting for.
        expected: String,
    },
    /// The session already ended.
    #[error("session already ended")]
    Ended,
}

/// What to send back to the CPE.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per HTTP exchange; boxing would only add an allocation
pub enum Reply {
    /// An envelope (a response to the CPE's request, or the ACS's next request).
    Envelope(Envelope),
    /// `204 No Content`: the session is over.
    EndSession,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Waiting for the Inform.
    AwaitingInform,
    /// The CPE's turn: its requests are answered until it posts an empty body.
    CpeRequests,
    /// The ACS's turn: requests are sent one at a time.
    AcsRequests,
    /// The session is over.
    Ended,
}

#[derive(Debug, Clone, PartialEq)]
struct Outstanding {
    token: RequestToken,
    id: String,
    method: &'static str,
}

/// What the CPE sent last that still needs an answer.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per HTTP exchange; boxing would only add an allocation
enum Pending {
    Nothing,
    /// The CPE's request with its `cwmp:ID`, answered by [`Session::reply`].
    CpeRequest {
        id: Option<String>,
        body: Body,
    },
}

/// One CWMP session with one CPE.
#[derive(Debug, Clone)]
pub struct Session {
    phase: Phase,
    version: CwmpVersion,
    use_version: Option<CwmpVersion>,
    id_prefix: String,
    next_request: u64,
    queue: VecDeque<(RequestToken, Body)>,
    outstanding: Option<Outstanding>,
    pending: Pending,
    requests_sent: u32,
}

impl Session {
    /// A new session waiting for its Inform. `id_prefix` makes the `cwmp:ID`s of the ACS's
    /// requests unique across sessions (such as the session cookie).
    pub fn new(id_prefix: impl Into<String>) -> Session {
        Session {
            phase: Phase::AwaitingInform,
            version: CwmpVersion::default(),
            use_version: None,
            id_prefix: id_prefix.into(),
            next_request: 1,
            queue: VecDeque::new(),
            outstanding: None,
            pending: Pending::Nothing,
            requests_sent: 0,
        }
    }

    /// The CWMP version the session is held in (the CPE's own).
    pub fn version(&self) -> CwmpVersion {
        self.version
    }

    /// True once the session has ended with `204 No Content`.
    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// True while an ACS request waits for its answer.
    pub fn awaiting_response(&self) -> bool {
        self.outstanding.is_some()
    }

    /// How many ACS requests were sent in this session.
    pub fn requests_sent(&self) -> u32 {
        self.requests_sent
    }

    /// Queues a request for the CPE; requests go out one at a time, in order.
    pub fn enqueue(&mut self, token: RequestToken, body: Body) {
        self.queue.push_back((token, body));
    }

    /// How many requests wait to be sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Classifies what the CPE sent and advances the session.
    pub fn receive(&mut self, received: Received) -> Result<Incoming, ProtocolError> {
        match (&self.phase, received) {
            (Phase::Ended, _) => Err(ProtocolError::Ended),
            (Phase::AwaitingInform, Received::Envelope(envelope)) => self.receive_inform(envelope),
            (Phase::AwaitingInform, Received::Empty) => {
                Err(ProtocolError::ExpectedInform("an empty POST".into()))
            }
            (_, Received::Empty) => Ok(self.receive_empty()),
            (_, Received::Envelope(envelope)) => self.receive_envelope(envelope),
        }
    }

    fn receive_inform(&mut self, envelope: Envelope) -> Result<Incoming, ProtocolError> {
        let Body::Inform(inform) = envelope.body else {
            return Err(ProtocolError::ExpectedInform(
                method_name(&envelope.body).into(),
            ));
        };
        self.version = envelope.version;
        self.use_version = envelope
            .header
            .supported_cwmp_versions
            .as_deref()
            .and_then(CwmpVersion::highest_supported)
            .map(|v| v.min(ACS_MAX_VERSION));
        self.phase = Phase::CpeRequests;
        self.pending = Pending::CpeRequest {
            id: envelope.header.id,
            body: Body::InformResponse { max_envelopes: 1 },
        };
        Ok(Incoming::Inform {
            inform: Box::new(inform),
            session_timeout: envelope.header.session_timeout,
        })
    }

    fn receive_empty(&mut self) -> Incoming {
        self.phase = Phase::AcsRequests;
        self.pending = Pending::Nothing;
        match self.outstanding.take() {
            Some(outstanding) => Incoming::Unanswered {
                token: outstanding.token,
            },
            None => Incoming::CpeDone,
        }
    }

    fn receive_envelope(&mut self, envelope: Envelope) -> Result<Incoming, ProtocolError> {
        if let Body::Inform(_) = envelope.body {
            return Err(ProtocolError::RepeatedInform);
        }
        if let Some(outstanding) = self.outstanding.take() {
            return self.receive_answer(outstanding, envelope);
        }
        if let Some(answer) = cpe_request_answer(&envelope.body) {
            // A CPE request is valid in the CPE's turn; tolerate it later too (some CPEs send
            // TransferComplete after an empty POST), since nothing is outstanding.
            self.pending = Pending::CpeRequest {
                id: envelope.header.id,
                body: answer,
            };
            return Ok(Incoming::CpeRequest(envelope.body));
        }
        Err(ProtocolError::UnexpectedResponse {
            got: method_name(&envelope.body).into(),
            expected: "none".into(),
        })
    }

    fn receive_answer(
        &mut self,
        outstanding: Outstanding,
        envelope: Envelope,
    ) -> Result<Incoming, ProtocolError> {
        self.phase = Phase::AcsRequests;
        match envelope.body {
            Body::Fault(SoapFault { detail, .. }) => Ok(Incoming::Fault {
                token: outstanding.token,
                fault: detail,
            }),
            body if response_matches(outstanding.method, &body) => Ok(Incoming::Response {
                token: outstanding.token,
                body,
            }),
            body => {
                let got = method_name(&body).to_string();
                // Put it back: the request is still unanswered.
                let expected = format!("{}Response", outstanding.method);
                self.outstanding = Some(outstanding);
                Err(ProtocolError::UnexpectedResponse { got, expected })
            }
        }
    }

    /// Whether [`Session::reply`] would end the session now (no CPE request to answer and no
    /// ACS request to send).
    pub fn ends_at_reply(&self) -> bool {
        if matches!(self.pending, Pending::CpeRequest { .. }) {
            return false;
        }
        self.phase != Phase::AcsRequests || self.outstanding.is_some() || self.queue.is_empty()
    }

    /// The message to send back after [`Session::receive`]: the answer to the CPE's request,
    /// else the next queued ACS request, else the end of the session.
    pub fn reply(&mut self) -> Reply {
        if let Pending::CpeRequest { id, body } =
            std::mem::replace(&mut self.pending, Pending::Nothing)
        {
            let mut header = Header {
                id,
                ..Header::default()
            };
            if matches!(body, Body::InformResponse { .. }) {
                header.use_cwmp_version = self.use_version.map(|v| v.as_str().to_string());
            }
            return Reply::Envelope(self.envelope(header, body));
        }
        if self.phase != Phase::AcsRequests {
            // The CPE's turn and nothing to answer: nothing left to say but goodbye.
            self.phase = Phase::Ended;
            return Reply::EndSession;
        }
        if self.outstanding.is_some() {
            // Still waiting for an answer (the CPE repeated itself): end rather than loop.
            self.phase = Phase::Ended;
            return Reply::EndSession;
        }
        match self.queue.pop_front() {
            Some((token, body)) => {
                let id = format!("{}-{}", self.id_prefix, self.next_request);
                self.next_request += 1;
                self.requests_sent += 1;
                self.outstanding = Some(Outstanding {
                    token,
                    id: id.clone(),
                    method: method_name(&body),
                });
                let header = Header {
                    id: Some(id),
                    ..Header::default()
                };
                Reply::Envelope(self.envelope(header, body))
            }
            None => {
                self.phase = Phase::Ended;
                Reply::EndSession
            }
        }
    }

    /// Answers the CPE's pending request with an ACS fault instead (such as 8005 Retry request
    /// when the store is unavailable). Without a pending request this ends the session.
    pub fn reply_fault(&mut self, fault: CwmpFault) -> Reply {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::CpeRequest { id, .. } => {
                let header = Header {
                    id,
                    ..Header::default()
                };
                let body = Body::Fault(SoapFault {
                    faultcode: fault.soap_faultcode().to_string(),
                    faultstring: "CWMP fault".to_string(),
                    detail: fault,
                });
                Reply::Envelope(self.envelope(header, body))
            }
            Pending::Nothing => {
                self.phase = Phase::Ended;
                Reply::EndSession
            }
        }
    }

    /// Ends the session now (on a protocol error or a timeout); the next reply is `204`.
    pub fn end(&mut self) -> Option<RequestToken> {
        self.phase = Phase::Ended;
        self.pending = Pending::Nothing;
        self.outstanding.take().map(|o| o.token)
    }

    /// Tokens of requests queued but never sent, drained (so the caller can reschedule them).
    pub fn take_unsent(&mut self) -> Vec<RequestToken> {
        self.queue.drain(..).map(|(token, _)| token).collect()
    }

    fn envelope(&self, header: Header, body: Body) -> Envelope {
        Envelope {
            version: self.version,
            header,
            body,
        }
    }
}

/// The ACS's answer to a CPE request, or `None` if `body` is no CPE request.
fn cpe_request_answer(body: &Body) -> Option<Body> {
    Some(match body {
        Body::TransferComplete(_) => Body::TransferCompleteResponse,
        Body::AutonomousTransferComplete(_) => Body::AutonomousTransferCompleteResponse,
        Body::DUStateChangeComplete(_) => Body::DUStateChangeCompleteResponse,
        Body::AutonomousDUStateChangeComplete(_) => Body::AutonomousDUStateChangeCompleteResponse,
        Body::RequestDownload { .. } => Body::RequestDownloadResponse,
        Body::Kicked { next, .. } => Body::KickedResponse {
            next_url: next.clone(),
        },
        Body::GetRPCMethods => {
            Body::GetRPCMethodsResponse(ACS_METHODS.iter().map(|m| m.to_string()).collect())
        }
        _ => return None,
    })
}

/// The RPC methods this ACS implements (its GetRPCMethodsResponse).
pub const ACS_METHODS: &[&str] = &[
    "Inform",
    "GetRPCMethods",
    "TransferComplete",
    "AutonomousTransferComplete",
    "DUStateChangeComplete",
    "AutonomousDUStateChangeComplete",
    "RequestDownload",
    "Kicked",
];

/// Whether `body` is the response to a request named `method`.
fn response_matches(method: &str, body: &Body) -> bool {
    let name = method_name(body);
    name.len() == method.len() + "Response".len()
        && name.starts_with(method)
        && name.ends_with("Response")
}

pub use crate::encode::method_name;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{DeviceIdStruct, Event, FaultStruct, ParameterValue, TransferComplete};
    use crate::EventCode;

    fn inform_envelope(version: CwmpVersion, supported: Option<&str>) -> Envelope {
        Envelope {
            version,
            header: Header {
                id: Some("42".into()),
                supported_cwmp_versions: supported.map(str::to_string),
                ..Header::default()
            },
            body: Body::Inform(Inform {
                device_id: DeviceIdStruct {
                    manufacturer: "Acme".into(),
                    oui: "00D09E".into(),
                    product_class: "Router".into(),
                    serial_number: "S1".into(),
                },
                events: vec![Event {
                    code: EventCode::Periodic,
                    command_key: String::new(),
                }],
                max_envelopes: 1,
                current_time: "2026-01-01T00:00:00Z".into(),
                retry_count: 0,
                parameters: vec![],
            }),
        }
    }

    fn envelope(body: Body, id: Option<&str>) -> Received {
        Received::Envelope(Envelope {
            version: CwmpVersion::V1_0,
            header: Header {
                id: id.map(str::to_string),
                ..Header::default()
            },
            body,
        })
    }

    fn expect_envelope(reply: Reply) -> Envelope {
        match reply {
            Reply::Envelope(envelope) => envelope,
            Reply::EndSession => panic!("expected an envelope, got the end of the session"),
        }
    }

    #[test]
    fn periodic_session_with_nothing_queued() {
        let mut session = Session::new("s1");
        let incoming = session
            .receive(Received::Envelope(inform_envelope(CwmpVersion::V1_0, None)))
            .unwrap();
        assert!(matches!(incoming, Incoming::Inform { .. }));
        assert!(!session.ends_at_reply(), "the Inform is answered");
        let response = expect_envelope(session.reply());
        assert_eq!(
            response.version,
            CwmpVersion::V1_0,
            "answers in the CPE's version"
        );
        assert_eq!(response.header.id.as_deref(), Some("42"));
        assert_eq!(response.body, Body::InformResponse { max_envelopes: 1 });
        assert_eq!(session.receive(Received::Empty).unwrap(), Incoming::CpeDone);
        assert!(session.ends_at_reply());
        assert_eq!(session.reply(), Reply::EndSession);
        assert!(session.is_ended());
        assert_eq!(session.receive(Received::Empty), Err(ProtocolError::Ended));
    }

    #[test]
    fn queued_requests_go_one_at_a_time_and_match_responses() {
        let mut session = Session::new("s2");
        session
            .receive(Received::Envelope(inform_envelope(CwmpVersion::V1_2, None)))
            .unwrap();
        session.reply();
        session.receive(Received::Empty).unwrap();
        session.enqueue(
            7,
            Body::GetParameterValues {
                names: vec!["Device.DeviceInfo.".into()],
            },
        );
        assert!(!session.ends_at_reply(), "a request is queued");
        session.enqueue(
            8,
            Body::Reboot {
                command_key: "r".into(),
            },
        );
        let first = expect_envelope(session.reply());
        assert!(matches!(first.body, Body::GetParameterValues { .. }));
        let id = first.header.id.clone().unwrap();
        assert!(session.awaiting_response());

        let values = vec![ParameterValue {
            name: "Device.DeviceInfo.UpTime".into(),
            value: "5".into(),
            xsd_type: crate::XsdType::UnsignedInt,
        }];
        let got = session
            .receive(envelope(
                Body::GetParameterValuesResponse(values.clone()),
                Some(&id),
            ))
            .unwrap();
        assert_eq!(
            got,
            Incoming::Response {
                token: 7,
                body: Body::GetParameterValuesResponse(values)
            }
        );
        let second = expect_envelope(session.reply());
        assert_eq!(
            second.body,
            Body::Reboot {
                command_key: "r".into()
            }
        );
        assert_ne!(second.header.id.as_deref(), Some(id.as_str()));

        let fault = CwmpFault::new(9001);
        let got = session
            .receive(envelope(
                Body::Fault(SoapFault {
                    faultcode: "Server".into(),
                    faultstring: "CWMP fault".into(),
                    detail: fault.clone(),
                }),
                None,
            ))
            .unwrap();
        assert_eq!(got, Incoming::Fault { token: 8, fault });
        assert!(session.ends_at_reply());
        assert_eq!(session.reply(), Reply::EndSession);
        assert_eq!(session.requests_sent(), 2);
    }

    #[test]
    fn cpe_requests_are_answered_before_acs_requests() {
        let mut session = Session::new("s3");
        session
            .receive(Received::Envelope(inform_envelope(CwmpVersion::V1_2, None)))
            .unwrap();
        session.reply();
        session.enqueue(1, Body::FactoryReset);
        let transfer = Body::TransferComplete(TransferComplete {
            command_key: "dl".into(),
            fault: FaultStruct::default(),
            start_time: String::new(),
            complete_time: String::new(),
        });
        let got = session
            .receive(envelope(transfer.clone(), Some("9")))
            .unwrap();
        assert_eq!(got, Incoming::CpeRequest(transfer));
        let answer = expect_envelope(session.reply());
        assert_eq!(answer.body, Body::TransferCompleteResponse);
        assert_eq!(answer.header.id.as_deref(), Some("9"));
        session.receive(Received::Empty).unwrap();
        assert_eq!(expect_envelope(session.reply()).body, Body::FactoryReset);
    }

    #[test]
    fn version_negotiation_picks_highest_common() {
        let mut session = Session::new("s4");
        session
            .receive(Received::Envelope(inform_envelope(
                CwmpVersion::V1_4,
                Some("1.0,1.1,1.2,1.3,1.4"),
            )))
            .unwrap();
        let response = expect_envelope(session.reply());
        assert_eq!(response.header.use_cwmp_version.as_deref(), Some("1.4"));
    }

    #[test]
    fn protocol_errors() {
        let mut session = Session::new("s5");
        assert!(matches!(
            session.receive(Received::Empty),
            Err(ProtocolError::ExpectedInform(_))
        ));
        assert!(matches!(
            session.receive(envelope(Body::RebootResponse, None)),
            Err(ProtocolError::ExpectedInform(_))
        ));
        session
            .receive(Received::Envelope(inform_envelope(CwmpVersion::V1_2, None)))
            .unwrap();
        session.reply();
        assert_eq!(
            session.receive(Received::Envelope(inform_envelope(CwmpVersion::V1_2, None))),
            Err(ProtocolError::RepeatedInform)
        );
        session.receive(Received::Empty).unwrap();
        session.enqueue(
            3,
            Body::Reboot {
                command_key: String::new(),
            },
        );
        session.reply();
        assert!(matches!(
            session.receive(envelope(Body::FactoryResetResponse, None)),
            Err(ProtocolError::UnexpectedResponse { .. })
        ));
        // The request is still outstanding; an empty POST leaves it unanswered.
        assert_eq!(
            session.receive(Received::Empty).unwrap(),
            Incoming::Unanswered { token: 3 }
        );
    }

    #[test]
    fn fault_reply_to_cpe_request() {
        let mut session = Session::new("s6");
        session
            .receive(Received::Envelope(inform_envelope(CwmpVersion::V1_2, None)))
            .unwrap();
        let reply = expect_envelope(session.reply_fault(CwmpFault::new(8005)));
        match reply.body {
            Body::Fault(fault) => {
                assert_eq!(fault.detail.code, 8005);
                assert_eq!(fault.faultcode, "Server");
            }
            other => panic!("expected a fault, got {other:?}"),
        }
    }

    #[test]
    fn response_names_match_exactly() {
        assert!(response_matches("Reboot", &Body::RebootResponse));
        assert!(!response_matches("Reboot", &Body::FactoryResetResponse));
        assert!(!response_matches(
            "GetParameterValues",
            &Body::GetParameterNamesResponse(vec![])
        ));
    }
}
