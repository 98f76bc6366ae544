# The collector configuration, handed to oxidot as AOT_CONFIG_CONTENT: config/aws.yaml, or with
# the gateway tier on, config/aws-sidecar-lb.yaml (everything to the gateways). Both are under
# 2 KB: the free Standard tier (values up to 4 KB) holds them.
resource "aws_ssm_parameter" "collector_config" {
  name  = "/${var.project}/${var.environment}/collector_config"
  type  = "String"
  tier  = "Standard"
  value = var.gateway_enabled ? file("${path.module}/../config/aws-sidecar-lb.yaml") : file("${path.module}/../config/aws.yaml")
}

resource "aws_ssm_parameter" "amp_remote_write_url" {
  name  = "/${var.project}/${var.environment}/amp_remote_write_url"
  type  = "String"
  value = "${aws_prometheus_workspace.this.prometheus_endpoint}api/v1/remote_write"
}

resource "aws_ssm_parameter" "grafana_admin_password" {
  name  = "/${var.project}/${var.environment}/grafana_admin_password"
  type  = "SecureString"
  value = var.grafana_admin_password
}
