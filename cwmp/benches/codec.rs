//! Codec throughput: a typical easycwmp-style Inform (40 parameters, pretty-printed, `soap_env`
//! prefixes) and a 40-parameter GetParameterValuesResponse, decoded and encoded.
//!
//! `*/quick_xml_events_only` is quick-xml's general reader pulling every event of the same
//! document, for comparison with the decoder's own tokenizer.
//!
//! Run with `cargo bench -p cwmp --bench codec -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use cwmp::encode::encode_into;

/// The allocator the `kube-acs` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cwmp::{decode, Body, Envelope, Header};

/// 40 TR-181 parameters with their `xsi:type` and value, as a CPE reports them.
fn parameters() -> Vec<(String, &'static str, String)> {
    let mut params = vec![
        (
            "Device.DeviceInfo.SpecVersion".to_string(),
            "string",
            "1.0".to_string(),
        ),
        (
            "Device.DeviceInfo.ProvisioningCode".into(),
            "string",
            String::new(),
        ),
        (
            "Device.DeviceInfo.Manufacturer".into(),
            "string",
            "easycwmp".into(),
        ),
        (
            "Device.DeviceInfo.ManufacturerOUI".into(),
            "string",
            "FFFFFF".into(),
        ),
        (
            "Device.DeviceInfo.ProductClass".into(),
            "string",
            "easycwmp".into(),
        ),
        (
            "Device.DeviceInfo.SerialNumber".into(),
            "string",
            "SCOUT000001".into(),
        ),
        (
            "Device.DeviceInfo.HardwareVersion".into(),
            "string",
            "example_hw_version".into(),
        ),
        (
            "Device.DeviceInfo.SoftwareVersion".into(),
            "string",
            "example_sw_version".into(),
        ),
        (
            "Device.DeviceInfo.UpTime".into(),
            "unsignedInt",
            "86400".into(),
        ),
        (
            "Device.ManagementServer.ConnectionRequestURL".into(),
            "string",
            "http://192.168.1.1:7548/".into(),
        ),
        (
            "Device.ManagementServer.ParameterKey".into(),
            "string",
            String::new(),
        ),
        (
            "Device.ManagementServer.PeriodicInformEnable".into(),
            "boolean",
            "1".into(),
        ),
        (
            "Device.ManagementServer.PeriodicInformInterval".into(),
            "unsignedInt",
            "300".into(),
        ),
        (
            "Device.ManagementServer.PeriodicInformTime".into(),
            "dateTime",
            "0001-01-01T00:00:00Z".into(),
        ),
    ];
    for i in 1..=4 {
        params.push((
            format!("Device.IP.Interface.{i}.IPv4Address.1.IPAddress"),
            "string",
            format!("10.0.{i}.1"),
        ));
        params.push((
            format!("Device.IP.Interface.{i}.Enable"),
            "boolean",
            "1".into(),
        ));
        params.push((
            format!("Device.IP.Interface.{i}.Status"),
            "string",
            "Up".into(),
        ));
    }
    for i in 1..=7 {
        params.push((
            format!("Device.WiFi.SSID.{i}.SSID"),
            "string",
            format!("OpenWrt &amp; friends {i}"),
        ));
        params.push((
            format!("Device.WiFi.SSID.{i}.Stats.BytesSent"),
            "unsignedLong",
            format!("{}", 1_234_567 * i),
        ));
    }
    params.truncate(40);
    assert_eq!(params.len(), 40);
    params
}

/// The parameter list, pretty-printed the way easycwmp does it.
fn parameter_list(params: &[(String, &str, String)]) -> String {
    let mut xml = format!(
        "    <ParameterList soap_enc:arrayType=\"cwmp:ParameterValueStruct[{}]\">\n",
        params.len()
    );
    for (name, t, value) in params {
        xml.push_str(&format!(
            "     <ParameterValueStruct>\n      <Name>{name}</Name>\n      <Value xsi:type=\"xsd:{t}\">{value}</Value>\n     </ParameterValueStruct>\n"
        ));
    }
    xml.push_str("    </ParameterList>\n");
    xml
}

/// An easycwmp envelope around `method` (pretty-printed body content).
fn easycwmp_envelope(method: &str, content: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
 <soap_env:Envelope
xmlns:soap_env="http://schemas.xmlsoap.org/soap/envelope/"
xmlns:soap_enc="http://schemas.xmlsoap.org/soap/encoding/"
xmlns:xsd="http://www.w3.org/2001/XMLSchema"
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
  <soap_env:Header>
   <cwmp:ID soap_env:mustUnderstand="1">1</cwmp:ID>
  </soap_env:Header>
  <soap_env:Body>
   <cwmp:{method}>
{content}   </cwmp:{method}>
  </soap_env:Body>
 </soap_env:Envelope>
"#
    )
}

fn inform_xml() -> String {
    let content = format!(
        r#"    <DeviceId>
     <Manufacturer>easycwmp</Manufacturer>
     <OUI>FFFFFF</OUI>
     <ProductClass>easycwmp</ProductClass>
     <SerialNumber>SCOUT000001</SerialNumber>
    </DeviceId>
    <Event soap_enc:arrayType="cwmp:EventStruct[2]">
     <EventStruct>
      <EventCode>0 BOOTSTRAP</EventCode>
      <CommandKey />
     </EventStruct>
     <EventStruct>
      <EventCode>1 BOOT</EventCode>
      <CommandKey />
     </EventStruct>
    </Event>
    <MaxEnvelopes>1</MaxEnvelopes>
    <CurrentTime>2026-11-25T02:01:03+00:00</CurrentTime>
    <RetryCount>0</RetryCount>
{}"#,
        parameter_list(&parameters())
    );
    easycwmp_envelope("Inform", &content)
}

fn gpv_response_xml() -> String {
    easycwmp_envelope("GetParameterValuesResponse", &parameter_list(&parameters()))
}

/// Decode, encode, and both, of one envelope.
fn codec_group(c: &mut Criterion, group: &str, xml: &[u8]) {
    let envelope = decode(xml).expect("benchmark envelope decodes");
    let mut out = Vec::with_capacity(8192);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| b.iter(|| decode(black_box(xml)).unwrap()));
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            encode_into(black_box(&envelope), &mut out);
            out.len()
        })
    });
    g.bench_function("decode+encode", |b| {
        b.iter(|| {
            let env = decode(black_box(xml)).unwrap();
            out.clear();
            encode_into(&env, &mut out);
            out.len()
        })
    });
    g.finish();
}

/// For comparison: quick-xml's general reader pulling every event of the document.
fn quick_xml_baseline(c: &mut Criterion, group: &str, xml: &[u8]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function("quick_xml_events_only", |b| {
        b.iter(|| {
            let mut reader = quick_xml::Reader::from_reader(black_box(xml));
            let mut events = 0usize;
            while !matches!(
                reader.read_event(),
                Ok(quick_xml::events::Event::Eof) | Err(_)
            ) {
                events += 1;
            }
            events
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let inform = inform_xml();
    quick_xml_baseline(c, "inform_40", inform.as_bytes());
    codec_group(c, "inform_40", inform.as_bytes());

    // The server's Inform path: read the Inform, answer with an InformResponse.
    let mut out = Vec::with_capacity(1024);
    let mut g = c.benchmark_group("inform_40");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode+respond", |b| {
        b.iter(|| {
            let env = decode(black_box(inform.as_bytes())).unwrap();
            let answer = Envelope {
                version: env.version,
                header: Header {
                    id: env.header.id,
                    ..Header::default()
                },
                body: Body::InformResponse { max_envelopes: 1 },
            };
            out.clear();
            encode_into(&answer, &mut out);
            out.len()
        })
    });
    g.finish();

    codec_group(c, "gpv_response_40", gpv_response_xml().as_bytes());

    // The same Inform without indentation, as many CPEs (and every ACS) write it.
    let compact = compact(&inform);
    quick_xml_baseline(c, "inform_40_compact", compact.as_bytes());
    codec_group(c, "inform_40_compact", compact.as_bytes());
}

/// `xml` with the line breaks and indentation between elements removed (a line that does not
/// end a tag continues it, as attributes on their own lines do).
fn compact(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    for line in xml.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() && !out.ends_with('>') {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

criterion_group!(codec, benches);
criterion_main!(codec);
