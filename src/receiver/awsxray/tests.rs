//! Config: Go's defaults and the errors for what Go refuses.

use super::*;

fn parse(yaml: &str) -> XrayReceiverConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

#[test]
fn defaults_are_gos() {
    // factory.go createDefaultConfig and internal/aws/proxy DefaultConfig (localhost since the
    // component.UseLocalHostAsDefaultHost gate became stable).
    let c = parse("{}");
    assert_eq!(c.endpoint, "localhost:2000");
    assert_eq!(c.transport, "udp");
    assert_eq!(c.proxy_server.endpoint, "localhost:2000");
    assert_eq!(c.proxy_server.service_name, "xray");
    assert!(!c.proxy_server.local_mode);
    assert!(c.proxy_server.region.is_empty() && c.proxy_server.role_arn.is_empty());
    let (errs, warns) = c.validate("receivers::awsxray");
    assert!(errs.is_empty() && warns.is_empty(), "{errs:?} {warns:?}");
}

#[test]
fn the_adot_config_parses() {
    let c = parse("endpoint: 0.0.0.0:2000\ntransport: udp\n");
    assert_eq!(c.endpoint, "0.0.0.0:2000");
    assert!(c.validate("receivers::awsxray").0.is_empty());
}

#[test]
fn every_go_key_is_accepted() {
    // receiver/awsxrayreceiver/testdata/config.yaml (awsxray/proxy_server).
    let c = parse(
        "endpoint: 0.0.0.0:1234\ntransport: udp\nproxy_server:\n  endpoint: 0.0.0.0:1234\n  proxy_address: https://proxy.proxy.com\n  tls:\n    insecure: true\n    server_name_override: something\n  region: us-west-1\n  role_arn: arn:aws:iam::123456789012:role/awesome_role\n  aws_endpoint: https://another.aws.endpoint.com\n  local_mode: true\n  service_name: xray\n",
    );
    assert_eq!(c.proxy_server.region, "us-west-1");
    assert_eq!(c.proxy_server.aws_endpoint, "https://another.aws.endpoint.com");
    assert!(c.proxy_server.local_mode);
    let (errs, warns) = c.validate("receivers::awsxray");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(warns.len(), 1, "proxy_address is accepted, unused: {warns:?}");
}

#[test]
fn a_transport_other_than_udp_is_an_error_naming_the_key() {
    let (errs, _) = parse("transport: tcp").validate("receivers::awsxray");
    assert_eq!(errs.len(), 1, "{errs:?}");
    let text = errs[0].to_string();
    assert!(text.contains("receivers::awsxray::transport"), "{text}");
    assert!(text.contains("only supports ingesting spans through UDP, provided: tcp"), "{text}");
}

#[test]
fn unknown_keys_are_errors() {
    assert!(serde_yaml_ng::from_str::<XrayReceiverConfig>("endpiont: x").is_err());
    assert!(serde_yaml_ng::from_str::<XrayReceiverConfig>("proxy_server: {regoin: x}").is_err());
}

#[test]
fn a_bad_aws_endpoint_is_an_error() {
    let (errs, _) = parse("proxy_server: {aws_endpoint: 'xray.local:443'}").validate("r");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].to_string().contains("r::proxy_server::aws_endpoint"), "{errs:?}");
}
