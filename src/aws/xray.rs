//! X-Ray attribute names shared by the `awsxray` receiver (which writes them on the spans it
//! makes from segment documents) and the `awsxray` exporter (which reads them back into
//! segments). One place, as Go keeps them in contrib `internal/aws/xray/awsxray.go`.

/// `aws.operation` of a segment's `aws` block.
pub const AWS_OPERATION: &str = "aws.operation";
/// `aws.account_id`.
pub const AWS_ACCOUNT: &str = "aws.account_id";
/// `aws.region` (the remote region an AWS SDK call went to).
pub const AWS_REGION: &str = "aws.region";
/// `aws.request_id`, and the spelling some instrumentations use instead.
pub const AWS_REQUEST_ID: &str = "aws.request_id";
pub const AWS_REQUEST_ID_2: &str = "aws.requestId";
/// `aws.queue_url`, and the dotted spelling.
pub const AWS_QUEUE_URL: &str = "aws.queue_url";
pub const AWS_QUEUE_URL_2: &str = "aws.queue.url";
/// `aws.table_name`, and the dotted spelling.
pub const AWS_TABLE_NAME: &str = "aws.table_name";
pub const AWS_TABLE_NAME_2: &str = "aws.table.name";
/// The AWS service a subsegment in namespace `aws` called.
pub const AWS_SERVICE: &str = "aws.service";

/// A segment's `in_progress` flag.
pub const IN_PROGRESS: &str = "aws.xray.inprogress";
/// `http.request.x_forwarded_for` of a segment.
pub const X_FORWARDED_FOR: &str = "aws.xray.x_forwarded_for";
/// A segment's `resource_arn` (a resource attribute).
pub const RESOURCE_ARN: &str = "aws.xray.resource_arn";
/// A subsegment's `traced` flag.
pub const TRACED: &str = "aws.xray.traced";
/// The span attribute listing the keys the exporter writes as annotations (a list of strings).
pub const ANNOTATIONS: &str = "aws.xray.annotations";
/// `aws.xray.metadata.<namespace>` holds the JSON object of that metadata namespace.
pub const METADATA_PREFIX: &str = "aws.xray.metadata.";
/// `aws.retries` of a (sub)segment.
pub const RETRIES: &str = "aws.xray.retries";

/// Attributes of an `exception` span event made from a segment's `cause.exceptions[]`.
pub const EXCEPTION_ID: &str = "aws.xray.exception.id";
pub const EXCEPTION_REMOTE: &str = "aws.xray.exception.remote";
pub const EXCEPTION_TRUNCATED: &str = "aws.xray.exception.truncated";
pub const EXCEPTION_SKIPPED: &str = "aws.xray.exception.skipped";
pub const EXCEPTION_CAUSE: &str = "aws.xray.exception.cause";
