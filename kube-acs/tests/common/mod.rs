//! Test harness: the real `kube-acs standalone` binary as a process, and a test CPE that talks
//! CWMP to it over real HTTP with a small in-memory data model.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cwmp::{
    Body, CwmpFault, CwmpVersion, DeviceIdStruct, Envelope, Event, EventCode, FaultStruct, Header,
    Inform, ParameterInfo, ParameterValue, SetParameterValuesFault, SoapFault, TransferComplete,
    XsdType,
};
use serde_json::Value;

/// The ports in a `kube-acs standalone ready` (or `edge ready`) `cwmp=... api=... files=...` log line.
pub fn ready_ports(log: &str) -> Option<(u16, u16, u16)> {
    let line = log
        .lines()
        .find(|l| l.contains("kube-acs ") && l.contains(" ready") && l.contains("cwmp="))?;
    let port = |name: &str| -> Option<u16> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        let address = line[start..].split_whitespace().next()?;
        address.rsplit(':').next()?.parse().ok()
    };
    Some((port("cwmp")?, port("api")?, port("files")?))
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `kube-acs standalone` process.
pub struct Acs {
    child: Option<Child>,
    /// Base URL of the CWMP endpoint.
    pub cwmp: String,
    /// Base URL of the API.
    pub api: String,
    /// Base URL of the file server.
    pub files: String,
    /// The data directory.
    pub data_dir: PathBuf,
    args: Vec<String>,
    ports: (u16, u16, u16),
    subcommand: &'static str,
}

impl Acs {
    /// Starts the ACS with `data_dir` and extra flags on ports it picks itself (no race with
    /// other tests for "free" ports), and waits until it serves.
    pub async fn start(data_dir: &Path, extra: &[&str]) -> Acs {
        Acs::start_as("standalone", data_dir, extra).await
    }

    /// Starts `kube-acs edge` (one of several edges on a shared store) like [`Acs::start`].
    pub async fn start_edge(data_dir: &Path, extra: &[&str]) -> Acs {
        Acs::start_as("edge", data_dir, extra).await
    }

    async fn start_as(subcommand: &'static str, data_dir: &Path, extra: &[&str]) -> Acs {
        let mut acs = Acs {
            subcommand,
            child: None,
            cwmp: String::new(),
            api: String::new(),
            files: String::new(),
            data_dir: data_dir.to_path_buf(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            ports: (0, 0, 0),
        };
        acs.spawn().await;
        acs
    }

    /// Starts the process: on the ports of the previous run after a restart, else on ports
    /// the server picks, read back from its "ready" log line.
    async fn spawn(&mut self) {
        let log_start = self.log().len();
        // Loopback, unless the test gives its own file server address.
        let files_listen = match self.args.iter().any(|a| a == "--files-listen") {
            true => Vec::new(),
            false => vec![
                "--files-listen".to_string(),
                format!("127.0.0.1:{}", self.ports.2),
            ],
        };
        let child = Command::new(env!("CARGO_BIN_EXE_kube-acs"))
            .arg(self.subcommand)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--cwmp-listen", &format!("127.0.0.1:{}", self.ports.0)])
            .args(["--api-listen", &format!("127.0.0.1:{}", self.ports.1)])
            .args(files_listen)
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("TEST_ACS_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(self.log_file())
            .spawn()
            .expect("start kube-acs");
        self.child = Some(child);
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Some(ports) = ready_ports(&self.log()[log_start..]) {
                self.ports = ports;
                self.cwmp = format!("http://127.0.0.1:{}/", ports.0);
                self.api = format!("http://127.0.0.1:{}", ports.1);
                self.files = format!("http://127.0.0.1:{}", ports.2);
                if let Ok(response) = client.get(format!("{}/healthz", self.api)).send().await {
                    if response.status().is_success() {
                        return;
                    }
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("kube-acs exited with {status}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("kube-acs did not start:\n{}", self.log());
    }

    /// The server's log, appended to `acs.log` beside the data directory.
    fn log_file(&self) -> Stdio {
        let path = self.data_dir.with_extension("log");
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => Stdio::from(file),
            Err(_) => Stdio::null(),
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no chance to clean up).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and returns its exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        child.wait().ok()
    }

    /// Starts the process again on the same ports and data directory.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// GET an API path and return (status, JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{}{}", self.api, path)).await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST JSON to an API path and return (status, JSON).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// PUT JSON to an API path and return (status, JSON).
    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PUT, path, body).await
    }

    async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .request(method, format!("{}{}", self.api, path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Queues a task for `device` through the API (which must answer 202) and returns its id.
    pub async fn queue(&self, device: &str, task: &Value) -> String {
        let (status, task) = self
            .post(&format!("/api/v1/devices/{device}/tasks"), task)
            .await;
        assert_eq!(status, 202, "{task}");
        task["id"].as_str().unwrap().to_string()
    }

    /// Sends a request with a method to an API path and return (status, JSON).
    pub async fn send(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .request(method, format!("{}{}", self.api, path))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Acs {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One stored parameter of the test CPE.
#[derive(Debug, Clone)]
pub struct CpeParameter {
    pub value: String,
    pub xsd_type: XsdType,
    pub writable: bool,
}

/// A test CPE: an identity, a parameter tree, and the CWMP client side.
pub struct Cpe {
    http: reqwest::Client,
    acs: String,
    cookie: Option<String>,
    /// Who the device is.
    pub identity: DeviceIdStruct,
    /// The CWMP version it speaks.
    pub version: CwmpVersion,
    /// Its data model.
    pub parameters: BTreeMap<String, CpeParameter>,
    /// Whether it ignores cookies (a documented quirk of some CPEs).
    pub drop_cookies: bool,
    /// Credentials for the ACS, sent as HTTP Basic when set.
    pub basic_auth: Option<(String, String)>,
    /// Every ACS request it received, in order.
    pub received: Vec<Body>,
    /// Events to report in the next Inform.
    pub pending_events: Vec<(EventCode, String)>,
    /// TransferComplete to send in the next session.
    pub pending_transfer: Option<TransferComplete>,
    /// AutonomousTransferComplete to send in the next session.
    pub pending_autonomous: Option<cwmp::AutonomousTransferComplete>,
    /// Fault code to answer Download's TransferComplete with (0 for success).
    pub download_fault: u32,
    /// Fault code to answer every SetParameterValues with, such as a transient 9002 (0 for
    /// none).
    pub set_values_fault: u32,
    next_id: u64,
}

impl Cpe {
    /// A TR-181 device with a small realistic tree, its connection request URL set to `cr_url`.
    pub fn new(acs: &str, serial: &str, cr_url: &str) -> Cpe {
        let mut parameters = BTreeMap::new();
        let mut add = |name: &str, value: &str, xsd_type: XsdType, writable: bool| {
            parameters.insert(
                name.to_string(),
                CpeParameter {
                    value: value.to_string(),
                    xsd_type,
                    writable,
                },
            );
        };
        add(
            "Device.DeviceInfo.Manufacturer",
            "Acme",
            XsdType::String,
            false,
        );
        add(
            "Device.DeviceInfo.ManufacturerOUI",
            "00D09E",
            XsdType::String,
            false,
        );
        add(
            "Device.DeviceInfo.ProductClass",
            "HomeGW",
            XsdType::String,
            false,
        );
        add(
            "Device.DeviceInfo.SerialNumber",
            serial,
            XsdType::String,
            false,
        );
        add(
            "Device.DeviceInfo.SoftwareVersion",
            "1.0.0",
            XsdType::String,
            false,
        );
        add(
            "Device.DeviceInfo.HardwareVersion",
            "hw1",
            XsdType::String,
            false,
        );
        add(
            "Device.DeviceInfo.UpTime",
            "42",
            XsdType::UnsignedInt,
            false,
        );
        add("Device.ManagementServer.URL", acs, XsdType::String, true);
        add(
            "Device.ManagementServer.PeriodicInformEnable",
            "true",
            XsdType::Boolean,
            true,
        );
        add(
            "Device.ManagementServer.PeriodicInformInterval",
            "300",
            XsdType::UnsignedInt,
            true,
        );
        add(
            "Device.ManagementServer.ConnectionRequestURL",
            cr_url,
            XsdType::String,
            false,
        );
        add(
            "Device.ManagementServer.ParameterKey",
            "",
            XsdType::String,
            false,
        );
        add("Device.WiFi.SSID.1.SSID", "home", XsdType::String, true);
        add("Device.WiFi.SSID.1.Enable", "true", XsdType::Boolean, true);
        add("Device.IP.Interface.1.Alias", "wan", XsdType::String, true);
        add(
            "Device.IP.Interface.1.Enable",
            "true",
            XsdType::Boolean,
            true,
        );
        add(
            "Device.IP.Diagnostics.IPPing.DiagnosticsState",
            "None",
            XsdType::String,
            true,
        );
        add(
            "Device.IP.Diagnostics.IPPing.Host",
            "",
            XsdType::String,
            true,
        );
        add(
            "Device.IP.Diagnostics.IPPing.SuccessCount",
            "0",
            XsdType::UnsignedInt,
            false,
        );
        Cpe {
            http: reqwest::Client::new(),
            acs: acs.to_string(),
            cookie: None,
            identity: DeviceIdStruct {
                manufacturer: "Acme".into(),
                oui: "00D09E".into(),
                product_class: "HomeGW".into(),
                serial_number: serial.into(),
            },
            version: CwmpVersion::V1_2,
            parameters,
            drop_cookies: false,
            basic_auth: None,
            received: Vec::new(),
            pending_events: vec![
                (EventCode::Bootstrap, String::new()),
                (EventCode::Boot, String::new()),
            ],
            pending_transfer: None,
            pending_autonomous: None,
            download_fault: 0,
            set_values_fault: 0,
            next_id: 1,
        }
    }

    /// The same device with another product class (another model).
    pub fn with_product_class(mut self, product_class: &str) -> Cpe {
        self.identity.product_class = product_class.to_string();
        if let Some(p) = self.parameters.get_mut("Device.DeviceInfo.ProductClass") {
            p.value = product_class.to_string();
        }
        self
    }

    /// The id the ACS derives for this device.
    pub fn device_id(&self) -> String {
        let id = &self.identity;
        format!("{}-{}-{}", id.oui, id.product_class, id.serial_number)
    }

    fn envelope(&mut self, body: Body, id: Option<String>) -> Envelope {
        let id = id.unwrap_or_else(|| {
            self.next_id += 1;
            format!("cpe-{}", self.next_id)
        });
        Envelope {
            version: self.version,
            header: Header {
                id: Some(id),
                ..Header::default()
            },
            body,
        }
    }

    /// Posts raw bytes; returns the status and the decoded reply (if any).
    pub async fn post_raw(&mut self, body: Vec<u8>) -> (u16, Option<Envelope>) {
        let mut request = self
            .http
            .post(&self.acs)
            .header("Content-Type", "text/xml; charset=\"utf-8\"");
        if !body.is_empty() {
            request = request.header("SOAPAction", "");
        }
        if let (Some(cookie), false) = (&self.cookie, self.drop_cookies) {
            request = request.header("Cookie", cookie.clone());
        }
        if let Some((user, password)) = &self.basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.body(body).send().await.expect("POST to the ACS");
        if let Some(cookie) = response.headers().get("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            self.cookie = Some(cookie.split(';').next().unwrap().to_string());
        }
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let envelope = if status == 200 && !bytes.is_empty() {
            Some(cwmp::decode(&bytes).expect("the ACS answers with a valid envelope"))
        } else {
            None
        };
        (status, envelope)
    }

    /// Posts an envelope (or an empty body for `None`).
    pub async fn post(&mut self, envelope: Option<Envelope>) -> (u16, Option<Envelope>) {
        let body = envelope.map(|e| cwmp::encode(&e)).unwrap_or_default();
        self.post_raw(body).await
    }

    /// The Inform this device would send now.
    pub fn inform(&mut self) -> Envelope {
        let events: Vec<Event> = self
            .pending_events
            .iter()
            .map(|(code, key)| Event {
                code: code.clone(),
                command_key: key.clone(),
            })
            .collect();
        let forced = [
            "Device.DeviceInfo.SoftwareVersion",
            "Device.DeviceInfo.HardwareVersion",
            "Device.ManagementServer.ConnectionRequestURL",
            "Device.ManagementServer.ParameterKey",
        ];
        let parameters = forced
            .iter()
            .map(|name| {
                let p = &self.parameters[*name];
                ParameterValue {
                    name: name.to_string(),
                    value: p.value.clone(),
                    xsd_type: p.xsd_type.clone(),
                }
            })
            .collect();
        let body = Body::Inform(Inform {
            device_id: self.identity.clone(),
            events,
            max_envelopes: 1,
            current_time: "2026-11-25T02:01:03+00:00".into(),
            retry_count: 0,
            parameters,
        });
        self.envelope(body, None)
    }

    /// Runs a whole session: Inform, pending TransferComplete, empty POST, then answers every
    /// ACS request until the ACS ends the session. Returns the requests answered.
    pub async fn session(&mut self) -> Vec<Body> {
        self.cookie = None;
        let inform = self.inform();
        let (status, reply) = self.post(Some(inform)).await;
        assert_eq!(status, 200, "Inform accepted");
        assert!(matches!(reply.unwrap().body, Body::InformResponse { .. }));
        self.pending_events.clear();
        let cpe_requests = [
            self.pending_transfer.take().map(Body::TransferComplete),
            self.pending_autonomous
                .take()
                .map(Body::AutonomousTransferComplete),
        ];
        for request in cpe_requests.into_iter().flatten() {
            let method = cwmp::session::method_name(&request);
            let envelope = self.envelope(request, None);
            let (status, reply) = self.post(Some(envelope)).await;
            assert_eq!(status, 200);
            let answer = cwmp::session::method_name(&reply.unwrap().body);
            assert_eq!(answer, format!("{method}Response"));
        }
        let mut answered = Vec::new();
        let (mut status, mut reply) = self.post(None).await;
        while status == 200 {
            let request = reply.expect("a request from the ACS");
            self.received.push(request.body.clone());
            answered.push(request.body.clone());
            (status, reply) = self.reply_to(request).await;
        }
        assert_eq!(status, 204, "the ACS ends the session with 204");
        answered
    }

    fn fault(code: u32, parameter_faults: Vec<SetParameterValuesFault>) -> Body {
        let mut detail = CwmpFault::new(code);
        detail.set_parameter_values_faults = parameter_faults;
        Body::Fault(SoapFault {
            faultcode: detail.soap_faultcode().into(),
            faultstring: "CWMP fault".into(),
            detail,
        })
    }

    fn matching(&self, path: &str) -> Vec<String> {
        self.parameters
            .keys()
            .filter(|name| {
                if path.is_empty() || path.ends_with('.') {
                    name.starts_with(path)
                } else {
                    *name == path
                }
            })
            .cloned()
            .collect()
    }

    /// Answers one request from the ACS the way the device would, posts the answer with the
    /// request's `cwmp:ID`, and returns the ACS's reply.
    pub async fn reply_to(&mut self, request: Envelope) -> (u16, Option<Envelope>) {
        let answer = self.answer(request.body).await;
        let envelope = self.envelope(answer, request.header.id);
        self.post(Some(envelope)).await
    }

    /// Answers one ACS request the way a real device would.
    pub async fn answer(&mut self, request: Body) -> Body {
        match request {
            Body::GetParameterValues { names } => {
                let mut values = Vec::new();
                for name in names {
                    let found = self.matching(&name);
                    if found.is_empty() {
                        return Self::fault(9005, vec![]);
                    }
                    for path in found {
                        let p = &self.parameters[&path];
                        values.push(ParameterValue {
                            name: path,
                            value: p.value.clone(),
                            xsd_type: p.xsd_type.clone(),
                        });
                    }
                }
                Body::GetParameterValuesResponse(values)
            }
            Body::GetParameterNames { path, next_level } => {
                let found = self.matching(&path);
                if found.is_empty() {
                    return Self::fault(9005, vec![]);
                }
                let mut names: BTreeMap<String, bool> = BTreeMap::new();
                for leaf in found {
                    let rest = &leaf[path.len()..];
                    let parts: Vec<&str> = rest.split('.').collect();
                    let mut prefix = path.clone();
                    for (i, part) in parts.iter().enumerate() {
                        if i + 1 == parts.len() {
                            names.insert(leaf.clone(), self.parameters[&leaf].writable);
                        } else {
                            prefix = format!("{prefix}{part}.");
                            names.entry(prefix.clone()).or_insert(false);
                        }
                        if next_level {
                            break;
                        }
                    }
                }
                if next_level {
                    names.retain(|name, _| {
                        let rest = name[path.len()..].trim_end_matches('.');
                        !rest.is_empty() && !rest.contains('.')
                    });
                }
                Body::GetParameterNamesResponse(
                    names
                        .into_iter()
                        .map(|(name, writable)| ParameterInfo { name, writable })
                        .collect(),
                )
            }
            Body::SetParameterValues {
                parameters,
                parameter_key,
            } => {
                if self.set_values_fault != 0 {
                    return Self::fault(self.set_values_fault, vec![]);
                }
                let mut faults = Vec::new();
                for p in &parameters {
                    match self.parameters.get(&p.name) {
                        None => faults.push((p.name.clone(), 9005)),
                        Some(existing) if !existing.writable => faults.push((p.name.clone(), 9008)),
                        Some(_) => {}
                    }
                }
                if !faults.is_empty() {
                    let list = faults
                        .into_iter()
                        .map(|(name, code)| SetParameterValuesFault {
                            parameter_name: name,
                            code,
                            string: cwmp::fault_meaning(code).unwrap().into(),
                        })
                        .collect();
                    return Self::fault(9003, list);
                }
                for p in parameters {
                    let existing = self.parameters.get_mut(&p.name).unwrap();
                    existing.value = p.value;
                }
                self.parameters
                    .get_mut("Device.ManagementServer.ParameterKey")
                    .unwrap()
                    .value = parameter_key;
                Body::SetParameterValuesResponse { status: 0 }
            }
            Body::AddObject { object_name, .. } => {
                let existing: Vec<u32> = self
                    .matching(&object_name)
                    .iter()
                    .filter_map(|name| name[object_name.len()..].split('.').next()?.parse().ok())
                    .collect();
                if existing.is_empty() {
                    return Self::fault(9005, vec![]);
                }
                let instance = existing.iter().max().unwrap() + 1;
                let template = format!("{object_name}1.");
                let children: Vec<(String, CpeParameter)> = self
                    .parameters
                    .iter()
                    .filter(|(name, _)| name.starts_with(&template))
                    .map(|(name, p)| (name[template.len()..].to_string(), p.clone()))
                    .collect();
                for (child, p) in children {
                    self.parameters.insert(
                        format!("{object_name}{instance}.{child}"),
                        CpeParameter {
                            value: String::new(),
                            ..p
                        },
                    );
                }
                Body::AddObjectResponse {
                    instance_number: instance,
                    status: 0,
                }
            }
            Body::DeleteObject { object_name, .. } => {
                let found = self.matching(&object_name);
                if found.is_empty() {
                    return Self::fault(9005, vec![]);
                }
                for name in found {
                    self.parameters.remove(&name);
                }
                Body::DeleteObjectResponse { status: 0 }
            }
            Body::Reboot { command_key } => {
                self.pending_events = vec![
                    (EventCode::MReboot, command_key),
                    (EventCode::Boot, String::new()),
                ];
                Body::RebootResponse
            }
            Body::FactoryReset => {
                self.pending_events = vec![
                    (EventCode::Bootstrap, String::new()),
                    (EventCode::Boot, String::new()),
                ];
                Body::FactoryResetResponse
            }
            Body::ScheduleInform { command_key, .. } => {
                self.pending_events = vec![
                    (EventCode::Scheduled, String::new()),
                    (EventCode::MScheduleInform, command_key),
                ];
                Body::ScheduleInformResponse
            }
            Body::Download(download) => {
                let fetched = reqwest::get(&download.url).await;
                let code = match fetched {
                    Ok(r) if r.status().is_success() => {
                        let bytes = r.bytes().await.unwrap();
                        if download.file_size != 0 && bytes.len() as u64 != download.file_size {
                            9018
                        } else {
                            self.download_fault
                        }
                    }
                    _ => 9016,
                };
                if code == 0 {
                    self.parameters
                        .get_mut("Device.DeviceInfo.SoftwareVersion")
                        .unwrap()
                        .value = download.target_file_name.clone();
                }
                self.pending_events = vec![
                    (EventCode::TransferComplete, String::new()),
                    (EventCode::MDownload, download.command_key.clone()),
                    (EventCode::Boot, String::new()),
                ];
                self.pending_transfer = Some(TransferComplete {
                    command_key: download.command_key,
                    fault: FaultStruct {
                        code,
                        string: cwmp::fault_meaning(code).unwrap_or_default().to_string(),
                    },
                    start_time: "2026-11-25T02:01:03Z".into(),
                    complete_time: "2026-11-25T02:01:04Z".into(),
                });
                Body::DownloadResponse {
                    status: 1,
                    start_time: "0001-01-01T00:00:00Z".into(),
                    complete_time: "0001-01-01T00:00:00Z".into(),
                }
            }
            // Accepted; the test drives what follows.
            Body::ScheduleDownload(_) => Body::ScheduleDownloadResponse,
            _ => Self::fault(9000, vec![]),
        }
    }
}

/// A connection-request endpoint on loopback that counts the requests it accepts.
pub struct ConnectionRequestListener {
    /// Its URL.
    pub url: String,
    /// Receives one message per accepted connection request.
    pub requests: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl ConnectionRequestListener {
    /// Starts an endpoint that accepts every GET (no authentication).
    pub async fn start() -> ConnectionRequestListener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (sender, requests) = tokio::sync::mpsc::unbounded_channel();
        let router = axum::Router::new().route(
            "/cr",
            axum::routing::get(move || {
                let sender = sender.clone();
                async move {
                    let _ = sender.send(());
                    axum::http::StatusCode::OK
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        ConnectionRequestListener {
            url: format!("http://{address}/cr"),
            requests,
        }
    }
}

/// Queues a task with a connection request, lets the CPE run the session the connection
/// request asks for, and returns the API's answer.
pub async fn run_task(
    acs: &Acs,
    cpe: &mut Cpe,
    cr: &mut ConnectionRequestListener,
    task: Value,
) -> (u16, Value) {
    let path = format!(
        "/api/v1/devices/{}/tasks?connectionRequest=true&timeout=10",
        cpe.device_id()
    );
    let api = acs.api.clone();
    let call = tokio::spawn(async move {
        let response = reqwest::Client::new()
            .post(format!("{api}{path}"))
            .json(&task)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    });
    tokio::time::timeout(Duration::from_secs(10), cr.requests.recv())
        .await
        .expect("a connection request reaches the device");
    cpe.pending_events = vec![(EventCode::ConnectionRequest, String::new())];
    cpe.session().await;
    call.await.unwrap()
}

/// A fleet of simulated TR-098 devices (cpe-sim) of one ACS: booted (each has informed once),
/// answering connection requests, whose connection-request credentials the ACS was given
/// through the API.
pub struct SimulatedFleet {
    /// The devices.
    pub fleet: std::sync::Arc<cpe_sim::fleet::Fleet>,
    _connection_requests: cpe_sim::cr_listener::CrListener,
}

impl SimulatedFleet {
    /// Boots `devices` devices against `acs`, `concurrency` sessions at a time.
    pub async fn boot(acs: &Acs, devices: u32, concurrency: usize) -> SimulatedFleet {
        use cpe_sim::fleet::{Fleet, FleetConfig};
        use cpe_sim::template::IdentityConfig;

        let cr = cpe_sim::cr_listener::bind(([127, 0, 0, 1], 0).into()).unwrap();
        let identity = IdentityConfig {
            acs_url: acs.cwmp.clone(),
            cr_base_url: format!("http://{}/cr/", cr.local_addr().unwrap()),
            ..IdentityConfig::default()
        };
        let model = cpe_sim::model::Model::load("tr098").unwrap();
        let mut config = FleetConfig::new(model, identity, devices);
        config.reboot_delay = Duration::from_millis(200);
        let fleet = Fleet::new(config).await.unwrap();
        let connection_requests = cpe_sim::cr_listener::serve(cr, fleet.clone());
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let boot = fleet
            .run_batch(
                (0..devices).collect(),
                cpe_sim::inform::Trigger::Pending,
                concurrency,
                deadline,
            )
            .await;
        assert_eq!(boot.ok, u64::from(devices), "{:?}", fleet.stats().errors());
        for index in 0..devices {
            let (username, password) = fleet.cr_credentials(index);
            let id = fleet.config().identity.device_id(index);
            let (status, body) = acs
                .put(
                    &format!("/api/v1/devices/{id}/connection-request"),
                    &serde_json::json!({"username": username, "password": password}),
                )
                .await;
            assert_eq!(status, 204, "{body}");
        }
        SimulatedFleet {
            fleet,
            _connection_requests: connection_requests,
        }
    }
}
