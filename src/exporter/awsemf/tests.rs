//! Config cases of awsemfexporter config_test.go.
