use super::*;

fn cfg(yaml: &str) -> LoadBalancingConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn errors(yaml: &str) -> Vec<String> {
    cfg(yaml).validate("exporters::loadbalancing").0.iter().map(|e| e.to_string()).collect()
}

#[test]
fn config_needs_exactly_one_resolver_and_names_what_is_not_built_yet() {
    assert!(errors("resolver: {static: {hostnames: [a]}}").is_empty());
    assert!(errors("{}")[0].contains("no resolvers specified"), "{:?}", errors("{}"));
    assert!(errors("resolver: {static: {hostnames: [a]}, dns: {hostname: b}}")[0].contains("multiple resolvers"));
    let e = errors("resolver: {k8s: {service: x}}");
    assert!(e.len() == 1 && e[0].contains("resolver::k8s") && e[0].contains("not implemented"), "{e:?}");
    assert!(errors("resolver: {static: {hostnames: [a]}}\nrouting_key: span")[0].contains("routing_key"));
    assert!(errors("resolver: {static: {hostnames: [a]}}\nrouting_key: attributes")[0].contains("routing_attributes"));
}

#[test]
fn routing_key_per_signal_as_go_reads_it() {
    let c = cfg("routing_key: service");
    assert_eq!(c.key(Signal::Traces), Ok(Key::Service));
    assert_eq!(cfg("{}").key(Signal::Traces), Ok(Key::TraceId));
    assert_eq!(cfg("{}").key(Signal::Metrics), Ok(Key::Service));
    assert_eq!(cfg("routing_key: streamID").key(Signal::Metrics), Ok(Key::StreamId));
    assert!(cfg("routing_key: metric").key(Signal::Traces).is_err());
    assert_eq!(with_port("gw-1"), "gw-1:4317");
    assert_eq!(with_port("gw-1:5317"), "gw-1:5317");
}

#[tokio::test]
async fn quarantine_takes_an_endpoint_off_the_ring_until_it_ends() {
    let c = cfg("resolver: {static: {hostnames: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']}}\nendpoint_health: {enabled: true, quarantine_duration: 200ms}");
    let reg = Registry::new();
    let id = ComponentId::parse("loadbalancing").unwrap();
    let lb = LoadBalancer::new(&c, &id, Signal::Traces, &reg).unwrap();
    let core = &lb.core;
    assert_eq!(core.tel.num_backends.get(), 3);
    assert_eq!(core.tel.updates.get(), 1);
    core.set_endpoints(vec!["127.0.0.1:3".into(), "127.0.0.1:1".into(), "127.0.0.1:2".into()]);
    assert_eq!(core.tel.updates.get(), 1, "the same endpoints are no update");

    core.quarantine("127.0.0.1:2", "test");
    let (ring, fail_open) = core.ring();
    assert_eq!(ring.endpoints(), ["127.0.0.1:1", "127.0.0.1:3"]);
    assert!(!fail_open);
    core.quarantine("127.0.0.1:1", "test");
    core.quarantine("127.0.0.1:3", "test");
    let (ring, fail_open) = core.ring();
    assert!(fail_open, "none eligible: every endpoint, as Go fails open");
    assert_eq!(ring.endpoints().len(), 3);
    let b = Batch::Traces(vec![]);
    assert!(matches!(core.route(&b, Some("127.0.0.1:1")).await, Err(ExportError::Retryable { .. })));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (ring, fail_open) = core.ring();
    assert!(!fail_open);
    assert_eq!(ring.endpoints().len(), 3);

    core.set_endpoints(vec!["127.0.0.1:1".into()]);
    assert_eq!(core.tel.num_backends.get(), 1);
    assert_eq!(core.state.read().unwrap().backends.len(), 1);
    lb.shutdown().await;
}

#[test]
fn endpoint_failures_are_told_from_backend_answers() {
    let r = |s: &str| ExportError::retryable(s);
    assert!(endpoint_failure(&r("connection not ready: transport error")).is_some());
    assert!(endpoint_failure(&r("rpc error: code = Unavailable desc = connection refused")).is_some());
    assert!(endpoint_failure(&r("rpc error: code = ResourceExhausted desc = slow down")).is_none());
    assert!(endpoint_failure(&ExportError::Permanent("connection refused".into())).is_none());
}

#[tokio::test]
async fn dns_answers_that_change_rebalance_and_a_failed_lookup_keeps_the_last() {
    // A resolver stand-in: the test sets each answer; the poller asks every 100 ms.
    let c = cfg("resolver: {dns: {hostname: gateways.test, interval: 100ms}}");
    let reg = Registry::new();
    let id = ComponentId::parse("loadbalancing").unwrap();
    let core = Core::new(&c, &id, Signal::Traces, &reg).unwrap();
    let answer: Arc<Mutex<Result<Vec<String>, String>>> =
        Arc::new(Mutex::new(Ok(vec!["10.0.0.1:4317".into(), "10.0.0.2:4317".into()])));
    let a = answer.clone();
    let lookup: resolver::Lookup = Arc::new(move |d: DnsResolver| {
        assert_eq!(d.hostname, "gateways.test");
        let r = a.lock().unwrap().clone();
        Box::pin(async move { r })
    });
    let task = tokio::spawn(resolver::poll(c.resolver.dns.clone().unwrap(), Arc::downgrade(&core), lookup));
    let wait = |n: i64| {
        let core = core.clone();
        async move {
            for _ in 0..50 {
                if core.tel.num_backends.get() == n {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        }
    };
    assert!(wait(2).await);
    let key = |ring: &Ring| {
        (0..1000u32).map(|i| ring.endpoint_for(&i.to_be_bytes()).unwrap_or("").to_string()).collect::<Vec<_>>()
    };
    let before = key(&core.ring().0);

    *answer.lock().unwrap() = Ok(vec!["10.0.0.1:4317".into(), "10.0.0.2:4317".into(), "10.0.0.3:4317".into()]);
    assert!(wait(3).await, "a new address joins the ring");
    assert_eq!(core.tel.updates.get(), 2);
    let after = key(&core.ring().0);
    let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
    // Consistent hashing: only keys taken by the new endpoint move, about a third.
    assert!(after.iter().zip(&before).all(|(a, b)| a == b || a == "10.0.0.3:4317"));
    assert!((150..550).contains(&moved), "{moved} of 1000 keys moved");

    *answer.lock().unwrap() = Err("SERVFAIL".into());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(core.tel.num_backends.get(), 3, "a failed lookup keeps the last answer");
    let failed =
        reg.counter(LB_NUM_RESOLUTIONS, "", vec![("resolver", "dns".into()), ("success", "false".into())]).get();
    assert!(failed >= 2, "{failed}");
    drop(core);
    tokio::time::timeout(Duration::from_secs(2), task).await.expect("the poller ends with the exporter").unwrap();
}
