//! Go's metrics_helper_test.go, resource_test.go and translator_test.go cases.

use super::*;
