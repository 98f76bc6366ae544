//! What can be checked of the deployment here (no Docker engine, no Terraform providers): the
//! compose file, collector configs, dashboards, images and the Terraform.

mod support;

use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};
use support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(p: &str) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join(p)).unwrap()).unwrap()
}

#[test]
fn compose_parses_and_everything_it_mounts_or_builds_exists() {
    let c = yaml("docker-compose.yml");
    let services = c["services"].as_mapping().unwrap();
    let names: Vec<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    for s in ["app", "collector", "prometheus", "minio", "minio-init", "loki", "xray-daemon", "grafana", "locust"] {
        assert!(names.contains(&s), "service {s} missing: {names:?}");
    }
    assert_eq!(c["services"]["locust"]["profiles"][0].as_str(), Some("load"));
    // The gateway tier: its own profile, two replicas behind one DNS name, and the collector's
    // config for it mounted next to the default one.
    assert_eq!(c["services"]["gateway"]["profiles"][0].as_str(), Some("gateway"));
    assert_eq!(c["services"]["gateway"]["deploy"]["replicas"].as_u64(), Some(2));
    assert_eq!(c["services"]["kafka"]["profiles"][0].as_str(), Some("gateway"));
    let gw = yaml("config/local-gateway.yaml");
    assert_eq!(gw["receivers"]["kafka"]["brokers"][0].as_str(), Some("kafka:9092"));
    let side = yaml("config/local-sidecar-kafka.yaml");
    assert_eq!(side["exporters"]["kafka"]["brokers"][0].as_str(), Some("kafka:9092"));
    assert_eq!(c["services"]["collector"]["command"][1].as_str(), Some("/etc/oxidot/${COLLECTOR_CONFIG:-local.yaml}"));
    let lb = yaml("config/local-sidecar-lb.yaml");
    assert_eq!(
        lb["exporters"]["loadbalancing"]["resolver"]["dns"]["hostname"].as_str(),
        Some("${env:GATEWAY_HOSTNAME:-gateway}")
    );
    let mut mounts = 0;
    for (name, svc) in services {
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let v = v.as_str().unwrap();
            if let Some(src) = v.split(':').next().filter(|s| s.starts_with("./")) {
                assert!(root().join(src).exists(), "{name:?} mounts {src}, which does not exist");
                mounts += 1;
            }
        }
        if let Some(df) = svc["build"]["dockerfile"].as_str() {
            assert!(root().join(df).exists(), "{name:?} builds from {df}, which does not exist");
        }
    }
    assert!(mounts >= 6);
    // The collector runs config/local.yaml; the app reaches it by OTLP/gRPC.
    assert_eq!(
        c["services"]["collector"]["volumes"][0].as_str(),
        Some("./config/local.yaml:/etc/oxidot/local.yaml:ro")
    );
    assert_eq!(
        c["services"]["app"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"].as_str(),
        Some("http://collector:4317")
    );
    assert!(c["services"]["prometheus"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|a| a.as_str() == Some("--web.enable-remote-write-receiver")));
}

#[test]
fn every_collector_config_in_the_repository_validates() {
    let env = [
        ("AWS_REGION", "us-west-2"),
        ("AMP_REMOTE_WRITE_URL", "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write"),
        ("LOKI_ENDPOINT", "internal-alb.example"),
        ("GATEWAY_HOSTNAME", "gateway.oxidot.local"),
        // benches/configs/*.yaml (benches/compare.py sets these).
        ("BENCH_SINK", "127.0.0.1:9000"),
        ("BENCH_GRPC_PORT", "4317"),
        ("BENCH_HTTP_PORT", "4318"),
        ("BENCH_METRICS_PORT", "8888"),
        ("BENCH_GW1", "127.0.0.1:4327"),
        ("BENCH_GW2", "127.0.0.1:4337"),
        ("BENCH_KAFKA", "127.0.0.1:9092"),
    ];
    let mut n = 0;
    for dir in ["config", "benches/configs"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let (code, _, err) = run_cli(&["validate", "--config", p.to_str().unwrap()], &env);
            assert_eq!(code, 0, "{p:?}: {err}");
            n += 1;
        }
    }
    assert_eq!(n, 8 + 7);
}

#[test]
fn local_and_aws_configs_have_the_same_pipeline_structure() {
    let (l, a) = (yaml("config/local.yaml"), yaml("config/aws.yaml"));
    assert_eq!(l["receivers"], a["receivers"]);
    for (k, v) in l["processors"].as_mapping().unwrap() {
        if k.as_str() == Some("resourcedetection") {
            let mut dl: Vec<&str> = v["detectors"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
            dl.push("ecs");
            let da: Vec<&str> = a["processors"]["resourcedetection"]["detectors"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(dl, da, "only the ecs detector differs");
        } else {
            assert_eq!(Some(v), a["processors"].get(k), "processor {k:?}");
        }
    }
    for (pid, p) in l["service"]["pipelines"].as_mapping().unwrap() {
        let q = &a["service"]["pipelines"][pid];
        assert_eq!(p["receivers"], q["receivers"], "{pid:?}");
        assert_eq!(p["processors"], q["processors"], "{pid:?}");
        assert_eq!(p["exporters"].as_sequence().unwrap().len(), q["exporters"].as_sequence().unwrap().len());
    }
}

#[test]
fn grafana_provisioning_and_dashboards_are_valid() {
    let ds = yaml("deploy/grafana/provisioning/datasources/datasources.yaml");
    let list = ds["datasources"].as_sequence().unwrap();
    let types: Vec<&str> = list.iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["prometheus", "loki", "grafana-x-ray-datasource"]);
    // The derived field reads the structured metadata `trace_id` that Loki's OTLP endpoint stores
    // (tests/e2e.rs evaluates it on what arrives) and nothing else.
    let f = &list[1]["jsonData"]["derivedFields"][0];
    assert_eq!(f["matcherType"].as_str(), Some("label"));
    let re = regex::Regex::new(f["matcherRegex"].as_str().unwrap()).unwrap();
    for k in ["trace_id", "span_id", "traceid", "otel_trace_id", "service_name"] {
        assert_eq!(re.is_match(k), k == "trace_id", "{k}");
    }
    assert_eq!(f["datasourceUid"].as_str(), list[2]["uid"].as_str());
    // Compose passes the AWS credentials to the X-Ray data source; Loki keeps structured metadata
    // and discovers levels (the dashboards group by detected_level).
    let c = yaml("docker-compose.yml");
    for k in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        assert!(c["services"]["grafana"]["environment"][k].is_string(), "grafana needs {k}");
    }
    let loki = yaml("deploy/loki/loki-config.yaml");
    assert_eq!(loki["limits_config"]["allow_structured_metadata"].as_bool(), Some(true));
    assert_eq!(loki["limits_config"]["discover_log_levels"].as_bool(), Some(true));
    let mut uids = Vec::new();
    for e in std::fs::read_dir(root().join("deploy/grafana/dashboards")).unwrap() {
        let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap();
        assert!(d["panels"].as_array().unwrap().len() >= 6);
        uids.push(d["uid"].as_str().unwrap().to_string());
    }
    uids.sort();
    assert_eq!(uids, vec!["demo-api", "oxidot"]);
}

#[test]
fn images_are_non_root_with_the_health_probe() {
    let d = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    assert!(d.contains("USER nonroot") && d.contains("AS build"));
    assert!(d.contains(r#"HEALTHCHECK"#) && d.contains(r#"CMD ["/healthcheck"]"#));
    let a = std::fs::read_to_string(root().join("deploy/demo-api/Dockerfile")).unwrap();
    assert!(a.contains("USER nonroot"));
}

/// ADOT's image contract (aws-otel-collector cmd/awscollector/Dockerfile): every bundled config
/// at the path task definitions name, the default command on /etc/otel-config.yaml,
/// `/healthcheck`, and the UDP ports of the X-Ray and StatsD receivers. Every file the
/// Dockerfile copies exists in the repository.
#[test]
fn the_image_keeps_adots_contract() {
    let d = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let fixtures = root().join("tests/fixtures/adot-configs");
    let mut shipped = 0;
    for e in std::fs::read_dir(&fixtures).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        if name.starts_with("ecs-") && name.ends_with(".yaml") {
            assert!(d.contains(&format!("tests/fixtures/adot-configs/{name}")), "{name} not shipped in /etc/ecs");
            shipped += 1;
        }
    }
    assert_eq!(shipped, 8);
    assert!(d.contains("COPY tests/fixtures/adot-configs/config.yaml /etc/otel-config.yaml"));
    assert!(d.contains(" /etc/ecs/\n"));
    assert!(d.contains(r#"CMD ["--config=/etc/otel-config.yaml"]"#));
    assert!(d.contains("/src/target/release/oxidot /healthcheck"));
    let expose = d.lines().find(|l| l.starts_with("EXPOSE")).unwrap();
    for p in ["4317", "4318", "2000/udp", "8125/udp", "13133"] {
        assert!(expose.split_whitespace().any(|w| w == p), "EXPOSE lacks {p}");
    }
    for line in d.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for src in &words[1..words.len() - 1] {
            assert!(root().join(src).exists(), "{src} in {line:?} does not exist");
        }
    }
}

fn unquote(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().trim_matches('"').to_string()
}

/// Says on the test process's real stderr (not the captured output, which libtest shows only for
/// failures) that a check did not run, and why.
fn report_skipped(check: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {check}: {why}");
}

#[test]
fn terraform_fmt_check_passes_or_is_skipped_without_the_terraform_binary() {
    let tf = root().join("terraform");
    let out = match std::process::Command::new("terraform").args(["fmt", "-check", "-recursive"]).arg(&tf).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return report_skipped(
                "terraform fmt -check",
                "no `terraform` binary on PATH (install Terraform 1.x to run it; the HCL checks need no terraform and run regardless)",
            );
        }
        Err(e) => panic!("terraform: {e}"),
    };
    assert!(
        out.status.success(),
        "terraform fmt -check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs without terraform: tests/support/hcl_layout.py checks the layout rules of `terraform fmt`
/// that hand-written HCL breaks (indentation by nesting, aligned `=` in runs of one-line
/// attributes, one space around `=`, no tabs or trailing spaces), so a machine without the binary
/// still catches them. (Checked to agree with `terraform fmt -check` on perturbed copies of these
/// files.)
#[test]
fn terraform_layout_follows_the_fmt_rules_checked_without_terraform() {
    let out = std::process::Command::new(python())
        .arg(root().join("tests/support/hcl_layout.py"))
        .arg(root().join("terraform"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "terraform/ layout:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every terraform/*.tf file parsed by python-hcl2, as JSON: file name → content.
fn hcl() -> serde_json::Value {
    let dump = std::process::Command::new(python())
        .arg(root().join("tests/support/hcl_dump.py"))
        .arg(root().join("terraform"))
        .output()
        .unwrap();
    assert!(dump.status.success(), "HCL does not parse: {}", String::from_utf8_lossy(&dump.stderr));
    serde_json::from_slice(&dump.stdout).unwrap()
}

#[test]
fn terraform_parses_and_the_task_definition_is_right() {
    let hcl = hcl();
    for f in [
        "vpc.tf",
        "security_groups.tf",
        "ecr.tf",
        "ecs.tf",
        "iam.tf",
        "iam_github.tf",
        "amp.tf",
        "s3.tf",
        "ssm.tf",
        "alb.tf",
        "outputs.tf",
        "variables.tf",
    ] {
        assert!(hcl.get(f).is_some(), "{f} missing");
    }
    let containers = &hcl["locals.tf"]["locals"][0]["app_containers"];
    let by = |n: &str| containers.as_array().unwrap().iter().find(|c| unquote(&c["name"]) == n).unwrap().clone();
    let (app, col) = (by("app"), by("collector"));
    assert_eq!(app["essential"], true);
    assert_eq!(col["essential"], true);
    let env = |c: &serde_json::Value, k: &str| {
        c["environment"].as_array().unwrap().iter().find(|e| unquote(&e["name"]) == k).map(|e| unquote(&e["value"]))
    };
    assert_eq!(env(&app, "OTEL_EXPORTER_OTLP_ENDPOINT").as_deref(), Some("http://127.0.0.1:4317"));
    assert_eq!(unquote(&app["dependsOn"][0]["containerName"]), "collector");
    assert_eq!(unquote(&app["dependsOn"][0]["condition"]), "HEALTHY");
    assert!(app["healthCheck"]["command"].as_array().unwrap().iter().any(|c| unquote(c) == "health"));
    assert!(col["healthCheck"]["command"].as_array().unwrap().iter().any(|c| unquote(c) == "/usr/local/bin/oxidot"));
    let secrets: Vec<String> = col["secrets"].as_array().unwrap().iter().map(|s| unquote(&s["name"])).collect();
    assert_eq!(secrets, vec!["AOT_CONFIG_CONTENT", "AMP_REMOTE_WRITE_URL"]);
    // The SSM parameter holds config/aws.yaml, which exists (and validates: see above).
    let ssm = serde_json::to_string(&hcl["ssm.tf"]).unwrap();
    assert!(ssm.contains("../config/aws.yaml"));
    // The gateway tier (off by default): the sidecars get the loadbalancing config, the gateways
    // their own, and the DNS name the sidecars resolve is the Cloud Map service's.
    assert!(ssm.contains("gateway_enabled") && ssm.contains("../config/aws-sidecar-lb.yaml"));
    let gw = serde_json::to_string(&hcl["gateway.tf"]).unwrap();
    for needle in [
        "aws_service_discovery_private_dns_namespace",
        "MULTIVALUE",
        "service_registries",
        "../config/aws-gateway.yaml",
        "gateway.${var.project}.local",
        "${var.project}.local",
    ] {
        assert!(gw.contains(needle), "{needle} missing from gateway.tf");
    }
    assert_eq!(
        yaml("config/aws-sidecar-lb.yaml")["exporters"]["loadbalancing"]["resolver"]["dns"]["hostname"].as_str(),
        Some("${env:GATEWAY_HOSTNAME}")
    );
    assert!(env(&col, "GATEWAY_HOSTNAME").is_some());
    let iam = serde_json::to_string(&hcl["iam.tf"]).unwrap();
    for action in ["xray:PutTraceSegments", "aps:RemoteWrite", "ssm:GetParameters", "s3:PutObject"] {
        assert!(iam.contains(action), "{action} missing from iam.tf");
    }
    assert!(root().join("terraform/bootstrap-state.sh").exists());
    assert!(root().join(".github/workflows/deploy.yml").exists());
}

/// The body of `resource "<ty>" "<name>"` in a parsed .tf file (python-hcl2 keeps the quotes).
fn resource<'a>(hcl: &'a serde_json::Value, file: &str, ty: &str, name: &str) -> &'a serde_json::Value {
    hcl[file]["resource"]
        .as_array()
        .unwrap_or_else(|| panic!("{file} has no resources"))
        .iter()
        .find_map(|r| r.get(format!("\"{ty}\"")).and_then(|b| b.get(format!("\"{name}\""))))
        .unwrap_or_else(|| panic!("resource {ty}.{name} missing from {file}"))
}

fn text(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn the_aws_stack_runs_its_own_images_loki_on_s3_and_a_provisioned_grafana() {
    let hcl = hcl();
    // The collector config fits SSM's free Standard tier (4 KB).
    assert_eq!(unquote(&resource(&hcl, "ssm.tf", "aws_ssm_parameter", "collector_config")["tier"]), "Standard");
    assert!(text("config/aws.yaml").len() < 4096);
    // Four ECR repositories with immutable tags; every task runs `<repo>:${var.image_tag}`, which
    // has no default (nothing pushes :latest).
    for repo in ["app", "collector", "loki", "grafana"] {
        let r = resource(&hcl, "ecr.tf", "aws_ecr_repository", repo);
        assert_eq!(unquote(&r["image_tag_mutability"]), "IMMUTABLE", "{repo}");
    }
    let var = hcl["variables.tf"]["variable"].as_array().unwrap().iter().find_map(|v| v.get("\"image_tag\"")).unwrap();
    assert!(var.get("default").is_none(), "image_tag must be set by whoever pushed the images");
    let all = serde_json::to_string(&hcl).unwrap();
    assert!(!all.contains(":latest\\\"") && !all.contains("_image_tag"), "a :latest image or an old tag variable");
    assert!(!all.contains("grafana/loki:") && !all.contains("grafana/grafana:"), "a stock upstream image is used");
    let locals = serde_json::to_string(&hcl["locals.tf"]).unwrap();
    for repo in ["app", "collector"] {
        assert!(locals.contains(&format!("aws_ecr_repository.{repo}.repository_url}}:${{var.image_tag}}")), "{repo}");
    }
    let loki = resource(&hcl, "ecs_loki_grafana.tf", "aws_ecs_task_definition", "loki")["container_definitions"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(loki.contains("aws_ecr_repository.loki.repository_url}:${var.image_tag}"), "{loki}");
    assert!(loki.contains("-config.file=/etc/loki/loki-aws.yaml") && loki.contains("-config.expand-env=true"));
    assert!(loki.contains("LOKI_S3_BUCKET") && loki.contains("aws_s3_bucket.loki.bucket"), "{loki}");
    // The Loki image bakes a config that keeps chunks and index in that bucket.
    assert!(text("deploy/loki/Dockerfile").contains("COPY deploy/loki/loki-aws.yaml /etc/loki/loki-aws.yaml"));
    let lc: Value = serde_yaml_ng::from_str(&text("deploy/loki/loki-aws.yaml")).unwrap();
    assert_eq!(lc["schema_config"]["configs"][0]["object_store"].as_str(), Some("s3"));
    assert_eq!(lc["storage_config"]["aws"]["bucketnames"].as_str(), Some("${LOKI_S3_BUCKET}"));
    assert_eq!(lc["common"]["storage"]["s3"]["bucketnames"].as_str(), Some("${LOKI_S3_BUCKET}"));
    assert!(lc["storage_config"].get("filesystem").is_none() && lc["common"]["storage"].get("filesystem").is_none());
    assert_eq!(lc["limits_config"]["discover_log_levels"].as_bool(), Some(true));
    // The Grafana image: plugin, AWS data sources, the dashboards the compose stack has.
    let graf = resource(&hcl, "ecs_loki_grafana.tf", "aws_ecs_task_definition", "grafana")["container_definitions"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(graf.contains("aws_ecr_repository.grafana.repository_url}:${var.image_tag}"), "{graf}");
    for v in ["AMP_QUERY_URL", "LOKI_URL", "AWS_REGION", "GF_SECURITY_ADMIN_PASSWORD"] {
        assert!(graf.contains(v), "{v} missing from the grafana task");
    }
    let df = text("deploy/grafana/Dockerfile");
    for line in [
        "plugins install grafana-x-ray-datasource",
        "GF_AUTH_SIGV4_AUTH_ENABLED=true",
        "COPY deploy/grafana/aws/datasources.yaml /etc/grafana/provisioning/datasources/",
        "COPY deploy/grafana/provisioning/dashboards/dashboards.yaml /etc/grafana/provisioning/dashboards/",
        "COPY deploy/grafana/dashboards /var/lib/grafana/dashboards",
    ] {
        assert!(df.contains(line), "deploy/grafana/Dockerfile lacks {line:?}");
    }
    let ds: Value = serde_yaml_ng::from_str(&text("deploy/grafana/aws/datasources.yaml")).unwrap();
    let list = ds["datasources"].as_sequence().unwrap();
    let by = |t: &str| list.iter().find(|d| d["type"] == t).unwrap_or_else(|| panic!("no {t} data source"));
    let (prom, lds, xray) = (by("prometheus"), by("loki"), by("grafana-x-ray-datasource"));
    assert_eq!(prom["url"].as_str(), Some("${AMP_QUERY_URL}"));
    assert_eq!(prom["jsonData"]["sigV4Auth"].as_bool(), Some(true));
    assert_eq!(prom["jsonData"]["sigV4AuthType"].as_str(), Some("default"));
    assert_eq!(lds["url"].as_str(), Some("${LOKI_URL}"));
    assert_eq!(xray["jsonData"]["authType"].as_str(), Some("default"));
    // Same uids as compose's, which the dashboards name.
    let local: Value =
        serde_yaml_ng::from_str(&text("deploy/grafana/provisioning/datasources/datasources.yaml")).unwrap();
    let uids = |l: &Value| -> Vec<String> {
        l["datasources"].as_sequence().unwrap().iter().map(|d| d["uid"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(uids(&ds), uids(&local));
    // On AWS logs go through the loki exporter (the seed's choice): the derived field reads the
    // "traceid" field of the JSON line it writes.
    let f = &lds["jsonData"]["derivedFields"][0];
    let re = regex::Regex::new(f["matcherRegex"].as_str().unwrap()).unwrap();
    let line = r#"{"body":"Unhandled exception","traceid":"6553f10012345678901234567890abcd","spanid":"1"}"#;
    assert_eq!(&re.captures(line).unwrap()[1], "6553f10012345678901234567890abcd");
    assert_eq!(f["datasourceUid"].as_str(), xray["uid"].as_str());
    // Grafana's task role reads X-Ray and AMP.
    let iam = serde_json::to_string(&hcl["iam.tf"]).unwrap();
    for action in ["xray:BatchGetTraces", "xray:GetTraceSummaries", "aps:QueryMetrics"] {
        assert!(iam.contains(action), "{action} missing from iam.tf");
    }
}

#[test]
fn the_workflow_tests_then_creates_ecr_then_pushes_sha_images_then_plans_and_applies() {
    let wf: Value = serde_yaml_ng::from_str(&text(".github/workflows/deploy.yml")).unwrap();
    let runs = |job: &str| -> Vec<String> {
        wf["jobs"][job]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|s| s["run"].as_str().or(s["uses"].as_str()).unwrap_or("").to_string())
            .collect()
    };
    let test = runs("test");
    assert!(test.iter().any(|r| r.contains("scripts/test.sh")), "the test job must run the suite: {test:?}");
    assert!(test.iter().any(|r| r.contains("cargo clippy --all-targets -- -D warnings")));
    assert_eq!(wf["jobs"]["deploy"]["needs"].as_str(), Some("test"));
    let deploy = runs("deploy");
    let at = |pat: &str| {
        deploy.iter().position(|r| r.contains(pat)).unwrap_or_else(|| panic!("no deploy step runs {pat:?}: {deploy:?}"))
    };
    let (ecr, push, plan, apply) = (
        at("-target=aws_ecr_repository.app"),
        at("docker push"),
        at("terraform plan"),
        at("terraform apply -input=false tfplan"),
    );
    assert!(ecr < push && push < plan && plan < apply, "order: ECR {ecr}, push {push}, plan {plan}, apply {apply}");
    for repo in ["app", "collector", "loki", "grafana"] {
        assert!(deploy[ecr].contains(&format!("-target=aws_ecr_repository.{repo}")), "{repo}");
    }
    for df in ["deploy/Dockerfile", "deploy/demo-api/Dockerfile", "deploy/loki/Dockerfile", "deploy/grafana/Dockerfile"]
    {
        assert!(deploy[push].contains(df), "{df} not built");
        assert!(root().join(df).exists(), "{df}");
    }
    let env = &wf["jobs"]["deploy"]["env"];
    assert_eq!(env["TAG"].as_str(), Some("${{ github.sha }}"));
    assert_eq!(env["TF_VAR_image_tag"].as_str(), Some("${{ github.sha }}"));
}

#[test]
fn the_locustfile_hits_the_seeds_endpoints() {
    let l = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/locust/locustfile.py")).unwrap();
    assert!(l.contains("\"/items\"") && l.contains("random.randint(1, 150)") && l.contains("\"/crash\""));
}
