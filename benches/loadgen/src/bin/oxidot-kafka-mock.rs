//! A Kafka-protocol broker for benches/compare.sh: librdkafka's built-in mock cluster (one
//! broker, in this process), the three OTLP topics created with 4 partitions each. Prints the
//! bootstrap address on the first line of stdout and serves until killed.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::io::Write;

fn main() {
    let cluster: MockCluster<'static, DefaultProducerContext> = match MockCluster::new(1) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start the mock cluster: {e}");
            std::process::exit(1);
        }
    };
    for topic in ["otlp_spans", "otlp_metrics", "otlp_logs"] {
        if let Err(e) = cluster.create_topic(topic, 4, 1) {
            eprintln!("cannot create {topic}: {e}");
            std::process::exit(1);
        }
    }
    println!("{}", cluster.bootstrap_servers());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
