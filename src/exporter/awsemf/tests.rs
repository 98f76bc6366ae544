//! Config cases of awsemfexporter config_test.go and factory_test.go.

use super::*;

fn parse(yaml: &str) -> EmfConfig {
    serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

#[test]
fn defaults_are_go_factory_and_session_defaults() {
    let c = EmfConfig::default();
    assert_eq!(c.dimension_rollup_option, "ZeroAndSingleDimensionRollup");
    assert_eq!((c.version.as_str(), c.output_destination.as_str()), ("1", "cloudwatch"));
    assert_eq!((c.max_retries, c.request_timeout_seconds, c.num_workers), (2, 30, 8));
    assert!(
        !c.retain_initial_value_of_delta_metric && !c.detailed_metrics && !c.resource_to_telemetry_conversion.enabled
    );
    let (e, w) = c.validate("exporters::awsemf");
    assert!(e.is_empty() && w.is_empty(), "{e:?} {w:?}");
}

#[test]
fn the_adot_ecs_configs_parse_and_validate() {
    for y in [
        "namespace: ECS/AWSOTel/Application\nlog_group_name: '/aws/ecs/application/metrics'\n",
        "namespace: ECS/AWSOTel/Application\nlog_group_name: '/aws/ecs/application/metrics'\n\
         dimension_rollup_option: NoDimensionRollup\nresource_to_telemetry_conversion:\n  enabled: true\n",
    ] {
        let (e, w) = parse(y).validate("exporters::awsemf");
        assert!(e.is_empty() && w.is_empty(), "{e:?} {w:?}");
    }
}

#[test]
fn load_config_as_config_test_go() {
    // testdata/config.yaml awsemf/1 and resource_attr_to_label.
    let c = parse(
        "region: us-west-2\nrole_arn: arn:aws:iam::123456789:role/monitoring-EKS-NodeInstanceRole\n\
         log_retention: 7\ntags: {sampleKey: sampleValue}\n",
    );
    assert_eq!((c.region.as_str(), c.log_retention), ("us-west-2", 7));
    assert_eq!(c.tags.get("sampleKey").map(String::as_str), Some("sampleValue"));
    let c = parse("resource_to_telemetry_conversion: {enabled: true}\n");
    assert!(c.resource_to_telemetry_conversion.enabled);
}

#[test]
fn invalid_values_are_errors_naming_the_key() {
    let errs = |y: &str| parse(y).validate("exporters::awsemf").0.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    assert!(
        errs("log_retention: 4")[0].starts_with("exporters::awsemf::log_retention: invalid value for retention policy")
    );
    assert!(errs("dimension_rollup_option: Some")[0].starts_with("exporters::awsemf::dimension_rollup_option: "));
    assert!(errs("output_destination: file")[0].starts_with("exporters::awsemf::output_destination: "));
    assert!(errs("version: '2'")[0].starts_with("exporters::awsemf::version: "));
    assert!(errs("endpoint: logs.us-east-1.amazonaws.com")[0].starts_with("exporters::awsemf::endpoint: "));
    assert!(errs("metric_declarations: [{metric_name_selectors: ['(']}]")[0]
        .starts_with("exporters::awsemf::metric_declarations::0: "));
    assert!(errs("resource_to_telemetry_conversion: {included: ['*']}")[0]
        .starts_with("exporters::awsemf::resource_to_telemetry_conversion::included: "));
    assert!(serde_yaml_ng::from_str::<EmfConfig>("namespce: x").is_err());
    // output_destination is case-insensitive, as Go's EqualFold.
    assert!(errs("output_destination: StdOut").is_empty());
}

#[test]
fn what_go_drops_with_a_warning_is_warned_and_dropped() {
    let c = parse(
        "metric_declarations:\n- {dimensions: [[a]]}\n- {metric_name_selectors: [x], label_matchers: [{label_names: [a]}]}\n\
         - {metric_name_selectors: [y], dimensions: [[a, b, c, d, e, f, g, h, i, j, k]]}\n\
         metric_descriptors:\n- {metric_name: m, unit: Bytes}\n- {metric_name: n, unit: Furlongs}\n- {unit: Count}\n",
    );
    let (e, w) = c.validate("exporters::awsemf");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(w.len(), 4, "{w:?}");
    let o = c.translate_options();
    assert_eq!(o.declarations.len(), 1);
    assert!(o.declarations[0].dimensions.is_empty());
    assert_eq!(o.descriptors.keys().collect::<Vec<_>>(), ["m"]);
}

#[test]
fn keys_oxidot_does_not_act_on_are_named_in_one_warning() {
    let c = parse(
        "num_workers: 4\nno_verify_ssl: true\nproxy_address: http://p:3128\nresource_arn: arn:x\nexternal_id: e\n\
         profile: p\nshared_credentials_file: [/f]\ncertificate_file_path: /c\nimds_retries: 1\n\
         middleware: agenthealth/metrics\nadd_entity: true\neks_fargate_container_insights_enabled: true\n",
    );
    let (e, w) = c.validate("exporters::awsemf");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(
        w,
        ["exporters::awsemf: accepted but not acted on by oxidot: num_workers, no_verify_ssl, proxy_address, \
          resource_arn, external_id, profile, shared_credentials_file, certificate_file_path, imds_retries, \
          middleware, add_entity"]
    );
}
