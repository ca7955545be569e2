//! Handwritten envelopes reproducing what real CPEs send (the quirks GenieACS tolerates).

use cwmp::encode::encode;
use cwmp::{decode, Body, CwmpVersion, DecodeError, Envelope, EventCode, XsdType};

/// A GetParameterValuesResponse with one parameter whose `<Value>` element is `value_element`,
/// in the usual `soap-env` layout and cwmp-1-2.
fn gpv_response(value_element: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">42</cwmp:ID></soap-env:Header>
<soap-env:Body><cwmp:GetParameterValuesResponse>
<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]">
<ParameterValueStruct><Name> Device.X </Name>{value_element}</ParameterValueStruct>
</ParameterList></cwmp:GetParameterValuesResponse></soap-env:Body></soap-env:Envelope>"#
    )
}

/// The one parameter of [`gpv_response`], as `(name, value, type)`.
fn gpv_value(value_element: &str) -> (String, String, XsdType) {
    let env = decode(gpv_response(value_element).as_bytes()).expect("decode");
    match env.body {
        Body::GetParameterValuesResponse(mut list) => {
            assert_eq!(list.len(), 1);
            let p = list.remove(0);
            (p.name, p.value, p.xsd_type)
        }
        other => panic!("{other:?}"),
    }
}

/// A minimal Inform envelope with the given pieces.
fn inform_with(envelope_open: &str, prefix: &str, header: &str, body_inner: &str) -> String {
    format!("{envelope_open}{header}<{prefix}Body>{body_inner}</{prefix}Body></{prefix}Envelope>")
}

const INFORM_ARGS: &str = "<DeviceId><Manufacturer>ACME</Manufacturer><OUI>00D09E</OUI>\
<ProductClass>Box</ProductClass><SerialNumber>SN1</SerialNumber></DeviceId>\
<Event><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event>\
<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-01T00:00:00Z</CurrentTime><RetryCount>0</RetryCount>\
<ParameterList><ParameterValueStruct><Name>InternetGatewayDevice.DeviceInfo.SoftwareVersion</Name>\
<Value xsi:type=\"xsd:string\">1.2.3</Value></ParameterValueStruct></ParameterList>";

fn assert_periodic_inform(env: &Envelope) {
    let Body::Inform(inform) = &env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(inform.device_id.oui, "00D09E");
    assert_eq!(inform.device_id.serial_number, "SN1");
    assert_eq!(inform.events.len(), 1);
    assert_eq!(inform.events[0].code, EventCode::Periodic);
    assert_eq!(inform.parameters.len(), 1);
    assert_eq!(inform.parameters[0].value, "1.2.3");
}

#[test]
fn every_cwmp_namespace_sets_the_version_and_the_answer_uses_it() {
    for version in CwmpVersion::ALL {
        let xml = inform_with(
            &format!(
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="{}">"#,
                version.namespace()
            ),
            "soap:",
            r#"<soap:Header><cwmp:ID soap:mustUnderstand="1">7</cwmp:ID></soap:Header>"#,
            &format!("<cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>"),
        );
        let env = decode(xml.as_bytes()).expect("decode");
        assert_eq!(env.version, version);
        assert_periodic_inform(&env);

        let answer = Envelope {
            version: env.version,
            header: cwmp::Header {
                id: env.header.id.clone(),
                ..Default::default()
            },
            body: Body::InformResponse { max_envelopes: 1 },
        };
        let bytes = encode(&answer);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(&format!(r#"xmlns:cwmp="{}""#, version.namespace())));
        assert!(text.contains(r#"<cwmp:ID soap-env:mustUnderstand="1">7</cwmp:ID>"#));
        assert_eq!(decode(&bytes).unwrap(), answer);
    }
}

#[test]
fn namespace_is_resolved_through_the_method_prefix() {
    // Two cwmp namespaces declared: the method's own prefix decides.
    let xml = inform_with(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="urn:dslforum-org:cwmp-1-0" xmlns:b="urn:dslforum-org:cwmp-1-1">"#,
        "e:",
        "",
        &format!("<b:Inform>{INFORM_ARGS}</b:Inform>"),
    );
    assert_eq!(decode(xml.as_bytes()).unwrap().version, CwmpVersion::V1_1);

    // Declared on the method element itself.
    let xml = inform_with(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">"#,
        "e:",
        "",
        &format!(r#"<c:Inform xmlns:c="urn:dslforum-org:cwmp-1-3">{INFORM_ARGS}</c:Inform>"#),
    );
    assert_eq!(decode(xml.as_bytes()).unwrap().version, CwmpVersion::V1_3);

    // No namespace anywhere: 1.2.
    let xml = inform_with(
        "<Envelope>",
        "",
        "",
        &format!("<Inform>{INFORM_ARGS}</Inform>"),
    );
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.version, CwmpVersion::V1_2);
    assert_periodic_inform(&env);
}

#[test]
fn uppercase_soap_env_prefix() {
    let xml = inform_with(
        r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">"#,
        "SOAP-ENV:",
        r#"<SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">abc</cwmp:ID></SOAP-ENV:Header>"#,
        &format!("<cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>"),
    );
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.version, CwmpVersion::V1_0);
    assert_eq!(env.header.id.as_deref(), Some("abc"));
    assert_periodic_inform(&env);
}

#[test]
fn default_namespace_without_prefixes() {
    let xml = format!(
        r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><ID xmlns="urn:dslforum-org:cwmp-1-1">9</ID></Header><Body><Inform xmlns="urn:dslforum-org:cwmp-1-1">{INFORM_ARGS}</Inform></Body></Envelope>"#
    );
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.version, CwmpVersion::V1_1);
    assert_eq!(env.header.id.as_deref(), Some("9"));
    assert_periodic_inform(&env);
}

#[test]
fn prefixed_and_case_shifted_child_elements() {
    let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap:Body><cwmp:GetParameterNamesResponse><cwmp:ParameterList><cwmp:ParameterInfoStruct><cwmp:Name>Device.</cwmp:Name><cwmp:Writable>0</cwmp:Writable></cwmp:ParameterInfoStruct><parameterinfostruct><NAME>Device.X</NAME><writable>1</writable></parameterinfostruct></cwmp:ParameterList></cwmp:GetParameterNamesResponse></soap:Body></soap:Envelope>"#;
    let env = decode(xml.as_bytes()).unwrap();
    let Body::GetParameterNamesResponse(infos) = env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(infos.len(), 2);
    assert_eq!(
        (infos[0].name.as_str(), infos[0].writable),
        ("Device.", false)
    );
    assert_eq!(
        (infos[1].name.as_str(), infos[1].writable),
        ("Device.X", true)
    );
}

#[test]
fn bom_leading_white_space_and_standalone_declaration() {
    let mut xml = b"\xEF\xBB\xBF \r\n\t".to_vec();
    xml.extend_from_slice(
        inform_with(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
 <soap_env:Envelope
xmlns:soap_env="http://schemas.xmlsoap.org/soap/envelope/"
xmlns:cwmp="urn:dslforum-org:cwmp-1-2">"#,
            "soap_env:",
            "\n  <soap_env:Header>\n   <cwmp:ID soap_env:mustUnderstand=\"1\">1</cwmp:ID>\n  </soap_env:Header>\n  ",
            &format!("\n   <cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>\n  "),
        )
        .as_bytes(),
    );
    xml.extend_from_slice(b"\n");
    let env = decode(&xml).unwrap();
    assert_eq!(env.header.id.as_deref(), Some("1"));
    assert_periodic_inform(&env);
}

#[test]
fn xsi_type_variants() {
    let cases = [
        ("<Value>v</Value>", XsdType::String),
        (r#"<Value xsi:type="xsd:string">v</Value>"#, XsdType::String),
        (r#"<Value xsi:type="xs:string">v</Value>"#, XsdType::String),
        (r#"<Value xsi:type="string">v</Value>"#, XsdType::String),
        (
            r#"<Value xsi:type="XSD:UNSIGNEDINT">v</Value>"#,
            XsdType::UnsignedInt,
        ),
        (r#"<Value i:type="xsd:boolean">v</Value>"#, XsdType::Boolean),
        (
            r#"<Value xsi:type="xsd:dateTime">v</Value>"#,
            XsdType::DateTime,
        ),
        (r#"<Value xsi:type="xsd:base64">v</Value>"#, XsdType::Base64),
        (
            r#"<Value xsi:type="xsd:base64Binary">v</Value>"#,
            XsdType::Base64,
        ),
        (r#"<Value xsi:type = 'xsd:int' >v</Value>"#, XsdType::Int),
        (
            r#"<Value xmlns:x="urn:x" x:type="xsd:long">v</Value>"#,
            XsdType::Long,
        ),
        (r#"<Value xmlns:type="urn:x">v</Value>"#, XsdType::String),
        (r#"<Value xsi:type="xsd&#58;int">v</Value>"#, XsdType::Int),
        (r#"<Value xsi:type=xsd:int>v</Value>"#, XsdType::String),
        (
            r#"<Value xsi:type="xsd:hexBinary">v</Value>"#,
            XsdType::HexBinary,
        ),
        (r#"<Value xsi:type="xsd:long">v</Value>"#, XsdType::Long),
        (
            r#"<Value xsi:type="xsd:unsignedLong">v</Value>"#,
            XsdType::UnsignedLong,
        ),
        (r#"<Value xsi:type="xsd:int">v</Value>"#, XsdType::Int),
        (
            r#"<Value xsi:type="cwmp:IPAddress">v</Value>"#,
            XsdType::Other("IPAddress".into()),
        ),
        (r#"<Value xsi:type="">v</Value>"#, XsdType::String),
    ];
    for (element, expected) in cases {
        let (name, value, t) = gpv_value(element);
        assert_eq!(name, "Device.X", "names are trimmed");
        assert_eq!(value, "v");
        assert_eq!(t, expected, "{element}");
    }
}

#[test]
fn values_are_kept_exactly() {
    assert_eq!(gpv_value("<Value>  padded \n</Value>").1, "  padded \n");
    assert_eq!(gpv_value("<Value>   </Value>").1, "   ");
    assert_eq!(gpv_value("<Value/>").1, "");
    assert_eq!(gpv_value("<Value />").1, "");
    assert_eq!(
        gpv_value("<Value><![CDATA[<b>&amp; raw]]></Value>").1,
        "<b>&amp; raw"
    );
    assert_eq!(
        gpv_value("<Value>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;</Value>").1,
        "a & b <c> \"d\" 'e' AB"
    );
    assert_eq!(gpv_value("<Value>x<![CDATA[y]]>z</Value>").1, "xyz");
    assert_eq!(
        gpv_value("<Value>h\u{e9}llo \u{4e2d}</Value>").1,
        "h\u{e9}llo \u{4e2d}"
    );
    // An unknown entity is kept as sent rather than failing the envelope.
    assert_eq!(gpv_value("<Value>&nbsp;</Value>").1, "&nbsp;");
}

/// A GetParameterNames request with the given NextLevel text.
fn next_level(text: &str) -> Result<bool, DecodeError> {
    let xml = format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap:Header><cwmp:ID>5</cwmp:ID></soap:Header><soap:Body><cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath><NextLevel>{text}</NextLevel></cwmp:GetParameterNames></soap:Body></soap:Envelope>"#
    );
    match decode(xml.as_bytes())?.body {
        Body::GetParameterNames { next_level, .. } => Ok(next_level),
        other => panic!("{other:?}"),
    }
}

#[test]
fn booleans() {
    for t in ["1", "true", "True", "TRUE", " 1 ", "\n true\t"] {
        assert_eq!(next_level(t), Ok(true), "{t:?}");
    }
    for t in ["0", "false", "False", "FALSE", " 0 ", ""] {
        assert_eq!(next_level(t), Ok(false), "{t:?}");
    }
    match next_level("yes") {
        Err(DecodeError::InvalidArguments {
            method,
            id,
            version,
            ..
        }) => {
            assert_eq!(method, "GetParameterNames");
            assert_eq!(id.as_deref(), Some("5"));
            assert_eq!(version, CwmpVersion::V1_2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn numbers_tolerate_white_space_and_reject_garbage() {
    let response = |inner: &str| {
        decode(
            format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Body><cwmp:AddObjectResponse>{inner}</cwmp:AddObjectResponse></s:Body></s:Envelope>"#
            )
            .as_bytes(),
        )
    };
    assert_eq!(
        response("<InstanceNumber>\n 12 \n</InstanceNumber><Status> 0</Status>")
            .unwrap()
            .body,
        Body::AddObjectResponse {
            instance_number: 12,
            status: 0
        }
    );
    assert_eq!(
        response("<InstanceNumber></InstanceNumber><Status/>")
            .unwrap()
            .body,
        Body::AddObjectResponse {
            instance_number: 0,
            status: 0
        }
    );
    let err = response("<InstanceNumber>twelve</InstanceNumber><Status>0</Status>").unwrap_err();
    assert!(
        matches!(&err, DecodeError::InvalidArguments { method, message, .. }
            if method == "AddObjectResponse" && message.contains("InstanceNumber")),
        "{err:?}"
    );
    assert_eq!(err.acs_fault().code, 8003);
    // Out of range for the field (Status is a u8).
    assert!(matches!(
        response("<InstanceNumber>1</InstanceNumber><Status>300</Status>"),
        Err(DecodeError::InvalidArguments { .. })
    ));
}

#[test]
fn arrays_with_and_without_array_type() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><cwmp:GetParameterValues><ParameterNames soap-enc:arrayType="xsd:string[7]"><string>A.</string><string> B.C </string></ParameterNames></cwmp:GetParameterValues></s:Body></s:Envelope>"#;
    assert_eq!(
        decode(xml.as_bytes()).unwrap().body,
        Body::GetParameterValues {
            names: vec!["A.".into(), "B.C".into()]
        }
    );
    let xml = xml.replace(r#" soap-enc:arrayType="xsd:string[7]""#, "");
    assert_eq!(
        decode(xml.as_bytes()).unwrap().body,
        Body::GetParameterValues {
            names: vec!["A.".into(), "B.C".into()]
        }
    );
    for empty_event in [
        "<Event/>",
        "<Event />",
        "<Event></Event>",
        r#"<Event soap_enc:arrayType="cwmp:EventStruct[0]" />"#,
        r#"<Event soap-enc:arrayType="cwmp:EventStruct[3]">
        </Event>"#,
    ] {
        let args = INFORM_ARGS.replace(
            "<Event><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event>",
            empty_event,
        );
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap_enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Body><cwmp:Inform>{args}</cwmp:Inform></s:Body></s:Envelope>"#
        );
        let Body::Inform(inform) = decode(xml.as_bytes()).unwrap().body else {
            panic!()
        };
        assert!(inform.events.is_empty(), "{empty_event}");
        assert_eq!(inform.parameters.len(), 1);
    }
}

#[test]
fn missing_id_and_missing_header() {
    let with_empty_header = inform_with(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">"#,
        "s:",
        "<s:Header></s:Header>",
        &format!("<cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>"),
    );
    let env = decode(with_empty_header.as_bytes()).unwrap();
    assert_eq!(env.header, cwmp::Header::default());
    assert_periodic_inform(&env);

    let without_header = inform_with(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">"#,
        "s:",
        "",
        &format!("<cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>"),
    );
    let env = decode(without_header.as_bytes()).unwrap();
    assert_eq!(env.header.id, None);
    assert_periodic_inform(&env);
}

#[test]
fn header_fields_from_old_and_new_cpes() {
    // CWMP 1.0 CPE: NoMoreRequests, mustUnderstand attributes everywhere.
    let xml = inform_with(
        r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">"#,
        "SOAP-ENV:",
        r#"<SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">100</cwmp:ID><cwmp:NoMoreRequests SOAP-ENV:mustUnderstand="0"> 1 </cwmp:NoMoreRequests></SOAP-ENV:Header>"#,
        &format!("<cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>"),
    );
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.version, CwmpVersion::V1_0);
    assert_eq!(env.header.id.as_deref(), Some("100"));
    assert_eq!(env.header.no_more_requests, Some(true));
    assert_eq!(env.header.hold_requests, None);

    // CWMP 1.4 CPE with SessionTimeout and SupportedCWMPVersions.
    let xml = inform_with(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-4">"#,
        "soap:",
        r#"<soap:Header><cwmp:ID soap:mustUnderstand="1">1</cwmp:ID><cwmp:SessionTimeout soap:mustUnderstand="0"> 60 </cwmp:SessionTimeout><cwmp:SupportedCWMPVersions soap:mustUnderstand="0">1.0,1.1,1.2,1.3,1.4</cwmp:SupportedCWMPVersions></soap:Header>"#,
        &format!("<cwmp:Inform>{INFORM_ARGS}</cwmp:Inform>"),
    );
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.version, CwmpVersion::V1_4);
    assert_eq!(env.header.session_timeout, Some(60));
    assert_eq!(
        env.header.supported_cwmp_versions.as_deref(),
        Some("1.0,1.1,1.2,1.3,1.4")
    );

    // The ACS side: HoldRequests and UseCWMPVersion round trip.
    let answer = Envelope {
        version: CwmpVersion::V1_4,
        header: cwmp::Header {
            id: Some("1".into()),
            hold_requests: Some(true),
            use_cwmp_version: Some("1.4".into()),
            ..Default::default()
        },
        body: Body::InformResponse { max_envelopes: 1 },
    };
    let text = String::from_utf8(encode(&answer)).unwrap();
    assert!(
        text.contains(r#"<cwmp:HoldRequests soap-env:mustUnderstand="1">1</cwmp:HoldRequests>"#)
    );
    assert_eq!(decode(text.as_bytes()).unwrap(), answer);
}

#[test]
fn header_is_omitted_when_empty() {
    let env = Envelope {
        version: CwmpVersion::V1_2,
        header: cwmp::Header::default(),
        body: Body::GetRPCMethods,
    };
    let text = String::from_utf8(encode(&env)).unwrap();
    assert!(!text.contains("Header"), "{text}");
    assert!(
        text.contains("<soap-env:Body><cwmp:GetRPCMethods></cwmp:GetRPCMethods></soap-env:Body>")
    );
}

#[test]
fn soap_fault_with_set_parameter_values_faults() {
    let xml = r#"<?xml version="1.0"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-1">
 <SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">spv-1</cwmp:ID></SOAP-ENV:Header>
 <SOAP-ENV:Body>
  <SOAP-ENV:Fault>
   <faultcode>SOAP-ENV:Client</faultcode>
   <faultstring>CWMP fault</faultstring>
   <detail>
    <cwmp:Fault>
     <FaultCode> 9003 </FaultCode>
     <FaultString>Invalid arguments</FaultString>
     <SetParameterValuesFault>
      <ParameterName>Device.A</ParameterName>
      <FaultCode>9007</FaultCode>
      <FaultString>Invalid parameter value</FaultString>
     </SetParameterValuesFault>
     <SetParameterValuesFault>
      <ParameterName> Device.B </ParameterName>
      <FaultCode>9008</FaultCode>
      <FaultString>Attempt to set a non-writable parameter</FaultString>
     </SetParameterValuesFault>
    </cwmp:Fault>
   </detail>
  </SOAP-ENV:Fault>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.version, CwmpVersion::V1_1);
    assert_eq!(env.header.id.as_deref(), Some("spv-1"));
    let Body::Fault(fault) = &env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(fault.faultcode, "Client");
    assert_eq!(fault.faultstring, "CWMP fault");
    assert_eq!(fault.detail.code, 9003);
    assert_eq!(fault.detail.string, "Invalid arguments");
    let spv: Vec<(&str, u32)> = fault
        .detail
        .set_parameter_values_faults
        .iter()
        .map(|f| (f.parameter_name.as_str(), f.code))
        .collect();
    assert_eq!(spv, [("Device.A", 9007), ("Device.B", 9008)]);

    let text = String::from_utf8(encode(&env)).unwrap();
    assert!(text.contains("<soap-env:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>9003</FaultCode>"), "{text}");
    assert_eq!(decode(text.as_bytes()).unwrap(), env);
}

#[test]
fn fault_code_prefixes_are_dropped() {
    for code in ["soap:Server", "SOAP-ENV:Server", "Server", " s:Server "] {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>{code}</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault xmlns:cwmp="urn:dslforum-org:cwmp-1-3"><FaultCode>9002</FaultCode><FaultString>Internal error</FaultString></cwmp:Fault></detail></s:Fault></s:Body></s:Envelope>"#
        );
        let env = decode(xml.as_bytes()).unwrap();
        assert_eq!(
            env.version,
            CwmpVersion::V1_3,
            "namespace found in the detail"
        );
        let Body::Fault(fault) = env.body else {
            panic!()
        };
        assert_eq!(fault.faultcode, "Server");
        assert_eq!(fault.detail.code, 9002);
    }
}

#[test]
fn unknown_method_keeps_id_and_version() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-1"><s:Header><cwmp:ID s:mustUnderstand="1">77</cwmp:ID></s:Header><s:Body><cwmp:X_ACME_Frobnicate><Level>9</Level></cwmp:X_ACME_Frobnicate></s:Body></s:Envelope>"#;
    let err = decode(xml.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownMethod {
            method: "X_ACME_Frobnicate".into(),
            id: Some("77".into()),
            version: CwmpVersion::V1_1,
        }
    );
    assert_eq!(err.id(), Some("77"));
    assert_eq!(err.version(), CwmpVersion::V1_1);
    assert_eq!(err.acs_fault().code, 8000);
}

#[test]
fn unknown_child_elements_are_skipped() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Header><X_Vendor>1</X_Vendor><cwmp:ID>1</cwmp:ID></s:Header><s:Body><cwmp:AddObjectResponse><X_Extra><Deep><Deeper>1</Deeper></Deep></X_Extra><InstanceNumber>3</InstanceNumber><Status>1</Status><X_More/></cwmp:AddObjectResponse><s:Trailer/></s:Body></s:Envelope>"#;
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(
        env.body,
        Body::AddObjectResponse {
            instance_number: 3,
            status: 1
        }
    );
}

#[test]
fn method_names_tolerate_case() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><cwmp:rebootresponse xmlns:cwmp="urn:dslforum-org:cwmp-1-0"/></s:Body></s:Envelope>"#;
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(env.body, Body::RebootResponse);
    assert_eq!(env.version, CwmpVersion::V1_0);
}

#[test]
fn change_du_state_operations_by_element_name_or_xsi_type() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Body><cwmp:ChangeDUState><Operations><InstallOpStruct><URL>http://x/du.ipk</URL><UUID>u-1</UUID><Username/><Password/><ExecutionEnvRef>Device.SoftwareModules.ExecEnv.1.</ExecutionEnvRef></InstallOpStruct><OperationStruct xsi:type="cwmp:UninstallOpStruct"><UUID>u-2</UUID><Version>2</Version><ExecutionEnvRef/></OperationStruct></Operations><CommandKey>ck</CommandKey></cwmp:ChangeDUState></s:Body></s:Envelope>"#;
    let env = decode(xml.as_bytes()).unwrap();
    assert_eq!(
        env.body,
        Body::ChangeDUState {
            operations: vec![
                cwmp::DuOperation::Install {
                    url: "http://x/du.ipk".into(),
                    uuid: "u-1".into(),
                    username: String::new(),
                    password: String::new(),
                    execution_env_ref: "Device.SoftwareModules.ExecEnv.1.".into(),
                },
                cwmp::DuOperation::Uninstall {
                    uuid: "u-2".into(),
                    version: "2".into(),
                    execution_env_ref: String::new(),
                },
            ],
            command_key: "ck".into(),
        }
    );
}

#[test]
fn broken_input_gives_errors_not_panics() {
    let good = gpv_response(r#"<Value xsi:type="xsd:string">v</Value>"#);
    // Every truncation of a valid envelope is malformed.
    for cut in 0..good.len() {
        if !good.is_char_boundary(cut) {
            continue;
        }
        match decode(&good.as_bytes()[..cut]) {
            Err(DecodeError::Malformed(_)) => {}
            other => panic!("truncated at {cut}: {other:?}"),
        }
    }
    let malformed = [
        &b""[..],
        b"   ",
        b"\xEF\xBB\xBF",
        b"garbage",
        b"\x00\x01\x02\xff\xfe",
        b"<html><body>502 Bad Gateway</body></html>",
        b"<Envelope/>",
        b"<Envelope><Header/></Envelope>",
        b"<Envelope><Body/></Envelope>",
        b"<Envelope><Body>   </Body></Envelope>",
        b"<Envelope><Body><Inform></Body></Envelope>",
        b"<Envelope><Body><Inform></Informx></Body></Envelope>",
        b"</Envelope>",
        b"text<Envelope><Body><Inform/></Body></Envelope>",
    ];
    for input in malformed {
        assert!(
            matches!(decode(input), Err(DecodeError::Malformed(_))),
            "{:?} gave {:?}",
            String::from_utf8_lossy(input),
            decode(input)
        );
    }
}

#[test]
fn trailing_bytes_after_the_envelope_are_ignored() {
    // Some CPEs count the C string terminator in Content-Length.
    for tail in [&b"\0"[..], b"\r\n", b"<", b"\x00\x00 junk"] {
        let mut xml = gpv_response("<Value>v</Value>").into_bytes();
        xml.extend_from_slice(tail);
        assert!(decode(&xml).is_ok(), "{tail:?}");
    }
}

#[test]
fn deep_nesting_is_rejected_without_recursion() {
    let depth = 100_000;
    let mut xml = String::from("<Envelope><Body><Inform><X_Deep>");
    xml.push_str(&"<a>".repeat(depth));
    xml.push_str(&"</a>".repeat(depth));
    xml.push_str("</X_Deep></Inform></Body></Envelope>");
    assert!(matches!(
        decode(xml.as_bytes()),
        Err(DecodeError::Malformed(m)) if m.contains("deeper")
    ));

    // Moderate nesting inside an unknown element is fine.
    let mut xml = String::from("<Envelope><Body><Inform><X_Deep>");
    xml.push_str(&"<a>".repeat(50));
    xml.push_str(&"</a>".repeat(50));
    xml.push_str("</X_Deep></Inform></Body></Envelope>");
    assert!(decode(xml.as_bytes()).is_ok());
}

#[test]
fn large_envelopes_decode_in_linear_time() {
    // 20,000 parameters (about 2 MB): would take far too long if anything were quadratic.
    let mut xml = String::from(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Body><cwmp:GetParameterValuesResponse><ParameterList>"#,
    );
    for i in 0..20_000 {
        xml.push_str(&format!(
            "<ParameterValueStruct><Name>Device.X.{i}.Value</Name><Value>{}</Value></ParameterValueStruct>",
            "v".repeat(i % 50)
        ));
    }
    xml.push_str("</ParameterList></cwmp:GetParameterValuesResponse></s:Body></s:Envelope>");
    let start = std::time::Instant::now();
    let env = decode(xml.as_bytes()).unwrap();
    let Body::GetParameterValuesResponse(list) = &env.body else {
        panic!()
    };
    assert_eq!(list.len(), 20_000);
    assert_eq!(decode(&encode(&env)).unwrap(), env);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn escaping_on_output() {
    let env = Envelope {
        version: CwmpVersion::V1_2,
        header: cwmp::Header {
            id: Some("a&b<c>\"d\"".into()),
            ..Default::default()
        },
        body: Body::SetParameterValues {
            parameters: vec![cwmp::ParameterValue {
                name: "Device.X".into(),
                value: "<script>&amp;\"quoted\" 'single'\r\n".into(),
                xsd_type: XsdType::Other("X_Weird\"Type".into()),
            }],
            parameter_key: "k&".into(),
        },
    };
    let text = String::from_utf8(encode(&env)).unwrap();
    assert!(text.contains("a&amp;b&lt;c&gt;&quot;d&quot;"));
    assert!(text.contains("&lt;script&gt;&amp;amp;&quot;quoted&quot; 'single'&#13;\n"));
    assert!(text.contains(r#"xsi:type="cwmp:X_Weird&quot;Type""#));
    assert_eq!(decode(text.as_bytes()).unwrap(), env);
}

#[test]
fn every_character_that_needs_escaping_is_escaped_alone() {
    for special in ['&', '<', '>', '"', '\r'] {
        let value = format!("plain text {special} more");
        let env = Envelope {
            version: CwmpVersion::V1_2,
            header: Default::default(),
            body: Body::SetParameterValues {
                parameters: vec![cwmp::ParameterValue {
                    name: "Device.X".into(),
                    value: value.clone(),
                    xsd_type: XsdType::Other(format!("X_\n\t{special}Y")),
                }],
                parameter_key: String::new(),
            },
        };
        let text = String::from_utf8(encode(&env)).unwrap();
        assert!(
            !text.contains(&value),
            "{special:?} is written escaped: {text}"
        );
        assert_eq!(decode(text.as_bytes()).unwrap(), env, "{special:?}");
    }
}
