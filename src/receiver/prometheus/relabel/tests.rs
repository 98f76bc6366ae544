//! prometheus/model/relabel/relabel_test.go `TestRelabel` and `TestRelabelValidate`, ported:
//! each case's rules written as the YAML a user would write.

use super::*;

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    let raw: Vec<RelabelConfigRaw> = serde_yaml_ng::from_str(yaml).unwrap();
    raw.iter().map(|r| RelabelConfig::from_raw(r).unwrap()).collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// Runs one case: `None` = dropped.
fn run(input: &[(&str, &str)], yaml: &str) -> Option<Labels> {
    let mut lb = labels(input);
    process(&mut lb, &rules(yaml)).then_some(lb)
}

#[test]
fn replace_with_braced_group() {
    let out = run(
        &[("a", "foo"), ("b", "bar"), ("c", "baz")],
        "[{source_labels: [a], regex: 'f(.*)', target_label: d, separator: ';', replacement: 'ch${1}-ch${1}', action: replace}]",
    );
    assert_eq!(out, Some(labels(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")])));
}

#[test]
fn chained_replaces_see_earlier_results() {
    let out = run(
        &[("a", "foo"), ("b", "bar"), ("c", "baz")],
        r#"
- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, separator: ';', replacement: 'b${1}${2}m'}
- {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, separator: ';', replacement: '$1$2$2$3'}
"#,
    );
    assert_eq!(out, Some(labels(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")])));
}

#[test]
fn drop_and_keep() {
    assert_eq!(
        run(
            &[("a", "foo")],
            "[{source_labels: [a], regex: '.*o.*', action: drop}, {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch$1-ch$1'}]"
        ),
        None
    );
    assert_eq!(run(&[("a", "foo"), ("b", "bar")], "[{source_labels: [a], regex: '.*o.*', action: drop}]"), None);
    assert_eq!(
        run(&[("a", "foo")], "[{source_labels: [a], regex: no-match, action: drop}]"),
        Some(labels(&[("a", "foo")]))
    );
    // Anchored: "f|o" matches neither whole "foo".
    assert_eq!(
        run(&[("a", "foo")], "[{source_labels: [a], regex: 'f|o', action: drop}]"),
        Some(labels(&[("a", "foo")]))
    );
    assert_eq!(run(&[("a", "foo")], "[{source_labels: [a], regex: no-match, action: keep}]"), None);
    assert_eq!(
        run(&[("a", "foo")], "[{source_labels: [a], regex: 'f.*', action: keep}]"),
        Some(labels(&[("a", "foo")]))
    );
}

#[test]
fn replace_partial_match_and_no_match() {
    assert_eq!(
        run(&[("a", "abc")], "[{source_labels: [a], regex: '.*(b).*', target_label: d, replacement: '$1'}]"),
        Some(labels(&[("a", "abc"), ("d", "b")]))
    );
    // No match: no replacement.
    assert_eq!(
        run(&[("a", "boo")], "[{source_labels: [a], regex: f, target_label: b, replacement: bar}]"),
        Some(labels(&[("a", "boo")]))
    );
}

#[test]
fn blank_replacement_deletes_the_label() {
    assert_eq!(
        run(
            &[("a", "foo"), ("f", "baz")],
            "[{source_labels: [a], regex: '(f).*', target_label: '$1', replacement: '$2'}]"
        ),
        Some(labels(&[("a", "foo")]))
    );
}

#[test]
fn hashmod_matches_prometheus() {
    assert_eq!(
        run(
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            "[{source_labels: [c], target_label: d, separator: ';', action: hashmod, modulus: 1000}]"
        ),
        Some(labels(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")]))
    );
    assert_eq!(
        run(&[("a", "foo\nbar")], "[{source_labels: [a], target_label: b, action: hashmod, modulus: 1000}]"),
        Some(labels(&[("a", "foo\nbar"), ("b", "734")]))
    );
}

#[test]
fn labelmap() {
    assert_eq!(
        run(
            &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            "[{regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}]"
        ),
        Some(labels(&[("a", "foo"), ("b1", "bar"), ("b2", "baz"), ("bar_b1", "bar"), ("bar_b2", "baz")]))
    );
    assert_eq!(
        run(
            &[("a", "foo"), ("__meta_my_bar", "aaa"), ("__meta_my_baz", "bbb"), ("__meta_other", "ccc")],
            "[{regex: '__meta_(my.*)', replacement: '${1}', action: labelmap}]"
        ),
        Some(labels(&[
            ("a", "foo"),
            ("__meta_my_bar", "aaa"),
            ("__meta_my_baz", "bbb"),
            ("__meta_other", "ccc"),
            ("my_bar", "aaa"),
            ("my_baz", "bbb")
        ]))
    );
}

#[test]
fn replace_target_from_groups() {
    assert_eq!(
        run(
            &[("a", "some-name-value")],
            "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', action: replace, replacement: '${2}', target_label: '${1}'}]"
        ),
        Some(labels(&[("a", "some-name-value"), ("name", "value")]))
    );
    // Replacement of a missing group is empty: nothing set.
    assert_eq!(
        run(
            &[("a", "some-name-value")],
            "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', action: replace, replacement: '${3}', target_label: '${1}'}]"
        ),
        Some(labels(&[("a", "some-name-value")]))
    );
    // A target of a missing group is empty: invalid, nothing set.
    assert_eq!(
        run(
            &[("a", "some-name-0")],
            r#"
- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', action: replace, replacement: '${1}', target_label: '${3}'}
- {source_labels: [a], regex: 'some-([^-]+)(-[^,]+)', action: replace, replacement: '${1}', target_label: '${3}'}
"#
        ),
        Some(labels(&[("a", "some-name-0")]))
    );
}

#[test]
fn real_life_sd_tags() {
    let out = run(
        &[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")],
        r#"
- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*', action: replace, replacement: '${1}', target_label: __metrics_path__}
- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', action: replace, replacement: '${1}', target_label: job}
- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', action: replace, replacement: '${2}', target_label: '${1}'}
"#,
    );
    assert_eq!(
        out,
        Some(labels(&[
            ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
            ("__metrics_path__", "/secret"),
            ("job", "some-job"),
            ("foo", "bar")
        ]))
    );
}

#[test]
fn issue_12283_labeldrop_then_replace_then_keep() {
    let out = run(
        &[
            ("__meta_kubernetes_pod_container_port_name", "foo"),
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
        ],
        r#"
- {regex: '^__meta_kubernetes_pod_container_port_name$', action: labeldrop}
- {source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port], regex: '(.+)', action: replace, replacement: metrics, target_label: __meta_kubernetes_pod_container_port_name}
- {source_labels: [__meta_kubernetes_pod_container_port_name], regex: '^metrics$', action: keep}
"#,
    );
    assert_eq!(
        out,
        Some(labels(&[
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
            ("__meta_kubernetes_pod_container_port_name", "metrics")
        ]))
    );
}

#[test]
fn labelkeep_labeldrop_case_and_equal() {
    let input = [("a", "foo"), ("b1", "bar"), ("b2", "baz")];
    assert_eq!(run(&input, "[{regex: '(b.*)', action: labelkeep}]"), Some(labels(&[("b1", "bar"), ("b2", "baz")])));
    assert_eq!(run(&input, "[{regex: '(b.*)', action: labeldrop}]"), Some(labels(&[("a", "foo")])));
    assert_eq!(
        run(
            &[("foo", "bAr123Foo")],
            "[{source_labels: [foo], action: uppercase, target_label: foo_uppercase}, {source_labels: [foo], action: lowercase, target_label: foo_lowercase}]"
        ),
        Some(labels(&[("foo", "bAr123Foo"), ("foo_lowercase", "bar123foo"), ("foo_uppercase", "BAR123FOO")]))
    );
    let ports = [("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")];
    assert_eq!(
        run(&ports, "[{source_labels: [__tmp_port], action: keepequal, target_label: __port1}]"),
        Some(labels(&ports))
    );
    assert_eq!(run(&ports, "[{source_labels: [__tmp_port], action: dropequal, target_label: __port1}]"), None);
    assert_eq!(
        run(&ports, "[{source_labels: [__tmp_port], action: dropequal, target_label: __port2}]"),
        Some(labels(&ports))
    );
    assert_eq!(run(&ports, "[{source_labels: [__tmp_port], action: keepequal, target_label: __port2}]"), None);
}

#[test]
fn dot_matches_newline_and_utf8_names() {
    let input = [("a", "line1\nline2"), ("b", "bar"), ("c", "baz")];
    assert_eq!(
        run(&input, "[{source_labels: [a], regex: 'line1.*line2', target_label: d, replacement: 'match${1}'}]"),
        Some(labels(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("d", "match")]))
    );
    assert_eq!(
        run(
            &input,
            "[{source_labels: [a], regex: 'line1.*line2', target_label: 'utf-8.label${1}', replacement: 'match${1}'}]"
        ),
        Some(labels(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("utf-8.label", "match")]))
    );
    assert_eq!(
        run(
            &input,
            r#"
- {source_labels: [a], regex: '(line1).*(?<second>line2)', target_label: 'label1_${1}', replacement: 'val_${second}'}
- {source_labels: [a], regex: '(line1).*(?<second>line2)', target_label: 'label2_$1', replacement: 'val_$second'}
"#
        ),
        Some(labels(&[
            ("a", "line1\nline2"),
            ("b", "bar"),
            ("c", "baz"),
            ("label1_line1", "val_line2"),
            ("label2_line1", "val_line2")
        ]))
    );
}

#[test]
fn default_action_is_replace_with_dollar_one() {
    // `{source_labels: [abc], target_label: cde}`: regex (.*), replacement $1.
    assert_eq!(
        run(&[("abc", "def")], "[{source_labels: [abc], target_label: cde}, {replacement: static, target_label: xyz}]"),
        Some(labels(&[("abc", "def"), ("cde", "def"), ("xyz", "static")]))
    );
}

#[test]
fn validate_errors_as_prometheus() {
    let err = |yaml: &str| {
        let raw: RelabelConfigRaw = serde_yaml_ng::from_str(yaml).unwrap();
        RelabelConfig::from_raw(&raw).err().unwrap_or_default()
    };
    assert!(err("{action: replace}").contains("requires 'target_label' value"), "{}", err("{action: replace}"));
    assert!(err("{action: lowercase}").contains("requires 'target_label' value"));
    assert_eq!(
        err("{action: hashmod, target_label: x}"),
        "relabel configuration for hashmod requires non-zero modulus"
    );
    assert_eq!(err("{action: bogus}"), "unknown relabel action \"bogus\"");
    assert_eq!(
        err("{action: labeldrop, regex: x, target_label: y}"),
        "labeldrop action requires only 'regex', and no other fields"
    );
    assert_eq!(
        err("{action: keepequal, source_labels: [a], target_label: b, regex: x}"),
        "keepequal action requires only 'source_labels' and `target_label`, and no other fields"
    );
    assert_eq!(
        err("{action: uppercase, target_label: b, replacement: x}"),
        "'replacement' can not be set for uppercase action"
    );
    assert!(err("{regex: '(', target_label: b}").starts_with("invalid regex \"(\""));
    // Valid under UTF-8 names (TestRelabelValidate).
    assert_eq!(err("{action: lowercase, target_label: '${3}'}"), "");
    assert_eq!(
        err("{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '0${3}'}"),
        ""
    );
    assert_eq!(err("{regex: '__meta_(.+)', action: labelmap, replacement: '${1}'}"), "");
    // Actions are case-insensitive, as Action.UnmarshalYAML lower-cases them.
    assert_eq!(err("{action: Keep, source_labels: [a]}"), "");
}
