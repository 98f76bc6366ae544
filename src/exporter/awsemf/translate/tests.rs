//! Cases of awsemfexporter metric_translator_test.go, grouped_metric_test.go, datapoint_test.go, util_test.go.
