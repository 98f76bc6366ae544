output "app_url" {
  description = "Public URL of the demo API."
  value       = "http://${aws_lb.external.dns_name}"
}

output "internal_alb_dns" {
  description = "Internal ALB: Loki on :3100, Grafana on :3000 (reach them from inside the VPC, e.g. an SSM port forward)."
  value       = aws_lb.internal.dns_name
}

output "amp_remote_write_url" {
  description = "AMP remote write URL oxidot signs requests to."
  value       = aws_ssm_parameter.amp_remote_write_url.value
}

output "ecr_app_repository" {
  value = aws_ecr_repository.app.repository_url
}

output "ecr_collector_repository" {
  value = aws_ecr_repository.collector.repository_url
}

output "ecr_loki_repository" {
  value = aws_ecr_repository.loki.repository_url
}

output "ecr_grafana_repository" {
  value = aws_ecr_repository.grafana.repository_url
}

output "github_deploy_role_arn" {
  description = "Role GitHub Actions assumes through OIDC."
  value       = aws_iam_role.github_deploy.arn
}

output "ecs_cluster" {
  value = aws_ecs_cluster.this.name
}
