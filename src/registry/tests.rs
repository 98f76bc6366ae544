use super::*;
use serde_yaml_ng::Value;

fn id(s: &str) -> ComponentId {
    ComponentId::parse(s).expect("component id")
}

/// contrib v0.153: `resource_detection` is the type, `resourcedetection` its deprecated
/// alias; both parse to the same processor and both are listed by `oxidot components`.
#[test]
fn resource_detection_and_its_old_name_are_the_same_processor() {
    let v: Value = serde_yaml_ng::from_str("detectors: [env, system]").unwrap();
    let (new, new_warns) = processor(&id("resource_detection")).unwrap().parse(&id("resource_detection"), &v).unwrap();
    let (old, old_warns) =
        processor(&id("resourcedetection/ecs")).unwrap().parse(&id("resourcedetection/ecs"), &v).unwrap();
    assert_eq!(format!("{new:?}"), format!("{old:?}"));
    assert!(new_warns.is_empty(), "{new_warns:?}");
    assert_eq!(old_warns, vec!["Using deprecated alias resourcedetection; use resource_detection instead"]);
    assert!(format!("{new:?}").starts_with("ResourceDetectionConfig"), "{new:?}");
    for t in ["resource_detection", "resourcedetection"] {
        assert!(supports_signal(Kind::Processor, t, Signal::Logs), "{t}");
    }
    let listed = components_yaml();
    assert!(listed.contains("  - name: resource_detection\n"), "{listed}");
    assert!(listed.contains("  - name: resourcedetection\n"), "{listed}");
}

/// Every type name is listed once per kind.
#[test]
fn type_names_are_unique_per_kind() {
    let mut seen = std::collections::HashSet::new();
    for (t, _) in types() {
        assert!(seen.insert((t.kind, t.name)), "{:?} {} twice", t.kind, t.name);
    }
}

/// README's components table is generated from the table: keep them equal.
#[test]
fn readme_components_table_is_the_registry() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = components_markdown();
    if std::env::var_os("UPDATE_README").is_some() && !readme.contains(&table) {
        eprintln!("{table}");
    }
    assert!(readme.contains(&table), "README.md should contain, verbatim:\n{table}");
}
